"""Where events live: the ``EventStore`` interface and ``MemoryStore``, its in-process form.

A store holds, per (user, event) channel, the waits parked on it and the signals kept for the
next waits, with the rules of ``shared/spec/events-api.md`` ("Decided here"):

* a signal that finds waiters is delivered to all of them and not kept; one that finds none is
  kept: FIFO, each kept signal consumed by exactly one wait, expiring after ``keep_for``
  seconds, at most ``queue_limit`` per channel (the oldest dropped, and the drop logged);
* a signal whose every waiter turns out to have hung up is kept after all, not lost;
* ``release_all`` answers every parked wait with ``Closed`` (the server stops, or is reset).

Payloads are the JSON bytes of the signal's ``data`` object: encoded once by whoever signals,
handed as they are to every waiter, and stored compactly. Every method runs on the server's
event loop; a store has no HTTP and no threads. Time comes from an injectable ``clock``.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .parking import GONE, HangUp, Parked, never

__all__ = [
    "Closed",
    "EventStore",
    "MemoryStore",
    "SignalRecord",
    "StoreListener",
]

_log = logging.getLogger("pytest_anchor_mfa.server")

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


@dataclass(frozen=True)
class SignalRecord:
    """One signal the server received (over HTTP or from the Python handle)."""

    user: str
    event: str
    payload: bytes = field(repr=False)  # may hold an MFA code: keep it out of reports
    delivered_to: int
    """How many waiters got it; 0 means it was kept for the next wait."""
    at: float

    @property
    def data(self) -> dict[str, Any]:
        """The signal's data (a fresh copy each time)."""
        data: dict[str, Any] = json.loads(self.payload)
        return data


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


class _Kept:
    __slots__ = ("expires", "payload")

    def __init__(self, payload: bytes, expires: float) -> None:
        self.payload = payload
        self.expires = expires


class _Delivery:
    """One signal handed to N waiters; kept after all if every one of them had hung up."""

    __slots__ = ("payload", "pending", "settled", "taken")

    def __init__(self, payload: bytes, waiters: int, settled: asyncio.Future[int]) -> None:
        self.payload = payload
        self.pending = waiters
        self.taken = 0
        self.settled = settled


class _Channel:
    __slots__ = ("kept", "waiters")

    def __init__(self) -> None:
        # A dict as an ordered set: waiters are woken in the order they arrived.
        self.waiters: dict[Parked, None] = {}
        self.kept: deque[_Kept] = deque()


class MemoryStore(EventStore):
    """An ``EventStore`` in this process's memory (the fake server's default)."""

    def __init__(
        self,
        *,
        keep_for: float = 600.0,
        queue_limit: int = 100,
        history_limit: int = 10_000,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        super().__init__()
        self.keep_for = keep_for
        self.queue_limit = queue_limit
        self._clock = clock
        self._wall = wall_clock
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._history: deque[SignalRecord] = deque(maxlen=history_limit)

    # -- signal ----------------------------------------------------------------------------------

    async def signal(self, user: str, event: str, payload: bytes) -> int:
        key = (user, event)
        channel = self._channels.get(key)
        waiters = [w for w in channel.waiters if w.pending] if channel else []
        if channel is not None:
            channel.waiters.clear()
        if not waiters:
            self._keep(key, payload)
            delivered = 0
        else:
            settled: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            delivery = _Delivery(payload, len(waiters), settled)
            for waiter in waiters:
                waiter.wake(delivery)
            self._drop_if_idle(key)
            # Every woken waiter reports within a loop turn or two whether its client took
            # it; a signal that reached only hung-up clients is kept instead (and says so).
            delivered = await settled
        self._history.append(SignalRecord(user, event, payload, delivered, self._wall()))
        self._notify("delivered" if delivered else "signaled", user, event)
        return delivered

    def _keep(self, key: tuple[str, str], payload: bytes) -> None:
        channel = self._channels.setdefault(key, _Channel())
        now = self._clock()
        self._expire(channel, now)
        channel.kept.append(_Kept(payload, now + self.keep_for))
        if len(channel.kept) > self.queue_limit:
            channel.kept.popleft()
            _log.warning(
                "event %r: more than %d kept signals, dropped the oldest", key[1], self.queue_limit
            )

    @staticmethod
    def _expire(channel: _Channel, now: float) -> None:
        while channel.kept and channel.kept[0].expires <= now:
            channel.kept.popleft()

    def _drop_if_idle(self, key: tuple[str, str]) -> None:
        # Forget idle channels: a server that sees many event names stays small.
        channel = self._channels.get(key)
        if channel is not None and not channel.waiters and not channel.kept:
            del self._channels[key]

    # -- wait ----------------------------------------------------------------------------------

    def _take_kept(self, key: tuple[str, str]) -> bytes | None:
        channel = self._channels.get(key)
        if channel is None:
            return None
        self._expire(channel, self._clock())
        payload = channel.kept.popleft().payload if channel.kept else None
        self._drop_if_idle(key)
        return payload

    async def wait(
        self, user: str, event: str, timeout: float, hang_up: HangUp | None = None
    ) -> WaitResult:
        key = (user, event)
        payload = self._take_kept(key)
        if payload is not None or timeout <= 0:
            return payload
        parked = Parked()
        self._channels.setdefault(key, _Channel()).waiters[parked] = None
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
                self._keep(key, delivery.payload)
            delivery.settled.set_result(delivery.taken)
        return delivery.payload if taken else None

    def _leave(self, key: tuple[str, str], waiter: Parked) -> None:
        channel = self._channels.get(key)
        if channel is not None and channel.waiters.pop(waiter, 0) is None:
            self._drop_if_idle(key)
            self._notify("left", *key)

    # -- whole store ------------------------------------------------------------------------------

    async def release_all(self, reason: str) -> None:
        closed = Closed(reason)
        for channel in list(self._channels.values()):
            waiters = list(channel.waiters)
            channel.waiters.clear()
            for waiter in waiters:
                waiter.wake(closed)
        for key in list(self._channels):
            self._drop_if_idle(key)
        await asyncio.sleep(0)  # let the handlers send their 503 before the caller goes on

    async def reset(self, reason: str) -> None:
        await self.release_all(reason)
        self._channels.clear()
        self._history.clear()

    # -- inspection -------------------------------------------------------------------------------

    async def pending_waiters(self, user: str, event: str) -> int:
        channel = self._channels.get((user, event))
        return sum(w.pending for w in channel.waiters) if channel else 0

    async def kept_payloads(self, user: str, event: str) -> list[bytes]:
        channel = self._channels.get((user, event))
        now = self._clock()
        return [k.payload for k in channel.kept if k.expires > now] if channel else []

    async def active_events(self, user: str) -> list[str]:
        return sorted(event for (who, event) in self._channels if who == user)

    async def history(self) -> list[SignalRecord]:
        return list(self._history)
