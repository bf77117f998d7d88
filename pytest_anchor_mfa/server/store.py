"""Where events live: the ``EventStore`` interface and ``MemoryStore``, its in-process form.

A store holds, per (user, event) channel, the waits parked on it and the signals kept for the
next waits, with these rules (where the public API documentation is silent, decided here):

* a signal that finds waiters is delivered to all of them and not kept; one that finds none is
  kept: FIFO, each kept signal consumed by exactly one wait, expiring after ``keep_for``
  seconds, bounded (``kept``: the oldest dropped, and the drop logged);
* at most ``max_waits`` waits are parked at once (past it, ``Overloaded``);
* the history keeps metadata only, never a consumed signal's data;
* a signal whose every waiter turns out to have hung up is kept after all, not lost;
* ``release_all`` answers every parked wait with ``Closed`` (the server stops, or is reset).

Payloads are the JSON bytes of the signal's ``data`` object: encoded once by whoever signals,
handed as they are to every waiter, and stored compactly. Every method runs on the server's
event loop; a store has no HTTP and no threads. Time comes from an injectable ``clock``.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from .kept import KeptSignals
from .parking import GONE, HangUp, Parked, never

__all__ = [
    "Closed",
    "EventStore",
    "MemoryStore",
    "Overloaded",
    "SignalRecord",
    "StoreListener",
]


Clock = Callable[[], float]
StoreListener = Callable[[str, str, str], None]
"""``listener(what, user, event)`` with ``what`` one of ``"waiting"``, ``"left"``,
``"signaled"``, ``"delivered"``: called on the loop after each change (tests use it to know
when a wait is parked; the fake server posts intervention webhooks from it)."""


class Closed:
    """What a parked wait gets when the server stops or is reset: answered 503."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


_FINGERPRINT_KEY = secrets.token_bytes(16)


def fingerprint(payload: bytes) -> bytes:
    """A keyed digest of a signal's data, independent of key order and spacing."""
    canonical = json.dumps(json.loads(payload), sort_keys=True, separators=(",", ":"))
    return hmac.new(_FINGERPRINT_KEY, canonical.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class SignalRecord:
    """One signal the server received (over HTTP or from the Python handle): metadata only.

    The data itself is not kept once consumed (a long-running server must not hold every
    code it ever relayed); ``matches(data)`` tells whether this signal carried ``data``.
    """

    user: str
    event: str
    delivered_to: int
    """How many waiters got it; 0 means it was kept for the next wait."""
    at: float
    size: int
    """Bytes of the signal's data as JSON."""
    digest: bytes = field(repr=False)

    @classmethod
    def of(cls, user: str, event: str, payload: bytes, delivered: int, at: float) -> SignalRecord:
        return cls(user, event, delivered, at, len(payload), fingerprint(payload))

    def matches(self, data: Any) -> bool:
        """Whether this signal's data equals ``data`` (a JSON object)."""
        payload = json.dumps(data, ensure_ascii=False).encode()
        return hmac.compare_digest(self.digest, fingerprint(payload))


WaitResult = bytes | Closed | None
"""A wait ends with a payload, ``Closed``, or ``None`` (timed out, or the client hung up)."""


class EventStore(abc.ABC):
    """The channels of every (user, event); see the module docstring for the rules."""

    def __init__(self) -> None:
        self._listeners: list[StoreListener] = []

    def add_listener(self, listener: StoreListener) -> None:
        self._listeners.append(listener)

    def _notify(self, what: str, user: str, event: str) -> None:
        for listener in self._listeners:
            listener(what, user, event)

    @abc.abstractmethod
    async def signal(self, user: str, event: str, payload: bytes) -> int:
        """Deliver to every parked waiter, else keep; returns how many waiters took it."""

    @abc.abstractmethod
    async def wait(
        self, user: str, event: str, timeout: float, hang_up: HangUp | None = None
    ) -> WaitResult:
        """A kept signal at once, else park up to ``timeout`` seconds (0: do not park).

        ``hang_up()`` returns when the client hangs up: the wait then ends with ``None``, and
        a signal it was handed meanwhile goes back to the store.
        """

    @abc.abstractmethod
    async def release_all(self, reason: str) -> None:
        """Answer every parked wait with ``Closed(reason)``."""

    @abc.abstractmethod
    async def reset(self, reason: str) -> None:
        """Release every wait, forget kept signals and history."""

    @abc.abstractmethod
    async def pending_waiters(self, user: str, event: str) -> int: ...

    @abc.abstractmethod
    async def kept_payloads(self, user: str, event: str) -> list[bytes]:
        """Payloads kept for the next waits on (user, event), oldest first, unexpired."""

    @abc.abstractmethod
    async def active_events(self, user: str) -> list[str]:
        """Events of ``user`` with parked waits or kept signals, sorted."""

    @abc.abstractmethod
    async def history(self) -> list[SignalRecord]:
        """The latest signals received, oldest first."""


class Overloaded(Exception):
    """Too many waits are parked already: the caller should answer 503 (retry later)."""


class _Delivery:
    """One signal handed to N waiters; kept after all if every one of them had hung up."""

    __slots__ = ("payload", "pending", "settled", "taken")

    def __init__(self, payload: bytes, waiters: int, settled: asyncio.Future[int]) -> None:
        self.payload = payload
        self.pending = waiters
        self.taken = 0
        self.settled = settled


class MemoryStore(EventStore):
    """An ``EventStore`` in this process's memory (the fake server's default).

    Bounds: ``max_waits`` parked waits in all (past it ``wait`` raises ``Overloaded``), and the
    kept signals' ``queue_limit``, ``max_kept_events`` and ``max_kept_bytes`` (see ``kept``).
    """

    def __init__(
        self,
        *,
        keep_for: float = 600.0,
        queue_limit: int = 100,
        history_limit: int = 10_000,
        max_waits: int = 10_000,
        max_kept_events: int = 10_000,
        max_kept_bytes: int = 64 * 1024 * 1024,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        super().__init__()
        if max_waits < 1 or history_limit < 1:
            raise ConfigurationError("max_waits and history_limit must be >= 1")
        self.max_waits = max_waits
        self._kept = KeptSignals(
            keep_for=keep_for,
            queue_limit=queue_limit,
            max_events=max_kept_events,
            max_bytes=max_kept_bytes,
            clock=clock,
        )
        self._wall = wall_clock
        # Per channel, a dict as an ordered set: waiters are woken in the order they arrived.
        self._waiters: dict[tuple[str, str], dict[Parked, None]] = {}
        self._parked = 0
        self._history: deque[SignalRecord] = deque(maxlen=history_limit)

    @property
    def keep_for(self) -> float:
        return self._kept.keep_for

    # -- signal ----------------------------------------------------------------------------------

    async def signal(self, user: str, event: str, payload: bytes) -> int:
        key = (user, event)
        waiting = self._waiters.pop(key, {})
        waiters = [w for w in waiting if w.pending]
        if not waiters:
            self._kept.keep(key, payload)
            delivered = 0
        else:
            settled: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            delivery = _Delivery(payload, len(waiters), settled)
            for waiter in waiters:
                waiter.wake(delivery)
            # Every woken waiter reports within a loop turn or two whether its client took
            # it; a signal that reached only hung-up clients is kept instead (and says so).
            delivered = await settled
        self._history.append(SignalRecord.of(user, event, payload, delivered, self._wall()))
        self._notify("delivered" if delivered else "signaled", user, event)
        return delivered

    # -- wait ----------------------------------------------------------------------------------

    async def wait(
        self, user: str, event: str, timeout: float, hang_up: HangUp | None = None
    ) -> WaitResult:
        key = (user, event)
        payload = self._kept.take(key)
        if payload is not None or timeout <= 0:
            return payload
        if self._parked >= self.max_waits:
            raise Overloaded(f"{self._parked} waits are parked already (the limit)")
        parked = Parked()
        self._waiters.setdefault(key, {})[parked] = None
        self._parked += 1
        timer = asyncio.get_running_loop().call_later(timeout, parked.wake, None)
        self._notify("waiting", user, event)
        try:
            await (never() if hang_up is None else hang_up())
            outcome = parked.hung_up()
        except asyncio.CancelledError:
            if not parked.woken():
                if isinstance(parked.result, _Delivery):  # handed over; nobody will send it
                    self._handed(key, parked.result, taken=False)
                raise
            outcome = parked.outcome(hang_up)
        finally:
            timer.cancel()
            self._parked -= 1
            self._leave(key, parked)
        handed = parked.result
        if isinstance(handed, _Delivery):
            return self._handed(key, handed, taken=outcome is not GONE)
        return None if outcome is GONE else handed

    def _handed(self, key: tuple[str, str], delivery: _Delivery, *, taken: bool) -> bytes | None:
        delivery.pending -= 1
        delivery.taken += taken
        if delivery.pending == 0 and not delivery.settled.done():
            if delivery.taken == 0:
                self._kept.keep(key, delivery.payload)
            delivery.settled.set_result(delivery.taken)
        return delivery.payload if taken else None

    def _leave(self, key: tuple[str, str], waiter: Parked) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None and waiters.pop(waiter, 0) is None:
            if not waiters:
                del self._waiters[key]  # idle channels are forgotten: the server stays small
            self._notify("left", *key)

    # -- whole store ------------------------------------------------------------------------------

    async def release_all(self, reason: str) -> None:
        closed = Closed(reason)
        waiting, self._waiters = self._waiters, {}
        for waiters in waiting.values():
            for waiter in waiters:
                waiter.wake(closed)
        await asyncio.sleep(0)  # let the handlers send their 503 before the caller goes on

    async def reset(self, reason: str) -> None:
        await self.release_all(reason)
        self._kept.clear()
        self._history.clear()

    # -- inspection -------------------------------------------------------------------------------

    async def pending_waiters(self, user: str, event: str) -> int:
        return sum(w.pending for w in self._waiters.get((user, event), ()))

    async def kept_payloads(self, user: str, event: str) -> list[bytes]:
        return self._kept.peek((user, event))

    async def active_events(self, user: str) -> list[str]:
        keys = {*self._waiters, *self._kept.events()}
        return sorted(event for (who, event) in keys if who == user)

    async def history(self) -> list[SignalRecord]:
        return list(self._history)
