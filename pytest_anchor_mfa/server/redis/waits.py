"""The waits parked on this instance, and what the reader hands over for them.

``LocalWaits`` is ``RedisStore``'s bookkeeping on this instance: each wait by its local id (the
part after ``<instance>/`` of its registration), the deliveries the reader dispatches to them
(a ``Handout`` per delivery, reported once every wait it reached has answered), and the
settlements of this instance's own signals (futures by delivery id; one that comes before its
signal's script reply was read is kept a while in ``early``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from ..parking import Parked
from ..store import Closed

__all__ = ["Handout", "LocalWaits", "Waiter"]

_EARLY_LIMIT = 1000


class Handout:
    """One delivery handed to this instance's waits named in it; reported once all answered."""

    __slots__ = ("delivery", "payload", "pending", "taken")

    def __init__(self, delivery: int, payload: bytes) -> None:
        self.delivery = delivery
        self.payload = payload
        self.pending = 0
        self.taken = 0


class Waiter:
    """A wait of this instance: registered in Redis as ``field``; ``parked`` once parked,
    ``early`` what reached it while it was still registering (a handout or ``Closed``)."""

    __slots__ = ("chan", "early", "field", "parked")

    def __init__(self, chan: str, field: str) -> None:
        self.chan = chan
        self.field = field
        self.parked: Parked | None = None
        self.early: Handout | Closed | None = None


class LocalWaits:
    """Waits of this instance by local id; ``report(handout)`` when a delivery is answered."""

    def __init__(self, report: Callable[[Handout], None]) -> None:
        self.waiters: dict[str, Waiter] = {}
        self.settling: dict[int, asyncio.Future[int]] = {}
        self.early: OrderedDict[int, int] = OrderedDict()
        self._report = report

    def on_entry(self, fields: dict[bytes, bytes]) -> None:
        kind = fields.get(b"k")
        if kind == b"d":
            lids = fields[b"w"].decode().split(",")
            self.deliver(Handout(int(fields[b"d"]), bytes(fields[b"p"])), lids)
        elif kind == b"s":
            delivery, taken = int(fields[b"d"]), int(fields[b"n"])
            future = self.settling.get(delivery)
            if future is not None and not future.done():
                future.set_result(taken)
            else:  # the reply to the signal script may not have been read yet
                self.early[delivery] = taken
                while len(self.early) > _EARLY_LIMIT:
                    self.early.popitem(last=False)

    def deliver(self, handout: Handout, lids: list[str]) -> None:
        for lid in lids:
            waiter = self.waiters.get(lid)
            if waiter is None:
                continue  # it left (timed out, hung up, cancelled) before the delivery came
            if waiter.parked is None:
                if waiter.early is None:
                    waiter.early = handout
                    handout.pending += 1
            elif waiter.parked.wake(handout):
                handout.pending += 1
        if handout.pending == 0:
            self._report(handout)

    def handed(self, handout: Handout, *, taken: bool) -> bytes | None:
        handout.pending -= 1
        handout.taken += taken
        if handout.pending == 0:
            self._report(handout)
        return handout.payload if taken else None

    def wake_all(self, closed: Closed) -> list[Waiter]:
        waiters = list(self.waiters.values())
        for waiter in waiters:
            if waiter.parked is not None:
                waiter.parked.wake(closed)
            elif waiter.early is None:
                waiter.early = closed
        return waiters
