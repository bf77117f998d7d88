"""``python -m bench reliability``, sections ``inbox`` and ``relay``: the SMTP side under attack.

* ``inbox``: an ``SmtpInbox`` in this process, a flood of 1.4 MB mails of 30,000 MIME parts
  from another process (``bench/smtp_flood.py``, ``--flood-clients`` connections); meanwhile a
  normal mail every 0.2 s from 127.0.0.2, each timed from its MAIL to its signal (target: max
  under 1 s). Then ``--big-mails`` mails of 9.5 MiB sent at once: this process's peak RSS
  above its start, and RSS after (the inbox bounds message bytes in flight: 452 past it).
* ``relay``: ``anchor-mfa relay`` as a process whose events API accepts and never answers,
  a mail's signal hanging in it and a flood arriving: SIGTERM to exit, ``--relay-stops``
  times (target: under 1 s each).
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from pytest_anchor_mfa.inbound.smtp import SmtpInbox

from .procinfo import memory, reset_peak_rss

__all__ = ["InboxResult", "run_inbox", "run_relay_stops"]

ROOT = Path(__file__).resolve().parent.parent
_MIB = 1024 * 1024


@dataclass
class InboxResult:
    latencies: list[float] = field(default_factory=list)
    flood_replies: Counter[str] = field(default_factory=Counter)
    big_replies: Counter[str] = field(default_factory=Counter)
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_after_mib: float = 0.0


def _flood(host: str, port: int, clients: int, mails: int, kind: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_flood", host, str(port), str(clients), str(mails), kind],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _normal_mails(
    inbox: SmtpInbox, got: dict[str, threading.Event], flood: subprocess.Popen[str]
) -> list[float]:
    latencies = []
    n = 0
    while flood.poll() is None and n < 200:
        n += 1
        event = f"normal{n}"
        got[event] = threading.Event()
        message = EmailMessage()
        message["Subject"], message["From"] = "Code", "app@app.test"
        message.set_content("Your code is 246810")
        started = time.monotonic()
        with smtplib.SMTP(
            inbox.host, inbox.port, timeout=60, source_address=("127.0.0.2", 0)
        ) as smtp:
            smtp.sendmail("app@app.test", [f"t+{event}@inbox.test"], message.as_bytes())
        if got[event].wait(60):
            latencies.append(time.monotonic() - started)
        time.sleep(0.2)  # pacing: one normal mail every 0.2 s
    return latencies


def run_inbox(flood_clients: int, flood_mails: int, big_mails: int) -> InboxResult:
    result = InboxResult()
    got: dict[str, threading.Event] = {}
    inbox = SmtpInbox(lambda event, data: got[event].set() if event in got else None)
    with inbox:
        with _flood(inbox.host, inbox.port, flood_clients, flood_mails, "30000") as flood:
            assert flood.stdout is not None
            flood.stdout.readline()
            result.latencies = _normal_mails(inbox, got, flood)
            result.flood_replies.update(flood.stdout.read().split())
        reset_peak_rss(os.getpid())
        result.rss_start_mib = memory(os.getpid()).rss_kib / 1024
        with _flood(inbox.host, inbox.port, big_mails, 1, f"big:{int(9.5 * _MIB)}") as big:
            assert big.stdout is not None
            big.stdout.readline()
            result.big_replies.update(big.stdout.read().split())
        figures = memory(os.getpid())
        result.rss_peak_mib = figures.hwm_kib / 1024
        time.sleep(1.0)  # a quiet second before the last figure
        result.rss_after_mib = memory(os.getpid()).rss_kib / 1024
    return result


def _relay_stop_once(flood_clients: int) -> float:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {**os.environ, "ANCHOR_API_KEY": "sk-bench-relay-0000",
               "ANCHOR_BASE_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        relay = subprocess.Popen(
            [sys.executable, "-m", "pytest_anchor_mfa.cli", "relay", "--smtp-port", "0",
             "--http-port", "0", "--route", "ci+*@example.com"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert relay.stdout is not None
        found = re.search(r"SMTP on ([\d.]+):(\d+)", relay.stdout.readline())
        assert found, "no banner"
        host, port = found.group(1), int(found.group(2))

        def hung_mail() -> None:
            try:
                with smtplib.SMTP(host, port, timeout=30) as smtp:
                    smtp.sendmail("a@app.test", ["ci+hung@example.com"], b"Code 123456\r\n")
            except smtplib.SMTPException:
                pass

        threading.Thread(target=hung_mail, daemon=True).start()
        silent.settimeout(20)
        connection, _ = silent.accept()
        with _flood(host, port, flood_clients, 50, "30000") as flood:
            assert flood.stdout is not None
            flood.stdout.readline()
            flood.stdout.readline()  # the first refusal: the flood is being read
            started = time.monotonic()
            relay.send_signal(signal.SIGTERM)
            relay.wait(60)
            took = time.monotonic() - started
            flood.kill()
        connection.close()
        relay.stdout.close()
    return took


def run_relay_stops(times: int, flood_clients: int) -> list[float]:
    return [_relay_stop_once(flood_clients) for _ in range(times)]
