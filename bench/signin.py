"""``python -m bench signin``: what ``@pytest.mark.signed_in`` saves on a suite behind TOTP.

The same ``--tests`` tests (20), each opening the account page of the demo app's user carol,
run as real ``python -m pytest -n 2`` processes (``--workers``) in three variants:

* (a) each test signs in itself (``--anchor-fresh-sign-in``): password and a TOTP code;
* (b) ``@pytest.mark.signed_in``: one TOTP sign-in for the whole run, shared by the workers;
* (c) the same with MFA switched off in the demo app (``add_user(..., mfa=False)``): one
  password-only sign-in, the floor that (b) is held to.

The inner suite (a ``conftest.py`` and a test file) is written to a temporary folder. As in
``examples/conftest.py``, the inner run's controller starts one demo site and hands it to its
xdist workers, with a TOTP secret made for that run (so (b)'s one sign-in never waits for a
step that an earlier run used). Each run writes the sign-ins the site counted and how long each
call of the sign-in routine took (and how much of that was waiting for the code).

TOTP makes (a) slow on purpose: the plugin never hands out the same 30 s step twice, so every
fresh sign-in after the first waits for a new step: 20 tests take about 10 minutes. (b) and (c)
run ``--repeat`` times (3), alternating, after ``--warmup`` untimed runs of (c) (1); (a)
``--fresh-repeat`` times (1). ``--quick``: 3 tests, 1 repeat, no warm-up (about a minute).

Targets: (b) within 1.1x of (c) plus one TOTP sign-in (the median time of (b)'s sign-in routine,
measured in this run), and (b) at most a fifth of (a).
Exit status: 0 when every run passed (targets met or not), 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.metadata
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .procinfo import machine_cpu

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
USER = "carol"
RATIO_TARGET = 1.1
FAR_BELOW = 0.2
"""(b) must take at most this share of (a)'s wall time."""
FULL_RUN = "about 11 minutes with the defaults, nearly all of it (a)"
"""How long ``python -m bench signin`` takes on the 2-core development machine."""

CONFTEST = '''
"""The signin bench's inner suite (written by bench/signin.py): one demo site for the run."""

import os
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, os.environ["BENCH_EXAMPLES"])
from demo_app import DemoApp  # noqa: E402

from pytest_anchor_mfa.codes.totp import random_secret  # noqa: E402

USER, PASSWORD = "carol", "correct horse"
OUT = Path(os.environ["BENCH_OUT"])
_SITE = pytest.StashKey()


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        app = DemoApp()
        app.start()
        if os.environ["BENCH_MFA"] == "1":
            secret = random_secret()  # this run's own: no step used by an earlier run
            app.add_user(USER, PASSWORD, totp_secret=secret)
        else:
            secret = None
            app.add_user(USER, PASSWORD, mfa=False)
        config.stash[_SITE] = (app, {"url": app.url, "secret": secret})


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["bench_site"] = node.config.stash[_SITE][1]


def pytest_unconfigure(config):
    shared = config.stash.get(_SITE, None)
    if shared is not None:
        (OUT / "sign-ins").write_text(str(shared[0].sign_ins(USER)))
        shared[0].stop()


@pytest.fixture(scope="session")
def site(pytestconfig):
    workerinput = getattr(pytestconfig, "workerinput", None)
    return workerinput["bench_site"] if workerinput else pytestconfig.stash[_SITE][1]


@pytest.fixture(scope="session")
def anchor_sign_in(site):
    def sign_in(page, user, mfa_code):
        started, waited = time.perf_counter(), 0.0
        page.goto(f"{site['url']}/login")
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        if site["secret"] is not None:
            asked = time.perf_counter()
            code = mfa_code(source="totp", secret=site["secret"])
            waited = time.perf_counter() - asked
            page.fill("#mfa-code", code)
            page.click("#verify-button")
        expect(page.locator("#welcome")).to_be_visible()
        with open(OUT / "sign-in-times", "a") as times:  # one short line: an atomic append
            times.write(f"{time.perf_counter() - started:.4f} {waited:.4f}\\n")

    return sign_in
'''

TESTS = """
import pytest
from playwright.sync_api import expect


@pytest.mark.signed_in("carol")
@pytest.mark.parametrize("n", range({count}))
def test_a_signed_in_page(page, site, n):
    page.goto(f"{{site['url']}}/account?page={{n}}")
    expect(page.locator("#welcome")).to_have_text("Welcome, carol!")
"""


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    mfa: bool
    fresh: bool


VARIANTS = (
    Variant("a", "(a) each test signs in (`--anchor-fresh-sign-in`), TOTP", True, True),
    Variant("b", "(b) `@pytest.mark.signed_in`, TOTP", True, False),
    Variant("c", "(c) `@pytest.mark.signed_in`, MFA off", False, False),
)


@dataclass(frozen=True)
class Run:
    """One inner ``python -m pytest`` process: wall and CPU seconds, what the site counted,
    each sign-in routine's (seconds, of which waiting for the code), and the share of the
    machine's CPUs other processes used meanwhile."""

    wall_s: float
    cpu_s: float
    sign_ins: int
    routines: list[tuple[float, float]]
    others: float = 0.0


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=lambda: {v.key: [] for v in VARIANTS})
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    tests: int
    repeat: int
    fresh_repeat: int
    warmup: int
    workers: int
    only: tuple[str, ...]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _variants(text: str) -> tuple[str, ...]:
    chosen = {part.strip().lower() for part in text.split(",") if part.strip()}
    if not chosen or chosen - {"a", "b", "c"}:
        raise argparse.ArgumentTypeError(f"choose from a,b,c; got {text!r}")
    return tuple(v.key for v in VARIANTS if v.key in chosen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench signin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tests", type=_positive, help="tests in the inner suite [20]")
    parser.add_argument("--repeat", type=_positive, help="timed runs of (b) and (c) each [3]")
    parser.add_argument("--fresh-repeat", type=_positive, help="timed runs of (a) [1]")
    parser.add_argument("--warmup", type=int, help="untimed runs of (c) first [1]")
    parser.add_argument(
        "--workers", type=int, default=2, help="xdist workers of every inner run; 0: no xdist [2]"
    )
    parser.add_argument("--only", type=_variants, help="variants to run, e.g. b,c [a,b,c]")
    parser.add_argument("--quick", action="store_true", help="3 tests, 1 repeat, no warm-up")
    return parser


def _plan(args: argparse.Namespace) -> Plan:
    quick = {"tests": 3, "repeat": 1, "fresh_repeat": 1, "warmup": 0}
    default = {"tests": 20, "repeat": 3, "fresh_repeat": 1, "warmup": 1}
    base = quick if args.quick else default
    sizes = {
        name: base[name] if getattr(args, name) is None else getattr(args, name) for name in base
    }
    return Plan(
        tests=sizes["tests"],
        repeat=sizes["repeat"],
        fresh_repeat=sizes["fresh_repeat"],
        warmup=max(sizes["warmup"], 0),
        workers=max(args.workers, 0),
        only=args.only or ("a", "b", "c"),
    )


def _progress(message: str) -> None:
    print(f"[bench signin] {message}", file=sys.stderr, flush=True)


def _environment(out: Path, mfa: bool) -> dict[str, str]:
    """This process's environment without our settings (fake mode, whatever the shell has),
    this checkout first on the path, and a short temporary folder of the run's own (Chromium
    puts sockets there, whose paths have a length limit)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ANCHOR") or name == "ANCHOR_MFA_CHROMIUM"
    }
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # from cached bytecode, as on a user's machine
    tmp = out / "tmp"
    tmp.mkdir()
    env.update(
        TMPDIR=str(tmp),
        BENCH_EXAMPLES=str(ROOT / "examples"),
        BENCH_OUT=str(out),
        BENCH_MFA="1" if mfa else "0",
    )
    return env


def _command(variant: Variant, workers: int) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if workers:
        command += ["-n", str(workers)]
    if variant.fresh:
        command.append("--anchor-fresh-sign-in")
    return [*command, "test_signed_in.py"]


_PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux).

    Chromium's helper processes outlive their parents: without this, init reaps them, their
    CPU never reaches this process's children's rusage, and shows as other processes' load.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _reap_orphans(timeout: float = 15.0) -> int:
    """Wait for every descendant left over by a run (the bench has no other children then),
    so that its CPU is counted and it does not run into the next run; how many were reaped."""
    deadline, reaped = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            reaped += 1
        else:
            time.sleep(0.02)
    return reaped


def _run(folder: Path, variant: Variant, plan: Plan) -> Run:
    """One inner run of the suite in ``folder``; RuntimeError when it did not pass."""
    out = Path(tempfile.mkdtemp(prefix="run-", dir=folder))
    command = _command(variant, plan.workers)
    machine_before = machine_cpu()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=folder,
        env=_environment(out, variant.mfa),
        capture_output=True,
        text=True,
        timeout=120 + 60 * plan.tests,  # (a) waits up to 30 s a test, more under -n
    )
    wall = time.perf_counter() - started
    _reap_orphans()
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise RuntimeError(f"{shlex.join(command)} exited {done.returncode}:\n{tail}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    times = out / "sign-in-times"
    lines = times.read_text().split("\n") if times.exists() else []
    routines = [(float(a), float(b)) for a, b in (line.split() for line in lines if line)]
    sign_ins = int((out / "sign-ins").read_text())
    shutil.rmtree(out, ignore_errors=True)
    others = machine_cpu().others_since(machine_before) / (wall * len(os.sched_getaffinity(0)))
    return Run(wall, cpu, sign_ins, routines, others)


def _timed(folder: Path, variant: Variant, plan: Plan, results: Results, what: str) -> None:
    if variant.key in results.errors:
        return
    _progress(f"{variant.label.split(' ')[0]} {what} ...")
    try:
        run = _run(folder, variant, plan)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        results.errors[variant.key] = f"{type(exc).__name__}: {exc}"
        _progress(f"{variant.key} FAILED: {exc}")
        return
    if what != "warm-up":
        results.runs[variant.key].append(run)
    _progress(f"  {run.wall_s:.1f} s, {run.sign_ins} sign-in(s), other processes {run.others:.0%}")


def _measure(folder: Path, plan: Plan) -> Results:
    """Warm-up runs of (c), then (b) and (c) alternating, then (a)."""
    results = Results()
    by_key = {v.key: v for v in VARIANTS}
    for _ in range(plan.warmup):
        _timed(folder, by_key["c"], plan, results, "warm-up")
    results.errors.clear()  # a failed warm-up shows again in the timed runs
    pair = [k for k in ("b", "c") if k in plan.only]
    for i in range(plan.repeat):
        for key in pair if i % 2 == 0 else pair[::-1]:
            _timed(folder, by_key[key], plan, results, f"run {i + 1}/{plan.repeat}")
    if "a" in plan.only:
        for i in range(plan.fresh_repeat):
            _timed(folder, by_key["a"], plan, results, f"run {i + 1}/{plan.fresh_repeat}")
    return results


def _spread(values: Sequence[float], digits: int = 1) -> str:
    """``median [min..max]``, or the value alone for one."""
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} [{min(values):.{digits}f}..{max(values):.{digits}f}]"


def _expected_sign_ins(variant: Variant, plan: Plan) -> int:
    return plan.tests if variant.fresh else 1


def _variant_row(variant: Variant, plan: Plan, results: Results) -> str:
    runs = results.runs[variant.key]
    if variant.key in results.errors:
        first_line = results.errors[variant.key].splitlines()[0]
        return f"| {variant.label} | ERROR: {first_line.replace('|', '/')} | | | | | |"
    if not runs:
        return f"| {variant.label} | not run | | | | | |"
    each = ", ".join(f"{r.wall_s:.1f} ({r.others:.0%})" for r in runs)
    counted = sorted({r.sign_ins for r in runs})
    expected = _expected_sign_ins(variant, plan)
    ok = counted == [expected]
    routines = [t for r in runs for t, _ in r.routines]
    waits = [w for r in runs for _, w in r.routines]
    wall = [r.wall_s for r in runs]
    return (
        f"| {variant.label} | {_spread(wall)} | {each} | "
        f"{_spread([r.cpu_s for r in runs])} | "
        f"{', '.join(map(str, counted))} {'(as expected)' if ok else f'(**expected {expected}**)'} "
        f"| {_spread(routines, 2)} ({_spread(waits, 2)}) | "
        f"{statistics.median(wall) / plan.tests:.2f} |"
    )


def _table(plan: Plan, results: Results) -> list[str]:
    lines = [
        "| variant | wall, s | each run in order, s (other processes' share of the CPUs) | "
        "CPU, s | sign-ins the site counted, per run | "
        "sign-in routine, s (of which waiting for the code) | wall per test, s |",
        "|---|---|---|---|---|---|---|",
    ]
    return lines + [_variant_row(v, plan, results) for v in VARIANTS if v.key in plan.only]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def _targets(results: Results) -> list[str]:
    runs = results.runs
    if not runs["b"] or not runs["c"]:
        return ["Targets: not checked ((b) and (c) both needed)."]
    b, c = (statistics.median(r.wall_s for r in runs[k]) for k in ("b", "c"))
    sign_in = statistics.median(t for r in runs["b"] for t, _ in r.routines)
    limit = RATIO_TARGET * (c + sign_in)
    paired = [
        rb.wall_s / (rc.wall_s + sign_in) for rb, rc in zip(runs["b"], runs["c"], strict=False)
    ]
    lines = [
        f"- (b) within {RATIO_TARGET:g}x of (c) plus one TOTP sign-in ({sign_in:.2f} s, the "
        f"median of (b)'s sign-in routine): {b:.1f} s ≤ {RATIO_TARGET:g} x ({c:.1f} + "
        f"{sign_in:.2f}) = {limit:.1f} s: {_verdict(b <= limit)}; (b) / ((c) + sign-in) "
        f"per pair of runs: {_spread(paired, 2)}; (b) - (c): {b - c:+.1f} s",
    ]
    if runs["a"]:
        a = statistics.median(r.wall_s for r in runs["a"])
        lines.append(
            f"- (b) far below (a), at most {FAR_BELOW:.0%} of it: {b:.1f} s against {a:.1f} s, "
            f"(b) / (a) = {b / a:.3f}: {_verdict(b <= FAR_BELOW * a)}; (a) - (c), what every "
            f"test signing in costs: {a - c:+.1f} s"
        )
    else:
        lines.append("- (b) far below (a): not checked ((a) not run)")
    return lines


def _versions() -> str:
    names = ("pytest", "pytest-xdist", "playwright", "pytest-playwright", "pytest-anchor-mfa")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    chromium = shutil.which("chromium")
    if chromium is not None:
        done = subprocess.run([chromium, "--version"], capture_output=True, text=True)
        found.append(done.stdout.strip() or "chromium (version unknown)")
    return ", ".join(found)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _runs_line(plan: Plan) -> str:
    parts = []
    pair = " and ".join(f"({k})" for k in ("b", "c") if k in plan.only)
    if pair:
        each = " each, alternating," if len(pair) > 3 else ""
        parts.append(
            f"{pair} {_times(plan.repeat)}{each} after {plan.warmup} untimed run(s) of (c)"
        )
    if "a" in plan.only:
        parts.append(
            f"(a) {_times(plan.fresh_repeat)} (each of its fresh TOTP sign-ins after the first "
            "waits for a new 30 s step)"
        )
    return "; ".join(parts)


def _header(command: str, plan: Plan, elapsed: float, others: float, before: float) -> None:
    ncpu = len(os.sched_getaffinity(0))
    share = others / (elapsed * ncpu) if elapsed > 0 else 0.0
    xdist = f"`-n {plan.workers}` (xdist)" if plan.workers else "no xdist"
    print(f"# Sign in once: {plan.tests} tests behind TOTP, three ways\n")
    print(f"- command: `{command}`")
    print(f"- Python {platform.python_version()}, {ncpu} usable CPUs; {_versions()}")
    print(
        f"- inner suite: {plan.tests} tests, each opening carol's account page on the demo app "
        f"(examples/demo_app.py), run as `python -m pytest -q -p no:cacheprovider` with "
        f"{xdist} in every variant; the run's controller serves one demo site to all its "
        "processes, with a TOTP secret of that run's own"
    )
    print(f"- runs: {_runs_line(plan)}; total {elapsed:.0f} s. A full run takes {FULL_RUN}.")
    print(
        f"- machine load: other processes used {others:.1f} CPU-s during the run "
        f"({share:.0%} of {ncpu} CPUs); loadavg {before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
        + (" -- NOISY: the walls are not ours alone" if share > 0.1 else "")
    )


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    plan = _plan(args)
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench signin {shlex.join(argv)}"
    if shutil.which("chromium") is None and "ANCHOR_MFA_CHROMIUM" not in os.environ:
        _progress("no chromium on PATH: the plugin will look for Playwright's own")
    adopted = _adopt_orphans()
    cpu_before, load_before, wall = machine_cpu(), os.getloadavg(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="amfa-signin-") as name:
        folder = Path(name)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "conftest.py").write_text(CONFTEST)
        (folder / "test_signed_in.py").write_text(TESTS.format(count=plan.tests))
        results = _measure(folder, plan)
    elapsed = time.perf_counter() - wall
    others = machine_cpu().others_since(cpu_before)
    _header(command.rstrip(), plan, elapsed, others, load_before[0])
    print()
    print("\n".join(_table(plan, results)))
    print(
        "\nFigures: median [min..max] over runs (a single run: its value). CPU: the inner "
        "run's processes and all their descendants, "
        + (
            "Chromium's helpers included (they outlive their parents: the bench adopts and "
            "reaps them, PR_SET_CHILD_SUBREAPER)"
            if adopted
            else "**without** Chromium helpers that outlive their parents (this system has no "
            "PR_SET_CHILD_SUBREAPER): they count as other processes' load"
        )
        + ". Sign-in routine: each call of the suite's `anchor_sign_in`, pooled over the "
        "variant's runs.\n"
    )
    print("Targets:\n")
    print("\n".join(_targets(results)))
    for key, error in results.errors.items():
        print(f"\n{key} FAILED:\n\n```\n{error}\n```")
    return 1 if results.errors else 0
