"""``python -m bench reliability``: the fake server (and the client) when things go wrong.

Four sections, each against a fake server in a process of its own (``ServerProcess``), traffic
to 127.0.0.1 only, every loop bounded in count and time:

1. ``fuzz``: ``--fuzz-requests`` random raw requests (``bench/fuzzgen.py``) on raw sockets,
   ``--fuzz-workers`` at a time: no 500, every non-2xx in the error envelope (uvicorn's own
   plain-text 400 for unparseable HTTP is counted apart), and a normal signal + wait after;
2. ``hold``: ``--idle`` connections that never send and ``--slow`` senders (a header byte every
   ``--slow-interval`` s) held against a server with ``--hold-request-timeout``: round-trip p99
   while they are held vs. before (target < 5x), and all of them closed within the limit;
3. ``memory``: server RSS before, after ``--mem-signals`` signals of ``--mem-size`` bytes were
   consumed, and after a pause (target: back within 20 MB of the start);
4. ``client``: ``EventsClient.wait(T)`` and ``AsyncEventsClient.wait(T)`` against every mode of
   ``tests/misbehaving_server.py`` (skipped when that file is missing): elapsed / T < 1.25;
5. ``chaos``: ``--chaos-runs`` runs of ``--chaos-signals`` signals and as many waits over two
   ``anchor-mfa serve --store redis://`` instances, one SIGKILLed and Redis killed (-9) and
   restarted mid-run (``bench/reliability_chaos.py``): 0 stranded, 0 lost, 0 duplicates but
   the documented ones (a signal retried after a 503). Needs ``redis-server``;
6. ``inbox``: a normal mail's latency (MAIL to signal) while a flood of many-part mails
   arrives (target: max < 1 s), and RSS around 9.5 MiB mails sent at once
   (``bench/reliability_inbox.py``);
7. ``relay``: ``anchor-mfa relay``'s SIGTERM while a signal call hangs and mail floods
   (target: < 1 s each).

``--quick`` shrinks everything for a smoke run. Exit status: 0 when every section ran (targets
met or not), 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .procinfo import machine_cpu
from .redis_chaos import ChaosCounts
from .reliability_chaos import run_chaos_runs
from .reliability_client import CallResult, load_misbehaving, run_clients
from .reliability_fuzz import FuzzResult, run_fuzz
from .reliability_hold import HoldResult, run_hold
from .reliability_inbox import InboxResult, run_inbox, run_relay_stops
from .reliability_memory import MemoryResult, run_memory
from .report import environment_lines
from .server_proc import _raise_fd_limit
from .stats import Dist

__all__ = ["main"]

SECTIONS = ("fuzz", "hold", "memory", "client", "chaos", "inbox", "relay")
QUICK_MODES = ("hang_after_accept", "trickle", "always_503", "instant_408")
_MB = 1_000_000 / 1024  # KiB per MB


@dataclass(frozen=True)
class Line:
    section: str
    measurement: str
    value: str
    target: str = "—"
    result: str = "—"

    @property
    def missed(self) -> bool:
        return self.result.startswith(("**MISS", "ERROR"))


def verdict(ok: bool) -> str:
    return "pass" if ok else "**MISS**"


def _progress(message: str) -> None:
    print(f"[bench reliability] {message}", file=sys.stderr, flush=True)


def _sections(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    if not chosen or any(s not in SECTIONS for s in chosen):
        raise argparse.ArgumentTypeError(f"choose from {','.join(SECTIONS)}; got {text!r}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench reliability",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes: a smoke run of well under a minute")
    add("--only", type=_sections, default=list(SECTIONS), help=f"sections [{','.join(SECTIONS)}]")
    add("--seed", type=int, default=20240611, help="fuzz seed [20240611]")
    add("--fuzz-requests", type=int, help="random requests [10000; quick 1000]")
    add("--fuzz-workers", type=int, default=16, help="connections in parallel [16]")
    add("--fuzz-request-timeout", type=float, default=2.0, help="server request_timeout [2]")
    add("--fuzz-budget", type=float, default=120.0, help="seconds before the fuzz stops [120]")
    add("--idle", type=int, help="idle connections held [5000; quick 500]")
    add("--slow", type=int, help="slow senders held [10; quick 3]")
    add("--slow-interval", type=float, default=0.5, help="seconds between their bytes [0.5]")
    add("--hold-request-timeout", type=float, help="server request_timeout [10; quick 4]")
    add("--round-trips", type=int, help="round trips per phase and kind [300; quick 50]")
    add("--mem-signals", type=int, help="big signals consumed [200; quick 20]")
    add("--mem-size", type=int, default=1_000_000, help="bytes of data per signal [1000000]")
    add("--mem-settle", type=float, help="seconds of quiet before the last RSS [2; quick 0.5]")
    add("--client-timeout", type=float, default=1.5, help="T given to each wait, s [1.5]")
    add("--client-modes", help="comma-separated modes [all; quick: a subset of 4]")
    add("--chaos-runs", type=int, help="chaos runs [3; quick 1]")
    add("--chaos-signals", type=int, help="signals (and waits) per chaos run [500; quick 200]")
    add("--flood-clients", type=int, default=4, help="flooding SMTP connections [4]")
    add("--flood-mails", type=int, help="many-part mails per flooding connection [10; quick 3]")
    add("--big-mails", type=int, default=12, help="9.5 MiB mails sent at once [12]")
    add("--relay-stops", type=int, help="relay SIGTERMs under load [3; quick 1]")
    return parser


def _apply_sizes(args: argparse.Namespace) -> None:
    quick = bool(args.quick)
    defaults = {
        "fuzz_requests": (10_000, 1_000),
        "idle": (5_000, 500),
        "slow": (10, 3),
        "hold_request_timeout": (10.0, 4.0),
        "round_trips": (300, 50),
        "mem_signals": (200, 20),
        "mem_settle": (2.0, 0.5),
        "chaos_runs": (3, 1),
        "chaos_signals": (500, 200),
        "flood_mails": (10, 3),
        "relay_stops": (3, 1),
    }
    for name, (full, small) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if args.client_modes is None and quick:
        args.client_modes = ",".join(QUICK_MODES)


# -- rows ---------------------------------------------------------------------------------------


def _counts(counter: Counter[Any], top: int = 8) -> str:
    items = counter.most_common(top)
    rest = sum(counter.values()) - sum(n for _, n in items)
    text = ", ".join(f"{key} x{n:,}" for key, n in items)
    return text + (f", others x{rest:,}" if rest else "") if items else "none"


def fuzz_lines(r: FuzzResult, args: argparse.Namespace) -> list[Line]:
    s, o = "1 fuzz", r.outcomes
    hung_up = o["closed-after-hang-up"]
    resets = o["reset-before-answer"] + o["unexpected-close"]
    warnings = Counter({f"{lvl} {msg[:60]}": n for lvl, _, msg, n in r.server_logs})
    return [
        Line(s, f"random raw requests ({args.fuzz_workers} connections at a time, seed "
             f"{args.seed}); by body kind", f"{r.sent:,} in {r.elapsed_s:.1f} s"
             + (" (time budget hit)" if r.truncated else "") + f": {_counts(r.kinds, 10)}",
             f"≥ {r.requested:,}", verdict(r.sent >= r.requested)),
        Line(s, "answers by status", _counts(r.statuses, 12)),
        Line(s, "HTTP 500 answers", f"{o['http-500']:,}", "0", verdict(o["http-500"] == 0)),
        Line(s, "non-2xx answers not in the error envelope {\"error\": {\"code\", \"message\"}} "
             "(uvicorn's plain-text 400 not included)", f"{o['non-envelope']:,}", "0",
             verdict(o["non-envelope"] == 0)),
        Line(s, "uvicorn's own plain-text 400 \"Invalid HTTP request received.\" (unparseable "
             "HTTP, refused before the app: the one known exception to the envelope)",
             f"{o['uvicorn-plain-400']:,}"),
        Line(s, "2xx answers that are not {\"data\": {...}}; other 5xx; HEAD answers (status only)",
             f"{o['2xx-malformed']:,}; {o['other-5xx']:,}; {o['head-answer']:,}", "0; 0; —",
             verdict(o["2xx-malformed"] == 0 and o["other-5xx"] == 0)),
        Line(s, f"no answer within {args.fuzz_request_timeout + 3:g} s (a hang); "
             "answer that is not HTTP", f"{o['no-answer-in-time']:,}; {o['broken-answer']:,}",
             "0; 0", verdict(o["no-answer-in-time"] == 0 and o["broken-answer"] == 0)),
        Line(s, "no answer: the client hung up mid-request (right: nothing to answer); a "
             "reset or close where an answer was due", f"{hung_up:,}; {resets:,}"
             + (f" ({_counts(r.reset_by, 4)})" if resets else ""), "—; 0", verdict(resets == 0)),
        Line(s, "a normal signal, then a wait, after the fuzz", r.after_detail,
             "200, then 200 with the data", verdict(r.after_ok)),
        Line(s, "server log records, WARNING and up", _counts(warnings, 4),
             "no ERROR", verdict(not any(lvl in ("ERROR", "CRITICAL")
                                         for lvl, *_ in r.server_logs))),
    ]  # fmt: skip


def _dist_ms(values: list[float]) -> str:
    d = Dist.of(values)
    return f"{d.p50:.2f} / {d.p99:.2f} / {d.max:.2f} (n={d.n})" if d.n else "no samples"


def _p99_line(kind: str, idle: list[float], held: list[float]) -> Line:
    before, during = Dist.of(idle).p99, Dist.of(held).p99
    ratio = during / before if idle and held and before > 0 else math.nan
    return Line(
        "2 hold",
        f"signal→wait round trip, {kind}: p50 / p99 / max ms, nothing held → all held",
        f"{_dist_ms(idle)} → {_dist_ms(held)}; p99 ratio {ratio:.2f}",
        "p99 ratio < 5",
        verdict(ratio < 5),
    )


def hold_lines(r: HoldResult) -> list[Line]:
    s, t = "2 hold", r.request_timeout
    idle, slow = r.lifetimes(False), r.lifetimes(True)
    total = len(r.connections)
    left = r.left_open(False) + r.left_open(True)
    rss0, rss1 = (kib / _MB for kib in r.server_rss_kib)
    errors = r.baseline.errors + r.held.errors
    return [
        Line(s, f"held: idle connections + slow senders; server request_timeout {t:g} s",
             f"{r.idle:,} + {r.slow} asked, {total:,} opened in {r.open_s:.1f} s "
             f"({len(r.open_failed)} failed); all held for {r.window_s:.1f} s of round trips",
             "all opened", verdict(total == r.idle + r.slow)),
        _p99_line("keep-alive connection", r.baseline.keep_alive_ms, r.held.keep_alive_ms),
        _p99_line("new connection each", r.baseline.fresh_ms, r.held.fresh_ms),
        Line(s, "round-trip errors (before; while held)",
             f"{len(r.baseline.errors)}; {len(r.held.errors)}"
             + (f": {errors[0][:150]}" if errors else ""), "0", verdict(not errors)),
        Line(s, "connections closed by the server; of them without the 408 envelope",
             f"{total - left:,} of {total:,}; {r.without_408()}", "all; 0",
             verdict(left == 0 and r.without_408() == 0)),
        Line(s, "open until the server closed it, s: idle p50 / max; slow p50 / max",
             f"{idle.p50:.2f} / {idle.max:.2f}; {slow.p50:.2f} / {slow.max:.2f}",
             f"max ≤ {t:g} + 1", verdict(max(idle.max, slow.max) <= t + 1)),
        Line(s, "from the last connection opened to all closed, s",
             "not all closed" if r.all_closed_after_s is None else f"{r.all_closed_after_s:.2f}",
             f"≤ {t:g} + 1", verdict(r.all_closed_after_s is not None
                                     and r.all_closed_after_s <= t + 1)),
        Line(s, "server RSS, MB: before → all held", f"{rss0:.1f} → {rss1:.1f}"),
        Line(s, "server log records, WARNING and up",
             _counts(Counter({f"{lvl} {msg[:60]}": n for lvl, _, msg, n in r.server_logs}), 4)),
    ]  # fmt: skip


def memory_lines(r: MemoryResult) -> list[Line]:
    start, end = r.start_kib / _MB, r.settled_kib / _MB
    half = r.count - r.count // 2
    return [
        Line("3 memory", f"server RSS, MB: start → after {half} signals of {r.size / 1e6:g} MB "
             f"signal-then-wait → after {r.count // 2} more parked-then-signaled → "
             f"after {r.settle_s:g} s quiet; peak ({'VmHWM' if r.peak_from_hwm else 'sampled'})",
             f"{start:.1f} → {r.after_kept_kib / _MB:.1f} → {r.after_parked_kib / _MB:.1f} → "
             f"{end:.1f} ({end - start:+.1f}); peak {r.peak_kib / _MB:.1f}",
             "end within 20 MB of start", verdict(end - start < 20)),
    ]  # fmt: skip


def client_lines(results: list[CallResult], timeout: float) -> list[Line]:
    s = "4 client"
    lines: list[Line] = []
    for mode in dict.fromkeys(r.mode for r in results):
        calls = [r for r in results if r.mode == mode]
        value = "; ".join(
            f"{r.client} {r.elapsed_s:.2f} s = {r.ratio:.2f} ({r.outcome}, "
            f"{r.requests_seen} request{'s' if r.requests_seen != 1 else ''})"
            for r in calls
        )
        worst = max(r.ratio for r in calls)
        ok = worst < 1.25 and all(r.finished for r in calls)
        lines.append(Line(s, f"wait({timeout:g} s) vs {mode}: elapsed, ratio", value,
                          "ratio < 1.25", verdict(ok)))  # fmt: skip
    worst = max((r.ratio for r in results), default=math.nan)
    lines.append(
        Line(
            s,
            "max elapsed / requested over every mode and both clients",
            f"{worst:.3f}",
            "< 1.25",
            verdict(worst < 1.25),
        )
    )
    return lines


def chaos_lines(results: list[ChaosCounts]) -> list[Line]:
    s = "5 chaos"
    lines = []
    for n, c in enumerate(results, 1):
        bad = c.stranded + c.lost + c.duplicates
        lines.append(
            Line(
                s,
                f"run {n}: {c.signals} signals and waits over 2 instances; "
                + ", ".join(c.chaos)
                + "; stranded / lost / duplicates",
                f"{c.stranded} / {c.lost} / {c.duplicates} in {c.elapsed:.1f} s; received "
                f"{c.received}, kept at the end {c.drained}; retried after a 503 and arrived "
                f"twice {c.retried_duplicates}; signals in flight on the killed instance (not "
                f"resent) {c.unacknowledged}; its waits' signals lost / arrived twice "
                f"{c.killed_lost} / {c.killed_duplicates}",
                "0 / 0 / 0",
                verdict(bad == 0),
            )
        )
        lines.append(Line(s, f"run {n}: what the clients saw", _counts(c.statuses, 10)))
    return lines


# -- running ------------------------------------------------------------------------------------


class _Runner:
    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.failed = False

    def run(self, section: str, job: Callable[[], list[Line]]) -> None:
        _progress(f"{section} ...")
        started = time.perf_counter()
        try:
            self.lines.extend(job())
        except Exception as exc:
            self.failed = True
            self.lines.append(Line(section, "failed", f"{type(exc).__name__}: {exc}", "", "ERROR"))
            _progress(f"{section} FAILED: {exc!r}")
            return
        _progress(f"{section} done in {time.perf_counter() - started:.1f} s")


def inbox_lines(r: InboxResult) -> list[Line]:
    worst = max(r.latencies, default=math.inf)
    return [
        Line("5 inbox", f"normal mail, MAIL to signal, during the flood (n={len(r.latencies)})",
             _dist_ms([s * 1000 for s in r.latencies]) + " ms (p50 / p99 / max)",
             "max < 1000 ms", verdict(worst < 1.0)),
        Line("5 inbox", "flood replies (1.4 MB, 30,000 parts each)", _counts(r.flood_replies)),
        Line("5 inbox", "9.5 MiB mails sent at once: replies", _counts(r.big_replies)),
        Line("5 inbox", "RSS start / peak / 1 s after (MiB)",
             f"{r.rss_start_mib:.0f} / {r.rss_peak_mib:.0f} / {r.rss_after_mib:.0f}",
             "peak < start + 256", verdict(r.rss_peak_mib < r.rss_start_mib + 256)),
    ]  # fmt: skip


def relay_lines(stops: list[float]) -> list[Line]:
    shown = ", ".join(f"{took * 1000:.0f} ms" for took in stops)
    return [Line("6 relay", "SIGTERM to exit, a signal hanging and a flood arriving", shown,
                 "each < 1000 ms", verdict(max(stops, default=math.inf) < 1.0))]  # fmt: skip


def _client_job(args: argparse.Namespace) -> list[Line]:
    module = load_misbehaving()
    if module is None:
        return [Line("4 client", "EventsClient / AsyncEventsClient against misbehaving servers",
                     "skipped: tests/misbehaving_server.py missing")]  # fmt: skip
    modes = args.client_modes.split(",") if args.client_modes else None
    return client_lines(run_clients(module, args.client_timeout, modes), args.client_timeout)


def _fuzz_job(args: argparse.Namespace, notes: list[str]) -> list[Line]:
    result = run_fuzz(
        args.fuzz_requests, args.fuzz_workers, args.seed, args.fuzz_budget,
        args.fuzz_request_timeout,
    )  # fmt: skip
    for outcome, examples in sorted(result.examples.items()):
        shown = "; ".join(f"`{example[:220]}`" for example in examples)
        notes.append(f"- fuzz, {outcome} (first {len(examples)}): {shown}")
    return fuzz_lines(result, args)


def _jobs(args: argparse.Namespace, notes: list[str]) -> dict[str, Callable[[], list[Line]]]:
    return {
        "fuzz": lambda: _fuzz_job(args, notes),
        "hold": lambda: hold_lines(
            run_hold(args.idle, args.slow, args.slow_interval, args.hold_request_timeout,
                     args.round_trips)),
        "memory": lambda: memory_lines(
            run_memory(args.mem_signals, args.mem_size, 10, args.mem_settle)),
        "client": lambda: _client_job(args),
        "chaos": lambda: chaos_lines(
            run_chaos_runs(args.chaos_runs, args.chaos_signals // 5, 5)),
        "inbox": lambda: inbox_lines(
            run_inbox(args.flood_clients, args.flood_mails, args.big_mails)),
        "relay": lambda: relay_lines(run_relay_stops(args.relay_stops, args.flood_clients)),
    }  # fmt: skip


def render(lines: list[Line]) -> str:
    header = ("section", "measurement", "value", "target", "result")
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for line in lines:
        cells = (line.section, line.measurement, line.value, line.target, line.result)
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def _header(
    args: argparse.Namespace,
    command: str,
    elapsed: float,
    others: float,
    steal: float,
    loads: tuple[float, float],
) -> None:
    ncpu = len(os.sched_getaffinity(0))
    share = others / (elapsed * ncpu) if elapsed > 0 else 0.0
    print("# Fake event server: reliability\n")
    print("\n".join(environment_lines(command)))
    print(f"- servers: FakeEventServer in a process of its own, a fresh one per section "
          f"(fuzz: waits capped at 50 ms, request_timeout {args.fuzz_request_timeout:g} s; "
          f"hold: request_timeout {args.hold_request_timeout:g} s; memory: defaults); clients: "
          "raw sockets on asyncio in the bench process; section 4: the package's clients "
          "against tests/misbehaving_server.py, retries that never run out before T")  # fmt: skip
    print(
        f"- machine load: other processes used {others:.1f} CPU-s during the run "
        f"({share:.0%} of {ncpu} CPUs), steal {steal:.1f} s; loadavg {loads[0]:.2f} before, "
        f"{loads[1]:.2f} after; total {elapsed:.1f} s"
        + (" -- NOISY: tails (p99, max) are not the server's alone" if share > 0.1 else "")
    )
    print()


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    _apply_sizes(args)
    _raise_fd_limit()  # the hold section opens thousands of sockets
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench reliability {shlex.join(argv)}"
    runner = _Runner()
    cpu_before, load_before, wall = machine_cpu(), os.getloadavg()[0], time.perf_counter()
    notes: list[str] = []
    jobs = _jobs(args, notes)
    for section in args.only:
        runner.run(section, jobs[section])
    elapsed = time.perf_counter() - wall
    cpu_after = machine_cpu()
    steal = cpu_after.steal_s - cpu_before.steal_s
    loads = (load_before, os.getloadavg()[0])
    _header(args, command.rstrip(), elapsed, cpu_after.others_since(cpu_before), steal, loads)
    print(render(runner.lines))
    missed = [line for line in runner.lines if line.missed]
    print()
    print(f"{len(missed)} target(s) missed or failed." if missed else "All targets met.")
    if notes:
        print("\nExamples (request line as sent: body kind/framing, then what came back):\n")
        print("\n".join(notes))
    return 1 if runner.failed else 0
