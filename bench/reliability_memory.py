"""Section 3 of ``python -m bench reliability``: does the server give back the memory of big
signals once they were consumed?

On a fresh server: RSS after a warm-up of small signals, then ``count`` signals of ``size``
bytes each, consumed: the first half signal-then-wait (kept, then taken), the second half with
waits parked first (``batch`` at a time) and then signaled; RSS after each half, the peak
(``VmHWM``), and RSS again after ``settle`` seconds of quiet. The history keeps metadata only,
so the end should be back near the start.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from .procinfo import memory, reset_peak_rss
from .rawhttp import RawConnection, event_path
from .server_proc import ServerProcess

__all__ = ["MemoryResult", "run_memory"]


@dataclass(frozen=True)
class MemoryResult:
    count: int
    size: int
    start_kib: int
    after_kept_kib: int
    """After the first half (signal, then wait)."""
    after_parked_kib: int
    """After the second half (waits parked, then signaled)."""
    peak_kib: int
    peak_from_hwm: bool
    settled_kib: int
    settle_s: float
    elapsed_s: float


def _payload(seq: int, size: int) -> dict[str, str]:
    return {"blob": os.urandom(size // 2).hex(), "seq": str(seq)}


def _check(seq: int, answer: tuple[int, object], payload: dict[str, str]) -> None:
    if answer != (200, {"data": payload}):
        status = answer[0]
        raise RuntimeError(f"signal {seq}: the wait got {status}, not the 200 with its data")


async def _signal_then_wait(server: ServerProcess, count: int, size: int) -> None:
    conn = await RawConnection.open(server.host, server.port, server.api_key, 5.0)
    try:
        for seq in range(count):
            payload = _payload(seq, size)
            event = f"mem-kept-{seq}"
            signaled = await conn.request(event_path(event, wait=False), {"data": payload})
            if signaled[0] != 200:
                raise RuntimeError(f"signal {seq} answered {signaled[0]}: {signaled[1]!r:.200}")
            _check(seq, await conn.request(event_path(event, wait=True), {"timeoutMs": 0}), payload)
    finally:
        await conn.close()


async def _parked_then_signaled(server: ServerProcess, count: int, size: int, batch: int) -> None:
    host, port, key = server.host, server.port, server.api_key
    signaler = await RawConnection.open(host, port, key, 5.0)
    try:
        for first in range(0, count, batch):
            seqs = range(first, min(first + batch, count))
            waiters = [await RawConnection.open(host, port, key, 5.0) for _ in seqs]
            for seq, waiter in zip(seqs, waiters, strict=True):
                waiter.send(event_path(f"mem-parked-{seq}", wait=True), {"timeoutMs": 30_000})
            for seq in seqs:
                await asyncio.to_thread(server.wait_for_waiters, f"mem-parked-{seq}", 1, 10.0)
            for seq, waiter in zip(seqs, waiters, strict=True):
                payload = _payload(seq, size)
                event = f"mem-parked-{seq}"
                await signaler.request(event_path(event, wait=False), {"data": payload})
                _check(seq, await asyncio.wait_for(waiter.receive(), 15.0), payload)
                await waiter.close()
    finally:
        await signaler.close()


async def _warm_up(server: ServerProcess) -> None:
    await _signal_then_wait(server, 20, 1000)
    await _parked_then_signaled(server, 4, 1000, 2)


def run_memory(count: int, size: int, batch: int, settle: float) -> MemoryResult:
    started = time.perf_counter()
    with ServerProcess() as server:
        asyncio.run(_warm_up(server))
        start = memory(server.pid).rss_kib
        from_hwm = reset_peak_rss(server.pid)
        asyncio.run(_signal_then_wait(server, count - count // 2, size))
        after_kept = memory(server.pid).rss_kib
        asyncio.run(_parked_then_signaled(server, count // 2, size, batch))
        after = memory(server.pid)
        time.sleep(settle)
        settled = memory(server.pid).rss_kib
    return MemoryResult(
        count=count,
        size=size,
        start_kib=start,
        after_kept_kib=after_kept,
        after_parked_kib=after.rss_kib,
        peak_kib=after.hwm_kib if from_hwm else max(after_kept, after.rss_kib),
        peak_from_hwm=from_hwm,
        settled_kib=settled,
        settle_s=settle,
        elapsed_s=time.perf_counter() - started,
    )
