"""Several ``anchor-mfa serve --store redis://...`` processes on one real redis-server: the
shared relay as deployed. Cross-instance wake, exactly-once takes under concurrent waits spread
over the instances, an instance killed with SIGKILL, and Redis restarted under them."""

from __future__ import annotations

import concurrent.futures
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis_server import REDIS_BINARY, RedisServer
from subprocesses import CliProcess, CliProcesses, serve_banner

from pytest_anchor_mfa.server.redis.scripts import channel

pytestmark = pytest.mark.skipif(REDIS_BINARY is None, reason="redis-server is not installed")

KEY = "sk-relay-test-0123456789"


class Instance:
    """One ``anchor-mfa serve --store redis://...`` process on a free port, and a client of it."""

    def __init__(self, process: CliProcess, redis_url: str, namespace: str) -> None:
        self.process, self.redis_url, self.namespace = process, redis_url, namespace
        _, self.url = serve_banner(process)
        self.http = httpx.Client(base_url=self.url, headers={"anchor-api-key": KEY}, timeout=15)

    def signal(self, event: str, data: dict[str, object]) -> httpx.Response:
        return self.http.post(f"/v1/events/{event}", json={"data": data})

    def wait(self, event: str, timeout_ms: int) -> httpx.Response:
        return self.http.post(f"/v1/events/{event}/wait", json={"timeoutMs": timeout_ms})

    def kill(self) -> None:
        self.process.kill()

    def close(self) -> None:
        self.http.close()
        self.process.close()


def start_instances(processes: CliProcesses, redis_url: str, count: int) -> list[Instance]:
    namespace = f"relay-{uuid.uuid4().hex[:10]}"
    keys = Path(tempfile.mkdtemp()) / "keys.txt"  # a key file: secrets are no flag values
    keys.write_text(f"{KEY}=alice\n")
    args = ["serve", "--port", "0", "--api-key-file", str(keys), "--store", redis_url]
    args += ["--store-namespace", namespace]

    def start(_: int) -> Instance:
        return Instance(processes.start(*args), redis_url, namespace)

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


@pytest.fixture
def three(redis_server: RedisServer, cli_processes: CliProcesses) -> Iterator[list[Instance]]:
    started = start_instances(cli_processes, redis_server.url, 3)
    yield started
    for instance in started:
        instance.close()


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


def test_a_redis_restart_is_503_meanwhile_and_then_service_resumes(
    tmp_path: Path, cli_processes: CliProcesses
) -> None:
    with RedisServer(tmp_path) as redis:
        instances = start_instances(cli_processes, redis.url, 2)
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
            for instance in instances:  # while their Redis is still up
                instance.close()
