"""``RedisStore``: the ``EventStore`` rules shared by any number of server instances via Redis.

Every instance of one deployment (``anchor-mfa serve --store redis://...``) points at one Redis
and one namespace; a load balancer may send any request to any instance. The semantics are the
memory store's (``store.py``), with "waiters" meaning waits parked on any live instance:

* a signal that finds live registered waits anywhere is delivered to all of them and not kept;
  one that finds none is kept: FIFO per (user, event), each consumed by exactly one wait on any
  instance, expiring after ``keep_for`` and bounded like ``MemoryStore``'s;
* a signal whose every recipient had hung up (or timed out, or was cancelled) when it arrived
  is not lost: the last instance to report settles the delivery, and if nobody took it the
  same Lua script hands it to the waits registered meanwhile on any live instance, or, with
  none, appends it to the kept queue (at the end of the queue, by then);
* waits are registered with their instance, whose heartbeat lives ``heartbeat`` seconds: the
  waits of an instance killed without a word stop counting within that time, and signals are
  kept again; a delivery that was already on its way to such an instance is settled by the
  signaling instance once the dead one's heartbeat has expired (as above: to a wait registered
  meanwhile, typically the dead instance's client retrying elsewhere, else kept); a delivery
  whose fate cannot be known (Redis lost it) answers 503, so the client resends it.

How: the check-then-act steps are Lua scripts (``redis_scripts``); each instance has one
reader on its own stream (``redis_link``) that wakes the local parked waits a delivery names.
Parked waits cost this instance's memory only (no Redis connection per wait). While Redis is
unreachable, waits and signals raise ``StoreUnavailable`` (503 with ``Retry-After``), parked
waits are answered 503 (the clients retry), and service resumes by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from redis.exceptions import RedisError

from ...errors import ConfigurationError
from ...runtime.asgi import HttpError
from ..parking import GONE, HangUp, Parked, never
from ..store import Closed, EventStore, Overloaded, SignalRecord, WaitResult
from .link import UNREACHABLE, Link, redact_url
from .scripts import channel, drops_of
from .waits import Handout, LocalWaits, Waiter

__all__ = ["RedisStore", "StoreUnavailable", "check_reachable"]

_log = logging.getLogger("pytest_anchor_mfa.server")
_T = TypeVar("_T")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,100}")


class StoreUnavailable(HttpError):
    """Redis cannot be reached: answered 503 with ``Retry-After`` (clients retry)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            503,
            "the event store (Redis) is unreachable; retry shortly",
            headers=[("retry-after", str(retry_after))],
        )


def _encode_record(record: SignalRecord) -> str:
    fields = [record.user, record.event, record.delivered_to, record.at, record.size]
    return json.dumps([*fields, record.digest.hex()])


def _decode_record(raw: bytes) -> SignalRecord:
    user, event, delivered, at, size, digest = json.loads(raw)
    return SignalRecord(user, event, int(delivered), float(at), int(size), bytes.fromhex(digest))


def _log_drops(raw: Any) -> None:
    for why, event in drops_of(list(raw)):
        if why == "queue":
            _log.warning("event %r: too many kept signals, dropped the oldest", event)
        else:
            _log.warning(
                "kept signals over their bound (%s): dropped the oldest, of %r", why, event
            )


async def _settled(store: RedisStore, link: Link, local: LocalWaits, delivery: int) -> int:
    """How many waits took the delivery, once every recipient instance reported (or the
    heartbeat of those that did not has expired).

    Raises ``StoreUnavailable`` (503: the client resends, so the signal may arrive twice) when
    its fate cannot be known: Redis lost the delivery (a restart without persistence) or it
    stays unsettled for ``5 * heartbeat`` seconds (its recipients cannot report).
    """
    if delivery in local.early:
        return local.early.pop(delivery)
    future: asyncio.Future[int] = link.loop.create_future()
    local.settling[delivery] = future
    gone = 0
    heartbeat = store.heartbeat
    deadline = link.loop.time() + 5 * heartbeat
    try:
        while link.loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(future), heartbeat / 2)
            reply = await store.call(link.scripts.settle_dead(delivery, *store.bounds))
            _log_drops(reply[1])
            if int(reply[0]) >= 0:
                return int(reply[0])
            gone += int(reply[0]) == -1  # settled, but its message did not come
            if gone > 2:
                break
        _log.warning("Redis store: delivery %d not settled; answered 503", delivery)
        raise StoreUnavailable(store.retry_after)
    finally:
        local.settling.pop(delivery, None)


class RedisStore(EventStore):
    """An ``EventStore`` in Redis at ``url``, under ``namespace`` (see the module docstring).

    ``heartbeat``: seconds an instance's registered waits count without it renewing them
    (renewed every third of it). ``max_waits`` bounds the waits parked on this instance.
    The store connects on first use, on the running loop; ``close()`` leaves (and a closed
    store connects again when used again, on whichever loop runs it then).
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "default",
        keep_for: float = 600.0,
        queue_limit: int = 100,
        max_kept_events: int = 10_000,
        max_kept_bytes: int = 64 * 1024 * 1024,
        history_limit: int = 10_000,
        max_waits: int = 10_000,
        heartbeat: float = 3.0,
        retry_after: int = 1,
        max_connections: int = 8,
    ) -> None:
        super().__init__()
        if not _NAMESPACE.fullmatch(namespace):
            raise ConfigurationError("a Redis namespace is 1-100 of A-Z a-z 0-9 . _ -")
        if keep_for <= 0 or min(queue_limit, max_kept_events, max_kept_bytes) < 1:
            raise ConfigurationError(
                "keep_for must be > 0 and queue_limit, max_kept_events, max_kept_bytes >= 1"
            )
        if max_waits < 1 or history_limit < 1 or heartbeat <= 0 or max_connections < 2:
            raise ConfigurationError(
                "max_waits, history_limit >= 1, heartbeat > 0 and max_connections >= 2"
            )
        self.url, self.namespace, self.keep_for = url, namespace, keep_for
        self.prefix = f"anchor-mfa:{namespace}:"
        self.max_waits, self.history_limit, self.heartbeat = max_waits, history_limit, heartbeat
        self.retry_after, self.max_connections = retry_after, max_connections
        self.bounds = (max(int(keep_for * 1000), 1), queue_limit, max_kept_events, max_kept_bytes)
        self._link: Link | None = None
        self._opening: asyncio.Task[Link] | None = None
        self._local = LocalWaits(self._report)
        self._lids = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"<RedisStore {redact_url(self.url)} namespace={self.namespace!r}>"

    # -- the link -------------------------------------------------------------------------------

    async def _connect(self) -> Link:
        loop = asyncio.get_running_loop()
        link = self._link
        if link is not None and link.loop is loop and not link.closing:
            return link
        if self._opening is None or self._opening.get_loop() is not loop:
            self._opening = loop.create_task(self._open())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None

    async def _open(self) -> Link:
        link = Link(
            self.url,
            self.prefix,
            heartbeat=self.heartbeat,
            max_connections=self.max_connections,
            on_entry=self._local.on_entry,
            on_lost=self._on_lost,
        )
        try:
            await link.open()
        except UNREACHABLE:
            await link.close()
            raise StoreUnavailable(self.retry_after) from None
        self._link = link
        return link

    async def call(self, call: Awaitable[_T]) -> _T:
        """``call``'s result; Redis unreachable: ``StoreUnavailable``."""
        try:
            return await call
        except UNREACHABLE:
            raise StoreUnavailable(self.retry_after) from None

    def _spawn(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        """Answer this instance's parked waits (503), leave the deployment, disconnect."""
        link = self._link
        if link is None or link.loop is not asyncio.get_running_loop():
            self._link = None  # a link of a loop that is gone went with it
            return
        await self.release_all("the event store is closing")
        self._link = None  # reports still retrying give up after their current try
        if self._background:
            await asyncio.wait(list(self._background), timeout=5.0)
        await link.close()

    # -- what the reader hands over -----------------------------------------------------------

    def _report(self, handout: Handout) -> None:
        link = self._link
        if link is not None:
            self._spawn(self._send_report(link, handout))

    async def _send_report(self, link: Link, handout: Handout) -> None:
        """Report until Redis has it (a delivery nobody reports is settled only when its
        record expires), or the link closes, or the delivery record is gone anyway."""
        pause = 0.05
        while self._link is link:
            try:
                reply = await link.scripts.report(
                    handout.delivery, link.instance, handout.taken, *self.bounds
                )
            except UNREACHABLE:
                await asyncio.sleep(pause)  # a retry's backoff while Redis is away
                pause = min(pause * 2, 1.0)
                continue
            _log_drops(reply[1])
            return
        _log.warning("Redis store: could not report a delivery (the store closed)")

    def _on_lost(self) -> None:
        self._local.wake_all(Closed("the event store (Redis) is unreachable; retry shortly"))

    # -- signal ---------------------------------------------------------------------------------

    async def signal(self, user: str, event: str, payload: bytes) -> int:
        link = await self._connect()
        chan = channel(user, event)
        record_ttl = int(max(60.0, 10 * self.heartbeat) * 1000)
        reply = await self.call(
            link.scripts.signal(chan, payload, link.instance, record_ttl, *self.bounds)
        )
        if int(reply[0]) == 0:
            _log_drops(reply[1])
            delivered = 0
        else:
            delivered = await _settled(self, link, self._local, int(reply[1]))
        record = SignalRecord.of(user, event, payload, delivered, time.time())
        try:
            await link.remember(_encode_record(record), self.history_limit)
        except UNREACHABLE:
            _log.warning("Redis store: a signal was not recorded in the history (unreachable)")
        self._notify("delivered" if delivered else "signaled", user, event)
        return delivered

    # -- wait -----------------------------------------------------------------------------------

    async def wait(
        self, user: str, event: str, timeout: float, hang_up: HangUp | None = None
    ) -> WaitResult:
        link = await self._connect()
        chan = channel(user, event)
        if timeout <= 0 or len(self._local.waiters) >= self.max_waits:
            reply = await self.call(link.scripts.wait(chan, "", link.instance, 0))
            if int(reply[0]) == 1 or timeout <= 0:
                return bytes(reply[1]) if int(reply[0]) == 1 else None
            raise Overloaded(f"{len(self._local.waiters)} waits are parked already (the limit)")
        lid = str(next(self._lids))
        waiter = Waiter(chan, f"{link.instance}/{lid}")
        self._local.waiters[lid] = waiter  # before registering: a delivery may come at once
        try:
            reply = await self.call(
                link.scripts.wait(chan, waiter.field, link.instance, link.heartbeat_ms)
            )
        except BaseException:
            await self._leave(link, lid, waiter)
            raise
        if int(reply[0]) == 1:
            self._local.waiters.pop(lid, None)  # not registered: nothing can have reached it
            return bytes(reply[1])
        self._notify("waiting", user, event)
        return await self._park(link, lid, waiter, timeout, hang_up, (user, event))

    async def _park(
        self,
        link: Link,
        lid: str,
        waiter: Waiter,
        timeout: float,
        hang_up: HangUp | None,
        key: tuple[str, str],
    ) -> WaitResult:
        parked = Parked()
        if waiter.early is not None:  # reached while registering: answer without parking
            parked.result = waiter.early
            outcome = parked.outcome(hang_up)
        else:
            waiter.parked = parked
            timer = link.loop.call_later(timeout, parked.wake, None)
            try:
                await (never() if hang_up is None else hang_up())
                outcome = parked.hung_up()
            except asyncio.CancelledError:
                if not parked.woken():
                    await self._leave(link, lid, waiter, key)
                    raise
                outcome = parked.outcome(hang_up)
            finally:
                timer.cancel()
        result = parked.result
        if isinstance(result, Handout):
            self._local.waiters.pop(lid, None)  # its registration was consumed by the signal
            return self._local.handed(result, taken=outcome is not GONE)
        await self._leave(link, lid, waiter, key)
        return None if outcome is GONE else result

    async def _leave(
        self, link: Link, lid: str, waiter: Waiter, key: tuple[str, str] | None = None
    ) -> None:
        """A wait ends without taking a delivery: hand back what reached it, unregister it."""
        self._local.waiters.pop(lid, None)
        handed = waiter.parked.result if waiter.parked is not None else waiter.early
        if isinstance(handed, Handout):
            self._local.handed(handed, taken=False)  # its registration was consumed already
        else:
            # Shielded: a cancelled wait still unregisters, and no Redis call is cancelled.
            await asyncio.shield(self._spawn(self._unregister(link, [waiter])))
        if key is not None:
            self._notify("left", *key)

    async def _unregister(self, link: Link, waiters: list[Waiter]) -> None:
        if link.closing or not waiters:
            return
        # Best effort: a registration left behind only costs a delivery that finds nobody
        # here (and so is kept), never a lost or doubled signal.
        with contextlib.suppress(RedisError, *UNREACHABLE):
            async with link.client.pipeline(transaction=False) as pipe:
                for waiter in waiters:
                    pipe.hdel(f"{self.prefix}w:{waiter.chan}", waiter.field)
                await pipe.execute()

    # -- whole store ----------------------------------------------------------------------------

    async def release_all(self, reason: str) -> None:
        waiters = self._local.wake_all(Closed(reason))
        link = self._link
        if link is not None and link.loop is asyncio.get_running_loop():
            await self._unregister(link, waiters)
        await asyncio.sleep(0)  # let the handlers send their 503 before the caller goes on

    async def reset(self, reason: str) -> None:
        """Release this instance's waits; forget the namespace's kept signals and history
        (waits parked on other instances stay registered)."""
        await self.release_all(reason)
        link = await self._connect()
        await self.call(link.forget())

    # -- inspection -----------------------------------------------------------------------------

    async def pending_waiters(self, user: str, event: str) -> int:
        link = await self._connect()
        return await self.call(link.scripts.pending(channel(user, event)))

    async def kept_payloads(self, user: str, event: str) -> list[bytes]:
        link = await self._connect()
        return await self.call(link.scripts.peek(channel(user, event)))

    async def active_events(self, user: str) -> list[str]:
        link = await self._connect()
        found = await self.call(link.events_of(user))
        active = []
        for event in sorted(found):
            if await self.pending_waiters(user, event) or await self.kept_payloads(user, event):
                active.append(event)
        return active

    async def history(self) -> list[SignalRecord]:
        link = await self._connect()
        raw: list[Any] = await self.call(link.client.lrange(self.prefix + "h", 0, -1))
        return [_decode_record(bytes(item)) for item in raw]


def check_reachable(url: str, timeout: float = 2.0) -> None:
    """Raise ``ConfigurationError`` (one line) unless Redis at ``url`` answers PING."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        with client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot reach Redis at {redact_url(url)}: {exc}") from None
