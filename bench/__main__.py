"""``python -m bench [SECTION]``: run a benchmark, print a markdown table; ``--help`` for options.

Sections: ``server`` (the default: the fake event server's own figures, below); the others live
in modules of their own and are listed in ``SECTIONS`` and in ``--help``
(``python -m bench SECTION --help``).

Default sizes: (a) 2,000 signal→wake round trips per client kind, (b) 1,000 waiters released by
one signal, (c) 4,000 signals from 8 clients, (d) 50 start+stop runs. ``--quick`` shrinks all
of them for a smoke run of a few seconds. Exit status: 0 when every measurement ran (targets
missed or not), 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .clients import CLIENT_KINDS, ClientKind
from .procinfo import machine_cpu
from .report import (
    Row,
    Targets,
    environment_lines,
    herd_rows,
    render,
    start_stop_rows,
    throughput_rows,
    wake_rows,
)
from .scenarios import (
    HerdResult,
    ThroughputResult,
    WakeResult,
    herd_release,
    start_stop,
    throughput,
    wake_latency,
)
from .server_proc import ServerProcess

_T = TypeVar("_T")
SCENARIOS = ("a", "b", "c", "d")


@dataclass(frozen=True)
class Sizes:
    round_trips: int
    warmup: int
    waiters: int
    signals: int
    signal_clients: int
    start_stop_runs: int


DEFAULT = Sizes(
    round_trips=2000, warmup=50, waiters=1000, signals=4000, signal_clients=8, start_stop_runs=50
)
QUICK = Sizes(
    round_trips=200, warmup=10, waiters=100, signals=400, signal_clients=8, start_stop_runs=10
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _kinds(allowed: Sequence[str]) -> Callable[[str], list[ClientKind]]:
    def parse(text: str) -> list[ClientKind]:
        kinds = [k.strip() for k in text.split(",") if k.strip()]
        bad = [k for k in kinds if k not in allowed]
        if bad or not kinds:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}; got {text!r}")
        return [k for k in CLIENT_KINDS if k in kinds]

    return parse


def _scenarios(text: str) -> list[str]:
    chosen = [s.strip().lower() for s in text.split(",") if s.strip()]
    if not chosen or any(s not in SCENARIOS for s in chosen):
        raise argparse.ArgumentTypeError(f"choose from {','.join(SCENARIOS)}; got {text!r}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the fake event server on loopback and print a markdown table.",
        epilog=_sections_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--round-trips", type=_positive, help="(a) timed round trips [2000]")
    parser.add_argument("--warmup", type=int, help="(a) untimed round trips first [50]")
    parser.add_argument("--waiters", type=_positive, help="(b) concurrent waiters [1000]")
    parser.add_argument("--signals", type=_positive, help="(c) signals in total [4000]")
    parser.add_argument("--signal-clients", type=_positive, help="(c) concurrent clients [8]")
    parser.add_argument("--start-stop-runs", type=_positive, help="(d) timed runs [50]")
    parser.add_argument(
        "--wake-clients",
        type=_kinds(CLIENT_KINDS),
        default=["package", "raw"],
        help="(a) client kinds, comma-separated from package,httpx,raw [package,raw]",
    )
    parser.add_argument(
        "--herd-clients",
        type=_kinds(("httpx", "raw")),
        default=["httpx", "raw"],
        help="(b) client kinds from httpx,raw [httpx,raw] (AsyncEventsClient's pool has 100)",
    )
    parser.add_argument(
        "--herd-httpx-pool",
        type=_positive,
        default=50,
        help="(b) connections per httpx.AsyncClient for the httpx waiters [50]; one pool of "
        "1,000 makes httpcore's per-request pool scan the bottleneck (client-side)",
    )
    parser.add_argument(
        "--throughput-clients",
        type=_kinds(CLIENT_KINDS),
        default=["package", "raw"],
        help="(c) client kinds from package,httpx,raw [package,raw]",
    )
    parser.add_argument(
        "--only", type=_scenarios, default=list(SCENARIOS), help="scenarios to run [a,b,c,d]"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="seconds allowed to each measurement before it stops early [30]",
    )
    parser.add_argument(
        "--profile-server",
        action="store_true",
        help="cProfile the server's thread and print the top functions (slows the server)",
    )
    return parser


def _sizes(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else DEFAULT

    def pick(name: str) -> int:
        value = getattr(args, name)
        return int(value) if value is not None else int(getattr(base, name))

    return Sizes(
        round_trips=pick("round_trips"),
        warmup=max(pick("warmup"), 0),
        waiters=pick("waiters"),
        signals=pick("signals"),
        signal_clients=pick("signal_clients"),
        start_stop_runs=pick("start_stop_runs"),
    )


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class _Runner:
    """Runs measurements one by one; a failure becomes an ERROR row and the rest go on."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.failed = False

    def fail(self, scenario: str, client: str, exc: BaseException) -> None:
        self.failed = True
        message = f"{type(exc).__name__}: {exc}"
        self.rows.append(Row(scenario, client, "failed", message, "", "ERROR"))
        _progress(f"{scenario} [{client}] FAILED: {exc!r}")

    def measure(
        self,
        scenario: str,
        client: str,
        run: Callable[[], _T],
        to_rows: Callable[[_T], list[Row]],
    ) -> None:
        _progress(f"{scenario} [{client}] ...")
        started = time.perf_counter()
        try:
            result = run()
        except Exception as exc:
            self.failed = True
            self.rows.append(
                Row(scenario, client, "failed", f"{type(exc).__name__}: {exc}", "", "ERROR")
            )
            _progress(f"{scenario} [{client}] FAILED: {exc!r}")
            return
        self.rows.extend(to_rows(result))
        _progress(f"{scenario} [{client}] done in {time.perf_counter() - started:.1f} s")


def _wake_job(
    server: ServerProcess, kind: ClientKind, sizes: Sizes, budget: float
) -> Callable[[], WakeResult]:
    return lambda: asyncio.run(wake_latency(server, kind, sizes.round_trips, sizes.warmup, budget))


def _herd_job(
    server: ServerProcess, kind: ClientKind, sizes: Sizes, budget: float, httpx_pool: int
) -> Callable[[], HerdResult]:
    return lambda: asyncio.run(
        herd_release(server, kind, sizes.waiters, budget, httpx_pool_size=httpx_pool)
    )


def _throughput_job(
    server: ServerProcess, kind: ClientKind, sizes: Sizes, budget: float
) -> Callable[[], ThroughputResult]:
    return lambda: asyncio.run(
        throughput(server, kind, sizes.signals, sizes.signal_clients, budget)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = _sizes(args)
    targets = Targets()
    budget: float = args.budget
    argv_text = shlex.join(sys.argv[1:] if argv is None else list(argv))
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench {argv_text}".rstrip()
    runner = _Runner()
    wall = time.perf_counter()
    cpu_before, load_before = machine_cpu(), os.getloadavg()
    server_pids: list[int] = []
    profiles: list[tuple[str, str]] = []

    def with_server(label: str, body: Callable[[ServerProcess], None]) -> None:
        try:
            server = ServerProcess(profile=args.profile_server).start()
        except (RuntimeError, OSError) as exc:
            runner.fail(label, "server", exc)
            return
        server_pids.append(server.pid)
        _progress(f"server process {server.pid} on {server.url} for {label}")
        try:
            body(server)
        finally:
            server.stop()
            if server.profile_text:
                profiles.append((f"{label} (pid {server.pid})", server.profile_text))

    def shared(server: ServerProcess) -> None:
        if "a" in args.only:
            for kind in args.wake_clients:
                runner.measure(
                    "(a) signal→wake",
                    kind,
                    _wake_job(server, kind, sizes, budget),
                    lambda r: wake_rows(r, targets),
                )
        if "c" in args.only:
            for kind in args.throughput_clients:
                runner.measure(
                    f"(c) {sizes.signal_clients} signalers",
                    kind,
                    _throughput_job(server, kind, sizes, budget),
                    throughput_rows,
                )

    if {"a", "c"} & set(args.only):
        with_server("(a) and (c)", shared)
    if "b" in args.only:
        for kind in args.herd_clients:

            def herd(server: ServerProcess, kind: ClientKind = kind) -> None:
                runner.measure(
                    f"(b) {sizes.waiters:,} waiters",
                    kind,
                    _herd_job(server, kind, sizes, budget, args.herd_httpx_pool),
                    lambda r: herd_rows(r, targets),
                )

            with_server(f"(b) {kind}", herd)
    if "d" in args.only:
        runner.measure(
            "(d) start+stop",
            "in-process",
            lambda: start_stop(sizes.start_stop_runs, budget),
            lambda r: start_stop_rows(r, targets),
        )

    elapsed = time.perf_counter() - wall
    cpu_after = machine_cpu()
    others = cpu_after.others_since(cpu_before)
    ncpu = len(os.sched_getaffinity(0))
    share = others / (elapsed * ncpu) if elapsed > 0 else 0.0
    print("# Fake event server benchmark\n")
    print("\n".join(environment_lines(command)))
    if server_pids:
        print(
            "- server: FakeEventServer in a process of its own (spawned; pids "
            f"{', '.join(map(str, server_pids))}): (a) and (c) share one, each (b) run gets a "
            "fresh one so its RSS growth is not hidden by memory an earlier run freed; clients: "
            "one asyncio loop in the bench process; (d) runs in the bench process"
        )
    print(
        f"- sizes: (a) {sizes.round_trips:,} round trips after {sizes.warmup} warm-up, "
        f"(b) {sizes.waiters:,} waiters, (c) {sizes.signals:,} signals from "
        f"{sizes.signal_clients} clients, (d) {sizes.start_stop_runs} runs; "
        f"budget {budget:g} s per measurement; total {elapsed:.1f} s"
    )
    print(
        f"- machine load: other processes used {others:.1f} CPU-s during the run "
        f"({share:.0%} of {ncpu} CPUs), steal {cpu_after.steal_s - cpu_before.steal_s:.1f} s; "
        f"loadavg {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
        + (" -- NOISY: tails (p99, max) are not the server's alone" if share > 0.1 else "")
    )
    if args.profile_server:
        print("- NOTE: the server ran under cProfile: its figures are inflated")
    print()
    print(render(sorted(runner.rows, key=lambda row: row.scenario[:3])))
    missed = [r for r in runner.rows if r.missed]
    print()
    print(f"{len(missed)} target(s) missed or failed." if missed else "All targets met.")
    for label, text in profiles:
        print(f"\n## Server thread profile, {label} (cProfile)\n\n```")
        print(text.rstrip())
        print("```")
    return 1 if runner.failed else 0


SECTIONS = {
    # name -> module with ``main(argv) -> int``; each owns its arguments and its report.
    "compare": "bench.compare",
    "startup": "bench.startup",
    "extraction": "bench.extraction",
    "smtp": "bench.smtp",
    "reliability": "bench.reliability",
    "redis": "bench.redis_bench",
    "signin": "bench.signin",
    "sessions": "bench.sessions",
}
SECTION_HELP = {
    # Written out, not read from each module: --help imports none of them.
    "server": "the fake event server alone (the default; the options above)",
    "compare": "the fake server beside a naive reference server",
    "startup": "what the plugin adds to pytest's start-up",
    "extraction": "MFA code extraction: accuracy on the corpus, and speed",
    "smtp": "the SMTP inbox, from a mail sent to the code a test gets",
    "reliability": "the fake server and the client when things go wrong",
    "redis": "the shared relay on a Redis store",
    "signin": "20 tests behind TOTP: each signing in, @pytest.mark.signed_in, MFA off\n"
    + " " * 15
    + "(a full run takes about 11 minutes)",
    "sessions": "--anchor-browser session on the fake: time to a page, CDP proxy overhead",
}


def _sections_epilog() -> str:
    lines = ["sections (python -m bench SECTION --help for each one's options):"]
    lines += [f"  {name:<12} {text}" for name, text in SECTION_HELP.items()]
    return "\n".join(lines)


def dispatch(argv: Sequence[str]) -> int:
    """``python -m bench SECTION ...`` runs that section; anything else is the server bench."""
    if argv and argv[0] in SECTIONS:
        module = importlib.import_module(SECTIONS[argv[0]])
        code: int = module.main(list(argv[1:]))
        return code
    if argv and argv[0] == "server":
        argv = argv[1:]
    return main(argv)


if __name__ == "__main__":
    sys.exit(dispatch(sys.argv[1:]))
