"""Turn results into the markdown table (with targets and pass/miss) and the header."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
from dataclasses import dataclass

from .scenarios import HerdResult, StartStopResult, ThroughputResult, WakeResult
from .stats import Dist

__all__ = [
    "Row",
    "Targets",
    "environment_lines",
    "herd_rows",
    "render",
    "start_stop_rows",
    "throughput_rows",
    "wake_rows",
]

_KIB_PER_MB = 1_000_000 / 1024


@dataclass(frozen=True)
class Targets:
    wake_p50_ms: float = 2.0
    wake_p99_ms: float = 10.0
    herd_all_ms: float = 1000.0
    herd_rss_mb: float = 100.0
    start_stop_ms: float = 200.0


@dataclass(frozen=True)
class Row:
    scenario: str
    client: str
    measurement: str
    value: str
    target: str = "—"
    result: str = "—"

    @property
    def missed(self) -> bool:
        return "MISS" in self.result or "ERROR" in self.result


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**MISS**"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _dist(d: Dist, *, with_p90: bool = True) -> str:
    parts = [d.p50, d.p90, d.p99, d.max] if with_p90 else [d.p50, d.p99, d.max]
    return " / ".join(_ms(x) for x in parts)


def _n(done: int, requested: int, truncated: bool) -> str:
    return f"n={done:,}" + (f" of {requested:,}: time budget hit" if truncated else "")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment_lines(command: str) -> list[str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    httptools = importlib.util.find_spec("httptools") is not None
    uvloop = importlib.util.find_spec("uvloop") is not None
    http_impl = (
        f"httptools {_version('httptools')}"
        if httptools
        else f"h11 {_version('h11')} (pure Python; httptools not installed)"
    )
    lines = [
        f"- command: `{command}`",
        f"- CPUs: os.cpu_count()={os.cpu_count()}, usable={affinity}; "
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"pytest-anchor-mfa {_version('pytest-anchor-mfa')}, uvicorn {_version('uvicorn')}, "
        f"starlette {_version('starlette')}, httpx {_version('httpx')}, "
        f"pydantic {_version('pydantic')}",
        f"- server HTTP parser: {http_impl}; server event loop: stock asyncio "
        f"(the runtime makes its own; uvloop {'installed' if uvloop else 'not installed'})",
    ]
    return lines


def wake_rows(r: WakeResult, t: Targets) -> list[Row]:
    d = r.latency_ms
    ok50, ok99 = d.p50 < t.wake_p50_ms, d.p99 < t.wake_p99_ms
    return [
        Row(
            "(a) signal→wake",
            r.client,
            f"latency p50 / p90 / p99 / max, ms ({_n(d.n, r.requested, r.truncated)})",
            _dist(d),
            f"p50 < {t.wake_p50_ms:g}; p99 < {t.wake_p99_ms:g}",
            f"{_verdict(ok50)} / {_verdict(ok99)}",
        ),
        Row(
            "(a) signal→wake",
            r.client,
            "signal request's own round trip p50 / p90 / p99 / max, ms",
            _dist(r.signal_ms),
        ),
    ]


def herd_rows(r: HerdResult, t: Targets) -> list[Row]:
    growth_mb = r.rss_growth_kib / _KIB_PER_MB
    peak_src = "VmHWM" if r.peak_from_hwm else "sampled VmRSS"
    d = r.release_ms
    label = f"(b) {r.waiters:,} waiters"
    return [
        Row(
            label,
            r.client,
            "signal → all waiters have the data, ms",
            _ms(r.all_released_ms),
            f"< {t.herd_all_ms:g}",
            _verdict(r.all_released_ms < t.herd_all_ms)
            + (
                " (client-bound: see CPU row)"
                if r.all_released_ms >= t.herd_all_ms
                and r.bench_cpu_release_s > r.server_cpu_release_s
                else ""
            ),
        ),
        Row(
            label,
            r.client,
            "per-waiter release p50 / p90 / p99, ms; signal round trip, ms",
            f"{_ms(d.p50)} / {_ms(d.p90)} / {_ms(d.p99)}; {_ms(r.signal_ms)}",
        ),
        Row(
            label,
            r.client,
            f"server RSS growth, MB (base → {r.waiters:,} pending → peak [{peak_src}])",
            f"+{growth_mb:.1f}, ≈{r.rss_growth_kib * 1024 / 1000 / r.waiters:.0f} kB per waiter "
            f"({r.rss_base_kib / _KIB_PER_MB:.1f} → "
            f"{r.rss_pending_kib / _KIB_PER_MB:.1f} → {r.rss_peak_kib / _KIB_PER_MB:.1f})",
            f"< {t.herd_rss_mb:g}",
            _verdict(growth_mb < t.herd_rss_mb),
        ),
        Row(
            label,
            r.client,
            "set-up: all pending after, s; pending seen; CPU for the release, ms: "
            "server / bench (clients)",
            f"{r.setup_s:.2f}; {r.pending_before_signal:,}; "
            f"{r.server_cpu_release_s * 1000:.0f} / {r.bench_cpu_release_s * 1000:.0f}",
        ),
    ]


def throughput_rows(r: ThroughputResult) -> list[Row]:
    per = r.done or 1
    label = f"(c) {r.clients} signalers"
    return [
        Row(
            label,
            r.client,
            f"signals per second ({_n(r.done, r.requested, r.truncated)}, "
            f"{r.elapsed_s:.2f} s, distinct events)",
            f"{r.per_second:,.0f}",
        ),
        Row(
            label,
            r.client,
            "per-signal latency p50 / p90 / p99 / max, ms",
            _dist(r.per_signal_ms),
        ),
        Row(
            label,
            r.client,
            "CPU per signal, µs: server / bench (clients); busy, % of one core: server / bench",
            f"{r.server_cpu_s / per * 1e6:.0f} / {r.bench_cpu_s / per * 1e6:.0f}; "
            f"{r.server_cpu_s / r.elapsed_s:.0%} / {r.bench_cpu_s / r.elapsed_s:.0%}",
        ),
    ]


def start_stop_rows(r: StartStopResult, t: Targets) -> list[Row]:
    d = r.total_ms
    return [
        Row(
            "(d) start+stop",
            "in-process",
            f"FakeEventServer().start() + .stop() p50 / p90 / p99 / max, ms "
            f"({_n(d.n, r.requested, r.truncated)})",
            _dist(d),
            f"p50 and p99 < {t.start_stop_ms:g}",
            f"{_verdict(d.p50 < t.start_stop_ms)} / {_verdict(d.p99 < t.start_stop_ms)}",
        ),
        Row(
            "(d) start+stop",
            "in-process",
            "start p50 / p99 ms; stop p50 / p99 ms; first (cold) run ms",
            f"{_ms(r.start_ms.p50)} / {_ms(r.start_ms.p99)}; "
            f"{_ms(r.stop_ms.p50)} / {_ms(r.stop_ms.p99)}; {_ms(r.cold_ms)}",
        ),
    ]


def render(rows: list[Row]) -> str:
    header = ("scenario", "client", "measurement", "value", "target", "result")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = (row.scenario, row.client, row.measurement, row.value, row.target, row.result)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
