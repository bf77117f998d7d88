"""The stores on their own: the delivery rules, no HTTP.

``MemoryStore`` is checked against a model in test_store_stateful.py (a hypothesis state machine:
kept signals in FIFO order within their bounds and expiry, signals reaching every live parked
wait, clients that hang up, timeouts, users, resets, the history). Here the same rules run
against ``RedisStore`` (a real redis-server, a namespace per test: ``redis_stores``; Redis keeps
time with its own clock, test_store_redis.py checks expiry in real time), and what the machine
never does runs against both stores (``stores``): ``release_all`` on its own, and real
cancellations of parked waits. The HTTP contract is tested in test_fake_server.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis_server import RedisServer
from store_support import Client, parked, payload

from pytest_anchor_mfa.server.store import Closed, EventStore, MemoryStore


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 10))


class Stores:
    """Makes the stores of one test (memory or Redis), and closes them after its body."""

    def __init__(self, kind: str, url: str = "", namespace: str = "") -> None:
        self.kind, self.url, self.namespace = kind, url, namespace
        self.made: list[EventStore] = []

    def make(self, **options: Any) -> EventStore:
        if self.kind == "memory":
            store: EventStore = MemoryStore(**options)
        else:
            from pytest_anchor_mfa.server.redis.store import RedisStore

            store = RedisStore(self.url, namespace=self.namespace, **options)
        self.made.append(store)
        return store

    def run(self, body: Callable[[], Awaitable[None]]) -> None:
        async def body_then_close() -> None:
            try:
                await body()
            finally:
                for store in self.made:
                    close = getattr(store, "close", None)
                    if close is not None:
                        await close()

        run(body_then_close)


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Stores:
    """Each store in turn: for what the state machine of test_store_stateful.py never does."""
    if request.param == "memory":
        return Stores("memory")
    redis_stores: Stores = request.getfixturevalue("redis_stores")
    return redis_stores


@pytest.fixture
def redis_stores(redis_server: RedisServer, redis_namespace: str) -> Stores:
    """``RedisStore`` only: ``MemoryStore`` follows these rules in test_store_stateful.py."""
    return Stores("redis", redis_server.url, redis_namespace)


def test_kept_signals_are_fifo_and_each_is_taken_once(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        for n in range(3):
            assert await store.signal("u", "e", payload(n=n)) == 0
        taken = [await store.wait("u", "e", 0) for _ in range(4)]
        assert taken == [payload(n=0), payload(n=1), payload(n=2), None]

    redis_stores.run(body)


def test_queue_limit_drops_the_oldest(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make(queue_limit=2)
        for n in range(4):
            await store.signal("u", "e", payload(n=n))
        assert await store.kept_payloads("u", "e") == [payload(n=2), payload(n=3)]

    redis_stores.run(body)


def test_a_signal_reaches_every_parked_wait_and_is_not_kept(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        waits = [asyncio.create_task(store.wait("u", "e", 5, Client().hang_up)) for _ in range(3)]
        await parked(store, "e", 3)
        assert await store.signal("u", "e", payload(code="1")) == 3
        assert await asyncio.gather(*waits) == [payload(code="1")] * 3
        assert await store.kept_payloads("u", "e") == []
        (record,) = await store.history()
        assert record.delivered_to == 3 and record.matches({"code": "1"})

    redis_stores.run(body)


def test_users_never_see_each_others_events(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        bob = asyncio.create_task(store.wait("bob", "e", 5))
        await parked(store, "e", 1, user="bob")
        assert await store.signal("alice", "e", payload(n=1)) == 0
        assert await store.pending_waiters("bob", "e") == 1
        assert await store.wait("alice", "e", 0) == payload(n=1)
        bob.cancel()

    redis_stores.run(body)


def test_a_wait_times_out_with_none_and_leaves_nothing_behind(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        assert await store.wait("u", "e", 0.01) is None
        assert await store.active_events("u") == []

    redis_stores.run(body)


def test_a_signal_reaching_only_clients_that_hung_up_is_kept(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        clients = [Client(), Client()]
        waits = [asyncio.create_task(store.wait("u", "e", 5, c.hang_up)) for c in clients]
        await parked(store, "e", 2)
        # Both clients go away in the same loop turn as the signal: neither wait resumed yet.
        for client in clients:
            client.leave()
        assert await store.signal("u", "e", payload(code="7")) == 0
        assert await asyncio.gather(*waits) == [None, None]
        assert await store.kept_payloads("u", "e") == [payload(code="7")]
        assert [r.delivered_to for r in await store.history()] == [0]

    redis_stores.run(body)


def test_a_signal_reaching_one_live_client_is_delivered_not_kept(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        gone, live = Client(), Client()
        waits = [asyncio.create_task(store.wait("u", "e", 5, c.hang_up)) for c in (gone, live)]
        await parked(store, "e", 2)
        gone.leave()
        assert await store.signal("u", "e", payload(code="8")) == 1
        assert await asyncio.gather(*waits) == [None, payload(code="8")]
        assert await store.kept_payloads("u", "e") == []

    redis_stores.run(body)


def test_a_client_that_hangs_up_while_parked_is_forgotten(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        client = Client()
        wait = asyncio.create_task(store.wait("u", "e", 5, client.hang_up))
        await parked(store, "e", 1)
        client.leave()
        assert await wait is None
        assert await store.pending_waiters("u", "e") == 0
        assert await store.signal("u", "e", payload(n=1)) == 0  # kept, not lost

    redis_stores.run(body)


def test_release_all_answers_every_wait_with_closed(stores: Stores) -> None:
    async def body() -> None:
        store = stores.make()
        waits = [asyncio.create_task(store.wait("u", f"e{n}", 5)) for n in range(3)]
        for n in range(3):  # in memory, one loop turn
            await parked(store, f"e{n}", 1)
        await store.release_all("stopping")
        results = await asyncio.gather(*waits)
        assert all(isinstance(r, Closed) and r.reason == "stopping" for r in results)

    stores.run(body)


def test_a_real_cancellation_of_a_parked_wait_propagates(stores: Stores) -> None:
    async def body() -> None:
        store = stores.make()
        wait = asyncio.create_task(store.wait("u", "e", 5, Client().hang_up))
        await parked(store, "e", 1)
        wait.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wait
        assert await store.pending_waiters("u", "e") == 0

    stores.run(body)


def test_a_wait_cancelled_after_a_signal_reached_it_does_not_lose_the_signal(
    stores: Stores,
) -> None:
    async def body() -> None:
        store = stores.make()
        wait = asyncio.create_task(store.wait("u", "e", 5, Client().hang_up))
        await parked(store, "e", 1)
        signal = asyncio.create_task(store.signal("u", "e", payload(code="9")))
        await asyncio.sleep(0)  # the signal has handed its data to the parked wait...
        wait.cancel()  # ...which is cancelled for real before it could answer
        with pytest.raises(asyncio.CancelledError):
            await wait
        assert await signal == 0
        assert await store.kept_payloads("u", "e") == [payload(code="9")]

    stores.run(body)


def test_reset_forgets_kept_signals_and_history(redis_stores: Stores) -> None:
    async def body() -> None:
        store = redis_stores.make()
        await store.signal("u", "e", payload(n=1))
        await store.reset("reset")
        assert await store.kept_payloads("u", "e") == []
        assert await store.history() == []

    redis_stores.run(body)
