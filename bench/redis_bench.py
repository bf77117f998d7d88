"""``python -m bench redis``: the shared relay (``anchor-mfa serve --store redis://``) measured.

Starts its own ``redis-server`` (loopback, free port, no persistence) and ``anchor-mfa serve``
processes on it (this checkout's code), and measures with raw keep-alive HTTP clients:

(a) cross-instance wake: a wait parked on instance A, a signal sent to instance B; the time from
    sending the signal to A's answer, p50/p99 (targets < 2 ms / < 10 ms);
(b) ``--waiters`` (10,000) waits spread over 2 instances, released by one signal: from sending
    the signal to the last answer (target < 1 s);
(c) Redis connections of each instance (sockets to Redis's port, from ``/proc``) idle, with the
    waits parked and after the release: bounded, whatever the number of waits;
(d) memory per parked wait in each instance (RSS growth / waits parked there), against one
    instance with the memory store holding the same number of waits.

Exit status: 0 when every measurement ran (targets met or not), 1 when one failed, 2 on usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from .procinfo import machine_cpu, memory
from .rawhttp import RawConnection, event_path
from .report import environment_lines
from .stats import Dist

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-bench-redis-0123456789"
USER = "bench"


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Redis:
    """A throw-away redis-server (``persistent``: an append-only file fsynced on every write,
    so ``kill()`` and ``start()`` lose nothing)."""

    def __init__(self, directory: str, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = _free_port()
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", directory]
        aof = ["yes", "--appendfsync", "always"] if persistent else ["no"]
        self.command = [*command, "--save", "", "--appendonly", *aof, "--maxclients", "1000"]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._pong():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """``kill -9``."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Instance:
    """One ``anchor-mfa serve`` process (Redis store unless ``store`` is ``memory``)."""

    def __init__(self, store: str, namespace: str) -> None:
        command = [sys.executable, "-m", "pytest_anchor_mfa.cli", "serve", "--port", "0"]
        keys = Path(tempfile.mkdtemp()) / "keys.txt"  # secrets are no flag values (ps)
        keys.write_text(f"{KEY}={USER}\n")
        command += ["--api-key-file", str(keys), "--store", store]
        command += ["--store-namespace", namespace, "--max-waits", "50000"]
        command += ["--max-connections", "30000", "--keep-alive", "600"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if " on http://" not in first:
            self.stop()
            raise RuntimeError(f"anchor-mfa serve did not start: {first!r}")
        parts = urlsplit(first.split(" on ", 1)[1].strip())
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def kill(self) -> None:
        """SIGKILL."""
        self.proc.kill()
        self.proc.wait(10)

    async def connect(self) -> RawConnection:
        return await RawConnection.open(self.host, self.port, KEY, 10.0)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def redis_connections(pid: int, redis_port: int) -> int:
    """Established TCP sockets of ``pid`` whose remote end is Redis's port."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == redis_port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


async def registered(client: aioredis.Redis, namespace: str, event: str, count: int) -> None:
    """Until ``count`` waits on ``event`` are registered in Redis (bounded: 120 s)."""
    key = f"anchor-mfa:{namespace}:w:{len(USER)}:{USER}{event}"
    deadline = time.monotonic() + 120
    while (have := await client.hlen(key)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} waits never registered on {event!r} (only {have})")
        await asyncio.sleep(0.005)


@dataclass
class Figures:
    wake: Dist | None = None
    release_ms: float = 0.0
    released: int = 0
    connections: dict[str, list[int]] | None = None
    per_wait_redis: list[float] | None = None
    per_wait_memory: float = 0.0
    memory_wake: Dist | None = None
    memory_release_ms: float = 0.0


async def wake(
    a: Instance, b: Instance, client: aioredis.Redis | None, ns: str, rounds: int
) -> Dist:
    """Signal on ``b`` -> ``a``'s wait answered; without ``client`` (memory store: nothing to
    poll) the signal goes 5 ms after the wait, untimed."""
    waiter, signaler = await a.connect(), await b.connect()
    samples = []
    for n in range(rounds):
        event = f"wake-{n}"
        waiter.send(event_path(event, wait=True), {"timeoutMs": 10_000})
        if client is None:
            await asyncio.sleep(0.005)
        else:
            await registered(client, ns, event, 1)
        started = time.perf_counter()
        signaler.send(event_path(event, wait=False), {"data": {"n": n}})
        status, _ = await waiter.receive()
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200 or (await signaler.receive())[0] != 200:
            raise RuntimeError(f"round {n}: wait answered {status}")
    await waiter.close()
    await signaler.close()
    return Dist.of(samples)


async def park(instances: list[Instance], count: int, event: str) -> list[RawConnection]:
    """``count`` waits on ``event`` spread over ``instances``, one connection each."""
    gate = asyncio.Semaphore(200)

    async def one(n: int) -> RawConnection:
        async with gate:
            conn = await instances[n % len(instances)].connect()
            conn.send(event_path(event, wait=True), {"timeoutMs": 300_000})
            return conn

    return await asyncio.gather(*(one(n) for n in range(count)))


async def release(conns: list[RawConnection], signaler: RawConnection, event: str) -> float:
    started = time.perf_counter()
    signaler.send(event_path(event, wait=False), {"data": {"code": "1"}})
    statuses = await asyncio.gather(*(conn.receive() for conn in conns))
    elapsed = (time.perf_counter() - started) * 1000
    if any(status != 200 for status, _ in statuses):
        raise RuntimeError("some released waits were not answered 200")
    return elapsed


async def herd(
    pair: list[Instance], client: aioredis.Redis, ns: str, redis_port: int, waiters: int
) -> Figures:
    connections: dict[str, list[int]] = {f"instance {i + 1}": [] for i in range(len(pair))}
    figures = Figures(connections=connections)

    def count_connections() -> None:
        for i, instance in enumerate(pair):
            connections[f"instance {i + 1}"].append(redis_connections(instance.pid, redis_port))

    count_connections()
    before = [memory(i.pid).rss_kib for i in pair]
    conns = await park(pair, waiters, "herd")
    await registered(client, ns, "herd", waiters)
    await asyncio.sleep(0.5)
    after = [memory(i.pid).rss_kib for i in pair]
    figures.per_wait_redis = [
        (a - b) * 1024 / (waiters / len(pair)) for a, b in zip(after, before, strict=True)
    ]
    count_connections()
    signaler = await pair[0].connect()
    figures.release_ms = await release(conns, signaler, "herd")
    figures.released = waiters
    count_connections()
    for conn in [*conns, signaler]:
        await conn.close()
    return figures


async def memory_reference(figures: Figures, rounds: int, waiters: int) -> None:
    """The same measurements on one instance with the memory store: the reference."""
    instance = Instance("memory", "unused")
    try:
        figures.memory_wake = await wake(instance, instance, None, "", rounds)
        conn = await instance.connect()
        before = memory(instance.pid).rss_kib
        conns = await park([instance], waiters, "herd")
        await asyncio.sleep(2.0)  # no registry to poll: give them time to park
        after = memory(instance.pid).rss_kib
        figures.memory_release_ms = await release(conns, conn, "herd")
        for c in [*conns, conn]:
            await c.close()
        figures.per_wait_memory = (after - before) * 1024 / waiters
    finally:
        instance.stop()


async def measure(redis_url: str, redis_port: int, rounds: int, waiters: int) -> Figures:
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    pair = [Instance(redis_url, ns) for _ in range(2)]
    client = aioredis.Redis.from_url(redis_url)
    try:
        _progress(f"(a) {rounds} cross-instance wakes ...")
        dist = await wake(pair[0], pair[1], client, ns, rounds)
        _progress(f"(b) {waiters:,} waiters over 2 instances ...")
        figures = await herd(pair, client, ns, redis_port, waiters)
        figures.wake = dist
    finally:
        await client.aclose()
        for instance in pair:
            instance.stop()
    _progress(f"reference: one memory-store instance, {waiters // 2:,} waiters ...")
    await memory_reference(figures, rounds, waiters // 2)
    return figures


def report(figures: Figures, command: str, waiters: int) -> list[str]:
    wake = figures.wake
    assert wake is not None and figures.connections and figures.per_wait_redis
    ok = "met" if wake.p50 < 2 and wake.p99 < 10 else "MISSED"
    herd_ok = "met" if figures.release_ms < 1000 else "MISSED"
    lines = ["# Shared relay (Redis store) benchmark", "", *environment_lines(command), ""]
    lines += ["| measurement | result | target |", "|---|---|---|"]
    lines.append(
        f"| (a) cross-instance wake, {wake.n} rounds | p50 {wake.p50:.2f} ms, p90 "
        f"{wake.p90:.2f} ms, p99 {wake.p99:.2f} ms, max {wake.max:.2f} ms | "
        f"p50 < 2 ms, p99 < 10 ms: {ok} |"
    )
    lines.append(
        f"| (b) {waiters:,} waits over 2 instances, one signal | all {figures.released:,} "
        f"answered in {figures.release_ms:.0f} ms | < 1 s: {herd_ok} |"
    )
    for name, counts in figures.connections.items():
        lines.append(
            f"| (c) Redis connections, {name} | idle {counts[0]}, with {waiters // 2:,} waits "
            f"parked {counts[1]}, after the release {counts[2]} | bounded (pool 8 + reader 1) |"
        )
    memory_wake = figures.memory_wake
    assert memory_wake is not None
    lines.append(
        f"| reference: signal -> wake on one memory-store instance | p50 {memory_wake.p50:.2f} "
        f"ms, p99 {memory_wake.p99:.2f} ms; {waiters // 2:,} waits released in "
        f"{figures.memory_release_ms:.0f} ms | (same run, same clients) |"
    )
    per_wait = ", ".join(f"{value:,.0f} B" for value in figures.per_wait_redis)
    lines.append(
        f"| (d) RSS per parked wait (connection included) | Redis store: {per_wait} per "
        f"instance; memory store: {figures.per_wait_memory:,.0f} B | (comparison) |"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench redis", description=__doc__)
    parser.add_argument("--rounds", type=int, default=1000, help="(a) wake round trips [1000]")
    parser.add_argument("--waiters", type=int, default=10_000, help="(b) waiters [10000]")
    parser.add_argument("--quick", action="store_true", help="200 rounds, 1,000 waiters")
    args = parser.parse_args(argv)
    rounds, waiters = (200, 1000) if args.quick else (args.rounds, args.waiters)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench redis {shlex.join(argv or [])}"
    cpu_before, load_before, wall = machine_cpu(), os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        redis_server = Redis(directory)
        try:
            figures = asyncio.run(measure(redis_server.url, redis_server.port, rounds, waiters))
        except Exception as exc:
            print(f"bench redis failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            redis_server.stop()
    elapsed = time.perf_counter() - wall
    others = machine_cpu().others_since(cpu_before)
    share = others / (elapsed * len(os.sched_getaffinity(0)))
    lines = report(figures, command.rstrip(), waiters)
    lines.insert(
        lines.index("| measurement | result | target |") - 1,
        f"- machine load: other processes used {others:.1f} CPU-s in {elapsed:.0f} s "
        f"({share:.0%} of the CPUs); loadavg {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after" + (" -- NOISY" if share > 0.1 else ""),
    )
    print("\n".join(lines))
    return 0
