"""Section ``chaos`` of ``python -m bench reliability``: the Redis store under chaos.

Each run starts its own ``redis-server`` (loopback, free port, append-only file fsynced on every
write, so a ``kill -9`` loses nothing it acknowledged) and two ``anchor-mfa serve --store
redis://`` processes (this checkout's code), and drives ``bench/redis_chaos.py``'s traffic while
one instance is SIGKILLed and Redis is killed (-9) and restarted on the same port.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid

from .redis_bench import Instance, Redis
from .redis_chaos import Chaos, ChaosCounts, run_chaos

__all__ = ["run_chaos_runs"]

KEY = "sk-bench-redis-0123456789"


def _one(channels: int, per: int, seed: int) -> ChaosCounts:
    with tempfile.TemporaryDirectory() as directory:
        redis = Redis(directory, persistent=True)
        pair: list[Instance] = []
        try:
            namespace = f"chaos-{uuid.uuid4().hex[:8]}"
            pair = [Instance(redis.url, namespace) for _ in range(2)]

            def restart_redis() -> None:
                redis.kill()
                redis.start()

            chaos = [
                Chaos(2.5, "instance SIGKILL", pair[0].kill),
                Chaos(5.0, "Redis kill -9 and restart", restart_redis),
            ]
            urls = [instance.url for instance in pair]
            return asyncio.run(run_chaos(urls, KEY, chaos, channels=channels, per=per, seed=seed))
        finally:
            for instance in pair[1:]:
                instance.stop()
            redis.stop()


def run_chaos_runs(runs: int, channels: int, per: int) -> list[ChaosCounts]:
    """``runs`` chaos runs of ``channels * per`` signals and as many waits each."""
    results = []
    for n in range(runs):
        print(f"[bench reliability] chaos run {n + 1} of {runs} ...", file=sys.stderr, flush=True)
        results.append(_one(channels, per, seed=19 + n))
    return results
