"""``RedisStore`` beyond the shared rules of test_store.py: real time, namespaces, several
instances in one process (each store is an instance: its own link, heartbeat and reader), the
HTTP server over it, and Redis going away and coming back. Real redis-server processes only."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import REDIS_BINARY, RedisServer
from store_support import parked, payload

from pytest_anchor_mfa.errors import ConfigurationError
from pytest_anchor_mfa.server import FakeEventServer
from pytest_anchor_mfa.server.redis.store import RedisStore, StoreUnavailable, check_reachable
from pytest_anchor_mfa.server.store import MemoryStore
from pytest_anchor_mfa.server.store_url import store_from_url

pytestmark = pytest.mark.skipif(REDIS_BINARY is None, reason="redis-server is not installed")


def run(body: Callable[[], Awaitable[None]], timeout: float = 20) -> None:
    asyncio.run(asyncio.wait_for(body(), timeout))


class Instances:
    """Stores sharing one Redis and namespace, as separate server instances would."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url, self.namespace = url, namespace
        self.made: list[RedisStore] = []

    def make(self, **options: Any) -> RedisStore:
        options.setdefault("namespace", self.namespace)
        store = RedisStore(self.url, **options)
        self.made.append(store)
        return store

    async def close(self) -> None:
        for store in self.made:
            await store.close()


@pytest.fixture
def instances(redis_server: RedisServer, redis_namespace: str) -> Instances:
    return Instances(redis_server.url, redis_namespace)


KEEP_FOR = 2.0
"""Seconds a kept signal lives in the expiry test; its two signals are ``GAP`` apart."""
GAP = 1.0
EPSILON = 0.01
"""Seconds: Redis counts whole milliseconds."""


class Span:
    """When a call ran, on Redis's clock (``TIME``: the wall clock of this same machine)."""

    def __init__(self) -> None:
        self.start = time.time()
        self.end = self.start

    def ended(self) -> Span:
        self.end = time.time()
        return self


def kept_then(signaled: Span, asked: Span) -> bool | None:
    """Whether a signal made during ``signaled`` is still kept by a read made during ``asked``;
    None when the two spans allow both (the read ran around its expiry)."""
    if asked.end < signaled.start + KEEP_FOR - EPSILON:
        return True
    if asked.start >= signaled.end + KEEP_FOR + EPSILON:
        return False
    return None


def test_kept_signals_expire_in_real_time(instances: Instances) -> None:
    # Redis keeps time with its own clock, which no test can move: real time passes here, and
    # every read is checked against when it ran, never against how long a step took.
    async def body() -> None:
        store = instances.make(keep_for=KEEP_FOR)
        try:
            first = Span()
            await store.signal("u", "e", payload(n=1))
            first.ended()
            await asyncio.sleep(GAP)  # the time between the signals is the subject here
            second = Span()
            await store.signal("u", "e", payload(n=2))
            second.ended()
            reads: list[tuple[Span, list[bytes]]] = []
            deadline = time.monotonic() + 2 * KEEP_FOR + 10
            while not reads or reads[-1][1]:
                assert time.monotonic() < deadline, f"still kept: {reads[-1][1]}"
                asked = Span()
                kept = await store.kept_payloads("u", "e")
                reads.append((asked.ended(), kept))
                await asyncio.sleep(0.01)
            for asked, kept in reads:
                for n, signaled in ((1, first), (2, second)):
                    expected = kept_then(signaled, asked)
                    if expected is not None:
                        assert (payload(n=n) in kept) is expected, (n, kept)
                assert kept in ([payload(n=1), payload(n=2)], [payload(n=2)], [])  # oldest first
            # The first expired while the second was still kept (GAP s of reads saw that).
            assert [payload(n=2)] in [kept for _, kept in reads]
            assert await store.wait("u", "e", 0) is None
            assert await store.active_events("u") == []
        finally:
            await instances.close()

    run(body)


def test_kept_bounds_in_events_and_bytes_drop_the_oldest(instances: Instances) -> None:
    async def body() -> None:
        by_events = instances.make(max_kept_events=2)
        by_bytes = instances.make(max_kept_bytes=20, namespace=instances.namespace + "-b")
        try:
            for n in range(3):
                await by_events.signal("u", f"e{n}", payload(n=n))
            assert await by_events.active_events("u") == ["e1", "e2"]
            for n in range(3):
                await by_bytes.signal("u", "e", payload(n=n))  # 8 bytes each
            assert await by_bytes.kept_payloads("u", "e") == [payload(n=1), payload(n=2)]
        finally:
            await instances.close()

    run(body)


def test_a_signal_wakes_waits_parked_on_every_instance(instances: Instances) -> None:
    async def body() -> None:
        a, b, c = instances.make(), instances.make(), instances.make()
        try:
            waits = [asyncio.create_task(s.wait("u", "e", 5)) for s in (a, b, b)]
            await parked(c, "e", 3)
            assert await c.signal("u", "e", payload(code="1")) == 3
            assert await asyncio.gather(*waits) == [payload(code="1")] * 3
            assert await a.kept_payloads("u", "e") == []
            (record,) = await c.history()
            assert record.delivered_to == 3 and record.matches({"code": "1"})
        finally:
            await instances.close()

    run(body)


def test_kept_signals_are_taken_exactly_once_across_instances(instances: Instances) -> None:
    async def body() -> None:
        stores = [instances.make() for _ in range(3)]
        try:
            for n in range(30):
                assert await stores[n % 3].signal("u", "e", payload(n=n)) == 0
            waits = [stores[n % 3].wait("u", "e", 0.5) for n in range(40)]
            results = await asyncio.gather(*waits)
            taken = [json.loads(r)["n"] for r in results if r is not None]
            assert sorted(taken) == list(range(30)) and results.count(None) == 10
        finally:
            await instances.close()

    run(body)


def test_a_signal_that_only_reached_hung_up_waits_elsewhere_is_kept(
    instances: Instances,
) -> None:
    async def body() -> None:
        a, b = instances.make(), instances.make()
        gone = asyncio.Event()
        try:
            wait = asyncio.create_task(a.wait("u", "e", 5, gone.wait))
            await parked(b, "e", 1)
            gone.set()
            assert await b.signal("u", "e", payload(code="7")) == 0
            assert await wait is None
            assert await b.kept_payloads("u", "e") == [payload(code="7")]
        finally:
            await instances.close()

    run(body)


def test_namespaces_are_isolated_and_reset_clears_one(instances: Instances) -> None:
    async def body() -> None:
        mine = instances.make()
        other = instances.make(namespace=instances.namespace + "-other")
        try:
            await mine.signal("u", "e", payload(n=1))
            await other.signal("u", "e", payload(n=2))
            assert await other.kept_payloads("u", "e") == [payload(n=2)]
            await mine.reset("reset")
            assert await mine.kept_payloads("u", "e") == []
            assert await mine.history() == []
            assert await other.kept_payloads("u", "e") == [payload(n=2)]
            assert len(await other.history()) == 1
        finally:
            await instances.close()

    run(body)


def test_kept_signals_survive_an_instance_going_away(instances: Instances) -> None:
    async def body() -> None:
        first = instances.make()
        await first.signal("u", "e", payload(n=1))
        await first.close()
        second = instances.make()
        try:
            assert await second.wait("u", "e", 0) == payload(n=1)
        finally:
            await instances.close()

    run(body)


def test_waits_of_an_instance_that_stopped_beating_stop_counting(instances: Instances) -> None:
    async def body() -> None:
        silent, live = instances.make(heartbeat=0.3), instances.make()
        try:
            wait = asyncio.create_task(silent.wait("u", "e", 30))
            await parked(live, "e", 1)
            link = silent._link
            assert link is not None
            for task in link._tasks:  # as if the process froze: no heartbeat, no reader
                task.cancel()
            # Its registration lapses once its last heartbeat is 0.3 s old (bounded wait).
            for _ in range(1000):
                if await live.pending_waiters("u", "e") == 0:
                    break
                await asyncio.sleep(0.01)
            assert await live.pending_waiters("u", "e") == 0
            assert not wait.done()  # the frozen instance's wait is still parked there
            assert await live.signal("u", "e", payload(n=1)) == 0
            assert await live.kept_payloads("u", "e") == [payload(n=1)]
            wait.cancel()
        finally:
            await instances.close()

    run(body)


def freeze(store: RedisStore) -> None:
    """As if the process froze (or was SIGKILLed): no heartbeat, no reader."""
    link = store._link
    assert link is not None
    for task in link._tasks:
        task.cancel()


async def addressed_to_frozen(instances: Instances) -> tuple[RedisStore, asyncio.Task[int]]:
    """A wait parked on an instance that then froze, and a signal (from another, returned)
    addressed to it while its heartbeat still counted: its settlement is pending."""
    frozen, live = instances.make(), instances.make()
    parked_there = asyncio.create_task(frozen.wait("u", "e", 30))
    await parked(live, "e", 1)
    freeze(frozen)
    signal = asyncio.create_task(live.signal("u", "e", payload(code="9")))
    for _ in range(1000):  # until the signal's script consumed the registration (bounded)
        if await live.pending_waiters("u", "e") == 0:
            break
        await asyncio.sleep(0.01)
    assert await live.pending_waiters("u", "e") == 0 and not signal.done()
    assert not parked_there.done()  # still parked on the frozen instance (cancelled on close)
    return live, signal


def test_a_signal_kept_from_a_dead_instance_goes_to_a_wait_registered_meanwhile(
    instances: Instances,
) -> None:
    async def body() -> None:
        try:
            live, signal = await addressed_to_frozen(instances)
            # The client of the frozen instance's wait retries on another one, before the
            # dead instance's heartbeat expired: this wait must get the signal, not stay
            # parked while the signal sits in the kept queue.
            retried = asyncio.create_task(live.wait("u", "e", 15))
            await parked(live, "e", 1)
            assert await asyncio.wait_for(retried, 12) == payload(code="9")
            assert await signal == 1
            assert await live.kept_payloads("u", "e") == []
        finally:
            await instances.close()

    run(body, timeout=30)


def test_a_signal_whose_delivery_redis_lost_is_503_not_queued(instances: Instances) -> None:
    async def body() -> None:
        try:
            live, signal = await addressed_to_frozen(instances)
            link = live._link
            assert link is not None
            # What a Redis restart without persistence does to the delivery in flight.
            for key in [k async for k in link.client.scan_iter(match=live.prefix + "d:*")]:
                await link.client.delete(key)
            with pytest.raises(StoreUnavailable):  # the client resends: not lost
                await signal
        finally:
            await instances.close()

    run(body, timeout=30)


def test_the_fake_server_over_a_redis_store(
    redis_server: RedisServer, redis_namespace: str
) -> None:
    store = RedisStore(redis_server.url, namespace=redis_namespace)
    with FakeEventServer({"k": "alice"}, store=store) as server:
        with httpx.Client(base_url=server.url, headers={"anchor-api-key": "k"}) as http:
            signal = server.signal_when_waiting("mfa", {"code": "42"})
            answer = http.post("/v1/events/mfa/wait", json={"timeoutMs": 5000})
            assert answer.json() == {"data": {"code": "42"}} and signal.result() == 1
            assert http.post("/v1/events/mfa", json={"data": {"n": 1}}).json()["data"] == {
                "status": "queued"
            }
        server.restart()  # the stop closed the store's connection: it connects again
        assert server.kept_signals("mfa") == [{"n": 1}]
        server.reset()
        assert server.kept_signals("mfa") == []


async def signal_when_back(store: RedisStore, data: bytes, *, within: float) -> int:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await store.signal("u", "e", data)
        except StoreUnavailable:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)  # a retry's pause, not a synchronisation


def test_redis_down_is_503_and_service_resumes(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as redis:

        async def body() -> None:
            store = RedisStore(redis.url, namespace="down", heartbeat=1.0)
            try:
                parked_wait = asyncio.create_task(store.wait("u", "e", 10))
                await parked(store, "e", 1)
                await asyncio.to_thread(redis.stop)
                with pytest.raises(StoreUnavailable) as refused:
                    await store.signal("u", "e", payload(n=1))
                assert refused.value.status == 503 and refused.value.headers[0][0] == "retry-after"
                with pytest.raises(StoreUnavailable):
                    await store.wait("u", "e", 1)
                ended = await parked_wait  # answered 503 (the client retries), not left hanging
                assert ended is not None and not isinstance(ended, bytes)
                await asyncio.to_thread(redis.start)
                # As a client told "503, Retry-After" does: try again until the store is back
                # (its connections reconnect on their own), within a bound.
                assert await signal_when_back(store, payload(n=2), within=10.0) == 0
                assert await store.wait("u", "e", 1) == payload(n=2)
            finally:
                await store.close()

        run(body, timeout=30)


def test_an_unreachable_redis_is_one_clear_line() -> None:
    with pytest.raises(ConfigurationError, match=r"^cannot reach Redis at redis://127\.0\.0\.1"):
        check_reachable("redis://127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(ConfigurationError, match="'memory' or a Redis URL"):
        store_from_url("postgres://x", namespace="n")
    assert isinstance(store_from_url("memory", namespace="n"), MemoryStore)
    with pytest.raises(ConfigurationError, match="namespace"):
        RedisStore("redis://127.0.0.1:1/0", namespace="has space")


def test_the_plugin_fake_server_keeps_events_in_redis_with_anchor_store(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    monkeypatch.setenv("ANCHOR_MFA_MODE", "fake")
    # This checkout's plugin in the inner run, whatever is installed.
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    pytester.makepyfile(
        """
        def test_code(anchor_fake, anchor_events):
            assert "RedisStore" in repr(anchor_fake.store)
            anchor_fake.signal("mfa_code", {"code": "123456"})
            assert anchor_events.wait("mfa_code", timeout=5) == {"code": "123456"}
        """
    )
    options = ["-p", "no:cacheprovider", "-p", "no:playwright"]
    result = pytester.runpytest_subprocess(*options, f"--anchor-store={redis_server.url}")
    result.assert_outcomes(passed=1)
