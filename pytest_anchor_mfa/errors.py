"""Every exception pytest-anchor-mfa raises, in one hierarchy.

Catch ``AnchorMfaError`` to catch them all::

    AnchorMfaError
    ├── ConfigurationError          a setting is missing or malformed (option, ini, environment,
    │                               CLI flag, marker, what configures a server or client)
    ├── InvalidArgumentError        an argument of a call is invalid (data, event name, timeout,
    │                               pattern, route...); nothing was done (a ValueError)
    ├── EventsApiError              the events API answered with an error status
    │   ├── InvalidRequestError     400 (and 404/405/413): the request itself is wrong
    │   ├── AuthenticationError     401: missing or invalid API key
    │   ├── EventTimeoutError       408: nothing was signaled within the wait's timeout
    │   ├── RateLimitedError        429, after the retries ran out
    │   └── ServerError             5xx, after the retries ran out
    ├── TransportError              no HTTP answer at all (refused, reset, read timeout)
    ├── CodeValidationError         an MFA code was missing or did not match the expected form
    ├── LinkNotFoundError           a message had no link (or none matching the path asked for)
    ├── SignInError                 signing a user in (@pytest.mark.signed_in) failed
    ├── WebAuthnError               the virtual authenticator (anchor_webauthn) refused a command
    │   └── UnsupportedBrowserError     the page's browser is not Chromium (no WebAuthn domain)
    ├── SessionError                an Anchor browser session could not be created or ended
    ├── BrowserLaunchError          the fake could not start a session's Chromium
    ├── SignatureVerificationError  a signed request failed a check; ``reason`` names which
    │   └── WebhookVerificationError    a webhook delivery failed one (or was a duplicate)
    └── AnchorTimeoutError          something did not happen in time, no HTTP 408 (a TimeoutError)
        ├── WebhookTimeoutError     the expected webhook did not arrive in time
        ├── MessageTimeoutError     no e-mail or SMS arrived in time
        ├── WaitersTimeoutError     FakeEventServer.wait_for_waiters: too few waits pending in time
        ├── PromptTimeoutError      nobody typed a code at the prompt in time
        └── TotpTimeoutError        no unused TOTP code could be handed out within the timeout

Every timeout is a ``TimeoutError``: ``EventTimeoutError`` (the events API's 408) and the
``AnchorTimeoutError`` family alike; ``InvalidArgumentError`` is a ``ValueError``.

No message, ``str()`` or ``repr()`` of these ever contains an API key or an MFA code.
"""

from __future__ import annotations

import warnings

__all__ = [
    "AnchorMfaError",
    "AnchorTimeoutError",
    "AuthenticationError",
    "BrowserLaunchError",
    "CodeValidationError",
    "ConfigurationError",
    "EventTimeoutError",
    "EventsApiError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "LinkNotFoundError",
    "MessageTimeoutError",
    "PromptTimeoutError",
    "RateLimitedError",
    "ServerError",
    "SessionError",
    "SignInError",
    "SignatureVerificationError",
    "TotpTimeoutError",
    "TransportError",
    "UnsupportedBrowserError",
    "WaitersTimeoutError",
    "WebAuthnError",
    "WebhookTimeoutError",
    "WebhookVerificationError",
]


class AnchorMfaError(Exception):
    """Base class of every error raised by pytest-anchor-mfa."""


class ConfigurationError(AnchorMfaError):
    """A setting is missing or malformed; the message names it and how to set it.

    Settings are pytest options, ini keys, environment variables, CLI flags, marker arguments
    and the constructor arguments that configure a server, store, client or policy (address,
    limits, API key, base URL, secrets, retries). A bad argument of a call is
    ``InvalidArgumentError``.
    """


class InvalidArgumentError(AnchorMfaError, ValueError):
    """An argument of a call (event name, data, timeout, code pattern...) is invalid: refused
    before anything was sent or changed.

    ``event_name`` is the event the call was about, when the name itself was valid.
    """

    def __init__(self, message: str, *, event_name: str | None = None) -> None:
        self.event_name = event_name
        super().__init__(message)


class EventsApiError(AnchorMfaError):
    """The events API answered with an error status.

    ``status_code`` is the HTTP status, ``message`` the server's (secret-free) message and
    ``event_name`` the event the call was about.
    """

    def __init__(self, message: str, *, status_code: int, event_name: str | None = None) -> None:
        self.message = message
        self.status_code = status_code
        self.event_name = event_name
        where = f" (event {event_name!r})" if event_name is not None else ""
        super().__init__(f"HTTP {status_code}{where}: {message}")


class InvalidRequestError(EventsApiError):
    """The request was refused as invalid (400, 404, 405, 413); retrying will not help."""


class AuthenticationError(EventsApiError):
    """401: the ``anchor-api-key`` header was missing or not accepted."""


class EventTimeoutError(EventsApiError, TimeoutError):
    """408: no signal arrived on the event within the wait's timeout."""

    def __init__(
        self, message: str, *, event_name: str | None = None, timeout: float | None = None
    ) -> None:
        self.timeout = timeout
        super().__init__(message, status_code=408, event_name=event_name)


class RateLimitedError(EventsApiError):
    """429 that persisted until the retry deadline."""


class ServerError(EventsApiError):
    """A 5xx answer that persisted until the retry deadline (or was not retryable)."""


class TransportError(AnchorMfaError):
    """No usable HTTP answer: connection refused or reset, or a read timeout.

    ``maybe_delivered`` is true when the request may have reached the server before the
    connection failed (so a signal may or may not have been recorded).
    """

    def __init__(
        self, message: str, *, event_name: str | None = None, maybe_delivered: bool = False
    ) -> None:
        self.event_name = event_name
        self.maybe_delivered = maybe_delivered
        super().__init__(message)


class CodeValidationError(AnchorMfaError):
    """An MFA code was missing from the event data or did not have the expected form."""


class LinkNotFoundError(AnchorMfaError, LookupError):
    """A message (or event data) had no link, or none matching the path or rule asked for."""


class SignInError(AnchorMfaError):
    """Signing a user in for ``@pytest.mark.signed_in`` failed; the message names the user and
    the step. The run does not try that user again: every test that needs them fails alike."""


class WebAuthnError(AnchorMfaError):
    """The WebAuthn virtual authenticator (Chromium's DevTools ``WebAuthn`` domain) refused a
    command, or was used after ``detach()``; the message names the command and Chromium's reason.
    A private key is never part of it."""


class UnsupportedBrowserError(WebAuthnError):
    """The page's browser has no virtual authenticator: only Chromium has one (select it with
    pytest-playwright's ``--browser chromium``)."""


class SessionError(AnchorMfaError):
    """Anchor's sessions API refused to create (or end) a browser session.

    ``status_code`` is the HTTP status (None: no answer at all); the message is one line naming
    it and what to do, without the API key.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class BrowserLaunchError(AnchorMfaError):
    """The fake server could not start the Chromium of a session, or it opened no CDP port."""


class SignatureVerificationError(AnchorMfaError):
    """A signed request (a webhook delivery, an SMS provider's post) failed verification.

    ``reason`` is a short machine-readable name of the failed check: ``missing_header``,
    ``malformed_header``, ``missing_parameter``, ``malformed_parameter``,
    ``timestamp_out_of_range``, ``signature_mismatch``, ``replay``. The message is one line
    and never holds a secret or an expected signature.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class WebhookVerificationError(SignatureVerificationError):
    """A webhook delivery failed verification.

    Its ``reason`` is one of ``missing_header``, ``malformed_header``,
    ``timestamp_out_of_range``, ``signature_mismatch``, and two checks of the delivery itself:
    ``duplicate`` (an event id seen before) and ``invalid_payload`` (a body that is no event).
    """


class AnchorTimeoutError(AnchorMfaError, TimeoutError):
    """Something expected did not happen in time, and no HTTP 408 was involved.

    The events API's 408 is ``EventTimeoutError``; catch ``TimeoutError`` for both.
    """


class WebhookTimeoutError(AnchorTimeoutError):
    """``wait_for`` saw no matching webhook in time; the message lists what did arrive."""


class MessageTimeoutError(AnchorTimeoutError):
    """An inbox or SMS gateway saw no matching message in time; the message lists what came."""


class _EventDeadline(AnchorTimeoutError):
    """A timeout about one event: ``event_name`` and ``timeout`` (seconds) are kept."""

    def __init__(
        self, message: str, *, event_name: str | None = None, timeout: float | None = None
    ) -> None:
        self.event_name = event_name
        self.timeout = timeout
        super().__init__(message)


class WaitersTimeoutError(_EventDeadline):
    """``FakeEventServer.wait_for_waiters`` saw too few pending waits on ``event_name`` within
    ``timeout`` seconds (also what ``signal_when_waiting(...).result()`` re-raises)."""


class PromptTimeoutError(_EventDeadline):
    """Nobody typed the code for ``event_name`` at the terminal within ``timeout`` seconds."""


class TotpTimeoutError(AnchorTimeoutError):
    """No unused TOTP code within the timeout: the next time-step starts too late, or other
    callers (threads, processes sharing the step ledger) held it for the whole timeout."""


_RENAMED = {"AnchorMFAError": "AnchorMfaError", "EventsAPIError": "EventsApiError"}
"""Names from before the casing rule (acronyms as words); they go in the next minor version."""


def __getattr__(name: str) -> type[Exception]:
    new = _RENAMED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"{name} is renamed {new}; import {new} (the old name goes in the next minor version)",
        DeprecationWarning,
        stacklevel=2,
    )
    error: type[Exception] = globals()[new]
    return error
