"""The four measurements. Every loop is bounded in count and in time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import threading
import time
from dataclasses import dataclass

from pytest_anchor_mfa.server import FakeEventServer

from .clients import BenchClient, ClientKind, open_client
from .procinfo import cpu_seconds, memory, reset_peak_rss
from .rawhttp import RawConnection, event_path
from .server_proc import ServerProcess
from .stats import Dist

__all__ = [
    "HerdResult",
    "StartStopResult",
    "ThroughputResult",
    "WakeResult",
    "herd_release",
    "start_stop",
    "throughput",
    "wake_latency",
]

_MS = 1000.0


class BenchError(RuntimeError):
    """A scenario could not be measured (wrong data, timeout, server error)."""


# -- (a) signal-to-wake latency -----------------------------------------------------------------


@dataclass(frozen=True)
class WakeResult:
    client: ClientKind
    requested: int
    latency_ms: Dist
    """From just before the signal is sent to the waiter holding the signaled data."""
    signal_ms: Dist
    """Round trip of the signal request itself (to its 200), for comparison."""
    elapsed_s: float
    truncated: bool


async def _timed_wait(client: BenchClient, event: str, timeout: float) -> tuple[float, object]:
    data = await client.wait(event, timeout)
    return time.perf_counter(), data


async def wake_latency(
    server: ServerProcess, kind: ClientKind, round_trips: int, warmup: int, budget_s: float
) -> WakeResult:
    """A waiter and a signaler, two clients on this one loop; the server in its own process.

    Each round: start the wait, block (off the loop) until the server reports it pending, then
    take the clock, signal, and stop the clock when the waiter has the data.
    """
    event = f"bench-wake-{kind}"
    waiter = open_client(kind, server.url, server.api_key)
    signaler = open_client(kind, server.url, server.api_key)
    latencies: list[float] = []
    signal_times: list[float] = []
    started = time.perf_counter()
    deadline = started + budget_s
    truncated = False
    try:
        for i in range(warmup + round_trips):
            if time.perf_counter() > deadline:
                truncated = True
                break
            payload = {"code": f"{i % 1_000_000:06d}", "seq": i}
            task = asyncio.create_task(_timed_wait(waiter, event, 10.0))
            try:
                await asyncio.to_thread(server.wait_for_waiters, event, 1, 10.0)
                t0 = time.perf_counter()
                status = await signaler.signal(event, payload)
                t_signal = time.perf_counter()
                t_woke, data = await asyncio.wait_for(task, 15.0)
            finally:
                task.cancel()
            if status != "delivered" or data != payload:
                raise BenchError(f"round {i}: signal {status!r}, waiter got {data!r}")
            if i >= warmup:
                latencies.append((t_woke - t0) * _MS)
                signal_times.append((t_signal - t0) * _MS)
    finally:
        await waiter.aclose()
        await signaler.aclose()
    return WakeResult(
        client=kind,
        requested=round_trips,
        latency_ms=Dist.of(latencies),
        signal_ms=Dist.of(signal_times),
        elapsed_s=time.perf_counter() - started,
        truncated=truncated,
    )


# -- (b) many waiters released by one signal ----------------------------------------------------


@dataclass(frozen=True)
class HerdResult:
    client: ClientKind
    waiters: int
    pending_before_signal: int
    setup_s: float
    """From the first connection to all waiters pending on the server."""
    signal_ms: float
    """Round trip of the one signal request."""
    release_ms: Dist
    """Per waiter: from just before the signal to that waiter having the data."""
    rss_base_kib: int
    rss_pending_kib: int
    rss_peak_kib: int
    peak_from_hwm: bool
    """True if the peak is the kernel's VmHWM (reset before the run), else sampled VmRSS."""
    server_cpu_release_s: float
    bench_cpu_release_s: float
    """CPU of the bench process (the clients) from the signal to the last release."""

    @property
    def all_released_ms(self) -> float:
        return self.release_ms.max

    @property
    def rss_growth_kib(self) -> int:
        return self.rss_peak_kib - self.rss_base_kib


class _RssSampler:
    """Samples the server's VmRSS from a thread every ``interval`` s; bounded by ``limit_s``."""

    def __init__(self, pid: int, interval: float = 0.002, limit_s: float = 120.0) -> None:
        self.peak_kib = 0
        self._pid = pid
        self._interval = interval
        self._limit_s = limit_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                self.peak_kib = max(self.peak_kib, memory(self._pid).rss_kib)
            except (OSError, KeyError):
                return
            self._stop.wait(self._interval)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


async def _herd_waiters_raw(
    server: ServerProcess,
    event: str,
    count: int,
    connect_parallelism: int,
    timeout: float,
    conns: list[RawConnection],
) -> list[asyncio.Task[tuple[float, object]]]:
    """One connection per waiter, at most ``connect_parallelism`` connecting at a time."""
    gate = asyncio.Semaphore(connect_parallelism)
    body = {"timeoutMs": int(timeout * 1000)}

    async def one() -> tuple[float, object]:
        async with gate:
            conn = await RawConnection.open(server.host, server.port, server.api_key, 10.0)
            conns.append(conn)
            conn.send(event_path(event, wait=True), body)
        status, answer = await conn.receive()
        done = time.perf_counter()
        if status != 200 or not isinstance(answer, dict):
            raise BenchError(f"wait answered HTTP {status}: {answer!r}")
        return done, answer.get("data")

    return [asyncio.create_task(one()) for _ in range(count)]


async def herd_release(
    server: ServerProcess,
    kind: ClientKind,
    waiters: int,
    budget_s: float,
    connect_parallelism: int = 100,
    httpx_pool_size: int = 50,
) -> HerdResult:
    """``waiters`` clients wait on one event; one signal releases them all.

    ``raw``: one connection per waiter (asyncio streams), at most ``connect_parallelism``
    connecting at once; ``httpx``: ``httpx.AsyncClient`` pools of ``httpx_pool_size``
    connections, one connection per waiter. The signaler has its own warmed-up connection.
    """
    if kind == "package":
        raise BenchError(
            "AsyncEventsClient keeps httpx's default pool of 100 connections: use raw or httpx"
        )
    event = f"bench-herd-{kind}"
    deadline = time.perf_counter() + budget_s
    wait_timeout = budget_s + 30.0
    signaler = open_client(kind, server.url, server.api_key)
    pools: list[BenchClient] = []
    conns: list[RawConnection] = []
    tasks: list[asyncio.Task[tuple[float, object]]] = []
    try:
        gc.collect()
        await asyncio.to_thread(time.sleep, 0.2)  # let the server settle before the baseline
        peak_from_hwm = reset_peak_rss(server.pid)
        base = memory(server.pid)
        with _RssSampler(server.pid) as sampler:
            t_setup = time.perf_counter()
            if kind == "raw":
                tasks = await _herd_waiters_raw(
                    server, event, waiters, connect_parallelism, wait_timeout, conns
                )
            else:
                # httpcore's pool scans all its connections for every request it places, so one
                # pool of 1,000 costs the *client* seconds: shard the waiters over pools.
                shard = max(1, min(httpx_pool_size, waiters))
                for first in range(0, waiters, shard):
                    size = min(shard, waiters - first)
                    pool = open_client(kind, server.url, server.api_key, connections=size)
                    pools.append(pool)
                    tasks.extend(
                        asyncio.create_task(_timed_wait(pool, event, wait_timeout))
                        for _ in range(size)
                    )
            remaining = max(deadline - time.perf_counter(), 1.0)
            try:
                await asyncio.to_thread(server.wait_for_waiters, event, waiters, remaining)
            except (TimeoutError, RuntimeError) as exc:
                failed = [t for t in tasks if t.done() and t.exception() is not None]
                why = repr(failed[0].exception()) if failed else ""
                raise BenchError(f"not all {waiters} waiters got pending: {exc} {why}") from None
            setup_s = time.perf_counter() - t_setup
            pending = await asyncio.to_thread(server.pending, event)
            rss_pending = memory(server.pid).rss_kib
            # Open and warm the signaler's connection only now: opened before a setup longer
            # than the server's keep-alive timeout, it would be closed as idle. A 0 ms wait on
            # another event is a 408.
            with contextlib.suppress(RuntimeError):
                await signaler.wait(f"{event}-warmup", 0.0)
            payload = {"code": "424242", "herd": waiters}
            cpu0, bench_cpu0 = cpu_seconds(server.pid), time.process_time()
            t0 = time.perf_counter()
            status = await signaler.signal(event, payload)
            signal_ms = (time.perf_counter() - t0) * _MS
            remaining = max(deadline - time.perf_counter(), 5.0)
            done, not_done = await asyncio.wait(tasks, timeout=remaining)
            cpu1, bench_cpu1 = cpu_seconds(server.pid), time.process_time()
        if not_done:
            raise BenchError(f"{len(not_done)} of {waiters} waiters not released in time")
        results = [t.result() for t in done]
        wrong = sum(1 for _, data in results if data != payload)
        if status != "delivered" or wrong:
            raise BenchError(f"signal {status!r}; {wrong} waiter(s) got wrong data")
        after = memory(server.pid)
        peak = max(after.hwm_kib if peak_from_hwm else 0, sampler.peak_kib, after.rss_kib)
        return HerdResult(
            client=kind,
            waiters=waiters,
            pending_before_signal=pending,
            setup_s=setup_s,
            signal_ms=signal_ms,
            release_ms=Dist.of([(t - t0) * _MS for t, _ in results]),
            rss_base_kib=base.rss_kib,
            rss_pending_kib=rss_pending,
            rss_peak_kib=peak,
            peak_from_hwm=peak_from_hwm,
            server_cpu_release_s=cpu1 - cpu0,
            bench_cpu_release_s=bench_cpu1 - bench_cpu0,
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(conn.close() for conn in conns))
        for pool in pools:
            await pool.aclose()
        await signaler.aclose()


# -- (c) signal throughput ----------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputResult:
    client: ClientKind
    clients: int
    requested: int
    done: int
    elapsed_s: float
    per_signal_ms: Dist
    server_cpu_s: float
    bench_cpu_s: float
    truncated: bool

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def throughput(
    server: ServerProcess, kind: ClientKind, total: int, concurrency: int, budget_s: float
) -> ThroughputResult:
    """``concurrency`` clients on this loop, each signaling its share of ``total`` in turn.

    Every signal has its own event name, so each finds no waiter and is kept (a queue of one).
    """
    clients = [open_client(kind, server.url, server.api_key) for _ in range(concurrency)]
    shares = [
        total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)
    ]
    latencies: list[float] = []
    truncated = False

    async def run(index: int, client: BenchClient, deadline: float) -> int:
        nonlocal truncated
        count = 0
        for i in range(shares[index]):
            if time.perf_counter() > deadline:
                truncated = True
                break
            t0 = time.perf_counter()
            status = await client.signal(f"bench-tput-{kind}-{index}-{i}", {"seq": i})
            latencies.append((time.perf_counter() - t0) * _MS)
            if status != "queued":
                raise BenchError(f"signal with no waiter answered {status!r}, not 'queued'")
            count += 1
        return count

    try:
        # Warm up: open every connection before the clock starts.
        await asyncio.gather(
            *(c.signal(f"bench-tput-{kind}-{i}-warmup", {"seq": -1}) for i, c in enumerate(clients))
        )
        cpu0, bench_cpu0 = cpu_seconds(server.pid), time.process_time()
        t0 = time.perf_counter()
        counts = await asyncio.gather(*(run(i, c, t0 + budget_s) for i, c in enumerate(clients)))
        elapsed = time.perf_counter() - t0
        cpu1, bench_cpu1 = cpu_seconds(server.pid), time.process_time()
    finally:
        for client in clients:
            await client.aclose()
    return ThroughputResult(
        client=kind,
        clients=concurrency,
        requested=total,
        done=sum(counts),
        elapsed_s=elapsed,
        per_signal_ms=Dist.of(latencies),
        server_cpu_s=cpu1 - cpu0,
        bench_cpu_s=bench_cpu1 - bench_cpu0,
        truncated=truncated,
    )


# -- (d) start + stop -------------------------------------------------------------------------


@dataclass(frozen=True)
class StartStopResult:
    requested: int
    cold_ms: float
    """The first, untimed-in-the-stats run (lazy imports, first thread, first loop)."""
    start_ms: Dist
    stop_ms: Dist
    total_ms: Dist
    truncated: bool


def _probe_status(server: FakeEventServer) -> int:
    """Status of one ``timeoutMs: 0`` wait over a plain socket (408 from a serving server)."""
    body = b'{"timeoutMs":0}'
    request = (
        b"POST /v1/events/bench-probe/wait HTTP/1.1\r\nHost: %s:%d\r\nanchor-api-key: %s\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
        % (b"127.0.0.1", server.port, server.api_key.encode(), len(body), body)
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(request)
        head = sock.recv(4096)
    return int(head.split(b" ", 2)[1])


def start_stop(runs: int, budget_s: float) -> StartStopResult:
    """``FakeEventServer()`` + ``.start()`` then ``.stop()``, in this process, ``runs`` times.

    The first (cold) run is reported apart; it also checks, off the clock, that a started
    server answers HTTP (its stop may then wait for that connection to close).
    """

    def once(probe: bool = False) -> tuple[float, float]:
        t0 = time.perf_counter()
        server = FakeEventServer()
        server.start()
        t1 = time.perf_counter()
        if probe and (status := _probe_status(server)) != 408:
            server.stop()
            raise BenchError(f"a freshly started server answered {status}, not 408")
        t2 = time.perf_counter()
        server.stop()
        t3 = time.perf_counter()
        return (t1 - t0) * _MS, (t3 - t2) * _MS

    cold_start, cold_stop = once(probe=True)
    starts: list[float] = []
    stops: list[float] = []
    deadline = time.perf_counter() + budget_s
    truncated = False
    for _ in range(runs):
        if time.perf_counter() > deadline:
            truncated = True
            break
        start, stop = once()
        starts.append(start)
        stops.append(stop)
    return StartStopResult(
        requested=runs,
        cold_ms=cold_start + cold_stop,
        start_ms=Dist.of(starts),
        stop_ms=Dist.of(stops),
        total_ms=Dist.of([a + b for a, b in zip(starts, stops, strict=True)]),
        truncated=truncated,
    )
