"""``python -m bench compare``: the package's fake server side by side with a naive reference.

The reference (``bench/reference_server.py``) is what a user would write in an afternoon:
Starlette + uvicorn, futures in a dict. Both run in processes of their own, served the same way
(``AsgiServer``: uvicorn with httptools), and are driven by the same raw HTTP clients, so
the ratios compare the apps and their stores, on this machine, in this run:

* signal-to-wake latency: ``--blocks`` blocks of ``--round-trips``, the two servers alternating
  block by block (so drift in the machine's load hits both); p50 and p99 per block;
* ``--waiters`` parked waits released by one signal, ``--herd-runs`` times per server, each on
  a fresh server process: time until the last waiter has the data, and server memory per
  parked wait (RSS with every wait parked minus RSS before, divided by the waits).

Each figure is the median over blocks/runs with its range; each ratio is package / reference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .procinfo import machine_cpu
from .report import environment_lines
from .scenarios import HerdResult, WakeResult, herd_release, wake_latency
from .server_proc import ServerProcess

__all__ = ["main"]

KINDS = ("reference", "fake")


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    unit: str


def _progress(message: str) -> None:
    print(f"[bench compare] {message}", file=sys.stderr, flush=True)


def _spread(values: Sequence[float], digits: int = 2) -> str:
    """``median [min..max]``."""
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{med:.{digits}f} [{min(values):.{digits}f}..{max(values):.{digits}f}]"


def _wake_blocks(blocks: int, round_trips: int, budget: float) -> dict[str, list[WakeResult]]:
    results: dict[str, list[WakeResult]] = {kind: [] for kind in KINDS}
    servers = {kind: ServerProcess(kind=kind).start() for kind in KINDS}
    try:
        for block in range(blocks):
            order = KINDS if block % 2 == 0 else KINDS[::-1]
            for kind in order:
                _progress(f"wake block {block + 1}/{blocks} on {kind}")
                run = wake_latency(servers[kind], "raw", round_trips, 20, budget)
                results[kind].append(asyncio.run(run))
    finally:
        for server in servers.values():
            server.stop()
    return results


def _herd_runs(runs: int, waiters: int, budget: float) -> dict[str, list[HerdResult]]:
    results: dict[str, list[HerdResult]] = {kind: [] for kind in KINDS}
    for run in range(runs):
        for kind in KINDS if run % 2 == 0 else KINDS[::-1]:
            _progress(f"herd run {run + 1}/{runs} on {kind} ({waiters:,} waiters)")
            # A fresh server each run: memory an earlier run freed would hide this run's growth.
            with ServerProcess(kind=kind) as server:
                results[kind].append(asyncio.run(herd_release(server, "raw", waiters, budget)))
    return results


def _per_wait_bytes(result: HerdResult) -> float:
    return (result.rss_pending_kib - result.rss_base_kib) * 1024 / result.waiters


def _ratios(package: list[float], reference: list[float]) -> list[float]:
    return [p / r for p, r in zip(package, reference, strict=True) if r > 0]


def _row(
    metric: str,
    values: dict[str, list[float]],
    target: str,
    met: bool,
    *,
    ratio: bool = True,
) -> str:
    ratios = _ratios(values["fake"], values["reference"]) if ratio else []
    verdict = "MET" if met else "**MISS**"
    return (
        f"| {metric} | {_spread(values['reference'])} | {_spread(values['fake'])} | "
        f"{_spread(ratios) if ratio else '-'} | {target} | {verdict} |"
    )


def _wake_table(results: dict[str, list[WakeResult]]) -> list[str]:
    p50 = {k: [r.latency_ms.p50 for r in v] for k, v in results.items()}
    p99 = {k: [r.latency_ms.p99 for r in v] for k, v in results.items()}
    r50 = statistics.median(_ratios(p50["fake"], p50["reference"]))
    r99 = statistics.median(_ratios(p99["fake"], p99["reference"]))
    return [
        _row("signal→wake p50, ms", p50, "ratio ≤ 0.9", r50 <= 0.9),
        _row("signal→wake p99, ms", p99, "ratio ≤ 1.0", r99 <= 1.0),
    ]


def _herd_table(results: dict[str, list[HerdResult]], waiters: int) -> list[str]:
    release = {k: [r.all_released_ms for r in v] for k, v in results.items()}
    memory = {k: [_per_wait_bytes(r) / 1000 for r in v] for k, v in results.items()}
    ratio = statistics.median(_ratios(release["fake"], release["reference"]))
    fake_release = statistics.median(release["fake"])
    fake_memory = statistics.median(memory["fake"])
    return [
        _row(
            f"{waiters:,} waiters released by one signal, ms",
            release,
            "< 500 ms and ratio ≤ 0.7",
            fake_release < 500 and ratio <= 0.7,
        ),
        _row("server memory per parked wait, kB", memory, "< 12 kB", fake_memory < 12),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__)
    parser.add_argument("--blocks", type=int, default=6, help="wake-latency blocks [6]")
    parser.add_argument("--round-trips", type=int, default=300, help="per block [300]")
    parser.add_argument("--waiters", type=int, default=10_000, help="parked waits [10000]")
    parser.add_argument("--herd-runs", type=int, default=3, help="herd runs per server [3]")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes")
    return parser


def _timed(what: str, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    _progress(f"{what} done in {time.perf_counter() - started:.1f} s")


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.blocks, args.round_trips, args.waiters, args.herd_runs = 2, 50, 500, 1
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench compare {shlex.join(argv)}"
    cpu_before, wall = machine_cpu(), time.perf_counter()
    wake = _wake_blocks(args.blocks, args.round_trips, args.budget)
    herd = _herd_runs(args.herd_runs, args.waiters, args.budget)
    elapsed = time.perf_counter() - wall
    others = machine_cpu().others_since(cpu_before)
    ncpu = len(os.sched_getaffinity(0))
    print("# Fake server vs a naive reference (same uvicorn, same raw clients)\n")
    print("\n".join(environment_lines(command)))
    print(
        f"- sizes: {args.blocks} wake blocks of {args.round_trips} round trips per server, "
        f"{args.herd_runs} herd run(s) of {args.waiters:,} waiters per server; {elapsed:.0f} s"
    )
    print(
        f"- machine load: other processes used {others:.1f} CPU-s "
        f"({others / (elapsed * ncpu):.0%} of {ncpu} CPUs) during the run\n"
    )
    print("| metric | reference | package | ratio (package / reference) | target | |")
    print("|---|---|---|---|---|---|")
    lines = _wake_table(wake) + _herd_table(herd, args.waiters)
    print("\n".join(lines))
    print("\nFigures: median [min..max] over blocks (wake) or runs (herd).")
    return 0
