"""The shared relay under chaos, bounded for CI: two ``anchor-mfa serve --store redis://...``
processes, 200 waits and 200 signals spread over them (``bench/redis_chaos.py``), one instance
SIGKILLed mid-run and Redis killed with ``kill -9`` and restarted (with an append-only file, so
the restart itself loses nothing). Nothing stranded, nothing acknowledged lost, no duplicate
but the documented ones: a signal retried after a 503 may arrive twice, and one that a wait on
the killed instance took in the instant it died may be lost or doubled (counted apart)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis_server import REDIS_BINARY, RedisServer
from subprocesses import CliProcesses
from test_store_redis_instances import KEY, start_instances

from bench.redis_chaos import Chaos, run_chaos

pytestmark = pytest.mark.skipif(REDIS_BINARY is None, reason="redis-server is not installed")


def test_an_instance_sigkill_and_a_redis_kill_9_strand_lose_and_double_nothing(
    tmp_path: Path, cli_processes: CliProcesses
) -> None:
    with RedisServer(tmp_path, persistent=True) as redis:
        a, b = start_instances(cli_processes, redis.url, 2)

        def restart_redis() -> None:
            redis.kill()
            redis.start()  # same port; the append-only file brings the data back

        chaos = [
            Chaos(2.5, "instance SIGKILL", a.kill),
            Chaos(5.0, "Redis kill -9 and restart", restart_redis),
        ]
        try:
            counts = asyncio.run(run_chaos([a.url, b.url], KEY, chaos, budget=35.0))
        finally:
            b.close()
            a.close()
    summary = f"{counts}"
    assert len(counts.chaos) == 2, summary
    assert counts.stranded == 0, summary
    assert counts.lost == 0, summary
    assert counts.duplicates == 0, summary
    assert counts.acknowledged + counts.unacknowledged == counts.signals, summary
    # Both breakages happened while traffic flowed: the clients saw them.
    assert counts.statuses["signal: 503"] + counts.statuses["wait: 503"] > 0, summary
    assert any("refused" in kind for kind in counts.statuses), summary
