"""``python -m bench startup``: what the plugin adds to pytest's start-up, in milliseconds.

Writes a one-test file that uses none of the plugin's fixtures to a temporary folder and times
``python -m pytest -q -p no:cacheprovider FILE`` with the plugin and with ``-p no:anchor_mfa``,
interleaved (with, without, with, ...) so a change in machine load hits both alike. Reports the
best and the median of each, wall clock and CPU (user + system, less disturbed by other
processes), and their differences; the target is a difference of wall-clock bests under 50 ms.
Every other installed plugin (pytest-playwright, xdist, ...) loads in both runs.
Exit status: 0 when every run passed (target met or not), 1 when a run failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .procinfo import machine_cpu

TARGET_MS = 50.0
TEST_FILE = "def test_nothing():\n    assert True\n"
VARIANTS = {"with the plugin": (), "without (-p no:anchor_mfa)": ("-p", "no:anchor_mfa")}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench startup",
        description="Time pytest's start-up with and without the plugin (markdown report).",
    )
    parser.add_argument("-n", "--runs", type=_positive, default=15, help="runs of each [15]")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each first [2]")
    return parser


def _run_once(test_file: Path, extra: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one ``python -m pytest`` process."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, str(test_file)], cwd=test_file.parent, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} exited {done.returncode}:\n{done.stdout}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return elapsed * 1000, cpu * 1000


def _own_import_ms(test_file: Path, runs: int = 3) -> float:
    """Best over ``runs`` of the self time of the package's modules in ``-X importtime``."""
    command = [sys.executable, "-X", "importtime", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    best = float("inf")
    for _ in range(runs):
        done = subprocess.run(
            [*command, str(test_file)], cwd=test_file.parent, capture_output=True, text=True
        )
        total_us = 0
        for line in done.stderr.splitlines():
            # "import time:   self [us] | cumulative | imported package"
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[2].strip().startswith("pytest_anchor_mfa"):
                total_us += int(fields[0])
        best = min(best, total_us / 1000)
    return best


def _measure(test_file: Path, runs: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    """Per variant, (wall, CPU) milliseconds of each timed run; variants alternate."""
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in VARIANTS}
    for i in range(warmup + runs):
        for label, extra in VARIANTS.items():
            measured = _run_once(test_file, extra)
            if i >= warmup:
                times[label].append(measured)
        print(f"[bench] run {i + 1}/{warmup + runs}", file=sys.stderr, flush=True)
    return times


def _table(times: dict[str, list[tuple[float, float]]]) -> tuple[list[str], float]:
    """The markdown rows, and the difference of the wall-clock bests."""
    rows = [
        "| run | wall best, ms | wall median, ms | wall max, ms | CPU best, ms | CPU median, ms |",
        "|---|---|---|---|---|---|",
    ]
    for label, values in times.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        rows.append(
            f"| {label} | {min(wall):.0f} | {statistics.median(wall):.0f} | {max(wall):.0f} "
            f"| {min(cpu):.0f} | {statistics.median(cpu):.0f} |"
        )
    with_, without = times.values()
    diff = {
        kind: (
            min(v[kind] for v in with_) - min(v[kind] for v in without),
            statistics.median(v[kind] for v in with_) - statistics.median(v[kind] for v in without),
        )
        for kind in (0, 1)
    }
    rows.append(
        f"| difference (the plugin's cost) | {diff[0][0]:+.0f} | {diff[0][1]:+.0f} | "
        f"| {diff[1][0]:+.0f} | {diff[1][1]:+.0f} |"
    )
    paired = statistics.median(w[0] - wo[0] for w, wo in zip(with_, without, strict=True))
    rows.append(
        f"\nMedian of the paired wall-clock differences (run i with - run i without): "
        f"{paired:+.0f} ms."
    )
    return rows, diff[0][0]


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    command = (
        f"cd {shlex.quote(os.getcwd())} && python -m bench startup {shlex.join(argv)}".rstrip()
    )
    cpu_before, load_before, wall = machine_cpu(), os.getloadavg(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="anchor-startup-") as folder:
        test_file = Path(folder) / "test_startup.py"
        test_file.write_text(TEST_FILE)
        try:
            times = _measure(test_file, args.runs, args.warmup)
            own_import = _own_import_ms(test_file)
        except RuntimeError as exc:
            print(f"[bench] FAILED: {exc}", file=sys.stderr)
            return 1
    elapsed = time.perf_counter() - wall
    others = machine_cpu().others_since(cpu_before)
    ncpu = len(os.sched_getaffinity(0))
    share = others / (elapsed * ncpu) if elapsed > 0 else 0.0
    print("# pytest start-up with and without pytest-anchor-mfa\n")
    print(f"- command: `{command}`")
    print(f"- Python {platform.python_version()}, {ncpu} usable CPUs; {sys.executable}")
    print(
        f"- {args.runs} timed runs of each after {args.warmup} warm-up, interleaved; "
        f"one test using no fixture of the plugin; total {elapsed:.1f} s"
    )
    print(
        f"- machine load: other processes used {others:.1f} CPU-s during the run "
        f"({share:.0%} of {ncpu} CPUs); loadavg {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
        + (" -- NOISY: medians are not ours alone" if share > 0.1 else "")
    )
    rows, best = _table(times)
    print()
    print("\n".join(rows))
    verdict = "MET" if best < TARGET_MS else "MISS"
    print(
        f"\nImport of the package's modules at start-up (self time in -X importtime, best "
        f"of 3): {own_import:.1f} ms."
    )
    print(f"Target: difference of bests < {TARGET_MS:g} ms: {verdict} ({best:+.1f} ms).")
    return 0
