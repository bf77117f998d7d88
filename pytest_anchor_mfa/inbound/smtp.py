"""An SMTP inbox: the app under test mails its MFA code here, and the routed event is signaled.

``SmtpInbox`` is a real SMTP server (aiosmtpd's protocol, served by ``ProtocolServer`` on the
process's runtime loop: a loopback port, ``port=0`` for any free one) that accepts mail only for
recipients it can route to an event:

- ``<anything>+<event>@<any domain>`` goes to ``<event>`` (plus addressing), and explicit
  routes (``inbox.route("ci-*@app.test", "mfa_code")``, exact or glob) come first;
- a recipient nothing routes is refused at RCPT with 550 (never dropped silently), a recipient
  past ``max_recipients`` with 452, a message over ``data_size_limit`` bytes with 552;
- each accepted message is parsed (``mail.parse_mail``), its code extracted with the event's
  rule (``route(..., rule=)``, ``set_rule``, else the inbox's ``rule``: 6 digits) and every
  routed event signaled once through the ``Signaler`` with ``message_data("email", ...)``
  (its links as well: ``link``, ``links``); a
  message without a valid code is signaled too (with a ``problem`` and no ``code``), so a
  waiting ``mfa_code()`` fails at once instead of timing out;
- the reply to DATA comes after the signals: 250 when every event was signaled, 451 (try
  again) when a signal failed, 554 when the message could not be read at all.

Parsing and signaling run on a small thread pool (a signal is a blocking HTTP call), never on
the loop, which other servers share. Routes, rules and the last ``keep`` messages
(``messages``, ``wait_for_message``) are ``routes.RoutedMessages``, shared with the SMS
gateway. Bad input gets a clear reply and one log line; an incomplete message is never
signaled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from ..codes.rule import CodeRule
from ..errors import ConfigurationError, InvalidArgumentError, MessageTimeoutError
from ..redact import shorten
from ..runtime.recorder import Recorder
from ..runtime.serve import ProtocolServer
from .mail import InboxMessage, MailParseError, parse_mail
from .routes import RoutedMessages, Routes
from .signals import Signaler, message_data

__all__ = ["SmtpInbox"]

_log = logging.getLogger("pytest_anchor_mfa.inbound.smtp")

DATA_SIZE_LIMIT = 10 * 1024 * 1024
MAX_RECIPIENTS = 100
KEEP = 100
MAX_CONNECTIONS = 256
LINE_LENGTH_LIMIT = 64 * 1024
"""Longer than RFC 5321's 1,000: apps under test do send unwrapped HTML lines."""
_WORKERS = 4
_HANDLER_REFUSALS = frozenset({"550", "452", "451", "554"})
_PLAIN_EVENT = re.compile(r"[a-z0-9][a-z0-9._=-]*\Z")
"""Event names that survive in a plus address as they are (routes compare in lower case)."""
_SHOWN = 200
"""Characters of client-supplied text in a reply or a log line."""


class _Session(SMTP):
    """aiosmtpd's protocol with longer lines allowed and a cap on open connections."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(self, handler: _Handler, *, sessions: set[_Session], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._sessions = sessions
        self._max_connections = handler.inbox.max_connections
        self._refused = False
        self._logged = 0

    async def push(self, status: AnyStr) -> None:
        # The refusals aiosmtpd makes itself (552 too much data, 500 bad command or line too
        # long, 501 syntax...) are logged here, the first few per connection; the handler's
        # own refusals (550, 452, 451, 554) are logged where they are decided.
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if text[:1] in "45" and text[:3] not in _HANDLER_REFUSALS and self._logged < 3:
            self._logged += 1
            peer = self.session.peer if self.session is not None else "?"
            _log.info("SMTP inbox: %s <- %s", peer, shorten(text, _SHOWN))
        await super().push(status)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self._sessions) >= self._max_connections:
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(b"421 4.3.2 Too many connections, try again later\r\n")
            transport.close()
            return
        self._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        self._sessions.discard(self)
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        return False if self._refused else super().eof_received()

    def close_connection(self) -> None:
        """Close the connection (the inbox is stopping)."""
        if self.transport is not None:
            self.transport.close()


class _Handler:
    """aiosmtpd's handler hooks: routing at RCPT, delivery (on the inbox's pool) at DATA."""

    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox
        self._routed: weakref.WeakKeyDictionary[Envelope, list[tuple[str, str]]] = (
            weakref.WeakKeyDictionary()
        )
        self._over_limit: weakref.WeakSet[Envelope] = weakref.WeakSet()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        routed = self._routed.setdefault(envelope, [])
        limit = self.inbox.max_recipients
        if len(envelope.rcpt_tos) >= limit:
            if envelope not in self._over_limit:  # one log line per message
                self._over_limit.add(envelope)
                _log.info("SMTP inbox: more than %d recipients in one message, refused", limit)
            return f"452 4.5.3 Too many recipients: at most {limit} per message"
        event = self.inbox.resolve(address)
        if event is None:
            self.inbox.note_refusal(address, "no route to an event")
            return (
                f"550 5.1.1 <{shorten(address, _SHOWN)}>: no route to an event here (use "
                "<anything>+<event>@<domain>, or add a route to the inbox)"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        routed.append((address, event))
        return f"250 2.1.5 OK, routed to event {shorten(event, 100)!r}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        routed = self._routed.pop(envelope, [])
        content = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.inbox.executor, self.inbox.deliver, content, envelope.mail_from or "", routed
        )

    async def handle_exception(self, error: Exception) -> str:
        _log.error("SMTP inbox: %s: %s", type(error).__name__, shorten(error, _SHOWN))
        return f"451 4.3.0 Internal error ({type(error).__name__}), try again later"


class SmtpInbox(RoutedMessages[InboxMessage]):
    """A loopback SMTP server whose mail signals events; a context manager.

    ``signaler(event, data)`` delivers each message's data (an ``EventsClient``'s ``signal``).
    ``rule`` is the code rule of events with none of their own (default: 6 digits).
    """

    def __init__(
        self,
        signaler: Signaler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rule: CodeRule | None = None,
        routes: Routes | None = None,
        data_size_limit: int = DATA_SIZE_LIMIT,
        max_recipients: int = MAX_RECIPIENTS,
        keep: int = KEEP,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = 60.0,
        hostname: str = "inbox.test",
    ) -> None:
        for name, value in (
            ("data_size_limit", data_size_limit),
            ("max_recipients", max_recipients),
            ("keep", keep),
            ("max_connections", max_connections),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
        super().__init__(
            routes if routes is not None else Routes(plus_addressing=True),
            rule or CodeRule.digits(6),
            keep,
        )
        self._signal = signaler
        self.data_size_limit = data_size_limit
        self.max_recipients = max_recipients
        self.max_connections = max_connections
        self._idle_timeout = idle_timeout
        self._hostname = hostname
        self._refusals: Recorder[tuple[str, str]] = Recorder(keep=20)
        self._sessions: set[_Session] = set()
        self._handler = _Handler(self)
        self._executor: ThreadPoolExecutor | None = None
        self._server = ProtocolServer(
            self._new_session, host=host, port=port, name="smtp-inbox", on_stop=self._close_all
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving; returns once connections are accepted."""
        self._executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="smtp-inbox-deliver")
        try:
            self._server.start()
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def stop(self) -> None:
        """Close the listener and every connection (a message in the middle is dropped)."""
        self._server.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> SmtpInbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _new_session(self) -> _Session:
        return _Session(
            self._handler,
            sessions=self._sessions,
            data_size_limit=self.data_size_limit,
            enable_SMTPUTF8=True,
            hostname=self._hostname,
            ident="pytest-anchor-mfa SMTP inbox",
            timeout=self._idle_timeout,
            loop=asyncio.get_running_loop(),  # called by the listener, on the loop
        )

    async def _close_all(self) -> None:
        for session in list(self._sessions):
            session.close_connection()
        # connection_lost runs next, which cancels each session's task, before stop() returns.
        await asyncio.sleep(0)

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise RuntimeError("the SMTP inbox is not running")
        return self._executor

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def running(self) -> bool:
        return self._server.running

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.running else "not started"
        return f"SmtpInbox({where}, messages={len(self.messages)})"

    # -- addresses (routes and rules: RoutedMessages) ------------------------------------------

    def address_for(self, event: str, *, local: str = "test", domain: str = "inbox.test") -> str:
        """An address whose mail signals ``event``: ``test+<event>@inbox.test`` when the name
        fits in an address as it is, else a routed ``test+r<hash>@inbox.test``."""
        address = f"{local}+{event}@{domain}"
        if _PLAIN_EVENT.match(event) and self.resolve(address) == event:
            return address
        token = hashlib.sha256(event.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        address = f"{local}+r{token}@{domain}"
        if self.resolve(address) != event:
            self.routes.add(address, event)
        if self.resolve(address) != event:
            raise InvalidArgumentError(
                f"cannot make an address for event {event!r}: an earlier route takes {address}",
                event_name=event,
            )
        return address

    # -- delivery (on the pool's threads) ------------------------------------------------------

    def note_refusal(self, address: str, reason: str) -> None:
        _log.info("SMTP inbox: refused recipient %s: %s", shorten(address, _SHOWN), reason)
        self._refusals.record((shorten(address, _SHOWN), reason))

    def deliver(self, content: bytes, envelope_from: str, routed: Iterable[tuple[str, str]]) -> str:
        """Parse one complete message, signal its events, keep it; returns the SMTP reply."""
        recipients = list(routed)
        try:
            parsed = parse_mail(content, envelope_from=envelope_from)
        except MailParseError as exc:
            _log.warning(
                "SMTP inbox: message from %s refused: %s", shorten(envelope_from, _SHOWN), exc
            )
            return f"554 5.6.0 Message refused: {shorten(exc, _SHOWN)}"
        first: dict[str, str] = {}
        for address, event in recipients:
            first.setdefault(event, address)
        codes: dict[str, str | None] = {}
        failed: list[str] = []
        for event, address in first.items():
            rule = self.rule_for(event)
            data = message_data(
                "email",
                parsed.candidates(rule),
                sender=parsed.sender,
                recipient=address,
                text=parsed.text,
                rule=rule,
                subject=parsed.subject,
                links=parsed.links,
            )
            codes[event] = data.get("code")
            try:
                self._signal(event, data)
            except Exception as exc:  # our client's errors carry no secret
                _log.warning(
                    "SMTP inbox: signaling event %r failed: %s", event, shorten(exc, _SHOWN)
                )
                failed.append(event)
        kept = InboxMessage.of(
            parsed,
            to=tuple(address for address, _ in recipients),
            codes=codes,
            envelope_from=envelope_from,
            size=len(content),
        )
        self.record(kept)
        if failed:
            done = len(first) - len(failed)
            return (
                f"451 4.3.0 Signaling event(s) {shorten(', '.join(failed), _SHOWN)} failed "
                f"({done} of {len(first)} signaled), try again later"
            )
        return f"250 2.0.0 OK, signaled {len(first)} event(s)"

    # -- what arrived (messages: RoutedMessages) ----------------------------------------------

    @property
    def refusals(self) -> list[tuple[str, str]]:
        """``(recipient, reason)`` of the last refused recipients (a copy)."""
        return self._refusals.items()

    def reset(self) -> None:
        """Forget the messages, refusals, routes and per-event rules."""
        super().reset()
        self._refusals.reset()

    def wait_for_message(self, to: str | None = None, timeout: float = 10.0) -> InboxMessage:
        """The first kept message to ``to`` (a recipient address, any case, or an event name;
        None: any), waiting at most ``timeout`` seconds; else ``MessageTimeoutError`` naming what
        did arrive."""
        message = self._wait_for_message(lambda m: to is None or m.addressed_to(to), timeout)
        if message is None:
            raise MessageTimeoutError(self._timeout_message(to, timeout))
        return message

    def _timeout_message(self, to: str | None, timeout: float) -> str:
        wanted = f"no message to {to!r}" if to is not None else "no message"
        where = f"{self.host}:{self.port}" if self.running else "(stopped)"
        messages, refusals = self.messages, self.refusals
        arrived = "; ".join(message.summary() for message in messages[-5:])
        text = (
            f"{wanted} arrived at the SMTP inbox {where} within {timeout:g} s; "
            f"received {len(messages)} message(s)"
        )
        if arrived:
            text += f", latest: {arrived}"
        if refusals:
            latest = "; ".join(f"{address} ({why})" for address, why in refusals[-3:])
            text += f"; refused recipients: {latest}"
        return text
