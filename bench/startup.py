"""``python -m bench startup``: what the plugin adds to pytest's start-up, in milliseconds.

Writes a one-test file that uses none of the plugin's fixtures to a temporary folder and times
``python -m pytest -q -p no:cacheprovider FILE`` with the plugin and without it, interleaved
(with, without, with, ...) so a change in machine load hits both alike. Reports the best and the
median of each, wall clock and CPU (user + system, less disturbed by other processes), their
differences and the median of the paired differences.

By default only the plugins a user of this package has load (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``,
with pytest-playwright, our dependency, in both runs and the plugin in one, each named by
module): whatever else a development machine has installed (hypothesis, pytest-benchmark, xdist
...) adds a second of start-up whose run-to-run spread hides a plugin's cost. ``--all-plugins``
loads everything installed and compares against ``-p no:anchor_mfa`` instead. Runs use cached
bytecode (see ``_environment``). The target: the CPU difference of the bests and the median
paired CPU difference both under 50 ms.
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
# Named by module, not by entry-point name: with autoloading off, "-p anchor_mfa" would make
# pytest scan every installed distribution's entry points, in one run only.
RUNTIME_PLUGINS = ("-p", "pytest_playwright.pytest_playwright")
Variants = dict[str, tuple[tuple[str, ...], bool]]
"""label -> (extra pytest arguments, whether only the named plugins load)"""
VARIANTS: Variants = {
    "with the plugin": (("-p", "pytest_anchor_mfa.plugin", *RUNTIME_PLUGINS), True),
    "without": (RUNTIME_PLUGINS, True),
}
ALL_PLUGINS_VARIANTS: Variants = {
    "with the plugin": ((), False),
    "without (-p no:anchor_mfa)": (("-p", "no:anchor_mfa"), False),
}


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
    parser.add_argument("-n", "--runs", type=_positive, default=21, help="runs of each [21]")
    parser.add_argument(
        "--all-plugins",
        action="store_true",
        help="load every installed plugin in both runs (noisier) instead of our runtime ones",
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each first [2]")
    return parser


def _environment(only_named_plugins: bool) -> dict[str, str]:
    env = dict(os.environ)
    # As on a user's machine, modules load from their cached bytecode (the warm-up runs write
    # it): with PYTHONDONTWRITEBYTECODE set, every run would compile, and pytest rewrite,
    # every plugin module again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if only_named_plugins:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _run_once(test_file: Path, extra: Sequence[str], only_named: bool) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one ``python -m pytest`` process."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, str(test_file)],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        env=_environment(only_named),
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


def _measure(
    test_file: Path, runs: int, warmup: int, variants: Variants
) -> dict[str, list[tuple[float, float]]]:
    """Per variant, (wall, CPU) milliseconds of each timed run; variants alternate."""
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for i in range(warmup + runs):
        for label, (extra, only_named) in variants.items():
            measured = _run_once(test_file, extra, only_named)
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
    paired = [
        statistics.median(w[kind] - wo[kind] for w, wo in zip(with_, without, strict=True))
        for kind in (0, 1)
    ]
    rows.append(
        f"\nMedian of the paired differences (run i with - run i without): wall "
        f"{paired[0]:+.0f} ms, CPU {paired[1]:+.0f} ms."
    )
    return rows, max(diff[1][0], paired[1])


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
            variants = ALL_PLUGINS_VARIANTS if args.all_plugins else VARIANTS
            times = _measure(test_file, args.runs, args.warmup, variants)
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
    plugins = "every installed plugin" if args.all_plugins else "pytest-playwright only"
    print(f"- other plugins loaded in both runs: {plugins} (see --help)")
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
    print(
        f"Target: CPU difference of the bests and median paired CPU difference < {TARGET_MS:g} "
        f"ms: {verdict} (the larger: {best:+.1f} ms)."
    )
    return 0
