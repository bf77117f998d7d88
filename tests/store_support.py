"""What the store tests share (test_store.py, test_store_stateful.py, test_store_redis.py): a
stand-in for a client connection, JSON payloads, and a bounded wait for parked waits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pytest_anchor_mfa.server.store import EventStore

__all__ = ["Client", "parked", "payload"]


class Client:
    """A stand-in for a connection: ``hang_up`` returns once ``leave()`` was called."""

    def __init__(self) -> None:
        self._gone = asyncio.Event()

    async def hang_up(self) -> None:
        await self._gone.wait()

    def leave(self) -> None:
        self._gone.set()


def payload(**data: Any) -> bytes:
    return json.dumps(data).encode()


async def parked(store: EventStore, event: str, count: int, user: str = "u") -> None:
    """Until ``count`` waits are parked on ``event`` (bounded: a few loop turns in memory, a
    few seconds with Redis, where registering is a round trip)."""
    for turn in range(1100):
        if await store.pending_waiters(user, event) >= count:
            return
        await asyncio.sleep(0 if turn < 100 else 0.005)
    raise AssertionError(f"{count} waits never parked on {event!r}")
