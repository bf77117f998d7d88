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
  again) when a signal failed or the message was not read in time, 554 when it could not be
  read at all or is over the work limits; a client gone before its reply gets no signal.

What one client may cost (MIME parts, nesting, text scanned, parsing slots, bytes in flight,
connections per address, session time) is ``SmtpLimits`` (``smtp_limits``); the connection
and its hooks are ``smtp_session``. ``allowed_clients`` (networks) and ``allowed_senders``
(MAIL FROM globs) restrict who may send. Parsing and signaling run on daemon worker threads
(a signal is a blocking HTTP call), never on the loop, which other servers share. Routes,
rules and the last ``keep`` messages (``messages``, ``wait_for_message``) are
``routes.RoutedMessages``, shared with the SMS gateway. Bad input gets a clear reply and one
log line; an incomplete message is never signaled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from ..codes.rule import CodeRule
from ..errors import ConfigurationError, InvalidArgumentError, MessageTimeoutError
from ..redact import shorten
from ..runtime.recorder import Recorder
from ..runtime.serve import ProtocolServer
from ..runtime.workers import Workers
from .mail import InboxMessage, MailParseError, ParsedMail, parse_mail
from .routes import RoutedMessages, Routes
from .signals import Signaler, message_data
from .smtp_limits import ByteBudget, FairSlots, SmtpLimits, check_structure, limit_text
from .smtp_session import SHOWN, SmtpHandler, SmtpSession

__all__ = ["SmtpInbox"]

_log = logging.getLogger("pytest_anchor_mfa.inbound.smtp")

DATA_SIZE_LIMIT = 10 * 1024 * 1024
MAX_RECIPIENTS = 100
KEEP = 100
MAX_CONNECTIONS = 256
_WORKERS = 4
"""Worker threads: parsing (at most ``max_parsing`` at once) and signal calls."""
_PLAIN_EVENT = re.compile(r"[a-z0-9][a-z0-9._=-]*\Z")
"""Event names that survive in a plus address as they are (routes compare in lower case)."""
_SHOWN = SHOWN
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(allowed: Sequence[str]) -> list[Network]:
    networks = []
    for text in allowed:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"allowed client {text!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return networks


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
        limits: SmtpLimits | None = None,
        allowed_clients: Sequence[str] = (),
        allowed_senders: Sequence[str] = (),
    ) -> None:
        for name, value in (
            ("data_size_limit", data_size_limit),
            ("max_recipients", max_recipients),
            ("keep", keep),
            ("max_connections", max_connections),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
        self.limits = limits or SmtpLimits()
        if self.limits.max_pending_bytes < data_size_limit:
            raise ConfigurationError(
                f"max_pending_bytes ({self.limits.max_pending_bytes}) must be at least "
                f"data_size_limit ({data_size_limit}), or no large mail could ever arrive"
            )
        super().__init__(
            routes if routes is not None else Routes(plus_addressing=True),
            rule or CodeRule.digits(6),
            keep,
        )
        self._signal = signaler
        self.data_size_limit = data_size_limit
        self.max_recipients = max_recipients
        self.max_connections = max_connections
        self.allowed_clients = _networks(allowed_clients)
        self.allowed_senders = [pattern.strip().lower() for pattern in allowed_senders]
        self.budget = ByteBudget(self.limits.max_pending_bytes)
        self.slots = FairSlots(self.limits.max_parsing)
        self._idle_timeout = idle_timeout
        self._hostname = hostname
        self._refusals: Recorder[tuple[str, str]] = Recorder(keep=20)
        self._sessions: set[SmtpSession] = set()
        self._handler = SmtpHandler(self)
        self._workers: Workers | None = None
        self._server = ProtocolServer(
            self._new_session, host=host, port=port, name="smtp-inbox", on_stop=self._close_all
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving; returns once connections are accepted."""
        self._workers = Workers(_WORKERS + self.limits.max_parsing, "smtp-inbox")
        self.budget = ByteBudget(self.limits.max_pending_bytes)
        self.slots = FairSlots(self.limits.max_parsing)
        try:
            self._server.start()
        except BaseException:
            self._workers.shutdown()
            self._workers = None
            raise

    def stop(self) -> None:
        """Answer 421 on every open connection and close it (a message being received or
        handled is not signaled), close the listener; returns at once, whatever the workers
        are doing (a parse or a signal call still running is abandoned)."""
        self._server.stop()
        if self._workers is not None:
            self._workers.shutdown()
            self._workers = None

    def __enter__(self) -> SmtpInbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _new_session(self) -> SmtpSession:
        return SmtpSession(
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
            session.goodbye("421 4.3.2 The inbox is stopping, try again later")
        # connection_lost runs next, which cancels each session's task, before stop() returns.
        await asyncio.sleep(0)

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on the inbox's workers (parsing, signal calls)."""
        if self._workers is None:
            raise RuntimeError("the SMTP inbox is not running")
        return self._workers.submit(fn, *args)

    @property
    def connections(self) -> int:
        """Open SMTP connections."""
        return len(self._sessions)

    # -- who may send ----------------------------------------------------------------------------

    def client_allowed(self, host: str) -> bool:
        """Whether a client at ``host`` may connect (every client when no network is given)."""
        if not self.allowed_clients:
            return True
        try:
            address = ipaddress.ip_address(host.removeprefix("::ffff:"))
        except ValueError:
            return False
        return any(address in network for network in self.allowed_clients)

    def sender_allowed(self, sender: str) -> bool:
        """Whether MAIL FROM ``sender`` is allowed (every sender when no pattern is given)."""
        key = sender.strip().lower()
        return not self.allowed_senders or any(
            fnmatchcase(key, pattern) for pattern in self.allowed_senders
        )

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

    def read(self, content: bytes, envelope_from: str, rules: list[CodeRule]) -> ParsedMail | str:
        """Check, parse and scan one complete message for each rule's codes (on a worker, in
        a parsing slot); the parsed message, or the SMTP reply refusing it."""
        try:
            check_structure(content, self.limits)
            parsed = limit_text(
                parse_mail(content, envelope_from=envelope_from), self.limits.max_text
            )
        except MailParseError as exc:
            _log.warning(
                "SMTP inbox: message from %s refused: %s", shorten(envelope_from, _SHOWN), exc
            )
            return f"554 5.6.0 Message refused: {shorten(exc, _SHOWN)}"
        for rule in rules:
            parsed.candidates(rule)  # the scan is work per message: done here, in the slot
        return parsed

    def signal(
        self,
        parsed: ParsedMail,
        size: int,
        envelope_from: str,
        routed: list[tuple[str, str]],
        gone: threading.Event,
    ) -> str:
        """Signal each routed event of a parsed message, keep it; returns the SMTP reply.
        Stops before the next event once ``gone`` is set (the client went away)."""
        first: dict[str, str] = {}
        for address, event in routed:
            first.setdefault(event, address)
        codes: dict[str, str | None] = {}
        failed: list[str] = []
        for event, address in first.items():
            if gone.is_set():
                _log.warning("SMTP inbox: client gone; event %r and the rest not signaled", event)
                return "451 4.3.0 Client gone"
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
            to=tuple(address for address, _ in routed),
            codes=codes,
            envelope_from=envelope_from,
            size=size,
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
