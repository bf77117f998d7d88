"""SMS provider webhooks for tests: the app under test texts its code, the test gets it.

``SmsGateway`` serves the SMS endpoints (``sms_app.SmsApp``: Twilio, Vonage and a generic
signed JSON form) on a loopback port through ``AsgiServer``, on the process's runtime loop. A
destination number is routed to an event (``route(number, event, rule=...)``, or ``routes``
itself); each accepted SMS signals that event through the ``Signaler`` (usually an
``EventsClient``'s ``signal``) with its code extracted. Routes, rules and the accepted messages
are ``routes.RoutedMessages``, shared with the SMTP inbox. ``send(to, body, provider=...)``
posts exactly what the provider would post, signed with the gateway's secrets, so a test can
play the provider.

Modules: ``concat`` (multipart reassembly), ``sms_requests`` (what providers post),
``sms_app`` (the endpoints), this one (lifecycle and the test-facing handle); the signatures
(Twilio's, Vonage's ``sig``, the generic form's HMAC) are in ``pytest_anchor_mfa.signatures``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..codes.rule import CodeRule
from ..errors import ConfigurationError, InvalidArgumentError, MessageTimeoutError
from ..redact import mask_key
from ..runtime.serve import AsgiServer
from ..signatures.vonage import VONAGE_METHODS
from .routes import Route, RoutedMessages, Routes, normalize_number
from .signals import Signaler
from .sms_app import DEFAULT_RULE, MAX_MESSAGES, MAX_SMS_BODY, PATHS, SmsApp, SmsConfig, SmsMessage
from .sms_requests import DEFAULT_SENDER, generic_request, twilio_fields, vonage_requests

if TYPE_CHECKING:
    import httpx

__all__ = ["PROVIDERS", "SmsGateway", "SmsMessage"]

PROVIDERS = tuple(PATHS)
"""``twilio``, ``vonage``, ``generic``: the endpoints, and what ``send`` can play."""


class SmsGateway(RoutedMessages[SmsMessage]):
    """SMS webhook endpoints on a loopback port, signaling routed events; a context manager.

    ``twilio_auth_token`` and ``generic_secret`` sign Twilio's and the generic form's posts
    (random unless given); Vonage posts must be signed only when ``vonage_secret`` is set
    (``vonage_method``: ``md5hash``, ``md5``, ``sha1``, ``sha256`` or ``sha512``).
    ``public_url`` is the gateway's base URL as the provider sees it (behind a proxy or a
    tunnel: ``https://sms.example.com``, the endpoint paths are appended): Twilio signs that
    URL. ``tolerance`` is the replay window, in seconds, of signed Vonage and generic posts.
    ``health`` (a function returning a JSON object) adds ``GET /healthz``, answering with it.
    """

    def __init__(
        self,
        signaler: Signaler,
        *,
        twilio_auth_token: str | None = None,
        generic_secret: str | None = None,
        vonage_secret: str | None = None,
        vonage_method: str = "sha256",
        public_url: str | None = None,
        tolerance: float = 300.0,
        max_body_bytes: int = MAX_SMS_BODY,
        host: str = "127.0.0.1",
        port: int = 0,
        health: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        if vonage_method not in VONAGE_METHODS:
            raise ConfigurationError(
                f"vonage_method must be one of {', '.join(VONAGE_METHODS)}; got {vonage_method!r}"
            )
        if not tolerance >= 0:
            raise ConfigurationError(f"tolerance must be >= 0 seconds, got {tolerance!r}")
        config = SmsConfig(
            twilio_auth_token=twilio_auth_token or secrets.token_hex(16),
            generic_secret=generic_secret or f"smssec_{secrets.token_hex(16)}",
            public_url=public_url,
            vonage_secret=vonage_secret,
            vonage_method=vonage_method,
            tolerance=tolerance,
            max_body_bytes=max_body_bytes,
        )
        super().__init__(Routes(kind="number"), DEFAULT_RULE, MAX_MESSAGES)
        self._app = SmsApp(config, self, signaler, health)
        self._server = AsgiServer(self._app, host=host, port=port, name="sms-gateway")
        self._client: httpx.Client | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving; returns once webhooks are accepted."""
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        self._app.close()
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SmsGateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._server.url if self._server.running else "not started"
        config = self._app.config
        return (
            f"SmsGateway({where}, messages={len(self.messages)}, "
            f"twilio_auth_token={mask_key(config.twilio_auth_token)!r})"
        )

    # -- configuration -------------------------------------------------------------------------

    @property
    def twilio_auth_token(self) -> str:
        return self._app.config.twilio_auth_token

    @property
    def generic_secret(self) -> str:
        return self._app.config.generic_secret

    @property
    def vonage_secret(self) -> str | None:
        return self._app.config.vonage_secret

    def url(self, provider: str = "twilio") -> str:
        """The loopback URL of ``provider``'s endpoint, e.g. ``http://127.0.0.1:PORT/sms/twilio``."""
        return self._server.url + self._path(provider)

    def public_url(self, provider: str = "twilio") -> str:
        """The endpoint's URL as the provider sees it (``public_url`` if set, else ``url``)."""
        base = self._app.config.public_url
        return base.rstrip("/") + self._path(provider) if base else self.url(provider)

    @staticmethod
    def _path(provider: str) -> str:
        if provider not in PATHS:
            raise InvalidArgumentError(
                f"SMS provider must be one of {', '.join(PROVIDERS)}; got {provider!r}"
            )
        return PATHS[provider]

    def route(self, number: str, event: str, *, rule: CodeRule | None = None) -> Route:
        """Signal ``event`` for SMS to ``number`` (exact, or a glob like ``+1555*``); ``rule``
        is what a code looks like for that event (default: 6 digits)."""
        return super().route(number, event, rule=rule)

    # -- what arrived (messages: RoutedMessages) ------------------------------------------------

    def wait_for_message(self, to: str | None = None, timeout: float = 10.0) -> SmsMessage:
        """The first accepted SMS (to ``to``, if given) since the last reset; waits ``timeout``."""
        wanted = None if to is None else normalize_number(to).lstrip("+")

        def match(message: SmsMessage) -> bool:
            return wanted is None or normalize_number(message.recipient).lstrip("+") == wanted

        message = self._wait_for_message(match, timeout)
        if message is None:
            which = f" to {to}" if to is not None else ""
            raise MessageTimeoutError(
                f"no SMS{which} was accepted within {timeout:g} s "
                f"({len(self.messages)} accepted since the last reset)"
            )
        return message

    def reset(self) -> None:
        """Forget routes, rules, messages, seen message ids and incomplete multipart SMS."""
        super().reset()
        self._app.reset()

    # -- playing the provider ----------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=30.0)
        return self._client

    def send(
        self, to: str, body: str, *, provider: str = "twilio", sender: str = DEFAULT_SENDER
    ) -> httpx.Response:
        """Post the SMS ``body`` to ``to`` as ``provider`` does, signed; the (last) response.

        Vonage delivers a text over 160 characters in parts (one request each).
        """
        url = self.url(provider)
        if provider == "twilio":
            fields, headers = twilio_fields(
                self.twilio_auth_token, self.public_url("twilio"), to, body, sender
            )
            return self._http().post(url, data=dict(fields), headers=headers)
        if provider == "generic":
            content, headers = generic_request(to, body, sender, self.generic_secret)
            return self._http().post(url, content=content, headers=headers)
        config = self._app.config
        parts = vonage_requests(
            to, body, sender, secret=config.vonage_secret, method=config.vonage_method
        )
        for params in parts:
            response = self._http().get(url, params=tuple(params))
            if not response.is_success:
                break  # the gateway refused a part: the rest would be refused too
        return response
