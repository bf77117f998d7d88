"""The SMTP inbox under attack, over real SMTP on loopback: what one client may cost it.

A flood of many-part mails does not delay another client's code; a message is signaled only
once it is handled and never for a client that went away first; connections are capped per
client address and in time; message bytes in flight are bounded; control characters in an
address are refused. Other clients connect from 127.0.0.2 (Linux routes all of 127/8 to lo).
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_inbound_smtp import RawClient, Recorder, connect_when_free, mail

from pytest_anchor_mfa.inbound import smtp as smtp_module
from pytest_anchor_mfa.inbound.mail import MailParseError, ParsedMail, parse_mail
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.inbound.smtp_limits import (
    FairSlots,
    SmtpLimits,
    check_structure,
    limit_text,
)

OTHER_CLIENT = ("127.0.0.2", 0)
ROOT = Path(__file__).resolve().parent.parent


def other_client(inbox: SmtpInbox) -> smtplib.SMTP:
    return smtplib.SMTP(inbox.host, inbox.port, timeout=30, source_address=OTHER_CLIENT)


class Held:
    """``parse_mail`` of the inbox made to wait, for messages whose subject says "hold", until
    ``release``: a message can be caught while it is being handled."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.finished = threading.Event()
        self.released = threading.Event()

    def __call__(self, content: bytes, *, envelope_from: str = "") -> ParsedMail:
        hold = b"Subject: hold" in content
        if hold:
            self.started.set()
            assert self.released.wait(30), "never released"
        parsed = parse_mail(content, envelope_from=envelope_from)
        if hold:
            self.finished.set()
        return parsed


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    hold = Held()
    monkeypatch.setattr(smtp_module, "parse_mail", hold)
    yield hold
    hold.released.set()


def hold_mail(code: str = "111111") -> bytes:
    return b"Subject: hold\r\n\r\nYour code is %s\r\n" % code.encode()


FLOODERS, MAILS = 4, 6


def test_a_flood_of_many_part_mails_does_not_delay_another_clients_code() -> None:
    recorder = Recorder()
    with SmtpInbox(recorder) as inbox:
        # The flood comes from another process, as an attacker's would (its own CPU and GIL):
        # 4 clients, each sending 1.4 MB mails of 30,000 parts (~17 s of parsing each unbounded).
        args = [inbox.host, str(inbox.port), str(FLOODERS), str(MAILS)]
        with subprocess.Popen(
            [sys.executable, "-m", "bench.smtp_flood", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ) as flood:
            assert flood.stdout is not None
            assert flood.stdout.readline().split()[0] == "flooding"
            assert flood.stdout.readline().strip() == "554"  # the flood is under way
            started = time.monotonic()
            with other_client(inbox) as client:
                client.sendmail("app@app.test", ["t+normal@inbox.test"], mail(text="Code 246810"))
            took = time.monotonic() - started
            flooding = flood.poll() is None
            rest = flood.stdout.read().split()
            assert flood.wait(120) == 0
    assert recorder.data("normal")["code"] == "246810"
    assert took < 3.0, f"the normal mail took {took:.2f} s during the flood"
    assert flooding  # the flood was still arriving when the normal mail was done
    assert ["554", *rest] == ["554"] * FLOODERS * MAILS, rest  # refused unread: over 100 parts
    assert "flood" not in recorder.events()


def test_a_message_is_not_signaled_when_its_client_left_before_the_reply(held: Held) -> None:
    recorder = Recorder()
    with SmtpInbox(recorder, max_connections=1) as inbox:
        raw = RawClient(inbox)
        raw.envelope("t+gone@inbox.test")
        assert raw.command(b"DATA")[0] == 354
        raw.sock.sendall(hold_mail() + b".\r\n")
        assert held.started.wait(10)  # being handled: read, and now parsed
        raw.close()  # the client gives up before any reply (a cut, or its own timeout)
        with connect_when_free(inbox) as smtp:  # the server has let the closed one go
            held.released.set()
            assert held.finished.wait(10)
            smtp.sendmail("a@app.test", ["t+after@inbox.test"], mail(text="Code 246810"))
        assert recorder.data("after")["code"] == "246810"
        assert recorder.events() == ["after"]  # never "gone"
        assert [message.events for message in inbox.messages] == [("after",)]


def test_the_reply_comes_only_once_the_message_is_signaled(held: Held) -> None:
    recorder = Recorder()
    with SmtpInbox(recorder) as inbox:
        raw = RawClient(inbox)
        raw.envelope("t+slow@inbox.test")
        assert raw.command(b"DATA")[0] == 354
        raw.sock.sendall(hold_mail("135790") + b".\r\n")
        assert held.started.wait(10)
        raw.sock.settimeout(1.5)
        with pytest.raises(TimeoutError):  # no reply while it is being handled
            raw.reader.readline()
        held.released.set()
        raw.sock.settimeout(30)
        raw.reader = raw.sock.makefile("rb")
        code, text = raw.reply()
        assert code == 250, text
        assert recorder.data("slow")["code"] == "135790"  # signaled before the 250
        raw.close()


@pytest.mark.parametrize("command", [b"MAIL FROM:<a\rb@app.test>", b"RCPT TO:<t+a\rb@inbox.test>"])
def test_a_control_character_in_an_address_is_501(command: bytes) -> None:
    recorder = Recorder()
    with SmtpInbox(recorder) as inbox:
        raw = RawClient(inbox)
        assert raw.command(b"HELO raw.test")[0] == 250
        if command.startswith(b"RCPT"):
            assert raw.command(b"MAIL FROM:<raw@app.test>")[0] == 250
        code, text = raw.command(command)
        assert code == 501 and "control character" in text, text
        for nul in (b"<t+a\x00b@inbox.test>", b"<t+a\x7fb@inbox.test>"):
            assert raw.command(b"RCPT TO:" + nul)[0] in (501, 503)
        raw.close()
    assert recorder.calls == []


def test_idle_connections_from_one_client_do_not_lock_others_out() -> None:
    recorder = Recorder()
    with SmtpInbox(recorder) as inbox:
        idle = [socket.create_connection((inbox.host, inbox.port), timeout=30) for _ in range(256)]
        try:
            greetings = [sock.makefile("rb").readline()[:4] for sock in idle]
            assert greetings.count(b"220 ") == 16  # max_per_client
            assert greetings.count(b"421 ") == 240
            with other_client(inbox) as client:
                client.sendmail("a@app.test", ["t+other@inbox.test"], mail(text="Code 246810"))
            assert recorder.data("other")["code"] == "246810"
        finally:
            for sock in idle:
                sock.close()


def test_a_session_ends_after_its_time_limit_whatever_it_sends() -> None:
    limits = SmtpLimits(max_session_time=2.0)
    with SmtpInbox(Recorder(), limits=limits) as inbox:
        raw = RawClient(inbox)
        started = time.monotonic()
        replies = []
        while time.monotonic() - started < 20:
            replies.append(raw.command(b"NOOP"))
            if replies[-1][0] != 250:
                break
            time.sleep(0.2)  # a client keeping its connection busy, not a synchronisation
        raw.close()
    took = time.monotonic() - started
    assert replies[-1][0] == 421 and "Session time limit (2 s)" in replies[-1][1], replies[-1]
    assert took < 10, took


def test_message_bytes_in_flight_are_bounded_with_452(held: Held) -> None:
    limits = SmtpLimits(max_pending_bytes=64 * 1024)
    with SmtpInbox(Recorder(), data_size_limit=64 * 1024, limits=limits) as inbox:
        first = RawClient(inbox)
        first.envelope("t+first@inbox.test")
        assert first.command(b"DATA")[0] == 354
        first.sock.sendall(hold_mail() + b".\r\n")  # no SIZE: the whole limit is reserved
        assert held.started.wait(10)
        with other_client(inbox) as client:
            with pytest.raises(smtplib.SMTPDataError) as busy:
                client.sendmail("a@app.test", ["t+second@inbox.test"], mail(text="Code 246810"))
            assert busy.value.smtp_code == 452
            assert b"Too much mail arriving at once" in busy.value.smtp_error
            held.released.set()
            assert first.reply()[0] == 250
            client.sendmail("a@app.test", ["t+second@inbox.test"], mail(text="Code 246810"))
        first.close()


def test_a_message_over_its_declared_size_is_refused() -> None:
    with SmtpInbox(Recorder()) as inbox:
        raw = RawClient(inbox)
        assert raw.command(b"EHLO raw.test")[0] == 250
        assert raw.command(b"MAIL FROM:<a@app.test> SIZE=100")[0] == 250
        assert raw.command(b"RCPT TO:<t+big@inbox.test>")[0] == 250
        assert raw.command(b"DATA")[0] == 354
        raw.sock.sendall(b"Subject: x\r\n\r\n" + b"y" * 8000 + b"\r\n.\r\n")
        assert raw.reply()[0] == 552
        raw.close()


def test_the_text_scanned_for_codes_is_bounded() -> None:
    parsed = parse_mail(b"Subject: s\r\n\r\n" + b"a " * 50_000 + b"Your code is 123456\r\n")
    cut = limit_text(parsed, 20_000)
    assert sum(len(text) for _, text in cut.sources) <= 20_000 and len(cut.text) == 20_000
    assert limit_text(parse_mail(b"Subject: s\r\n\r\nCode 123456\r\n"), 20_000).text


def test_stop_answers_421_to_a_session_whose_message_is_being_handled(held: Held) -> None:
    inbox = SmtpInbox(Recorder())
    inbox.start()
    raw = RawClient(inbox)
    raw.envelope("t+stopped@inbox.test")
    assert raw.command(b"DATA")[0] == 354
    raw.sock.sendall(hold_mail() + b".\r\n")
    assert held.started.wait(10)
    started = time.monotonic()
    inbox.stop()  # the parse still runs on its (daemon) worker
    assert time.monotonic() - started < 2
    assert raw.reply() == (421, "421 4.3.2 The inbox is stopping, try again later")
    raw.close()


def test_parsing_slots_keep_one_for_other_clients_then_go_to_the_least_busy_and_smallest() -> None:
    async def scenario() -> list[str]:
        slots, got = FairSlots(2), []

        def take(client: str, size: int) -> asyncio.Task[None]:
            task = asyncio.create_task(slots.acquire(client, size))
            task.add_done_callback(lambda t: got.append(client) if not t.cancelled() else None)
            return task

        await take("flood", 1_400_000)  # a flood's mail is being parsed
        second = take("flood", 1_400_000)
        await asyncio.sleep(0)
        assert not second.done()  # one slot stays for other clients
        await take("app", 50)  # ... which another client gets at once
        gone = take("gone", 1)
        await asyncio.sleep(0)
        gone.cancel()  # a client that left while waiting takes no slot
        waiting = [take("app", 5000), take("third", 100)]
        await asyncio.sleep(0)
        for client in ("flood", "app", "third"):
            slots.release(client)
            await asyncio.sleep(0)
        await asyncio.gather(second, *waiting)
        return got

    assert asyncio.run(scenario()) == ["flood", "app", "third", "app", "flood"]


@pytest.mark.parametrize(("parts", "refused"), [(100, False), (101, True)])
def test_the_part_count_is_exact(parts: int, refused: bool) -> None:
    head = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    content = head + b"--b\r\n\r\nx\r\n" * parts + b"--b--\r\n"
    if refused:
        with pytest.raises(MailParseError, match="more than 100 MIME parts"):
            check_structure(content, SmtpLimits())
    else:
        check_structure(content, SmtpLimits())
    nested = b"".join(
        b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n" % (i, i) for i in range(10)
    )
    check_structure(nested + b"\r\nx\r\n", SmtpLimits())  # 10 levels: within the limit


def test_a_message_not_read_in_time_is_451_and_never_signaled(held: Held) -> None:
    recorder = Recorder()
    with SmtpInbox(recorder, limits=SmtpLimits(message_timeout=1.5)) as inbox:
        raw = RawClient(inbox)
        raw.envelope("t+late@inbox.test")
        assert raw.command(b"DATA")[0] == 354
        raw.sock.sendall(hold_mail() + b".\r\n")
        code, text = raw.reply()  # the parse is still held when the deadline passes
        assert code == 451 and "not read within 1.5 s" in text, text
        held.released.set()
        assert held.finished.wait(10)
        raw.close()
        with other_client(inbox) as client:
            client.sendmail("a@app.test", ["t+after@inbox.test"], mail(text="Code 246810"))
        assert recorder.events() == ["after"]  # the late one was parsed, but never signaled
