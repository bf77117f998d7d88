"""The e-mail fixtures: one SMTP inbox per process, and a per-test handle on it.

Owns ``anchor_inbox_session`` (a ``SmtpInbox`` for the whole run, one per xdist worker, like
``anchor_fake_session``) and ``anchor_inbox`` (this test's handle: its address, what arrived;
the inbox is emptied after the test, like ``anchor_fake``). Mail signals whatever this run
uses, through ``anchor_events``: the fake server in fake mode, the real API in live mode.
The inbox (aiosmtpd) is imported when a test first uses it, never at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from .renames import overridden

if TYPE_CHECKING:
    from ..events import EventsClient
    from ..inbound.mail import InboxMessage
    from ..inbound.routes import Route, RoutedMessages
    from ..inbound.smtp import SmtpInbox
    from .mfa import MfaSettings

__all__ = ["AnchorInbox", "anchor_inbox", "anchor_inbox_session", "for_this_test"]

_Session = TypeVar("_Session", bound="RoutedMessages[Any]")
_Handle = TypeVar("_Handle")

DOMAIN = "inbox.test"
"""The domain of the addresses ``anchor_inbox.address()`` makes (any domain is accepted)."""


class AnchorInbox:
    """The ``anchor_inbox`` fixture: where the app under test should mail this test's code.

    ``address(event=None)`` is an address whose mail signals ``event`` (default: the event
    ``mfa_code()`` waits on); give it to the app (its SMTP settings: ``host``, ``port``).
    ``messages`` and ``wait_for_message(to=None, timeout=10)`` show what arrived in this test.
    """

    def __init__(self, server: SmtpInbox, mfa_event: str) -> None:
        self.server = server
        self.mfa_event = mfa_event

    def __repr__(self) -> str:
        return (
            f"<anchor_inbox smtp://{self.host}:{self.port} for event {self.mfa_event!r}, "
            f"{len(self.messages)} message(s)>"
        )

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def address(self, event: str | None = None) -> str:
        """``test+<event>@inbox.test``: mail to it signals ``event`` (default: the MFA event)."""
        return self.server.address_for(event or self.mfa_event, domain=DOMAIN)

    def route(self, pattern: str, event: str | None = None) -> Route:
        """Route recipients matching ``pattern`` (exact or glob) to ``event`` (the MFA event)."""
        return self.server.route(pattern, event or self.mfa_event)

    @property
    def messages(self) -> list[InboxMessage]:
        """The messages accepted in this test, oldest first (reprs masked)."""
        return self.server.messages

    def wait_for_message(self, to: str | None = None, timeout: float = 10.0) -> InboxMessage:
        """The first message to ``to`` (an address or an event; None: any) in this test;
        raises ``MessageTimeoutError`` (a ``TimeoutError``) naming what did arrive."""
        return self.server.wait_for_message(to, timeout)


@pytest.fixture(scope="session")
def anchor_inbox_session(
    anchor_events: EventsClient, request: pytest.FixtureRequest
) -> Iterator[SmtpInbox]:
    """The SMTP inbox of this process (one per xdist worker); it signals ``anchor_events``."""
    found, override = overridden(request, "anchor_inbox_session")
    if found:
        yield override
        return
    from ..inbound.smtp import SmtpInbox

    with SmtpInbox(anchor_events.signal) as inbox:
        yield inbox


@pytest.fixture
def anchor_inbox(
    anchor_inbox_session: SmtpInbox, anchor_mfa_settings: MfaSettings
) -> Iterator[AnchorInbox]:
    """This test's handle on the SMTP inbox; routes, rules and messages go after the test."""
    yield from for_this_test(anchor_inbox_session, anchor_mfa_settings, AnchorInbox)


def for_this_test(
    session: _Session, settings: MfaSettings, handle: Callable[[_Session, str], _Handle]
) -> Iterator[_Handle]:
    """A test's ``handle`` on an inbox or SMS gateway: messages to the MFA event are read with
    the test's code rule (``@pytest.mark.mfa(digits=8)``...); routes, rules and messages go
    when the test ends."""
    session.set_rule(settings.event, settings.rule)
    yield handle(session, settings.event)
    session.reset()
