"""Section 2 of ``python -m bench reliability``: idle and slow connections held against a server.

A thread of its own (its own asyncio loop) opens ``idle`` connections that never send a byte and
``slow`` ones that send a request's head one byte every ``slow_interval`` seconds, and watches
each until the server closes it. Meanwhile, on the main thread, normal signal-then-wait round
trips are timed (one on a keep-alive connection and one on a fresh connection, alternating) and
compared with the same measured first with nothing held. The server runs with a short
``request_timeout``: every held connection must be closed (with a 408) within it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

from .procinfo import memory
from .rawhttp import RawConnection, event_path
from .reliability_fuzz import Answer, BadAnswer, _parse_head, envelope_problem
from .server_proc import ServerProcess, _raise_fd_limit
from .stats import Dist

__all__ = ["HoldResult", "run_hold"]

_MS = 1000.0
_OPEN_BATCH = 250
_GRACE = 5.0
"""Seconds past ``request_timeout`` a held connection is watched before it counts as left open."""


@dataclass
class Held:
    slow: bool
    opened: float = 0.0
    closed: float | None = None
    data: bytes = b""

    @property
    def lifetime(self) -> float | None:
        return None if self.closed is None else self.closed - self.opened

    @property
    def got_408(self) -> bool:
        """The server's answer was a 408 in the error envelope."""
        head, sep, body = self.data.partition(b"\r\n\r\n")
        try:
            answer = _parse_head(head + sep)
        except BadAnswer:
            return False
        whole = Answer(answer.status, answer.headers, body)
        return answer.status == 408 and envelope_problem(whole) is None


class Holder:
    """Opens and holds the connections on a loop in its own thread; ``start()``, then read."""

    def __init__(self, server: ServerProcess, idle: int, slow: int, interval: float) -> None:
        self.server = server
        self.idle, self.slow, self.interval = idle, slow, interval
        self.held: list[Held] = []
        self.open_failed: list[str] = []
        self.first_open = self.all_open_at = 0.0
        self.all_open = threading.Event()
        self.done = threading.Event()
        self.limit = 0.0
        """Seconds each connection is watched (request_timeout + grace)."""
        self._thread = threading.Thread(target=self._run, name="bench-holder", daemon=True)

    def start(self, watch_for: float) -> None:
        self.limit = watch_for
        self._thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self.all_open.set()
            self.done.set()

    async def _main(self) -> None:
        self.first_open = time.perf_counter()
        tasks = [asyncio.create_task(self._hold(Held(slow=True))) for _ in range(self.slow)]
        for start in range(0, self.idle, _OPEN_BATCH):
            size = min(_OPEN_BATCH, self.idle - start)
            opened = await asyncio.gather(*(self._open(Held(slow=False)) for _ in range(size)))
            tasks.extend(asyncio.create_task(self._watch(*conn)) for conn in opened if conn)
        self.all_open_at = time.perf_counter()
        self.all_open.set()
        await asyncio.gather(*tasks)

    async def _open(
        self, held: Held
    ) -> tuple[Held, asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.server.host, self.server.port), 10.0
            )
        except (OSError, TimeoutError) as exc:
            self.open_failed.append(repr(exc))
            return None
        held.opened = time.perf_counter()
        self.held.append(held)
        return held, reader, writer

    async def _watch(
        self, held: Held, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read until the server closes the connection (or the watch ends: left open)."""
        end = held.opened + self.limit
        try:
            while (left := end - time.perf_counter()) > 0:
                chunk = await asyncio.wait_for(reader.read(4096), left)
                if not chunk:
                    held.closed = time.perf_counter()
                    return
                held.data += chunk
        except TimeoutError:
            return
        except OSError:
            held.closed = time.perf_counter()  # reset by the server: closed too
        finally:
            writer.close()

    async def _hold(self, held: Held) -> None:
        """A slow sender: one byte of a request head every ``interval`` s while it is open."""
        conn = await self._open(held)
        if conn is None:
            return
        _, reader, writer = conn
        watch = asyncio.create_task(self._watch(held, reader, writer))
        head = (
            f"POST /v1/events/slow/wait HTTP/1.1\r\nhost: {self.server.host}\r\n"
            f"anchor-api-key: {self.server.api_key}\r\ncontent-length: 2\r\n\r\n{{}}"
        ).encode()
        for i in range(len(head)):
            if watch.done():
                break
            with contextlib.suppress(OSError):
                writer.write(head[i : i + 1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(watch), self.interval)
        await watch


@dataclass
class RoundTrips:
    keep_alive_ms: list[float] = field(default_factory=list)
    fresh_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _one_round_trip(conn: RawConnection, event: str, seq: int) -> float:
    """Signal ``event``, then wait for it (the kept signal answers at once); ms."""
    payload = {"code": f"{seq % 1_000_000:06d}", "seq": seq}
    started = time.perf_counter()
    signaled = await conn.request(event_path(event, wait=False), {"data": payload})
    waited = await conn.request(event_path(event, wait=True), {"timeoutMs": 2000})
    elapsed = (time.perf_counter() - started) * _MS
    if signaled[0] != 200 or waited != (200, {"data": payload}):
        raise RuntimeError(f"round trip {seq}: signal {signaled[0]}, wait {waited!r:.120}")
    return elapsed


async def round_trips(server: ServerProcess, count: int, until: float | None) -> RoundTrips:
    """``count`` pairs (keep-alive, fresh connection) of round trips, alternating; stops at
    ``until`` (perf_counter) if given."""
    result = RoundTrips()
    host, port, key = server.host, server.port, server.api_key
    kept = await RawConnection.open(host, port, key, 5.0)
    try:
        for seq in range(count):
            if until is not None and time.perf_counter() > until:
                break
            try:
                result.keep_alive_ms.append(
                    await asyncio.wait_for(_one_round_trip(kept, "rt-kept", seq), 10.0)
                )
                fresh = await RawConnection.open(host, port, key, 5.0)
                try:
                    result.fresh_ms.append(
                        await asyncio.wait_for(_one_round_trip(fresh, "rt-fresh", seq), 10.0)
                    )
                finally:
                    await fresh.close()
            except (OSError, TimeoutError, RuntimeError, ValueError) as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                if len(result.errors) > 5:
                    break
                await kept.close()
                kept = await RawConnection.open(host, port, key, 5.0)
    finally:
        await kept.close()
    return result


@dataclass
class HoldResult:
    idle: int
    slow: int
    request_timeout: float
    baseline: RoundTrips
    held: RoundTrips
    connections: list[Held]
    open_failed: list[str]
    open_s: float
    window_s: float
    all_closed_after_s: float | None
    """From the last connection opened to the last one closed by the server."""
    server_rss_kib: tuple[int, int]
    """Server RSS before opening and with every connection held."""
    server_logs: list[tuple[str, str, str, int]]

    def lifetimes(self, slow: bool) -> Dist:
        values = [h.lifetime for h in self.connections if h.slow is slow]
        return Dist.of([v for v in values if v is not None])

    def left_open(self, slow: bool) -> int:
        return sum(1 for h in self.connections if h.slow is slow and h.closed is None)

    def without_408(self) -> int:
        return sum(1 for h in self.connections if h.closed is not None and not h.got_408)


def _held_round_trips(
    server: ServerProcess, holder: Holder, count: int, request_timeout: float
) -> tuple[RoundTrips, float]:
    """Round trips while everything is held: from all open until just before the first
    connection may be closed by the server. Returns them and the window's length."""
    if not holder.all_open.wait(120.0):
        return RoundTrips(errors=["the connections were not all open within 120 s"]), 0.0
    start = time.perf_counter()
    window_end = holder.first_open + request_timeout - 0.3
    if window_end <= start:
        message = (
            f"opening took {start - holder.first_open:.1f} s, longer than the request "
            f"timeout ({request_timeout:g} s): no window with everything held"
        )
        return RoundTrips(errors=[message]), 0.0
    held = asyncio.run(round_trips(server, count, window_end))
    return held, min(time.perf_counter(), window_end) - start


def run_hold(
    idle: int, slow: int, interval: float, request_timeout: float, count: int
) -> HoldResult:
    """Baseline round trips, then the same while ``idle`` + ``slow`` connections are held;
    a fresh server whose requests must arrive within ``request_timeout`` seconds."""
    _raise_fd_limit()
    kwargs = {"limits": {"request_timeout": request_timeout}}
    with ServerProcess(server_kwargs=kwargs, capture_logs=True) as server:
        baseline = asyncio.run(round_trips(server, count, None))
        rss_before = memory(server.pid).rss_kib
        holder = Holder(server, idle, slow, interval)
        holder.start(request_timeout + _GRACE)
        held, window = _held_round_trips(server, holder, count, request_timeout)
        rss_held = memory(server.pid).rss_kib
        holder.done.wait(request_timeout + _GRACE + 60.0)
        closes = [h.closed for h in holder.held]
        last_close = max((c for c in closes if c is not None), default=None)
        all_closed = None
        if last_close is not None and None not in closes:
            all_closed = last_close - holder.all_open_at
        logs = server.logs()
    return HoldResult(
        idle=idle,
        slow=slow,
        request_timeout=request_timeout,
        baseline=baseline,
        held=held,
        connections=list(holder.held),
        open_failed=holder.open_failed,
        open_s=holder.all_open_at - holder.first_open,
        window_s=window,
        all_closed_after_s=all_closed,
        server_rss_kib=(rss_before, rss_held),
        server_logs=logs,
    )
