"""The limits of a long-running server, over real sockets (``ServerLimits`` and store bounds).

Real time is the behaviour here (a slow sender is cut after so many seconds), so the limits are
set small and the bounds on elapsed time are generous.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_anchor_mfa.runtime import serve
from pytest_anchor_mfa.runtime.limits import ServerLimits
from pytest_anchor_mfa.runtime.loop import LoopErrors
from pytest_anchor_mfa.runtime.throttle import Throttle
from pytest_anchor_mfa.server import FakeEventServer, MemoryStore
from pytest_anchor_mfa.server.kept import KeptSignals

KEY = "sk-test-limits-0123456789"
SHORT = 0.3  # seconds: request timeout and keep-alive of the servers below


def request(path: str, body: dict[str, Any], *, extra_headers: str = "") -> bytes:
    raw = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nanchor-api-key: {KEY}\r\n{extra_headers}"
        f"content-type: application/json\r\ncontent-length: {len(raw)}\r\n\r\n"
    ).encode() + raw


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything until the server closes the connection (bounded by ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def envelope(response: bytes, status: int) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), response[:200]
    error: dict[str, Any] = json.loads(body)["error"]
    assert error["code"] == status and error["message"]
    return error


@pytest.fixture
def server() -> Iterator[FakeEventServer]:
    limits = ServerLimits(
        request_timeout=SHORT, keep_alive=SHORT, max_connections=4, max_header_bytes=2048
    )
    with FakeEventServer({KEY: "u"}, limits=limits, store=MemoryStore(max_waits=2)) as fake:
        yield fake


def connect(server: FakeEventServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_a_slow_sender_gets_408_and_is_closed(server: FakeEventServer) -> None:
    started = time.monotonic()  # before the connection: the server's timer starts later
    with connect(server) as sock:
        sock.sendall(b"POST /v1/events/e HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
        message = envelope(read_all(sock), 408)["message"]
        elapsed = time.monotonic() - started
    assert "complete" in message
    assert SHORT * 0.9 <= elapsed < SHORT + 3


def test_a_body_trickled_too_slowly_is_cut(server: FakeEventServer) -> None:
    with connect(server) as sock:
        sock.sendall(request("/v1/events/e", {"data": {"n": 1}})[:-5])  # body incomplete
        envelope(read_all(sock), 408)
    assert server.kept_signals("e", user="u") == []


def test_a_connection_that_sends_nothing_is_closed(server: FakeEventServer) -> None:
    started = time.monotonic()
    with connect(server) as sock:
        envelope(read_all(sock), 408)
        assert time.monotonic() - started < SHORT + 3


def test_an_idle_keep_alive_connection_is_closed(server: FakeEventServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()  # before the request: the keep-alive timer starts later
        sock.sendall(request("/v1/events/e", {"data": {"n": 1}}))
        answer = read_all(sock)  # the answer, then the close after keep_alive
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"queued"' in answer
    assert SHORT * 0.9 <= time.monotonic() - started < SHORT + 3


def test_a_long_poll_is_not_cut_by_the_request_timeout(server: FakeEventServer) -> None:
    with connect(server) as sock:
        sock.sendall(request("/v1/events/slow/wait", {"timeoutMs": int(SHORT * 3 * 1000)}))
        answer = read_all(sock)
    envelope(answer, 408)  # the wait's own timeout, after 3x the request timeout
    assert b"was not signaled" in answer


def test_connections_past_the_cap_get_503_with_retry_after() -> None:
    # Limits of their own: with SHORT, an idle connection would be closed (freeing its place)
    # if this thread stalled for SHORT seconds between the connects.
    limits = ServerLimits(request_timeout=60, keep_alive=60, max_connections=4)
    with FakeEventServer({KEY: "u"}, limits=limits) as server:
        idle = [connect(server) for _ in range(4)]
        try:
            with connect(server) as extra:
                answer = read_all(extra)
            envelope(answer, 503)
            assert b"\r\nretry-after: 1\r\n" in answer.lower()
        finally:
            for sock in idle:
                sock.close()


def test_headers_past_the_limit_get_431(server: FakeEventServer) -> None:
    big = "x-filler: " + "a" * 4096 + "\r\n"
    with connect(server) as sock:
        sock.sendall(request("/v1/events/e", {"data": {"n": 1}}, extra_headers=big))
        message = envelope(read_all(sock), 431)["message"]
    assert "2048" in message
    assert server.kept_signals("e", user="u") == []


def test_parked_waits_past_the_cap_get_503_with_retry_after(server: FakeEventServer) -> None:
    parked = [connect(server) for _ in range(2)]
    try:
        for sock in parked:
            sock.sendall(request("/v1/events/w/wait", {"timeoutMs": 10_000}))
        server.wait_for_waiters("w", 2, user="u")
        with connect(server) as third:
            third.sendall(request("/v1/events/w/wait", {"timeoutMs": 10_000}))
            third.settimeout(5)
            answer = third.recv(65536)
        head = answer.partition(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"http/1.1 503 ") and b"retry-after: 1" in head
        assert server.signal("w", {"n": 1}, user="u") == 2  # the parked ones still work
    finally:
        for sock in parked:
            sock.close()


def test_stop_with_a_half_sent_request_is_quick_and_quiet(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Made long, so that a stop waiting for the half-sent request would take 10 s (the stop's
    # own bound), not just the 0.5 s grace a busy response gets.
    monkeypatch.setattr(serve, "_GRACE", 30.0)
    fake = FakeEventServer({KEY: "u"}, limits=ServerLimits(request_timeout=60)).start()
    with connect(fake) as sock, caplog.at_level(logging.INFO):
        sock.sendall(request("/v1/events/e", {"data": {"n": 1}})[:-3])
        for _ in range(3):  # round trips to the server's loop, which reads the socket meanwhile
            fake.active_events(user="u")
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 5.0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_client_hanging_up_mid_body_is_one_info_line(
    server: FakeEventServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pytest_anchor_mfa"):
        with connect(server) as sock:
            sock.sendall(request("/v1/events/e", {"data": {"n": 1}})[:-3])
        server.wait_for_waiters("nothing", 0, user="u")  # one round trip to the loop
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)
    records = [r for r in caplog.records if r.name.startswith("pytest_anchor_mfa")]
    assert records and all(r.levelno == logging.INFO and not r.exc_info for r in records)


def test_kept_signals_are_bounded_in_bytes_and_events(caplog: pytest.LogCaptureFixture) -> None:
    kept = KeptSignals(keep_for=60, queue_limit=10, max_events=3, max_bytes=100, clock=lambda: 0)
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            kept.keep(("u", f"e{n}"), b"x" * 10)
        assert sorted(event for _, event in kept.events()) == ["e2", "e3", "e4"]
        kept.keep(("u", "e4"), b"y" * 90)  # 30 + 90 bytes: the oldest ones go
    assert kept.bytes <= 100
    assert kept.peek(("u", "e4"))[-1] == b"y" * 90
    assert ("u", "e2") not in kept.events()
    assert len([r for r in caplog.records if "dropped the oldest" in r.getMessage()]) >= 3


def test_loop_errors_are_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    handler = LoopErrors(Throttle(clock=lambda: now[0]))
    loop = asyncio.new_event_loop()
    context = {"message": "socket.accept() out of system resource", "exception": OSError(24, "")}
    try:
        with caplog.at_level(logging.ERROR, logger="pytest_anchor_mfa.serving"):
            for _ in range(1000):
                handler(loop, context)
            now[0] += 61
            handler(loop, context)
    finally:
        loop.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "999 more like it" in lines[1]


def test_garbage_requests_are_warned_about_once_a_minute(
    server: FakeEventServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        for _ in range(20):
            with connect(server) as sock:
                sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert read_all(sock).startswith(b"HTTP/1.1 400 ")
    invalid = [r for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert len(invalid) == 1  # not one line per request: a flood cannot fill a disk


def test_throttled_warnings_say_how_many_were_skipped() -> None:
    from pytest_anchor_mfa.runtime.limits import ThrottledWarnings

    logger = logging.getLogger("test.throttled")
    now = [0.0]
    throttled = ThrottledWarnings(logger, every=60, clock=lambda: now[0])
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for _ in range(5):
            throttled.warning("bad request")
        now[0] = 61
        throttled.warning("bad request")
    finally:
        logger.removeHandler(handler)
    assert records == ["bad request", "bad request (and 4 more like it in the last minute)"]
