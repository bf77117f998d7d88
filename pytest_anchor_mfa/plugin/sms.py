"""The SMS fixtures: one SMS webhook gateway per process, and a per-test handle on it.

Owns ``anchor_sms_session`` (an ``SmsGateway`` for the whole run, one per xdist worker, like
``anchor_fake_session``) and ``anchor_sms`` (this test's handle: phone numbers routed to its
events, ``send`` to play Twilio, Vonage or the generic form, what arrived; the gateway is
emptied after the test). SMS signal whatever this run uses, through ``anchor_events``: the
fake server in fake mode, the real API in live mode. The gateway (uvicorn, httpx) is imported
when a test first uses it, never at start-up.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ..errors import InvalidArgumentError
from .inbound import for_this_test
from .leaks import SMS_SECRET, remember
from .options import Settings
from .renames import overridden

if TYPE_CHECKING:
    import httpx

    from ..events import EventsClient
    from ..inbound.routes import Route
    from ..inbound.sms import SmsGateway, SmsMessage
    from .mfa import MfaSettings

__all__ = ["AnchorSms", "anchor_sms", "anchor_sms_session"]

_NUMBERS = itertools.count(secrets.randbelow(5_000_000))
"""Phone numbers handed out by ``anchor_sms.number()``: ``+1555`` and seven digits."""


class AnchorSms:
    """The ``anchor_sms`` fixture: where the app under test should text this test's code.

    ``number(event=None)`` is a phone number whose SMS signal ``event`` (default: the event
    ``mfa_code()`` waits on); configure the app's SMS provider webhook with ``url(provider)``
    (``twilio``, ``vonage``, ``generic``) and ``twilio_auth_token``. ``send(to, body, ...)``
    posts what the provider would post, signed. ``messages`` shows what arrived in this test.
    """

    def __init__(self, gateway: SmsGateway, mfa_event: str) -> None:
        self.gateway = gateway
        self.mfa_event = mfa_event

    def __repr__(self) -> str:
        return (
            f"<anchor_sms {self.gateway.url('twilio')} for event {self.mfa_event!r}, "
            f"{len(self.messages)} message(s)>"
        )

    def url(self, provider: str = "twilio") -> str:
        """The webhook URL of ``provider``'s endpoint (``twilio``, ``vonage``, ``generic``)."""
        return self.gateway.url(provider)

    @property
    def twilio_auth_token(self) -> str:
        """The token Twilio posts are signed with (``TWILIO_AUTH_TOKEN``, else random per run)."""
        return self.gateway.twilio_auth_token

    @property
    def generic_secret(self) -> str:
        """The secret of the generic form's ``X-Anchor-SMS-Signature`` (random per run)."""
        return self.gateway.generic_secret

    def number(self, event: str | None = None) -> str:
        """A fresh phone number (``+1555…``) whose SMS signal ``event`` (default: the MFA event)."""
        number = f"+1555{next(_NUMBERS) % 10_000_000:07d}"
        self.gateway.route(number, event or self.mfa_event)
        return number

    def route(self, number: str, event: str | None = None) -> Route:
        """Route SMS to ``number`` (exact, or a glob like ``+1555*``) to ``event`` (the MFA
        event by default)."""
        return self.gateway.route(number, event or self.mfa_event)

    def send(
        self, to: str, body: str, *, provider: str = "twilio", sender: str | None = None
    ) -> httpx.Response:
        """Post the SMS ``body`` to the number ``to`` as ``provider`` would, signed.

        ``to`` must be routed (``number()`` or ``route()``): an SMS to a number no route takes
        would be refused (404) and signal nothing, so it raises ``InvalidArgumentError`` at
        once instead of leaving the test to time out waiting for a code.
        """
        if self.gateway.resolve(to) is None:
            raise InvalidArgumentError(
                f"anchor_sms.send: no route takes the number {to!r}, so the SMS would signal "
                f"nothing; send to anchor_sms.number() (routed to {self.mfa_event!r}) or call "
                f"anchor_sms.route({to!r}, event) first"
            )
        if sender is None:
            return self.gateway.send(to, body, provider=provider)
        return self.gateway.send(to, body, provider=provider, sender=sender)

    @property
    def messages(self) -> list[SmsMessage]:
        """The SMS accepted in this test, oldest first (reprs masked)."""
        return self.gateway.messages

    def wait_for_message(self, to: str | None = None, timeout: float = 10.0) -> SmsMessage:
        """The first SMS to ``to`` (a number; None: any) accepted in this test."""
        return self.gateway.wait_for_message(to, timeout)


@pytest.fixture(scope="session")
def anchor_sms_session(
    anchor_events: EventsClient,
    anchor_settings: Settings,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
) -> Iterator[SmsGateway]:
    """The SMS gateway of this process (one per xdist worker); it signals ``anchor_events``."""
    found, override = overridden(request, "anchor_sms_session")
    if found:
        yield override
        return
    from ..inbound.sms import SmsGateway

    token = anchor_settings.twilio_auth_token
    with SmsGateway(anchor_events.signal, twilio_auth_token=token) as gateway:
        for secret in (gateway.twilio_auth_token, gateway.generic_secret):
            remember(pytestconfig, secret, SMS_SECRET, run_wide=True)  # never in a report
        yield gateway


@pytest.fixture
def anchor_sms(
    anchor_sms_session: SmsGateway, anchor_mfa_settings: MfaSettings
) -> Iterator[AnchorSms]:
    """This test's handle on the SMS gateway; routes, rules and messages go after the test."""
    yield from for_this_test(anchor_sms_session, anchor_mfa_settings, AnchorSms)
