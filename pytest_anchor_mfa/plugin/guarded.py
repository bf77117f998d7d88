"""The events clients the plugin hands out: signaled and waited-for data masked and remembered.

``anchor_events`` and ``anchor_connection.client()`` / ``async_client()`` are these subclasses
of ``EventsClient`` / ``AsyncEventsClient``: signal data is put in masked containers before it
reaches the client's own frames (so ``--showlocals`` and ``--tb=long`` frame arguments show
``'••••••'``), waited-for data comes back masked in depth, and both tell the leak guard
(``leaks``) which secrets to scrub from the test's reports. Imported when a client is made
(it loads httpx).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..events import AsyncEventsClient, EventsClient

__all__ = ["GuardedAsyncEventsClient", "GuardedEventsClient", "guarded_signal_args"]

Guard = Callable[[Any], Any]
"""Masks event data in depth and remembers its secrets (``leaks.guard_data``)."""


def guarded_signal_args(
    guard: Guard, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``signal(name, data)``'s arguments with ``data`` masked (when it is a mapping)."""
    if len(args) > 1 and isinstance(args[1], Mapping):
        args = (args[0], guard(args[1]), *args[2:])
    elif isinstance(kwargs.get("data"), Mapping):
        kwargs = {**kwargs, "data": guard(kwargs["data"])}
    return args, kwargs


def _noop(data: Any) -> Any:
    return data


class GuardedEventsClient(EventsClient):
    """``EventsClient`` whose signal and wait data are masked and remembered."""

    guard: Guard = staticmethod(_noop)

    def signal(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = guarded_signal_args(self.guard, args, kwargs)
        return super().signal(*args, **kwargs)

    def wait(self, *args: Any, **kwargs: Any) -> Any:
        data = super().wait(*args, **kwargs)
        return None if data is None else self.guard(data)


class GuardedAsyncEventsClient(AsyncEventsClient):
    """``AsyncEventsClient`` whose signal and wait data are masked and remembered."""

    guard: Guard = staticmethod(_noop)

    async def signal(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = guarded_signal_args(self.guard, args, kwargs)
        return await super().signal(*args, **kwargs)

    async def wait(self, *args: Any, **kwargs: Any) -> Any:
        data = await super().wait(*args, **kwargs)
        return None if data is None else self.guard(data)
