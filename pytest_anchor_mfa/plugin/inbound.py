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

from ..codes.links import MaskedLink, choose_link, missing_link
from ..errors import LinkNotFoundError
from .links import remember_link
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
    ``messages`` and ``wait_for_message(to=None, timeout=10)`` show what arrived in this test;
    ``wait_for_link(to=None, *, path=None, timeout=10)`` the link of a mail.
    """

    def __init__(
        self, server: SmtpInbox, mfa_event: str, config: pytest.Config | None = None
    ) -> None:
        self.server = server
        self.mfa_event = mfa_event
        self.config = config

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

    def wait_for_link(
        self, to: str | None = None, *, path: str | None = None, timeout: float = 10.0
    ) -> MaskedLink:
        """The link of a mail to ``to`` (an address or an event; None: any): waits for the
        first such mail as ``wait_for_message`` does, then takes the first of the mails to
        ``to`` that has a link to open (with ``path``, a link whose path has a match of that
        regex). None of them has one: ``LinkNotFoundError`` at once, naming the latest mail's
        sender and subject."""
        first = self.wait_for_message(to, timeout)
        mails = [m for m in self.messages if to is None or m.addressed_to(to)] or [first]
        for mail in mails:
            link = choose_link(mail.link, mail.links, path)
            if link is not None:
                if self.config is not None:
                    remember_link(self.config, link)
                return link
        latest = mails[-1]
        others = f" ({len(latest.links)} other link(s))" if latest.links else ""
        count = f" (and {len(mails) - 1} earlier mail(s))" if len(mails) > 1 else ""
        raise LinkNotFoundError(
            f"{missing_link(path)} in the e-mail {latest.summary()}{others}{count}"
        )


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
    anchor_inbox_session: SmtpInbox,
    anchor_mfa_settings: MfaSettings,
    request: pytest.FixtureRequest,
) -> Iterator[AnchorInbox]:
    """This test's handle on the SMTP inbox; routes, rules and messages go after the test."""

    def handle(session: SmtpInbox, event: str) -> AnchorInbox:
        return AnchorInbox(session, event, request.config)

    yield from for_this_test(anchor_inbox_session, anchor_mfa_settings, handle)


def for_this_test(
    session: _Session, settings: MfaSettings, handle: Callable[[_Session, str], _Handle]
) -> Iterator[_Handle]:
    """A test's ``handle`` on an inbox or SMS gateway: messages to the MFA event are read with
    the test's code rule (``@pytest.mark.mfa(digits=8)``...); routes, rules and messages go
    when the test ends."""
    session.set_rule(settings.event, settings.rule)
    yield handle(session, settings.event)
    session.reset()
