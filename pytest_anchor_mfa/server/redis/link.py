"""One instance's link to Redis, on one event loop: its connections, heartbeat and reader.

Connections per instance are a small constant whatever the number of parked waits: a bounded
pool for commands (``max_connections``) and one connection for the reader. The reader is the
only blocking call: ``XREAD BLOCK`` on this instance's own stream, in short slices (never
cancelled: cancelling a blocking redis-py call can stall or lose the next command, redis-py
#2028/#2579), and everything it reads is handed to ``on_entry`` on the loop. ``close()`` wakes
it by writing to its stream. The heartbeat renews this instance's entry in ``inst`` (its
registered waits count only while it is fresh) every third of ``heartbeat`` seconds.

When the reader loses Redis, ``on_lost`` is called once (the store answers its parked waits:
their registrations may be gone with a restarted Redis) and the reader retries by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
from collections.abc import Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .scripts import Scripts, channel, split_channel

__all__ = ["UNREACHABLE", "Link", "redact_url"]

_log = logging.getLogger("pytest_anchor_mfa.server")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
"""What a call raises when Redis cannot be reached (or answers too late)."""

_SLICE_MS = 1000
"""How long one ``XREAD BLOCK`` may block; the reader's socket timeout is a bit longer."""
_RETRY_PAUSE = 0.2


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    auth, _, host = rest.rpartition("@")
    user = auth.partition(":")[0]
    return f"{scheme}{sep}{user + ':' if user else ''}***@{host}"


class Link:
    """Connections, heartbeat and reader of one instance; made and used on one loop."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        heartbeat: float,
        max_connections: int,
        on_entry: Callable[[dict[bytes, bytes]], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.instance = f"{os.getpid()}-{secrets.token_hex(6)}"
        self.prefix = prefix
        self.heartbeat_ms = max(int(heartbeat * 1000), 1)
        self.stream = f"{prefix}i:{self.instance}"
        common: dict[str, Any] = {"socket_connect_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
        self.pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=20.0, socket_timeout=5.0, **common
        )
        self.client = Redis(connection_pool=self.pool)
        self.reader = Redis.from_url(
            url, single_connection_client=True, socket_timeout=_SLICE_MS / 1000 + 2.0, **common
        )
        self.scripts = Scripts(self.client, prefix)
        self._on_entry = on_entry
        self._on_lost = on_lost
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Announce this instance and start the heartbeat and the reader; raises if Redis is
        unreachable (the caller turns that into 503)."""
        await self.scripts.heartbeat(self.instance, self.heartbeat_ms)
        self._tasks = [
            self.loop.create_task(self._read(), name="anchor-redis-reader"),
            self.loop.create_task(self._beat(), name="anchor-redis-heartbeat"),
        ]

    async def close(self) -> None:
        """Leave: stop the reader and the heartbeat, forget this instance, close connections."""
        self._stop.set()
        with contextlib.suppress(*UNREACHABLE):
            await self.client.xadd(self.stream, {"k": "x"})  # wakes the reader's XREAD
        if self._tasks:
            # Bounded by one XREAD slice plus its socket timeout even if the wake-up was lost.
            await asyncio.wait(self._tasks, timeout=_SLICE_MS / 1000 + 3.0)
        for task in self._tasks:
            task.cancel()  # only if stuck past that bound
        with contextlib.suppress(*UNREACHABLE):
            await self.scripts.heartbeat(self.instance, 0)  # 0: leave at once
        await self.reader.aclose()
        await self.client.aclose()
        await self.pool.disconnect()

    async def remember(self, entry: str, limit: int) -> None:
        """Append ``entry`` to the history, which keeps the latest ``limit`` entries."""
        key = self.prefix + "h"
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(key, entry)
            pipe.ltrim(key, -limit, -1)
            await pipe.execute()

    async def forget(self) -> None:
        """Delete the namespace's kept signals, deliveries in flight and history (not the
        instances, their streams, nor the waits registered)."""
        names = [self.prefix + name for name in ("p", "m", "o", "ch", "bytes", "h")]
        for family in ("q:", "d:"):
            names += [k async for k in self.client.scan_iter(match=self.prefix + family + "*")]
        for start in range(0, len(names), 500):
            await self.client.unlink(*names[start : start + 500])

    async def events_of(self, user: str) -> set[str]:
        """Events of ``user`` with a kept-signal queue or registered waits (maybe stale)."""
        own = re.sub(r"([*?\[\]\\])", r"\\\1", channel(user, ""))
        found: set[str] = set()
        for family in ("q:", "w:"):
            pattern = f"{self.prefix}{family}{own}*"
            async for key in self.client.scan_iter(match=pattern, count=500):
                who, event = split_channel(key.decode()[len(self.prefix) + 2 :])
                if who == user:
                    found.add(event)
        return found

    @property
    def closing(self) -> bool:
        return self._stop.is_set()

    async def _beat(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(*UNREACHABLE):
                await self.scripts.heartbeat(self.instance, self.heartbeat_ms)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.heartbeat_ms / 3000)

    async def _read(self) -> None:
        last: bytes | str = "0-0"
        down = False
        while not self._stop.is_set():
            try:
                replies: Any = await self.reader.xread(
                    {self.stream: last}, count=1000, block=_SLICE_MS
                )
            except UNREACHABLE as exc:
                if not down:
                    down = True
                    _log.warning("Redis unreachable (%s); retrying", type(exc).__name__)
                    self._on_lost()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), _RETRY_PAUSE)
                continue
            if down:
                down = False
                _log.warning("Redis reachable again")
                with contextlib.suppress(*UNREACHABLE):
                    await self.scripts.heartbeat(self.instance, self.heartbeat_ms)
            for _stream, entries in replies or ():
                for entry_id, fields in entries:
                    last = entry_id
                    self._dispatch(fields)

    def _dispatch(self, fields: dict[bytes, bytes]) -> None:
        try:
            self._on_entry(fields)
        except Exception:  # one bad entry must not stop the reader
            _log.exception("Redis store: could not handle a stream entry")
