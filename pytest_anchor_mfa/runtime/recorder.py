"""``Recorder``: record from any thread, reset, and wait for a match with a deadline.

What every test-facing handle of ours does with what its server received: the SMTP inbox and
the SMS gateway with their messages, the webhook receiver with its events and refusals, the
fake events API with its store's changes. Items are kept in order (the latest ``keep`` when
bounded); ``wait_for`` returns the first kept item that matches, or waits for one on a
``threading.Condition`` until the deadline, looking only at items it has not seen yet.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Recorder"]

_T = TypeVar("_T")


class Recorder(Generic[_T]):
    """Items recorded in order, the latest ``keep`` of them (None: all); thread-safe.

    ``clock`` is where deadlines are read (tests pass a fake one to time out without waiting).
    """

    def __init__(
        self, keep: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be None or >= 1, got {keep!r}")
        # Each item with its sequence number: a waiter looks at each item once, and one
        # recorded after a reset is new to it whatever the reset removed.
        self._items: collections.deque[tuple[int, _T]] = collections.deque(maxlen=keep)
        self._next = 0
        self._changed = threading.Condition()
        self._clock = clock

    def record(self, item: _T) -> None:
        """Keep ``item`` (dropping the oldest past ``keep``) and wake the waiters."""
        with self._changed:
            self._items.append((self._next, item))
            self._next += 1
            self._changed.notify_all()

    def items(self) -> list[_T]:
        """The kept items, oldest first (a copy)."""
        with self._changed:
            return [item for _, item in self._items]

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def reset(self) -> None:
        """Forget the kept items (waiters go on waiting for new ones)."""
        with self._changed:
            self._items.clear()
            self._changed.notify_all()

    def mark(self) -> int:
        """A mark for ``wait_for(since=...)``: the items recorded from now on."""
        with self._changed:
            return self._next

    def wait_for(
        self,
        match: Callable[[_T], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int | None = None,
    ) -> _T | None:
        """The first kept item matching ``match`` (None: any), recorded after the mark
        ``since`` if given; waits at most ``timeout`` seconds for one, else None."""
        deadline = self._clock() + timeout
        cursor = since or 0
        found: list[_T] = []

        def ready() -> bool:
            nonlocal cursor
            fresh: list[_T] = []
            for seq, item in reversed(self._items):  # the new ones are at the end
                if seq < cursor:
                    break
                fresh.append(item)
            cursor = self._next
            for item in reversed(fresh):
                if match is None or match(item):
                    found.append(item)
                    return True
            return False

        with self._changed:
            while not self._changed.wait_for(ready, max(0.0, deadline - self._clock())):
                if self._clock() >= deadline:
                    return None
            return found[0]
