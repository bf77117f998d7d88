"""Every exception pytest-anchor-mfa raises, in one hierarchy.

Catch ``AnchorMFAError`` to catch them all::

    AnchorMFAError
    ├── ConfigurationError          a setting is missing or malformed (API key, URL, marker...)
    ├── InvalidArgumentError        a call's argument is invalid; nothing was sent (a ValueError)
    ├── EventsAPIError              the events API answered with an error status
    │   ├── InvalidRequestError     400 (and 404/405/413): the request itself is wrong
    │   ├── AuthenticationError     401: missing or invalid API key
    │   ├── EventTimeoutError       408: nothing was signaled within the wait's timeout
    │   ├── RateLimitedError        429, after the retries ran out
    │   └── ServerError             5xx, after the retries ran out
    ├── TransportError              no HTTP answer at all (refused, reset, read timeout)
    ├── CodeValidationError         an MFA code was missing or did not match the expected form
    ├── SignatureVerificationError  a signed request failed a check; ``reason`` names which
    │   └── WebhookVerificationError    a webhook delivery failed one (or was a duplicate)
    ├── WebhookTimeoutError         the expected webhook did not arrive in time (a TimeoutError)
    └── MessageTimeoutError         no e-mail or SMS arrived in time (a TimeoutError)

No message, ``str()`` or ``repr()`` of these ever contains an API key or an MFA code.
"""

from __future__ import annotations

__all__ = [
    "AnchorMFAError",
    "AuthenticationError",
    "CodeValidationError",
    "ConfigurationError",
    "EventTimeoutError",
    "EventsAPIError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "MessageTimeoutError",
    "RateLimitedError",
    "ServerError",
    "SignatureVerificationError",
    "TransportError",
    "WebhookTimeoutError",
    "WebhookVerificationError",
]


class AnchorMFAError(Exception):
    """Base class of every error raised by pytest-anchor-mfa."""


class ConfigurationError(AnchorMFAError):
    """A setting is missing or malformed; the message names it and how to set it."""


class InvalidArgumentError(AnchorMFAError, ValueError):
    """An argument of a call (event name, data, timeout) is invalid: refused before sending.

    ``event_name`` is the event the call was about, when the name itself was valid.
    """

    def __init__(self, message: str, *, event_name: str | None = None) -> None:
        self.event_name = event_name
        super().__init__(message)


class EventsAPIError(AnchorMFAError):
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


class InvalidRequestError(EventsAPIError):
    """The request was refused as invalid (400, 404, 405, 413); retrying will not help."""


class AuthenticationError(EventsAPIError):
    """401: the ``anchor-api-key`` header was missing or not accepted."""


class EventTimeoutError(EventsAPIError, TimeoutError):
    """408: no signal arrived on the event within the wait's timeout."""

    def __init__(
        self, message: str, *, event_name: str | None = None, timeout: float | None = None
    ) -> None:
        self.timeout = timeout
        super().__init__(message, status_code=408, event_name=event_name)


class RateLimitedError(EventsAPIError):
    """429 that persisted until the retry deadline."""


class ServerError(EventsAPIError):
    """A 5xx answer that persisted until the retry deadline (or was not retryable)."""


class TransportError(AnchorMFAError):
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


class CodeValidationError(AnchorMFAError):
    """An MFA code was missing from the event data or did not have the expected form."""


class SignatureVerificationError(AnchorMFAError):
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


class WebhookTimeoutError(AnchorMFAError, TimeoutError):
    """``wait_for`` saw no matching webhook in time; the message lists what did arrive."""


class MessageTimeoutError(AnchorMFAError, TimeoutError):
    """An inbox or SMS gateway saw no matching message in time; the message lists what came."""
