"""``python -m bench smtp``: the SMTP inbox, from a mail sent to the code a test gets.

The events API is the fake event server in a process of its own (``ServerProcess``), as the
real service is outside the test process; the inbox (``SmtpInbox``, signaling through an
``EventsClient``) and the SMTP clients (``smtplib``) run in this process.

(a) mail→code: a waiter blocks as ``mfa_code()`` does (``wait_for_code``: a long poll, then the
    code validated); once it is parked, one SMTP client (a connection kept open, as an app's
    mailer does) sends a mail to the waiter's event. The time from the send to the code coming
    back, per message; target p50 < 20 ms.
(b) 10 SMTP clients (a thread and a connection each) send 100 messages each, each with a code
    of its own, spread over 100 events, all at once. Then every event is drained by waits:
    every code must come back exactly once (no loss, no duplicate, nothing left over).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shlex
import smtplib
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.errors import EventTimeoutError
from pytest_anchor_mfa.events import EventsClient
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.plugin.sources import wait_for_code

from .report import Row, environment_lines, render
from .server_proc import ServerProcess
from .stats import Dist

__all__ = ["main"]

TARGET_P50_MS = 20.0
RULE = CodeRule.digits(6)


def message(code: str, to: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Example <no-reply@app.test>"
    mail["To"] = to
    mail["Subject"] = "Your Example sign-in code"
    mail.set_content(f"Hi,\n\nYour verification code is {code}. It expires in 10 minutes.\n")
    mail.add_alternative(
        f"<html><body><p>Hi,</p><p>Your verification code is <b>{code}</b>.</p>"
        "<p>It expires in 10 minutes.</p></body></html>",
        subtype="html",
    )
    return mail.as_bytes(policy=SMTP)


@dataclass(frozen=True)
class LatencyResult:
    latency_ms: Dist
    failures: int


def mail_to_code(inbox: SmtpInbox, events: EventsClient, rounds: int, warmup: int) -> LatencyResult:
    """(a): park a ``mfa_code()``-style wait, send the mail, time until the code is back."""
    samples: list[float] = []
    failures = 0
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="bench-waiter")
    with pool, smtplib.SMTP(inbox.host, inbox.port, timeout=30) as client:
        for i in range(warmup + rounds):
            event, code = f"bench-a-{i}", f"{(i * 7919) % 1_000_000:06d}"
            waiting = pool.submit(wait_for_code, events, event, timeout=10, field="code", rule=RULE)
            time.sleep(0.01)  # the long poll is parked by now (else it finds the kept code)
            started = time.perf_counter()
            client.sendmail("no-reply@app.test", [f"test+{event}@inbox.test"], message(code, event))
            got = waiting.result(15)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if got != code:
                failures += 1
            elif i >= warmup:
                samples.append(elapsed_ms)
    return LatencyResult(Dist.of(samples), failures)


@dataclass(frozen=True)
class FanInResult:
    sent: int
    send_s: float
    delivered: int
    duplicates: int
    missing: int
    left_over: int
    refused: int


def _client(inbox: SmtpInbox, n: int, count: int, events: int, refused: list[int]) -> None:
    with smtplib.SMTP(inbox.host, inbox.port, timeout=60) as client:
        for i in range(count):
            event = f"bench-b-{(n * count + i) % events}"
            code = f"{n:03d}{i:03d}"
            try:
                client.sendmail(
                    "no-reply@app.test", [f"app+{event}@inbox.test"], message(code, event)
                )
            except smtplib.SMTPException:
                refused.append(1)


def fan_in(
    inbox: SmtpInbox, events: EventsClient, clients: int, count: int, n_events: int
) -> FanInResult:
    """(b): ``clients`` threads send ``count`` mails each over ``n_events`` events, then drain."""
    refused: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(inbox, n, count, n_events, refused))
        for n in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send_s = time.perf_counter() - started
    got: Counter[str] = Counter()
    for e in range(n_events):
        event = f"bench-b-{e}"
        while True:
            try:
                data = events.wait(event, timeout=0)  # a kept signal now, or 408 at once
            except EventTimeoutError:
                break
            got[str(data.get("code"))] += 1
    expected = {f"{n:03d}{i:03d}" for n in range(clients) for i in range(count)}
    return FanInResult(
        sent=clients * count,
        send_s=send_s,
        delivered=sum(1 for code in expected if got[code] == 1),
        duplicates=sum(count - 1 for count in got.values() if count > 1),
        missing=sum(1 for code in expected if got[code] == 0),
        left_over=sum(count for code, count in got.items() if code not in expected),
        refused=len(refused),
    )


def _rows(a: LatencyResult, b: FanInResult, clients: int, count: int, n_events: int) -> list[Row]:
    d = a.latency_ms
    ok = d.p50 < TARGET_P50_MS and a.failures == 0
    exact = b.delivered == b.sent and not (b.duplicates or b.missing or b.left_over or b.refused)
    return [
        Row(
            "(a) mail→code",
            "smtplib → SmtpInbox → fake server → wait_for_code",
            f"latency p50 / p90 / p99 / max, ms (n={d.n}, wrong codes {a.failures})",
            f"{d.p50:.2f} / {d.p90:.2f} / {d.p99:.2f} / {d.max:.2f}",
            f"p50 < {TARGET_P50_MS:g}",
            "met" if ok else "MISS",
        ),
        Row(
            f"(b) {clients}x{count} mails, {n_events} events",
            f"{clients} smtplib threads",
            "sent in s (mails/s)",
            f"{b.send_s:.2f} ({b.sent / b.send_s:.0f}/s)" if b.send_s > 0 else "—",
        ),
        Row(
            f"(b) {clients}x{count} mails, {n_events} events",
            "drained by waits",
            "codes delivered exactly once / duplicates / missing / unknown / refused",
            f"{b.delivered}/{b.sent} / {b.duplicates} / {b.missing} / {b.left_over} / {b.refused}",
            "every code once",
            "met" if exact else "MISS",
        ),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench smtp", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--rounds", type=int, help="(a) timed mails [300; quick 50]")
    parser.add_argument("--warmup", type=int, default=10, help="(a) untimed mails first [10]")
    parser.add_argument("--clients", type=int, default=10, help="(b) SMTP clients [10]")
    parser.add_argument("--messages", type=int, help="(b) mails per client [100; quick 20]")
    parser.add_argument("--events", type=int, default=100, help="(b) events [100]")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rounds = args.rounds or (50 if args.quick else 300)
    count = args.messages or (20 if args.quick else 100)
    command = f"cd {shlex.quote(os.getcwd())} && python -m bench smtp {shlex.join(argv or [])}"
    wall = time.perf_counter()
    with (
        ServerProcess(server_kwargs={"queue_limit": 1000}) as server,
        EventsClient(server.api_key, server.url) as signaler,
        EventsClient(server.api_key, server.url) as waiter,
        SmtpInbox(signaler.signal) as inbox,
    ):
        print(f"[bench] (a) {rounds} mails ...", file=sys.stderr, flush=True)
        a = mail_to_code(inbox, waiter, rounds, args.warmup)
        print(f"[bench] (b) {args.clients}x{count} mails ...", file=sys.stderr, flush=True)
        b = fan_in(inbox, waiter, args.clients, count, args.events)
    print("# SMTP inbox benchmark\n")
    print("\n".join(environment_lines(command.rstrip())))
    print(
        f"- events API: FakeEventServer in a process of its own (pid {server.pid}); inbox, "
        "SMTP clients and waiters in this process (one GIL); "
        f"total {time.perf_counter() - wall:.1f} s; loadavg {os.getloadavg()[0]:.2f}"
    )
    print()
    rows = _rows(a, b, args.clients, count, args.events)
    print(render(rows))
    missed = [row for row in rows if row.missed]
    print()
    print(f"{len(missed)} target(s) missed." if missed else "All targets met.")
    return 0
