"""``anchor-mfa relay`` as a real process beside a fake events API: mail and SMS in, events out.

The relay subprocess signals a ``FakeEventServer`` of this test; a test plays the app (smtplib)
and Twilio (a signed form post, built like Twilio's), then reads the signals off the server.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from pytest_anchor_mfa import EventsClient, FakeEventServer
from pytest_anchor_mfa.cli.relay import parse_routes
from pytest_anchor_mfa.inbound.sms_requests import twilio_fields

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "pytest_anchor_mfa.cli"]
API_KEY = "sk-relay-test-0123456789abcdef"
TWILIO_TOKEN = "twilio-token-relay-test-5f3a9c1e"
GENERIC_SECRET = "smssec-relay-test-77e1b2c4d5"
CLEARED = (
    "ANCHOR_API_KEY",
    "ANCHORBROWSER_API_KEY",
    "ANCHOR_BASE_URL",
    "ANCHORBROWSER_BASE_URL",
    "TWILIO_AUTH_TOKEN",
    "ANCHOR_MFA_SMS_SECRET",
    "VONAGE_SIGNATURE_SECRET",
)


def relay_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(settings)
    return env


class RelayProcess:
    """``anchor-mfa relay`` in a subprocess; stdout and stderr read by threads."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "relay", "--smtp-port", "0", "--http-port", "0", *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        self.banner: list[str] = []
        while not (self.banner and self.banner[-1] == "routes:"):
            self.banner.append(self.next_line())
        smtp = re.search(r"SMTP on ([\d.]+):(\d+)", self.banner[0])
        health = re.search(r"health at (http://\S+)/healthz", "\n".join(self.banner))
        assert smtp and health, self.banner
        self.smtp_host, self.smtp_port = smtp.group(1), int(smtp.group(2))
        self.http = health.group(1)

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _drain(self, stream: IO[str]) -> None:
        self.stderr.extend(line.rstrip("\n") for line in stream)

    def next_line(self, timeout: float = 15.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from 'anchor-mfa relay' within {timeout} s") from None
        assert line is not None, f"relay exited early ({self.proc.wait(5)}): {self.stderr}"
        return line

    def stop(self, how: signal.Signals) -> tuple[int, float, str]:
        """Send ``how``; the exit code, the seconds it took, and everything it printed."""
        started = time.monotonic()
        self.proc.send_signal(how)
        code = self.proc.wait(30)
        took = time.monotonic() - started
        rest = []
        while (line := self.lines.get(timeout=5)) is not None:
            rest.append(line)
        time.sleep(0.05)  # the stderr thread reads the last lines
        output = "\n".join([*self.banner, *rest, *self.stderr])
        return code, took, output

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture(scope="module")
def events() -> Iterator[FakeEventServer]:
    with FakeEventServer({API_KEY: "user-1"}) as server:
        yield server


@pytest.fixture
def relay(events: FakeEventServer) -> Iterator[Any]:
    started: list[RelayProcess] = []

    def start(*args: str, **env: str) -> RelayProcess:
        settings = {"ANCHOR_API_KEY": API_KEY, "ANCHOR_BASE_URL": events.url, **env}
        process = RelayProcess(*args, env=relay_env(**settings))
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def mail(to: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "App <no-reply@app.test>", to, "Code"
    message.set_content(text)
    return message


def test_relay_signals_mail_and_twilio_sms_and_stops_on_sigterm(
    relay: Any, events: FakeEventServer
) -> None:
    process = relay(
        "--route",
        "ci+*@example.com",
        "--route",
        "ops-*@example.com=ops_code",
        "--route",
        "+15551234567=login_code",
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        ANCHOR_MFA_SMS_SECRET=GENERIC_SECRET,
    )
    with EventsClient(API_KEY, events.url) as client:
        with smtplib.SMTP(process.smtp_host, process.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail("ci+signin@example.com", "Order #123456: your code is 482913"))
            smtp.send_message(mail("ops-1@example.com", "Use 771204 to sign in"))
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.send_message(mail("someone@example.com", "Code 111111"))
        [(status, reply)] = refused.value.recipients.values()
        assert status == 550 and b"no route" in reply
        assert client.wait("signin", 5)["code"] == "482913"
        assert client.wait("ops_code", 5)["code"] == "771204"

        url = f"{process.http}/sms/twilio"
        fields, headers = twilio_fields(
            TWILIO_TOKEN, url, "+1 555 123 4567", "Your login code: 305118", "+15005550006"
        )
        answer = httpx.post(url, data=dict(fields), headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        data = client.wait("login_code", 5)
        assert (data["code"], data["channel"]) == ("305118", "sms")

        forged, headers = twilio_fields("not-the-token", url, "+15551234567", "Code 999999", "+1")
        assert httpx.post(url, data=dict(forged), headers=headers).status_code == 403
        unrouted, headers = twilio_fields(TWILIO_TOKEN, url, "+15550000000", "Code 1", "+1")
        assert httpx.post(url, data=dict(unrouted), headers=headers).status_code == 404
        # No VONAGE_SIGNATURE_SECRET: the Vonage endpoint takes no unsigned post.
        unsigned = {"msisdn": "1555", "to": "15551234567", "text": "Code 1", "messageId": "m1"}
        vonage = httpx.get(f"{process.http}/sms/vonage", params=unsigned, timeout=10)
        assert vonage.status_code == 403, vonage.text

    health = httpx.get(f"{process.http}/healthz", timeout=10)
    assert health.status_code == 200
    counts = health.json()
    assert counts["status"] == "ok"
    assert counts["signaled"] == {"email": 2, "sms": 1}
    assert counts["unrouted_recipients"] == 1
    assert counts["signal_failures"] == 0

    code, took, output = process.stop(signal.SIGTERM)
    assert code == 0, output
    assert took < 1.0, f"SIGTERM took {took:.2f} s"
    assert "Traceback" not in output
    # One line per message, with the code masked; no secret anywhere in the output.
    assert re.search(
        r"email from .* to ci\+signin@example.com -> event 'signin': code ••••••", output
    )
    assert re.search(r"sms from .* -> event 'login_code': code ••••••", output)
    for secret in (API_KEY, TWILIO_TOKEN, GENERIC_SECRET, "482913", "771204", "305118"):
        assert secret not in output


def test_relay_stops_on_sigint_with_status_0(relay: Any) -> None:
    process = relay("--route", "+1555*=mfa_code")
    code, took, output = process.stop(signal.SIGINT)
    assert (code, "Traceback" in output) == (0, False), output
    assert took < 1.0


def run_relay(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "relay", "--smtp-port", "0", "--http-port", "0", *args],
        env=relay_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"ANCHOR_API_KEY": API_KEY}, "at least one --route"),
        (("--route", "not-a-route"), {"ANCHOR_API_KEY": API_KEY}, "neither an e-mail"),
        (("--route", "+15551234567"), {"ANCHOR_API_KEY": API_KEY}, "needs an event"),
        (("--route", "a+*@x.test"), {}, "set ANCHOR_API_KEY"),
        (("--route", "a+*@x.test", "--twilio-auth-token", "x"), {"ANCHOR_API_KEY": API_KEY}, ""),
    ],
)
def test_usage_and_configuration_errors_exit_1(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = run_relay(*args, **env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert API_KEY not in result.stdout + result.stderr


def test_a_port_in_use_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_relay("--route", "a+*@x.test", "--smtp-port", port, ANCHOR_API_KEY=API_KEY)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_routes_sort_into_mail_and_sms() -> None:
    routes = parse_routes(["ci+*@example.com", "Ops@Example.com=ops", "+1 (555) 1*=sms_code"])
    assert routes.mail.resolve("CI+Login@example.com") == "login"
    assert routes.mail.resolve("ops@example.com") == "ops"
    assert routes.mail.resolve("ci@example.com") is None  # no plus tag: no event
    assert routes.mail.resolve("x+y@other.test") is None
    assert routes.sms == [("+1 (555) 1*", "sms_code")]
