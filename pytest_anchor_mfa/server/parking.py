"""How a long poll is parked: on its own request task, with no task or future of its own.

A parked wait must end on whichever comes first: a signal, its timeout, the server closing, or
the client hanging up. The obvious way awaits two things at once (a future for the wake-up and
a second task watching for the hang-up); at ten thousand parked waits that second task is a
tenth of the server's memory and a second loop step per released wait. Here the request's own
task awaits the hang-up directly (``hang_up()``: the ASGI ``receive``, which only returns once
the client is gone), and a wake-up cancels that await: ``Parked.wake(result)`` records the
result and cancels the task; ``Parked.woken()`` tells a wake-up from a real cancellation
(server shutdown) by whether a result was recorded. The store awaits in its own frame (one
coroutine less per parked wait)::

    parked = Parked()              # register it, and a timer calling parked.wake(None)
    try:
        await (hang_up() if hang_up else never())
        outcome = parked.hung_up()
    except asyncio.CancelledError:
        if not parked.woken():
            raise
        outcome = parked.outcome(hang_up)

A client can hang up in the same loop turn as a signal wakes its wait: ``outcome()`` then
looks once more, without blocking, whether ``hang_up()`` would return at once, so a signal
handed to a client that is already gone is known as such (the store keeps it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["GONE", "HangUp", "Parked", "never"]

HangUp = Callable[[], Awaitable[Any]]
"""Returns (only) when the client hangs up: the ASGI ``receive`` once the body was read."""


class _Gone:
    """The result of a parked wait whose client hung up."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "GONE"


GONE = _Gone()
_PENDING: Any = object()


def _already_returned(hang_up: HangUp) -> bool:
    """Would ``hang_up()`` return without waiting? Runs it one step and throws it away."""
    steps = hang_up().__await__()
    try:
        next(steps)
    except StopIteration:
        return True
    close = getattr(steps, "close", None)
    if close is not None:
        close()  # it was about to wait: the client is still there
    return False


class Parked:
    """One parked wait. The store keeps it in its channel and calls ``wake`` to end it."""

    __slots__ = ("result", "task")

    def __init__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a wait can only be parked from inside a task")
        self.task = task
        self.result: Any = _PENDING

    @property
    def pending(self) -> bool:
        return self.result is _PENDING

    def wake(self, result: object) -> bool:
        """End the wait with ``result`` (first call wins); False if it had already ended."""
        if self.result is not _PENDING:
            return False
        self.result = result
        self.task.cancel()
        return True

    def woken(self) -> bool:
        """In ``except CancelledError`` around the parked await: was it our wake-up?

        True (and the cancellation undone) when ``wake`` ended the wait; False for a real
        cancellation (the server going away), which the caller re-raises.
        """
        return self.result is not _PENDING and self.task.uncancel() == 0

    def outcome(self, hang_up: HangUp | None) -> Any:
        """After a wake-up: its result, or ``GONE`` if the client had hung up meanwhile."""
        if hang_up is not None and self.result is not GONE and _already_returned(hang_up):
            return GONE  # woken, but the client was gone already: nobody takes the result
        return self.result

    def hung_up(self) -> Any:
        """After the parked await returned by itself: the client is gone."""
        self.result = GONE
        return GONE


async def never() -> None:
    """Awaited instead of a hang-up where there is no client (only a wake-up ends it)."""
    await asyncio.get_running_loop().create_future()
