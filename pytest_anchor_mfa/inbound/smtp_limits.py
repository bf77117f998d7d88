"""What one SMTP client may cost the inbox: the limits, and the small mechanisms enforcing them.

``SmtpLimits`` holds them (the README's "Limits and faults" lists each with its default):

* work per message: at most ``max_parts`` MIME parts and ``max_depth`` levels of nesting,
  checked on the raw bytes before anything is parsed (``check_structure``: a C-speed count,
  then a look at the few lines that can be MIME boundaries), and ``max_text`` characters of
  visible text scanned for codes (the rest is cut: ``limit_text``); the reply comes within
  ``message_timeout`` seconds of the final ``.`` or is a 451;
* work overall: ``max_parsing`` messages parsed at once, one client holding at most all but
  one of them; a free slot goes to the waiting message whose client has the fewest messages
  being parsed, then the smallest (``FairSlots``): a flood from one client never queues
  another client's mail behind it;
* memory: ``max_pending_bytes`` of messages received or being handled at once, reserved at
  DATA (``ByteBudget``): past it, 452 (try again later);
* connections: ``max_per_client`` open connections per client address, and a connection
  lasts at most ``max_session_time`` seconds whatever it sends (421).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigurationError
from .mail import MailParseError, ParsedMail, first_characters

__all__ = ["ByteBudget", "FairSlots", "SmtpLimits", "check_structure", "limit_text"]

_DASH_LINES_PER_PART = 10
"""Lines starting with ``--`` allowed per MIME part before the message is refused unread."""
_DECLARED = re.compile(
    rb'boundary\*?0?\*?[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I
)
_DASH_LINE = re.compile(rb"^--([^\r\n]{0,202})", re.M)


@dataclass(frozen=True)
class SmtpLimits:
    """The inbox's work, memory and connection limits (see the module docstring)."""

    max_parts: int = 100
    max_depth: int = 10
    max_text: int = 20_000
    message_timeout: float = 30.0
    max_parsing: int = 2
    max_pending_bytes: int = 32 * 1024 * 1024
    max_per_client: int = 16
    max_session_time: float = 600.0

    def __post_init__(self) -> None:
        for name in ("max_parts", "max_depth", "max_text", "max_parsing", "max_per_client"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("message_timeout", "max_session_time"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigurationError(f"{name} must be > 0 seconds, got {value!r}")
        if not isinstance(self.max_pending_bytes, int) or self.max_pending_bytes < 1024:
            raise ConfigurationError(
                f"max_pending_bytes must be a whole number >= 1024, got {self.max_pending_bytes!r}"
            )


def check_structure(content: bytes, limits: SmtpLimits) -> None:
    """Refuse (``MailParseError``) a message with too many MIME parts or nested too deeply,
    reading only the raw bytes: parsing costs about half a millisecond per part."""
    dash_lines = content.count(b"\n--") + content.startswith(b"--")
    if dash_lines > _DASH_LINES_PER_PART * limits.max_parts:
        raise MailParseError(
            f"more than {limits.max_parts} MIME parts ({dash_lines} boundary-like lines); "
            f"the inbox reads at most {limits.max_parts}"
        )
    events: list[tuple[int, bytes, str]] = []  # (offset, boundary, what)
    for match in _DECLARED.finditer(content):
        events.append((match.start(), match.group(1) or match.group(2), "declared"))
    declared = {boundary for _, boundary, _ in events}
    for match in _DASH_LINE.finditer(content):
        line = match.group(1).rstrip(b" \t")
        if line.endswith(b"--") and line[:-2] in declared:
            events.append((match.start(), line[:-2], "closing"))
        elif line in declared:
            events.append((match.start(), line, "delimiter"))
    _check_counts(sorted(events), limits)


def _check_counts(events: list[tuple[int, bytes, str]], limits: SmtpLimits) -> None:
    parts, deepest, stack = 0, 0, []
    for _, boundary, what in events:
        if what == "declared":
            stack.append(boundary)
            deepest = max(deepest, len(stack))
        elif boundary in stack:  # a delimiter ends every part nested below its multipart
            del stack[stack.index(boundary) + (what == "delimiter") :]
            parts += what == "delimiter"
    if deepest > limits.max_depth:
        raise MailParseError(
            f"MIME parts nested too deeply (more than {limits.max_depth} levels); "
            f"the inbox reads at most {limits.max_depth}"
        )
    if parts > limits.max_parts:
        raise MailParseError(
            f"more than {limits.max_parts} MIME parts; the inbox reads at most {limits.max_parts}"
        )


def limit_text(parsed: ParsedMail, max_text: int) -> ParsedMail:
    """``parsed`` with at most ``max_text`` characters of sources (the first ones) to scan."""
    if sum(len(text) for _, text in parsed.sources) <= max_text and len(parsed.text) <= max_text:
        return parsed
    kept = first_characters(parsed.sources, max_text)
    return replace(parsed, text=parsed.text[:max_text], sources=tuple(kept), _found={})


class ByteBudget:
    """Bytes of messages in flight, reserved and released on the event loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def reserve(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)


@dataclass
class _Waiter:
    client: Any
    size: int
    order: int
    future: asyncio.Future[None]


class FairSlots:
    """``count`` slots for parsing, used on the event loop (see the module docstring).

    One client holds at most ``count - 1`` of them (at least one), so a slot stays for the
    others whatever one client sends."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._per_client = max(1, count - 1)
        self._busy: Counter[Any] = Counter()
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()

    async def acquire(self, client: Any, size: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiter(client, size, next(self._order), future))
        self._hand_out()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(client)  # handed a slot just as the waiter went away
            else:
                self._waiting = [w for w in self._waiting if w.future is not future]
            raise

    def release(self, client: Any) -> None:
        self._busy[client] -= 1
        if self._busy[client] <= 0:
            del self._busy[client]
        self._free += 1
        self._hand_out()

    def _hand_out(self) -> None:
        while self._free:
            ready = [
                w
                for w in self._waiting
                if not w.future.done() and self._busy[w.client] < self._per_client
            ]
            if not ready:
                return
            best = min(ready, key=lambda w: (self._busy[w.client], w.size, w.order))
            self._waiting.remove(best)
            self._free -= 1
            self._busy[best.client] += 1
            best.future.set_result(None)
