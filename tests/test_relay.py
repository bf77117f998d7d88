"""``anchor-mfa relay`` as a real process beside a fake events API: mail and SMS in, events out.

The relay subprocess signals a ``FakeEventServer`` of this test; a test plays the app (smtplib)
and Twilio (a signed form post, built like Twilio's), then reads the signals off the server.
"""

from __future__ import annotations

import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
import pytest
from subprocesses import ROOT, CliProcess, CliProcesses, Exited, cli_env, run_cli

from pytest_anchor_mfa import EventsClient, FakeEventServer
from pytest_anchor_mfa.cli.relay import parse_routes
from pytest_anchor_mfa.inbound.sms_requests import twilio_fields

API_KEY = "sk-relay-test-0123456789abcdef"
TWILIO_TOKEN = "twilio-token-relay-test-5f3a9c1e"
GENERIC_SECRET = "smssec-relay-test-77e1b2c4d5"
STOP_PROMISE = 1.0
"""Seconds: "SIGTERM or SIGINT stops the relay within a second" (cli/relay.py)."""
SLACK = 1.0
"""Seconds on top of a promise, for a loaded machine."""


@dataclass(frozen=True)
class Relay:
    """``anchor-mfa relay`` started on free ports, its banner read (through "routes:")."""

    process: CliProcess
    banner: list[str]
    smtp_host: str
    smtp_port: int
    http: str

    def stop(self, how: signal.Signals) -> Exited:
        return self.process.stop(how)


@pytest.fixture(scope="module")
def events() -> Iterator[FakeEventServer]:
    with FakeEventServer({API_KEY: "user-1"}) as server:
        yield server


@pytest.fixture
def relay(events: FakeEventServer, cli_processes: CliProcesses) -> Callable[..., Relay]:
    def start(*args: str, **env: str) -> Relay:
        settings = {"ANCHOR_API_KEY": API_KEY, "ANCHOR_BASE_URL": events.url, **env}
        process = cli_processes.start(
            "relay", "--smtp-port", "0", "--http-port", "0", *args, env=cli_env(**settings)
        )
        banner = process.banner(lambda line: line == "routes:")
        smtp = re.search(r"SMTP on ([\d.]+):(\d+)", banner[0])
        health = re.search(r"health at (http://\S+)/healthz", "\n".join(banner))
        assert smtp and health, banner
        return Relay(process, banner, smtp.group(1), int(smtp.group(2)), health.group(1))

    return start


def mail(to: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "App <no-reply@app.test>", to, "Code"
    message.set_content(text)
    return message


def test_relay_signals_mail_and_twilio_sms_and_stops_on_sigterm(
    relay: Callable[..., Relay], events: FakeEventServer
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
            verify = "https://app.example.com/verify/Ab12Cd34Ef56"
            smtp.send_message(mail("ci+verify@example.com", f"Verify your e-mail: {verify}."))
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.send_message(mail("someone@example.com", "Code 111111"))
        [(status, reply)] = refused.value.recipients.values()
        assert status == 550 and b"no route" in reply
        assert client.wait("signin", 5)["code"] == "482913"
        assert client.wait("ops_code", 5)["code"] == "771204"
        assert client.wait("verify", 5)["link"] == verify  # links as well as codes

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
    assert counts["signaled"] == {"email": 3, "sms": 1}
    assert counts["unrouted_recipients"] == 1
    assert counts["signal_failures"] == 0

    stopped = process.stop(signal.SIGTERM)
    output = stopped.output  # the banner, the lines after it and stderr
    assert stopped.code == 0, output
    assert stopped.took < STOP_PROMISE + SLACK, f"SIGTERM took {stopped.took:.2f} s"
    assert "Traceback" not in output
    # One line per message, with the code masked; no secret anywhere in the output.
    assert re.search(
        r"email from .* to ci\+signin@example.com -> event 'signin': code ••••••", output
    )
    assert re.search(r"sms from .* -> event 'login_code': code ••••••", output)
    for secret in (API_KEY, TWILIO_TOKEN, GENERIC_SECRET, "482913", "771204", "305118"):
        assert secret not in output


def test_relay_stops_on_sigint_with_status_0(relay: Callable[..., Relay]) -> None:
    process = relay("--route", "+1555*=mfa_code")
    stopped = process.stop(signal.SIGINT)
    assert (stopped.code, "Traceback" in stopped.output) == (0, False), stopped.output
    assert stopped.took < STOP_PROMISE + SLACK, f"SIGINT took {stopped.took:.2f} s"


def run_relay(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("relay", "--smtp-port", "0", "--http-port", "0", *args, env=cli_env(**env))


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


# -- who may send, and stopping under load -----------------------------------------------------


def test_smtp_beyond_loopback_needs_an_allow_list_or_allow_open_smtp() -> None:
    result = run_relay("--route", "ci+*@example.com", "--host", "0.0.0.0", ANCHOR_API_KEY=API_KEY)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "no allow-list" in result.stderr and "--allow-client" in result.stderr
    assert "Traceback" not in result.stderr
    bad = run_relay("--route", "a+*@x.test", "--allow-client", "nope", ANCHOR_API_KEY=API_KEY)
    assert bad.returncode == 1 and "not an IP address or network" in bad.stderr, bad.stderr


def test_allow_open_smtp_starts_and_says_so(relay: Callable[..., Relay]) -> None:
    process = relay("--route", "ci+*@example.com", "--host", "0.0.0.0", "--allow-open-smtp")
    assert "  SMTP OPEN to anyone reaching 0.0.0.0 (--allow-open-smtp)" in process.banner
    loopback = relay("--route", "ci+*@example.com")
    assert "  SMTP open to this machine only (127.0.0.1)" in loopback.banner


def test_only_allowed_clients_and_senders_get_through(
    relay: Callable[..., Relay], events: FakeEventServer
) -> None:
    process = relay(
        "--route", "ci+*@example.com", "--host", "0.0.0.0",
        "--allow-client", "127.0.0.2/32", "--allow-sender", "*@app.test",
    )  # fmt: skip
    assert any("SMTP accepts only clients 127.0.0.2/32; senders *@app.test" in line
               for line in process.banner), process.banner  # fmt: skip
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", process.smtp_port, timeout=10)
    assert refused.value.smtp_code == 554
    allowed = ("127.0.0.2", 0)
    with smtplib.SMTP("127.0.0.1", process.smtp_port, timeout=10, source_address=allowed) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as sender:
            smtp.sendmail("evil@elsewhere.test", ["ci+allowed@example.com"], b"Code 111111")
        assert sender.value.smtp_code == 550
        smtp.rset()
        smtp.send_message(mail("ci+allowed@example.com", "Your code is 482913"))
    with EventsClient(API_KEY, events.url) as client:
        assert client.wait("allowed", 5)["code"] == "482913"


def test_sigterm_stops_within_a_second_while_a_signal_hangs_and_mail_floods(
    relay: Callable[..., Relay],
) -> None:
    with socket.socket() as silent:  # an events API that accepts and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        process = relay("--route", "ci+*@example.com", ANCHOR_BASE_URL=url)
        replies: list[object] = []

        def send() -> None:
            try:
                with smtplib.SMTP(process.smtp_host, process.smtp_port, timeout=30) as smtp:
                    smtp.send_message(mail("ci+hung@example.com", "Your code is 482913"))
                replies.append(250)
            except smtplib.SMTPResponseException as exc:
                replies.append(exc.smtp_code)
            except smtplib.SMTPServerDisconnected as exc:
                replies.append(str(exc))

        sender = threading.Thread(target=send)
        sender.start()
        silent.settimeout(20)
        hung, _ = silent.accept()  # the relay's signal call is under way, and hangs
        args = [process.smtp_host, str(process.smtp_port), "4", "50", "30000", "ci+f@example.com"]
        with subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_flood", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ) as flood:
            assert flood.stdout is not None
            assert flood.stdout.readline().startswith("flooding")
            assert flood.stdout.readline().strip() == "554"  # the flood is being read
            stopped = process.stop(signal.SIGTERM)
            flood.kill()
        sender.join(30)
        hung.close()
    assert stopped.code == 0, stopped.output
    assert stopped.took < STOP_PROMISE + SLACK, f"SIGTERM took {stopped.took:.2f} s"
    assert replies == [421], replies  # the session in progress was told, not left hanging
    assert "Traceback" not in stopped.output
