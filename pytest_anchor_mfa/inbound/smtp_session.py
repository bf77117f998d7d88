"""One SMTP connection to the inbox: aiosmtpd's protocol with the inbox's limits, and its hooks.

``SmtpSession`` (one per connection) refuses a client the inbox does not allow (554), one past
the connection caps (421: in all, and per client address), closes a connection after
``max_session_time`` (421, after the reply to a message being handled), reserves a message's
bytes at DATA (452 when the inbox holds too many) and answers 421 when the inbox stops.
``SmtpHandler`` holds aiosmtpd's hooks: MAIL and RCPT refuse control characters in an address
(501), RCPT routes, DATA reads the message on a worker (a fair parsing slot, a deadline) and
only then signals, on a worker too. The reply comes once the message is handled; a client gone
before that (cut, timed out, the inbox stopping) cancels the handling, so its message is never
signaled after it parsed, and no further event of it is signaled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, AnyStr, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from ..codes.rule import CodeRule
from ..redact import shorten
from .mail import ParsedMail
from .smtp_limits import ByteBudget, FairSlots, SmtpLimits

__all__ = ["SHOWN", "InboxCore", "SmtpHandler", "SmtpSession"]

_log = logging.getLogger("pytest_anchor_mfa.inbound.smtp")

LINE_LENGTH_LIMIT = 64 * 1024
"""Longer than RFC 5321's 1,000: apps under test do send unwrapped HTML lines."""
SHOWN = 200
"""Characters of client-supplied text in a reply or a log line."""
_HANDLER_REFUSALS = frozenset({"550", "452", "451", "554"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINES_PER_TURN = 200
"""Lines a connection reads before the loop runs the others (about a millisecond)."""
_SIZE_SLACK = 4096
"""Bytes a message may run over its declared SIZE (dot-stuffing, line ends)."""


class InboxCore(Protocol):
    """What a session needs of its inbox (``SmtpInbox``)."""

    limits: SmtpLimits
    data_size_limit: int
    max_recipients: int
    max_connections: int
    budget: ByteBudget
    slots: FairSlots

    def resolve(self, recipient: str) -> str | None: ...
    def rule_for(self, event: str) -> CodeRule: ...
    def note_refusal(self, address: str, reason: str) -> None: ...
    def client_allowed(self, host: str) -> bool: ...
    def sender_allowed(self, sender: str) -> bool: ...
    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]: ...
    def read(
        self, content: bytes, envelope_from: str, rules: list[CodeRule]
    ) -> ParsedMail | str: ...
    def signal(
        self,
        parsed: ParsedMail,
        size: int,
        envelope_from: str,
        routed: list[tuple[str, str]],
        gone: threading.Event,
    ) -> str: ...


class SmtpSession(SMTP):
    """aiosmtpd's protocol with the inbox's connection, time and memory limits."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(self, handler: SmtpHandler, *, sessions: set[SmtpSession], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._inbox = handler.inbox
        self._sessions = sessions
        self._limit = self._inbox.data_size_limit
        self._refused = False
        self._logged = 0
        self.client = "?"
        self.handling = False
        self._over = False
        self._ends: asyncio.TimerHandle | None = None

    # -- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "?"
        refusal = self._refusal()
        if refusal is not None:
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(refusal.encode() + b"\r\n")
            transport.close()
            return
        self._sessions.add(self)
        super().connection_made(transport)
        _take_turns(self._reader)
        self._ends = self.loop.call_later(self._inbox.limits.max_session_time, self._time_up)

    def _refusal(self) -> str | None:
        limits = self._inbox.limits
        if not self._inbox.client_allowed(self.client):
            _log.info("SMTP inbox: client %s refused: not in the allowed networks", self.client)
            return f"554 5.7.1 Client {self.client} is not allowed to send mail here"
        if len(self._sessions) >= self._inbox.max_connections:
            return "421 4.3.2 Too many connections, try again later"
        same = sum(1 for session in self._sessions if session.client == self.client)
        if same >= limits.max_per_client:
            _log.info("SMTP inbox: client %s refused: %d connections open", self.client, same)
            return (
                f"421 4.7.0 Too many connections from {self.client} (at most "
                f"{limits.max_per_client}), try again later"
            )
        return None

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._ends is not None:
            self._ends.cancel()
        self._sessions.discard(self)
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        return False if self._refused else super().eof_received()

    def _time_up(self) -> None:
        self._ends = None
        self._over = True
        if not self.handling:  # else: right after the message's reply (push)
            self.goodbye(self._time_up_line())

    def _time_up_line(self) -> str:
        seconds = self._inbox.limits.max_session_time
        return f"421 4.4.2 Session time limit ({seconds:g} s) reached; reconnect to send more"

    def _timeout_cb(self) -> None:
        if self.handling:  # the idle timer never cuts a message being handled
            self._reset_timeout()
            return
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def goodbye(self, line: str) -> None:
        """Answer ``line`` (a 421) and close, whatever the session was doing."""
        if self.transport is not None and not self.transport.is_closing():
            if isinstance(self.transport, asyncio.WriteTransport):
                self.transport.write(line.encode() + b"\r\n")
            self.transport.close()

    # -- replies and DATA ---------------------------------------------------------------------

    async def push(self, status: AnyStr) -> None:
        # The refusals aiosmtpd makes itself (552 too much data, 500 bad command or line too
        # long...) are logged here, the first few per connection; the handler's own refusals
        # are logged where they are decided.
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if text[:1] in "45" and text[:3] not in _HANDLER_REFUSALS and self._logged < 3:
            self._logged += 1
            _log.info("SMTP inbox: %s <- %s", self.client, shorten(text, SHOWN))
        await super().push(status)
        if self._over and not self.handling:
            self.goodbye(self._time_up_line())

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        declared = _declared_size(self.envelope.mail_options if self.envelope else [])
        size = min(
            self._limit, declared + declared // 10 + _SIZE_SLACK if declared else self._limit
        )
        budget = self._inbox.budget
        if not budget.reserve(size):
            _log.info("SMTP inbox: %s told to retry: %d bytes in flight", self.client, budget.used)
            mib = budget.limit / (1024 * 1024)
            self._set_post_data_state()  # type: ignore[no-untyped-call]  # transaction over
            await self.push(
                f"452 4.3.1 Too much mail arriving at once (over {mib:g} MiB), try again later"
            )
            return
        self.data_size_limit = size  # a message over its declared SIZE is refused (552)
        try:
            await super().smtp_DATA(arg)
        finally:
            budget.release(size)
            self.data_size_limit = self._limit


def _take_turns(reader: asyncio.StreamReader) -> None:
    """Make ``reader`` let the other connections run every ``_LINES_PER_TURN`` lines.

    aiosmtpd reads DATA a line at a time, and a line already buffered is returned without
    yielding to the loop: a client sending a mail of 100,000 short lines held the loop for
    ~40 ms per buffer, so each step of another client's session waited for every flooding
    connection's buffer in turn."""
    readuntil = reader.readuntil
    lines = 0

    async def taking_turns(separator: bytes = b"\n") -> bytes:
        nonlocal lines
        lines += 1
        if lines % _LINES_PER_TURN == 0:
            await asyncio.sleep(0)
        return await readuntil(separator)

    reader.readuntil = taking_turns  # type: ignore[method-assign,assignment]


def _declared_size(options: Iterable[str]) -> int:
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isascii() and value.isdigit():
            return int(value)
    return 0


@contextlib.contextmanager
def _handling(server: SMTP) -> Iterator[None]:
    if isinstance(server, SmtpSession):
        server.handling = True
    try:
        yield
    finally:
        if isinstance(server, SmtpSession):
            server.handling = False


class SmtpHandler:
    """aiosmtpd's handler hooks: checks at MAIL, routing at RCPT, reading and signaling at DATA."""

    def __init__(self, inbox: InboxCore) -> None:
        self.inbox = inbox
        self._routed: weakref.WeakKeyDictionary[Envelope, list[tuple[str, str]]] = (
            weakref.WeakKeyDictionary()
        )
        self._over_limit: weakref.WeakSet[Envelope] = weakref.WeakSet()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if _CONTROL.search(address):
            return _control_refusal("sender")
        if not self.inbox.sender_allowed(address):
            _log.info("SMTP inbox: sender %s refused: not allowed", shorten(address, SHOWN))
            return f"550 5.7.1 Sender <{shorten(address, SHOWN)}> is not allowed to send here"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if _CONTROL.search(address):
            return _control_refusal("recipient")
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
                f"550 5.1.1 <{shorten(address, SHOWN)}>: no route to an event here (use "
                "<anything>+<event>@<domain>, or add a route to the inbox)"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        routed.append((address, event))
        return f"250 2.1.5 OK, routed to event {shorten(event, 100)!r}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        routed = self._routed.pop(envelope, [])
        content = envelope.original_content or b""
        sender = envelope.mail_from or ""
        client = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        with _handling(server):
            rules = [self.inbox.rule_for(event) for event in dict.fromkeys(e for _, e in routed)]
            parsed = await self._read(content, sender, rules, client)
            if isinstance(parsed, str):
                return parsed
            gone = threading.Event()
            job = self.inbox.submit(self.inbox.signal, parsed, len(content), sender, routed, gone)
            try:
                reply: str = await asyncio.wrap_future(job)
            except asyncio.CancelledError:
                gone.set()  # the client is gone: no further event of this message is signaled
                raise
            return reply

    async def _read(
        self, content: bytes, sender: str, rules: list[CodeRule], client: str
    ) -> ParsedMail | str:
        """Parse on a worker, in a fair slot; a reply instead when not done in time."""
        loop = asyncio.get_running_loop()
        limits, slots = self.inbox.limits, self.inbox.slots
        deadline = loop.time() + limits.message_timeout
        try:
            await asyncio.wait_for(slots.acquire(client, len(content)), limits.message_timeout)
            job = self.inbox.submit(self.inbox.read, content, sender, rules)
        except TimeoutError:
            return self._busy(client, limits.message_timeout)
        except BaseException:
            slots.release(client)
            raise
        job.add_done_callback(lambda _: _call_soon(loop, slots.release, client))
        try:
            result: ParsedMail | str = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(job)), max(0.0, deadline - loop.time())
            )
        except TimeoutError:
            return self._busy(client, limits.message_timeout)
        return result

    @staticmethod
    def _busy(client: str, seconds: float) -> str:
        _log.warning("SMTP inbox: a message from %s was not read within %g s", client, seconds)
        return (
            f"451 4.3.0 The message was not read within {seconds:g} s (the inbox is busy); "
            "nothing was signaled, try again later"
        )

    async def handle_exception(self, error: Exception) -> str:
        _log.error("SMTP inbox: %s: %s", type(error).__name__, shorten(error, SHOWN))
        return f"451 4.3.0 Internal error ({type(error).__name__}), try again later"


def _control_refusal(what: str) -> str:
    return f"501 5.1.3 The {what} address contains a control character (CR, LF, NUL...)"


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: Any
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(callback, *args)
