"""Signals kept for the next wait: FIFO per (user, event), with expiry and three bounds.

A signal that found no waiter is kept until a wait takes it or it expires (``keep_for``). So
that a long-running server stays small whatever its clients do, kept signals are bounded in
count per event (``queue_limit``), in events holding kept signals (``max_events``) and in total
payload bytes (``max_bytes``); past any bound the oldest kept signal (of that event, or of all)
is dropped, and every drop is logged.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from ..errors import ConfigurationError

__all__ = ["KeptSignals"]

_log = logging.getLogger("pytest_anchor_mfa.server")

Key = tuple[str, str]


class _Kept:
    __slots__ = ("expires", "gone", "key", "payload")

    def __init__(self, key: Key, payload: bytes, expires: float) -> None:
        self.key = key
        self.payload = payload
        self.expires = expires
        self.gone = False  # taken, expired or dropped: skipped in the global order


class KeptSignals:
    """The kept signals of a store; every method is O(1) amortised."""

    def __init__(
        self,
        *,
        keep_for: float,
        queue_limit: int,
        max_events: int,
        max_bytes: int,
        clock: Callable[[], float],
    ) -> None:
        if keep_for <= 0 or min(queue_limit, max_events, max_bytes) < 1:
            raise ConfigurationError(
                "keep_for must be > 0 and queue_limit, max_kept_events, max_kept_bytes >= 1"
            )
        self.keep_for = keep_for
        self.queue_limit = queue_limit
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._clock = clock
        self._queues: dict[Key, deque[_Kept]] = {}
        self._order: deque[_Kept] = deque()  # every kept signal, oldest first
        self.bytes = 0

    def keep(self, key: Key, payload: bytes) -> None:
        now = self._clock()
        queue = self._queues.get(key)
        if queue is not None:
            self._expire(key, queue, now)  # may forget the queue, when all of it expired
        queue = self._queues.setdefault(key, deque())
        entry = _Kept(key, payload, now + self.keep_for)
        queue.append(entry)
        self._order.append(entry)
        self.bytes += len(payload)
        if len(queue) > self.queue_limit:
            self._pop(key, queue)
            _log.warning(
                "event %r: more than %d kept signals, dropped the oldest", key[1], self.queue_limit
            )
        self._bound()

    def take(self, key: Key) -> bytes | None:
        """The oldest unexpired signal kept for ``key`` (removed), or None."""
        queue = self._queues.get(key)
        if queue is None:
            return None
        self._expire(key, queue, self._clock())
        return self._pop(key, queue) if queue else None

    def peek(self, key: Key) -> list[bytes]:
        queue = self._queues.get(key, ())
        now = self._clock()
        return [entry.payload for entry in queue if entry.expires > now]

    def events(self) -> list[Key]:
        """The (user, event) pairs holding unexpired kept signals (expired ones are dropped)."""
        now = self._clock()
        for key, queue in list(self._queues.items()):
            self._expire(key, queue, now)
        return list(self._queues)

    def clear(self) -> None:
        self._queues.clear()
        self._order.clear()
        self.bytes = 0

    def _pop(self, key: Key, queue: deque[_Kept]) -> bytes:
        entry = queue.popleft()
        payload, entry.payload = entry.payload, b""  # the global order may hold it a while
        entry.gone = True
        self.bytes -= len(payload)
        if not queue:
            del self._queues[key]
        while self._order and self._order[0].gone:
            self._order.popleft()
        return payload

    def _expire(self, key: Key, queue: deque[_Kept], now: float) -> None:
        while queue and queue[0].expires <= now:
            self._pop(key, queue)

    def _bound(self) -> None:
        # The globally oldest live entry is always the head of its own queue (both are in
        # arrival order), so dropping it is a pop of that queue.
        while self.bytes > self.max_bytes or len(self._queues) > self.max_events:
            oldest = self._order[0]
            why = "bytes" if self.bytes > self.max_bytes else "events"
            self._pop(oldest.key, self._queues[oldest.key])
            _log.warning(
                "kept signals over their bound of %s (%s): dropped the oldest, of event %r",
                f"{self.max_bytes} bytes" if why == "bytes" else f"{self.max_events} events",
                why,
                oldest.key[1],
            )
