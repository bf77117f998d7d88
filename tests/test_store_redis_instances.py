"""Several ``anchor-mfa serve --store redis://...`` processes on one real redis-server: the
shared relay as deployed. Cross-instance wake, exactly-once takes under concurrent waits spread
over the instances, an instance killed with SIGKILL, and Redis restarted under them."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis_server import REDIS_BINARY, RedisServer

from pytest_anchor_mfa.server.redis.scripts import channel

pytestmark = pytest.mark.skipif(REDIS_BINARY is None, reason="redis-server is not installed")

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-relay-test-0123456789"
START_TIMEOUT = 20.0


class Instance:
    """One ``anchor-mfa serve`` process on a free port."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.redis_url, self.namespace = redis_url, namespace
        command = [sys.executable, "-m", "pytest_anchor_mfa.cli", "serve", "--port", "0"]
        command += ["--api-key", f"{KEY}=alice", "--store", redis_url]
        command += ["--store-namespace", namespace]
        # This checkout's code, whatever is installed.
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("ANCHOR_MFA_STORE", None)
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # "anchor-mfa fake event server on http://..."
        if "http://" not in first:
            self.stop()
            raise RuntimeError(f"anchor-mfa serve did not start: {first!r}")
        self.url = first.split(" on ", 1)[1].strip()
        self.http = httpx.Client(base_url=self.url, headers={"anchor-api-key": KEY}, timeout=15)

    def signal(self, event: str, data: dict[str, object]) -> httpx.Response:
        return self.http.post(f"/v1/events/{event}", json={"data": data})

    def wait(self, event: str, timeout_ms: int) -> httpx.Response:
        return self.http.post(f"/v1/events/{event}/wait", json={"timeoutMs": timeout_ms})

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if hasattr(self, "http"):
            self.http.close()


def start_instances(redis_url: str, count: int) -> list[Instance]:
    namespace = f"relay-{uuid.uuid4().hex[:10]}"
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: Instance(redis_url, namespace), range(count)))


@pytest.fixture
def three(redis_server: RedisServer) -> Iterator[list[Instance]]:
    started = start_instances(redis_server.url, 3)
    yield started
    for instance in started:
        instance.stop()


def wait_parked(instance: Instance, event: str, count: int = 1) -> None:
    """Until ``count`` waits on ``event`` are registered in Redis (bounded)."""
    key = f"anchor-mfa:{instance.namespace}:w:{channel('alice', event)}"
    with redis.Redis.from_url(instance.redis_url) as client:
        deadline = time.monotonic() + 10
        while client.hlen(key) < count:
            assert time.monotonic() < deadline, f"{count} waits never registered on {event!r}"
            time.sleep(0.01)


def test_a_signal_on_one_instance_wakes_waits_on_the_others(three: list[Instance]) -> None:
    a, b, c = three
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(x.wait, "mfa", 10_000) for x in (a, b, b)]
        wait_parked(a, "mfa", 3)
        answer = c.signal("mfa", {"code": "111111"})
        assert answer.json() == {"data": {"status": "delivered"}}
        assert [w.result(10).json() for w in waits] == [{"data": {"code": "111111"}}] * 3
    assert a.wait("mfa", 0).status_code == 408  # delivered, not kept


def test_concurrent_waits_over_instances_take_each_kept_signal_once(
    three: list[Instance],
) -> None:
    for n in range(30):
        assert three[n % 3].signal("otp", {"n": n}).json()["data"]["status"] == "queued"
    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda n: three[n % 3].wait("otp", 1500), range(40)))
    taken = [a.json()["data"]["n"] for a in answers if a.status_code == 200]
    assert sorted(taken) == list(range(30))
    assert [a.status_code for a in answers].count(408) == 10


def test_signals_are_kept_again_soon_after_an_instance_is_killed(
    three: list[Instance],
) -> None:
    a, b, c = three
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(a.wait, "mfa", 30_000)  # its connection dies with the process
        wait_parked(a, "mfa")
        a.kill()
    started = time.monotonic()
    answer = b.signal("mfa", {"code": "222222"})
    # The first signal may be addressed to the dead instance: the signaler settles it once the
    # dead one's heartbeat (3 s) has expired, and keeps it.
    assert answer.json() == {"data": {"status": "queued"}}
    assert time.monotonic() - started < 8
    assert c.wait("mfa", 0).json() == {"data": {"code": "222222"}}
    assert b.signal("mfa", {"code": "3"}).json() == {"data": {"status": "queued"}}


def test_a_redis_restart_is_503_meanwhile_and_then_service_resumes(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as redis:
        instances = start_instances(redis.url, 2)
        try:
            a, b = instances
            assert a.signal("mfa", {"n": 1}).status_code == 200
            redis.stop()
            refused = b.signal("mfa", {"n": 2})
            assert refused.status_code == 503 and refused.headers["retry-after"]
            assert a.wait("mfa", 1000).status_code == 503
            redis.start()  # same port, empty (no persistence in this test)
            deadline = time.monotonic() + 10
            while (answer := b.signal("mfa", {"n": 3})).status_code == 503:
                assert time.monotonic() < deadline, "service did not resume"
                time.sleep(0.2)
            assert answer.json() == {"data": {"status": "queued"}}
            assert a.wait("mfa", 1000).json() == {"data": {"n": 3}}
        finally:
            for instance in instances:
                instance.stop()
