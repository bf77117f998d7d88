"""The SMTP inbox over real SMTP (``smtplib`` and raw sockets against the real server).

Routing (plus addressing, explicit and glob routes, 550 for the rest), limits (552, 452),
message formats delivering the right code to ``mfa_code()`` / ``wait_for_event`` through the
fake event server, a message without a code failing ``mfa_code()`` at once, bad input that
leaves the server serving, masked reprs, and the ``anchor_inbox`` fixture in a pytester run.
"""

from __future__ import annotations

import base64
import email.policy
import logging
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.errors import AnchorMfaError, MessageTimeoutError
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.plugin.inbound import AnchorInbox
from pytest_anchor_mfa.plugin.types import WaitForEvent

pytest_plugins = ["pytester"]

LOGGER = "pytest_anchor_mfa.inbound.smtp"


class Recorder:
    """A signaler that records ``(event, data)`` and lets a test wait for signals."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._condition = threading.Condition()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        with self._condition:
            self.calls.append((event, data))
            self._condition.notify_all()

    def events(self) -> list[str]:
        with self._condition:
            return [event for event, _ in self.calls]

    def data(self, event: str) -> dict[str, Any]:
        with self._condition:
            found = [data for name, data in self.calls if name == event]
        assert len(found) == 1, f"{event!r} signaled {len(found)} times"
        return found[0]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def inbox(recorder: Recorder) -> Iterator[SmtpInbox]:
    with SmtpInbox(recorder) as server:
        yield server


def mail(subject: str = "Your code", text: str | None = None, html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "App <no-reply@app.test>"
    message["To"] = "user@app.test"
    message["Subject"] = subject
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire


def send(server: SmtpInbox | AnchorInbox, to: str | list[str], content: bytes) -> dict[str, Any]:
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        refused: dict[str, Any] = client.sendmail(
            "no-reply@app.test", [to] if isinstance(to, str) else to, content
        )
        return refused


class RawClient:
    """SMTP by hand, for what smtplib will not send."""

    def __init__(self, server: SmtpInbox) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=30)
        self.reader = self.sock.makefile("rb")
        assert self.reply()[0] == 220

    def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = self.reader.readline()
            if not line:
                return 0, "connection closed"
            lines.append(line.decode("utf-8", "replace").rstrip())
            if line[3:4] != b"-":
                return int(line[:3]), " ".join(lines)

    def command(self, line: bytes) -> tuple[int, str]:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def envelope(self, *recipients: str) -> None:
        assert self.command(b"HELO raw.test")[0] == 250
        assert self.command(b"MAIL FROM:<raw@app.test>")[0] == 250
        for to in recipients:
            assert self.command(f"RCPT TO:<{to}>".encode())[0] == 250

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def still_serving(server: SmtpInbox, recorder: Recorder, event: str = "after") -> None:
    send(server, f"test+{event}@inbox.test", mail(text="Your code is 246810"))
    assert recorder.data(event)["code"] == "246810"


def connect_when_free(server: SmtpInbox, timeout: float = 10.0) -> smtplib.SMTP:
    """An SMTP connection once the server has room for it: it greets with 421 until it has let
    a closed connection go (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return smtplib.SMTP(server.host, server.port, timeout=30)
        except smtplib.SMTPConnectError as refused:
            assert refused.smtp_code == 421, refused
            assert time.monotonic() < deadline, f"no room on the server within {timeout} s"
        time.sleep(0.01)  # a moment before asking again


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


# -- routing ----------------------------------------------------------------------------------


def test_plus_addressing_signals_the_event_with_the_message_data(
    inbox: SmtpInbox, recorder: Recorder
) -> None:
    send(inbox, "anyone+login_otp@whatever.example", mail(text="Your code is 482913."))
    data = recorder.data("login_otp")
    assert data["code"] == "482913"
    assert data["channel"] == "email"
    assert data["from"] == "App <no-reply@app.test>"
    assert data["to"] == "anyone+login_otp@whatever.example"
    assert data["subject"] == "Your code"
    assert "482913" in data["text"]
    assert data["candidates"][0]["value"] == "482913"
    assert inbox.port > 0


def test_explicit_and_glob_routes_come_before_plus_addressing(
    inbox: SmtpInbox, recorder: Recorder
) -> None:
    inbox.route("ci-*@app.test", "from_glob")
    inbox.route("Alice+Other@App.test", "exact", rule=CodeRule.digits(8))
    send(inbox, "ci-42@app.test", mail(text="Your code is 111222"))
    send(inbox, "alice+other@app.test", mail(text="Your code is 12345678"))
    assert recorder.data("from_glob")["code"] == "111222"
    assert recorder.data("exact")["code"] == "12345678"  # the route's own rule: 8 digits
    assert "other" not in recorder.events()


def test_an_unrouted_recipient_is_refused_with_550_and_the_rest_delivered(
    inbox: SmtpInbox, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(inbox, "nobody@app.test", mail(text="code 123456"))
    assert refused.value.recipients["nobody@app.test"][0] == 550
    assert recorder.calls == []
    assert inbox.messages == []
    assert len(log_lines(caplog)) == 1
    partly = send(inbox, ["nobody@app.test", "x+ok@app.test"], mail(text="code 123456"))
    assert partly["nobody@app.test"][0] == 550
    assert recorder.events() == ["ok"]
    assert inbox.refusals[-1] == ("nobody@app.test", "no route to an event")


def test_event_names_that_do_not_fit_an_address_get_a_routed_one(
    inbox: SmtpInbox, recorder: Recorder
) -> None:
    plain = inbox.address_for("mfa_code-gw0-1a2b3c")
    assert plain == "test+mfa_code-gw0-1a2b3c@inbox.test"
    odd = inbox.address_for("Login 2FA/ü")
    assert odd.startswith("test+r") and odd.endswith("@inbox.test")
    send(inbox, [plain, odd], mail(text="Your code is 135790"))
    assert sorted(recorder.events()) == ["Login 2FA/ü", "mfa_code-gw0-1a2b3c"]


# -- limits -----------------------------------------------------------------------------------


def test_over_the_size_limit_is_552_whether_declared_or_not(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    big = mail(text="Your code is 123456\n" + ("x" * 70 + "\n") * 400)
    with SmtpInbox(recorder, data_size_limit=10_000) as small:
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:  # ESMTP SIZE=
            send(small, "t+big@inbox.test", big * 2)
        assert declared.value.smtp_code == 552
        with smtplib.SMTP(small.host, small.port, timeout=30) as client:
            client.helo("old.test")  # no ESMTP: the size shows only once the data is in
            with pytest.raises(smtplib.SMTPDataError) as undeclared:
                client.sendmail("a@app.test", ["t+big@inbox.test"], big * 2)
            assert undeclared.value.smtp_code == 552
            client.sendmail("a@app.test", ["t+fits@inbox.test"], mail(text="code 654321"))
        assert recorder.events() == ["fits"]
        assert [line for line in log_lines(caplog) if "552" in line]


def test_a_50_mb_mail_is_refused_with_552_and_the_server_keeps_serving(
    inbox: SmtpInbox, recorder: Recorder
) -> None:
    raw = RawClient(inbox)
    try:
        raw.envelope("test+huge@inbox.test")
        assert raw.command(b"DATA")[0] == 354
        line = b"Your code is 123456 " + b"y" * 978 + b"\r\n"
        chunk = line * 1024  # 1 MiB
        for _ in range(50):
            raw.sock.sendall(chunk)
        assert raw.command(b".")[0] == 552
        assert raw.command(b"NOOP")[0] == 250  # the same connection goes on
    finally:
        raw.close()
    assert recorder.calls == []
    still_serving(inbox, recorder)


def test_recipients_past_the_cap_get_452_and_each_event_is_signaled_once(
    inbox: SmtpInbox, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    recipients = [f"t+ev{i}@inbox.test" for i in range(1000)]
    recipients[1] = "T+EV0@inbox.test"  # the same event twice: one signal
    refused = send(inbox, recipients, mail(text="Your code is 975310"))
    assert len(refused) == 900
    assert {code for code, _ in refused.values()} == {452}
    assert sorted(recorder.events()) == sorted({f"ev{i}" for i in (0, *range(2, 100))})
    assert all(data["code"] == "975310" for _, data in recorder.calls)
    assert len(inbox.messages) == 1 and len(inbox.messages[0].to) == 100
    assert len(log_lines(caplog)) == 1  # one line for 900 refusals


# -- formats, end to end through the fake event server ----------------------------------------


def qp_split(code: str) -> bytes:
    # A soft line break in the middle of the code: the parser must join it.
    return (
        b"From: app@app.test\r\nSubject: Sign-in\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
        b"\r\n\r\nYour verification code is "
        + code[:3].encode()
        + b"=\r\n"
        + code[3:].encode()
        + b"=2E\r\n"
    )


def base64_html(code: str) -> bytes:
    body = base64.encodebytes(f"<p>Use <b>{code}</b> to sign in</p>".encode())
    return (
        b"From: app@app.test\r\nSubject: Sign-in\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + body
    )


def legacy(code: str, charset: str, words: str) -> bytes:
    body = base64.encodebytes(f"{words} {code}".encode(charset))
    return (
        f"From: app@app.test\r\nSubject: =?{charset}?B?".encode()
        + base64.b64encode(words.encode(charset))
        + f"?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n".encode()
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + body
    )


FORMATS = {
    "plain": lambda code: mail(text=f"Your code is {code}. Order 12345678 shipped."),
    "multipart": lambda code: mail(
        text=f"Your code: {code}", html=f"<p>Your code: <strong>{code}</strong></p>"
    ),
    "html-only": lambda code: mail(
        html=f"<html><head><style>.x{{color:#123456}}</style></head>"
        f"<body><table><tr><td>Code</td><td>{code}</td></tr></table></body></html>"
    ),
    "quoted-printable": qp_split,
    "base64-html": base64_html,
    "latin-1": lambda code: legacy(code, "iso-8859-1", "Votre code de vérification :"),
    "koi8-r": lambda code: legacy(code, "koi8-r", "Ваш код подтверждения:"),
    "shift_jis": lambda code: legacy(code, "shift_jis", "確認コード:"),
}


@pytest.mark.anchor_timeout(10)
@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_delivers_the_code_to_mfa_code(
    anchor_inbox: AnchorInbox, mfa_code: Any, kind: str
) -> None:
    send(anchor_inbox, anchor_inbox.address(), FORMATS[kind]("408152"))
    assert mfa_code() == "408152"
    assert anchor_inbox.messages[0].code == "408152"


@pytest.mark.anchor_timeout(10)
def test_mail_sent_while_mfa_code_waits_wakes_it(anchor_inbox: AnchorInbox, mfa_code: Any) -> None:
    sender = threading.Timer(0.3, send, (anchor_inbox, anchor_inbox.address(), mail(text="771903")))
    sender.start()
    try:
        assert mfa_code() == "771903"
    finally:
        sender.join()


def test_wait_for_event_gets_the_whole_message_data(
    anchor_inbox: AnchorInbox, wait_for_event: WaitForEvent
) -> None:
    send(anchor_inbox, anchor_inbox.address("order_mail"), mail("Shipped", text="Code 555123"))
    data = wait_for_event("order_mail", timeout=10)
    assert data["code"] == "555123"
    assert data["subject"] == "Shipped"
    assert anchor_inbox.wait_for_message(to="order_mail", timeout=1).subject == "Shipped"


@pytest.mark.mfa(digits=8)
def test_the_mfa_marker_rule_reads_the_mail(anchor_inbox: AnchorInbox, mfa_code: Any) -> None:
    send(anchor_inbox, anchor_inbox.address(), mail(text="Ref 123456. Your code: 87654321"))
    assert mfa_code(timeout=10) == "87654321"


def test_a_message_without_a_code_fails_mfa_code_at_once(
    anchor_inbox: AnchorInbox, mfa_code: Any
) -> None:
    send(anchor_inbox, anchor_inbox.address(), mail("Welcome aboard", text="No code in here."))
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception) as failed:
        mfa_code(timeout=30)
    assert time.monotonic() - started < 5
    message = str(failed.value)
    assert "no code (6 digits) found in the email from 'App <no-reply@app.test>'" in message
    assert "Welcome aboard" in message


# -- bad input --------------------------------------------------------------------------------


def test_8bit_garbage_commands_get_replies_and_the_server_keeps_serving(
    inbox: SmtpInbox, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    raw = RawClient(inbox)
    try:
        assert 500 <= raw.command(b"\xff\xfe\x80 EHLO \x00\x01")[0] < 600
        assert 500 <= raw.command(b"MAIL FROM:<\xc3\x28@x>")[0] < 600
        assert 500 <= raw.command(b"RCPT TO:<t+x@inbox.test>")[0] < 600  # no MAIL yet
        assert raw.command(b"x" * 100_000)[0] == 500  # longer than any command
    finally:
        raw.close()
    assert len(log_lines(caplog)) <= 3  # a few lines per connection at most
    still_serving(inbox, recorder)


def test_malformed_and_8bit_messages_signal_what_can_be_read(
    inbox: SmtpInbox, recorder: Recorder
) -> None:
    broken_mime = (
        b"From: =?broken?Q?\xff\xfe?= <<<\r\nSubject: Code \xe9\xff\r\n"
        b'Content-Type: multipart/alternative; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"Your code is 314159")
        + b"\r\n--never-closed\r\nContent-Type: text/html\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!! not base64 !!!\r\n"
    )
    send(inbox, "t+broken@inbox.test", broken_mime)
    assert recorder.data("broken")["code"] == "314159"
    garbage = bytes(range(256)) * 40 + b"\r\n"
    send(inbox, "t+garbage@inbox.test", garbage)
    assert "code" not in recorder.data("garbage")
    assert "no code" in recorder.data("garbage")["problem"]
    still_serving(inbox, recorder)


def test_deep_nesting_is_refused_or_read_without_stopping_the_server(
    inbox: SmtpInbox, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)

    def nested(levels: int) -> bytes:
        return b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
            b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
            for i in range(levels)
        )

    for levels, reason in ((1500, b"more than 100 MIME parts"), (11, b"nested too deeply")):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(inbox, "t+nested@inbox.test", nested(levels))
        assert refused.value.smtp_code == 554
        assert reason in refused.value.smtp_error
    assert len(log_lines(caplog)) == 2  # the 554s
    html = "<div>\n" * 20_000 + "Your code is 161803" + "</div>\n" * 20_000
    send(inbox, "t+deep_html@inbox.test", mail(html=html))
    with pytest.raises(smtplib.SMTPDataError) as too_long:  # one 200 kB line
        one_line = html.replace("\n", "").encode()
        send(inbox, "t+one_line@inbox.test", b"Content-Type: text/html\r\n\r\n" + one_line)
    assert too_long.value.smtp_code == 500
    assert recorder.data("deep_html")["code"] == "161803"
    assert recorder.events() == ["deep_html"]
    still_serving(inbox, recorder)


def test_an_incomplete_message_signals_nothing(recorder: Recorder) -> None:
    # One connection at a time: the next one is only let in once the server is done with the
    # cut one, so a message delivered on it comes after whatever the cut one caused.
    with SmtpInbox(recorder, max_connections=1) as server:
        raw = RawClient(server)
        raw.envelope("t+cut@inbox.test")
        assert raw.command(b"DATA")[0] == 354
        raw.sock.sendall(b"Subject: code\r\n\r\nYour code is 123456\r\n")  # and no final "."
        raw.close()
        with connect_when_free(server) as smtp:
            smtp.sendmail("no-reply@app.test", ["t+after@inbox.test"], mail(text="Code 246810"))
        assert recorder.events() == ["after"] and recorder.data("after")["code"] == "246810"
        assert [message.events for message in server.messages] == [("after",)]


def test_a_failed_signal_is_a_451_and_the_message_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: str, data: dict[str, Any]) -> None:
        raise AnchorMfaError("events API unreachable")

    caplog.set_level(logging.INFO, LOGGER)
    with SmtpInbox(broken) as server:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(server, "t+x@inbox.test", mail(text="Your code is 123456"))
        assert failed.value.smtp_code == 451
        assert len(server.messages) == 1
    assert log_lines(caplog) == ["SMTP inbox: signaling event 'x' failed: events API unreachable"]


# -- what is kept, and how it shows ------------------------------------------------------------


def test_kept_messages_mask_text_and_code(inbox: SmtpInbox) -> None:
    send(inbox, "t+masked@inbox.test", mail("Code 482 913 inside", text="Your code is 482913"))
    message = inbox.wait_for_message("t+masked@INBOX.test", timeout=5)
    assert message.code == "482913" and message.codes == {"masked": "482913"}
    assert message.text == "Your code is 482913"
    shown = repr(inbox.messages) + repr(message.text) + repr(message.subject) + repr(message)
    assert "482" not in shown and "913" not in shown
    assert "'••••••'" in shown and "<19 characters, masked>" in shown
    assert message.subject == "Code 482 913 inside"
    assert message.sender == "App <no-reply@app.test>" and message.events == ("masked",)


def test_wait_for_message_times_out_naming_what_arrived(inbox: SmtpInbox) -> None:
    send(inbox, "t+first@inbox.test", mail("Hello 123456", text="Your code is 123456"))
    with pytest.raises(MessageTimeoutError) as timed_out:
        inbox.wait_for_message(to="elsewhere", timeout=0.1)
    assert isinstance(timed_out.value, TimeoutError) and isinstance(timed_out.value, AnchorMfaError)
    text = str(timed_out.value)
    assert "no message to 'elsewhere'" in text and "received 1 message(s)" in text
    assert "t+first@inbox.test" in text and "123456" not in text


def test_the_kept_messages_are_bounded_and_reset_forgets_them(recorder: Recorder) -> None:
    with SmtpInbox(recorder, keep=3) as server:
        server.route("fixed@app.test", "fixed")
        for i in range(5):
            send(server, f"t+m{i}@inbox.test", mail(text=f"code 10000{i}"))
        assert [m.events for m in server.messages] == [("m2",), ("m3",), ("m4",)]
        server.reset()
        assert server.messages == [] and server.resolve("fixed@app.test") is None
        assert server.resolve("t+still@x.test") == "still"  # plus addressing stays


def test_many_clients_at_once_each_code_once(inbox: SmtpInbox, recorder: Recorder) -> None:
    def client(n: int) -> None:
        with smtplib.SMTP(inbox.host, inbox.port, timeout=30) as smtp:
            for i in range(10):
                code = f"{n:03d}{i:03d}"
                smtp.sendmail("a@app.test", [f"t+e{n}-{i}@inbox.test"], mail(text=f"code {code}"))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = {event: data["code"] for event, data in recorder.calls}
    assert len(recorder.calls) == 80
    assert got == {f"e{n}-{i}": f"{n:03d}{i:03d}" for n in range(8) for i in range(10)}


def test_stop_closes_open_connections_and_port_zero_gives_distinct_ports(
    recorder: Recorder,
) -> None:
    first, second = SmtpInbox(recorder), SmtpInbox(recorder)
    with first, second:
        assert first.port != second.port
        address = (first.host, first.port)
        raw = RawClient(first)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert raw.reply() == (421, "421 4.3.2 The inbox is stopping, try again later")
    assert raw.reply() == (0, "connection closed")  # answered and closed, not left hanging
    raw.close()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=2).close()


def test_connections_past_the_cap_get_421(recorder: Recorder) -> None:
    with SmtpInbox(recorder, max_connections=2) as server:
        held = [RawClient(server), RawClient(server)]
        with socket.create_connection((server.host, server.port), timeout=10) as extra:
            assert extra.makefile("rb").readline().startswith(b"421 ")
        held.pop().close()
        with connect_when_free(server) as smtp:  # the closed one's place, once it is free
            smtp.sendmail("no-reply@app.test", ["t+after@inbox.test"], mail(text="Code 246810"))
        assert recorder.data("after")["code"] == "246810"
        held[0].close()


def test_bad_limits_are_refused() -> None:
    with pytest.raises(AnchorMfaError, match="max_recipients"):
        SmtpInbox(Recorder(), max_recipients=0)


# -- the anchor_inbox fixture --------------------------------------------------------------------


def test_anchor_inbox_fixture_in_a_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import smtplib

        import pytest


        def send(inbox, to, text):
            with smtplib.SMTP(inbox.host, inbox.port, timeout=10) as client:
                client.sendmail("app@app.test", [to], "Subject: Sign-in\\r\\n\\r\\n" + text)


        def test_first(anchor_inbox, mfa_event_name, mfa_code):
            assert anchor_inbox.address() == f"test+{mfa_event_name}@inbox.test"
            assert "anchor_inbox smtp://127.0.0.1:" in repr(anchor_inbox)
            send(anchor_inbox, anchor_inbox.address(), "Your code is 246802")
            assert mfa_code(timeout=10) == "246802"
            assert len(anchor_inbox.messages) == 1
            anchor_inbox.route("ops@app.test", "ops_event")


        def test_second_starts_empty(anchor_inbox, anchor_inbox_session, wait_for_event):
            assert anchor_inbox.messages == []
            assert anchor_inbox_session.resolve("ops@app.test") is None  # routes were reset
            send(anchor_inbox, anchor_inbox.address("other"), "Code 135791")
            assert wait_for_event("other", timeout=10)["code"] == "135791"
            with pytest.raises(TimeoutError, match="no message to 'nobody'"):
                anchor_inbox.wait_for_message("nobody", timeout=0.1)
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:playwright",
        "--anchor-mode",
        "fake",
        "--anchor-unique-events",
    )
    result.assert_outcomes(passed=2)
