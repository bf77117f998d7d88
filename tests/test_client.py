"""EventsClient and AsyncEventsClient over real HTTP on loopback.

Against the fake server for the protocol, and against small stand-in servers (served with
``AsgiServer``, or a raw socket server for dropped connections) for what the fake never
does: answering 429/5xx, holding a request, hanging up, echoing the key.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import random
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
import pytest

from pytest_anchor_mfa import (
    AnchorMfaError,
    AsyncEventsClient,
    AuthenticationError,
    ConfigurationError,
    EventsApiError,
    EventsClient,
    EventTimeoutError,
    FakeEventServer,
    InvalidArgumentError,
    InvalidRequestError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from pytest_anchor_mfa.events.core import DEADLINE_GRACE
from pytest_anchor_mfa.runtime.serve import AsgiServer

# The keys of the shared fake server in tests/conftest.py (a test module cannot import a
# conftest: the repository has several). test_fake_server.py checks that they agree.
ALICE_KEY = "sk-test-alice-0123456789abcdef"
BOB_KEY = "sk-test-bob-fedcba9876543210"

FAST = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.005)
SLACK = 1.0
"""Seconds on top of a promised duration, for a loaded machine."""
"""Retries with (almost) no backoff, so retry tests stay fast."""

ENV_VARS = ("ANCHOR_API_KEY", "ANCHORBROWSER_API_KEY", "ANCHOR_BASE_URL", "ANCHORBROWSER_BASE_URL")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(events_server: FakeEventServer) -> Iterator[EventsClient]:
    with EventsClient(ALICE_KEY, events_server.url, retry=FAST) as events:
        yield events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- stand-in servers ---------------------------------------------------------------------------


@dataclass
class Seen:
    """One request a stand-in received."""

    method: str
    raw_path: bytes
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def timeout_ms(self) -> int:
        value = self.body["timeoutMs"]
        assert isinstance(value, int)
        return value


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"data": {"status": "ok"}})
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    delay: float = 0.0
    raw: bytes | None = None


class StandIn:
    """An ASGI app recording every request and answering what ``script(seen, n)`` says."""

    def __init__(self, script: Callable[[Seen, int], Reply]) -> None:
        self.script = script
        self.seen: list[Seen] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        seen = Seen(
            scope["method"],
            scope["raw_path"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            json.loads(raw) if raw else None,
            time.monotonic(),
        )
        self.seen.append(seen)
        reply = self.script(seen, len(self.seen))
        if reply.delay:
            await asyncio.sleep(reply.delay)  # a slow server, on purpose
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        content_type = b"application/json" if reply.raw is None else b"text/html"
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(b"content-type", content_type), *reply.headers],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def error(status: int, message: str = "nope", **kwargs: Any) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message}}, **kwargs)


@pytest.fixture
def stand_in() -> Iterator[Callable[..., tuple[StandIn, str]]]:
    """``stand_in(script)`` -> (app, base URL); every server is stopped after the test."""
    servers: list[AsgiServer] = []

    def start(script: Callable[[Seen, int], Reply], port: int = 0) -> tuple[StandIn, str]:
        app = StandIn(script)
        server = AsgiServer(app, port=port, name="stand-in")
        server.start()
        servers.append(server)
        return app, server.url

    yield start
    for server in servers:
        server.stop()


class _Dropper(socketserver.BaseRequestHandler):
    server: DroppingServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            body += sock.recv(65536)
        with self.server.lock:
            self.server.requests.append(json.loads(body) if body else None)
            attempt = len(self.server.requests)
        if attempt <= self.server.drop_first:
            return  # hang up without a word
        payload = json.dumps(self.server.answer).encode()
        sock.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(payload)}\r\n\r\n".encode()
            + payload
        )


class DroppingServer(socketserver.ThreadingTCPServer):
    """Reads each request, then closes the connection without answering the first ones."""

    daemon_threads = True

    def __init__(self, drop_first: int, answer: Any) -> None:
        super().__init__(("127.0.0.1", 0), _Dropper)
        self.drop_first = drop_first
        self.answer = answer
        self.requests: list[Any] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def dropping() -> Iterator[Callable[[int, Any], DroppingServer]]:
    servers: list[DroppingServer] = []

    def start(drop_first: int, answer: Any) -> DroppingServer:
        server = DroppingServer(drop_first, answer)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# -- round trips against the fake server ------------------------------------------------------


def test_wait_then_signal_round_trip(
    client: EventsClient,
    events_server: FakeEventServer,
    pool: concurrent.futures.ThreadPoolExecutor,
) -> None:
    pending = pool.submit(client.wait, "mfa_code", 8)
    events_server.wait_for_waiters("mfa_code", user="alice")
    with EventsClient(ALICE_KEY, events_server.url) as other:
        status = other.signal("mfa_code", {"code": "123456"})
    assert isinstance(status, str) and status
    assert pending.result(10) == {"code": "123456"}
    assert events_server.history[-1].delivered_to == 1


def test_signal_then_wait_round_trip(client: EventsClient, events_server: FakeEventServer) -> None:
    client.signal("mfa_code", {"code": "000111", "n": [1, 2]})
    assert events_server.kept_signals("mfa_code", user="alice") == [{"code": "000111", "n": [1, 2]}]
    started = time.monotonic()
    assert client.wait("mfa_code", 8) == {"code": "000111", "n": [1, 2]}
    assert time.monotonic() - started < 2


def test_signal_without_data_sends_an_empty_object(
    client: EventsClient, events_server: FakeEventServer
) -> None:
    client.signal("bare")
    assert client.wait("bare", 0) == {}


def test_keys_of_other_users_do_not_see_the_signal(
    client: EventsClient, events_server: FakeEventServer
) -> None:
    client.signal("mine", {"n": 1})
    with EventsClient(BOB_KEY, events_server.url, retry=FAST) as bob:
        assert bob.wait("mine", 0, none_on_timeout=True) is None
    assert client.wait("mine", 0) == {"n": 1}


def test_none_on_timeout_returns_none(client: EventsClient) -> None:
    started = time.monotonic()
    assert client.wait("silent", 0.2, none_on_timeout=True) is None
    assert 0.15 <= time.monotonic() - started < 2


def test_timeout_raises_event_timeout_error(client: EventsClient) -> None:
    started = time.monotonic()
    with pytest.raises(EventTimeoutError) as caught:
        client.wait("silent_event", 0.2)
    assert 0.15 <= time.monotonic() - started < 2
    exc = caught.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, EventsApiError) and isinstance(exc, AnchorMfaError)
    assert exc.status_code == 408
    assert exc.event_name == "silent_event"
    assert exc.timeout == 0.2
    assert "silent_event" in str(exc)


def test_timeout_zero_is_an_immediate_poll(
    client: EventsClient, events_server: FakeEventServer
) -> None:
    started = time.monotonic()
    with pytest.raises(EventTimeoutError):
        client.wait("zero", 0)
    events_server.signal("zero", {"n": 1}, user="alice")
    assert client.wait("zero", 0) == {"n": 1}
    assert time.monotonic() - started < 2


def test_wrong_key_is_authentication_error(events_server: FakeEventServer) -> None:
    wrong = "sk-wrong-key-0000000000000000"
    with EventsClient(wrong, events_server.url, retry=FAST) as events:
        with pytest.raises(AuthenticationError) as caught:
            events.signal("e", {"n": 1})
        with pytest.raises(AuthenticationError):
            events.wait("e", 1)
    assert caught.value.status_code == 401
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert "…0000" in str(caught.value)  # the masked key helps tell which one was refused
    assert events_server.history == []


@pytest.mark.parametrize("status", [400, 401, 404, 405, 413, 500])
@pytest.mark.parametrize("kind", ["signal", "wait"])
def test_client_errors_and_500_are_not_retried(
    stand_in: Callable[..., tuple[StandIn, str]], status: int, kind: str
) -> None:
    app, url = stand_in(lambda seen, n: error(status))
    expected: type[EventsApiError] = {
        400: InvalidRequestError,
        401: AuthenticationError,
        404: InvalidRequestError,
        405: InvalidRequestError,
        413: InvalidRequestError,
        500: ServerError,
    }[status]
    with EventsClient(ALICE_KEY, url, retry=FAST) as events, pytest.raises(expected) as caught:
        if kind == "signal":
            events.signal("e", {"n": 1})
        else:
            events.wait("e", 5)
    assert type(caught.value) is expected
    assert caught.value.status_code == status
    assert caught.value.event_name == "e"
    assert len(app.seen) == 1


def test_invalid_request_error_from_the_fake_server(
    client: EventsClient, events_server: FakeEventServer
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.signal("x" * 257, {"n": 1})
    assert caught.value.status_code == 400
    assert "256" in str(caught.value)
    with pytest.raises(InvalidRequestError) as caught:
        client.wait("x" * 257, 1)
    assert caught.value.status_code == 400
    for name in ("a/b", "a/wait", "x/"):
        with pytest.raises(InvalidRequestError) as caught:
            client.signal(name, {"n": 1})
        assert caught.value.status_code == 404
    assert events_server.history == []


@pytest.mark.parametrize("name", ["", None, 42, b"bytes", "lone\ud800surrogate"])
def test_bad_event_names_are_refused_before_any_request(name: Any) -> None:
    # Nothing listens on the URL: a request would be a TransportError, not this.
    with EventsClient(ALICE_KEY, f"http://127.0.0.1:{free_port()}", retry=FAST) as events:
        with pytest.raises(InvalidArgumentError):
            events.signal(name, {})
        with pytest.raises(InvalidArgumentError):
            events.wait(name, 1)


@pytest.mark.parametrize("timeout", [-1, -0.001, math.nan, math.inf, True, "5", None])
def test_bad_wait_timeouts_are_refused_before_any_request(timeout: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        EventsClient(ALICE_KEY, url, retry=FAST) as events,
        pytest.raises(InvalidArgumentError, match="timeout"),
    ):
        events.wait("e", timeout)


@pytest.mark.parametrize(
    "data",
    [[1, 2], "123456", 123456, {1: "x"}, {"x": object()}, {"x": math.nan}, {"x": "\ud800"}],
    ids=["list", "str", "int", "int-key", "object", "nan", "surrogate"],
)
def test_bad_signal_data_is_refused_before_any_request(data: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        EventsClient(ALICE_KEY, url, retry=FAST) as events,
        pytest.raises(InvalidArgumentError, match="JSON"),
    ):
        events.signal("e", data)


# -- path encoding ------------------------------------------------------------------------------

NAMES = [
    "mfa code",
    "ünïcødé-✓-💥",
    "what?x=1",
    "frag#ment",
    "a/b",
    "a/wait",
    "x/",
    "/",
    "50%",
    "%2F",
    ".",
    "..",
    "...",
    "+&=;,:@!$'()*",
    "back\\slash",
    "tab\tand\nnewline",
]


@pytest.mark.parametrize("name", NAMES)
def test_event_name_reaches_the_server_as_one_path_segment(
    stand_in: Callable[..., tuple[StandIn, str]], name: str
) -> None:
    app, url = stand_in(
        lambda seen, n: (
            Reply(body={"data": {"status": "ok"}})
            if n == 1
            else Reply(body={"data": {"got": "it"}})
        )
    )
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        assert events.signal(name, {"n": 1}) == "ok"
        assert events.wait(name, 1) == {"got": "it"}

    signal_path, wait_path = (seen.raw_path.decode("ascii") for seen in app.seen)
    segments = signal_path.split("/")
    assert segments[:3] == ["", "v1", "events"] and len(segments) == 4
    assert unquote(segments[3]) == name
    assert segments[3] not in (".", "..")
    assert wait_path == signal_path + "/wait"
    assert [seen.method for seen in app.seen] == ["POST", "POST"]


@pytest.mark.parametrize("name", ["mfa code", "ünïcødé ✓", "what?x=1#frag", "50%", "..", "."])
def test_odd_names_round_trip_through_the_fake_server(
    client: EventsClient, events_server: FakeEventServer, name: str
) -> None:
    client.signal(name, {"name": name})
    assert events_server.kept_signals(name, user="alice") == [{"name": name}]
    assert client.wait(name, 0) == {"name": name}


def test_requests_carry_key_and_json_headers(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    app, url = stand_in(lambda seen, n: Reply())
    with EventsClient(ALICE_KEY, url + "/", retry=FAST) as events:
        assert events.base_url == url
        events.signal("e", {"code": "1"})
    (seen,) = app.seen
    assert seen.raw_path == b"/v1/events/e"
    assert seen.headers["anchor-api-key"] == ALICE_KEY
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == {"data": {"code": "1"}}


# -- timeouts -----------------------------------------------------------------------------------
# Real HTTP, so real time: what the server does here takes time. The timeouts each attempt asks
# for, and the deadline whatever the server does, are in test_client_deadlines.py (fake clock,
# and a misbehaving server).


def test_read_timeout_outlives_the_long_poll(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    # The server answers 0.2 s after the poll's timeoutMs ran out (the wait's deadline is far):
    # a read timeout of timeoutMs alone would give up first; timeoutMs plus the 1.5 s margin
    # takes the answer, with 1.3 s to spare.
    app, url = stand_in(
        lambda seen, n: Reply(body={"data": {"late": True}}, delay=seen.timeout_ms / 1000 + 0.2)
    )
    with EventsClient(ALICE_KEY, url, retry=FAST, read_margin=1.5, max_poll=1.0) as events:
        started = time.monotonic()
        assert events.wait("slow", 10) == {"late": True}
        assert time.monotonic() - started >= 1.2
    (seen,) = app.seen
    assert seen.timeout_ms == 1000


@pytest.mark.parametrize("timeout", [0.4, 1.2])
def test_read_timeout_is_timeout_ms_plus_margin(
    stand_in: Callable[..., tuple[StandIn, str]], timeout: float
) -> None:
    # A server that holds the request too long: the client gives up at timeoutMs + read_margin,
    # not at a fixed default (5 s in httpx, 30 s in the client's own default).
    app, url = stand_in(lambda seen, n: Reply(delay=5.0))
    with EventsClient(ALICE_KEY, url, retry=FAST, read_margin=0.2) as events:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            events.wait("stuck", timeout)
        elapsed = time.monotonic() - started
    # It gives up at timeoutMs + read_margin (+ 0.2 s), long before the server's 5 s.
    assert timeout + 0.15 <= elapsed <= timeout + 0.2 + SLACK
    assert "ReadTimeout" in str(caught.value)
    assert len(app.seen) == 1  # the deadline had passed: no retry


def test_max_poll_splits_a_long_wait(
    events_server: FakeEventServer, stand_in: Callable[..., tuple[StandIn, str]]
) -> None:
    app, url = stand_in(lambda seen, n: error(408, "not yet", delay=seen.timeout_ms / 1000))
    with EventsClient(ALICE_KEY, url, retry=FAST, max_poll=0.3) as events:
        started = time.monotonic()
        assert events.wait("e", 1.2, none_on_timeout=True) is None
        elapsed = time.monotonic() - started
    assert len(app.seen) >= 4  # 1.2 s in polls of at most 0.3 s
    assert all(0 <= seen.timeout_ms <= 300 for seen in app.seen)
    assert 1.2 - 0.05 <= elapsed <= 1.2 + DEADLINE_GRACE + SLACK  # the whole wait, no more


def test_max_poll_against_the_fake_server(events_server: FakeEventServer) -> None:
    events_server.signal_later("later", {"code": "9"}, 0.5, user="alice")
    with EventsClient(ALICE_KEY, events_server.url, retry=FAST, max_poll=0.2) as events:
        assert events.wait("later", 5) == {"code": "9"}


def test_early_408_from_the_server_polls_again(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    app, url = stand_in(
        lambda seen, n: error(408, "server cap") if n == 1 else Reply(body={"data": {"n": 2}})
    )
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        assert events.wait("e", 3) == {"n": 2}
    first, second = app.seen
    assert second.timeout_ms < first.timeout_ms <= 3000


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504, 429])
@pytest.mark.parametrize("kind", ["signal", "wait"])
def test_transient_statuses_are_retried_then_succeed(
    stand_in: Callable[..., tuple[StandIn, str]], status: int, kind: str
) -> None:
    ok = Reply(body={"data": {"status": "ok"}} if kind == "signal" else {"data": {"n": 1}})
    app, url = stand_in(lambda seen, n: error(status) if n <= 2 else ok)
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        result = events.signal("e", {"n": 1}) if kind == "signal" else events.wait("e", 5)
    assert result == ("ok" if kind == "signal" else {"n": 1})
    assert len(app.seen) == 3
    if kind == "wait":
        first, second, third = (seen.timeout_ms for seen in app.seen)
        assert 5000 >= first >= second >= third > 4000


@pytest.mark.parametrize(
    ("status", "expected"), [(503, ServerError), (502, ServerError), (429, RateLimitedError)]
)
def test_retries_give_up_after_max_attempts(
    stand_in: Callable[..., tuple[StandIn, str]],
    status: int,
    expected: type[EventsApiError],
) -> None:
    app, url = stand_in(lambda seen, n: error(status, "busy"))
    with EventsClient(ALICE_KEY, url, retry=FAST) as events, pytest.raises(expected) as caught:
        events.wait("e", 5)
    assert len(app.seen) == FAST.max_attempts
    assert caught.value.status_code == status
    assert "busy" in str(caught.value) and "4 attempts" in str(caught.value)


def test_no_retry_policy_tries_once(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    app, url = stand_in(lambda seen, n: error(503))
    policy = RetryPolicy(max_attempts=1)
    with EventsClient(ALICE_KEY, url, retry=policy) as events, pytest.raises(ServerError):
        events.signal("e", {})
    assert len(app.seen) == 1


def test_retried_wait_asks_only_for_the_time_left(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    app, url = stand_in(lambda seen, n: error(503, delay=0.15))
    many = RetryPolicy(max_attempts=100, backoff_initial=0.001, backoff_max=0.005)
    with EventsClient(ALICE_KEY, url, retry=many) as events:
        started = time.monotonic()
        with pytest.raises(ServerError):
            events.wait("e", 1.0)
        elapsed = time.monotonic() - started
    # The last attempt may start just before the deadline and take the stand-in's 0.15 s (the
    # grace covers it). Without the deadline it would take 100 x 0.15 s.
    assert elapsed <= 1.0 + DEADLINE_GRACE + SLACK
    asked = [seen.timeout_ms for seen in app.seen]
    assert len(asked) >= 3
    assert asked == sorted(asked, reverse=True) and len(set(asked)) == len(asked)
    assert asked[0] <= 1000
    # That each attempt asks for exactly the time left is a decision of _Call, asserted on its
    # injected clock: test_client_deadlines.py::test_retried_wait_asks_exactly_for_the_time_left.


def test_retried_signal_keeps_its_deadline(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    app, url = stand_in(lambda seen, n: error(503, delay=0.1))
    many = RetryPolicy(max_attempts=100, backoff_initial=0.001, backoff_max=0.005)
    with EventsClient(ALICE_KEY, url, retry=many, signal_timeout=0.6) as events:
        started = time.monotonic()
        # The last attempt may run out of budget while reading: then it's a read timeout.
        with pytest.raises((ServerError, TransportError)):
            events.signal("e", {})
        assert time.monotonic() - started <= 0.6 + DEADLINE_GRACE + SLACK  # not 100 x 0.1 s
    assert len(app.seen) >= 2


def test_retry_after_is_honoured(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    app, url = stand_in(
        lambda seen, n: (
            error(429, "slow down", headers=[(b"retry-after", b"0.4")]) if n == 1 else Reply()
        )
    )
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        assert events.signal("e", {}) == "ok"
    first, second = app.seen
    assert second.at - first.at >= 0.38  # FAST alone would retry within 5 ms


@pytest.mark.parametrize("kind", ["signal", "wait"])
def test_retry_after_beyond_the_deadline_gives_up_at_once(
    stand_in: Callable[..., tuple[StandIn, str]], kind: str
) -> None:
    app, url = stand_in(lambda seen, n: error(429, headers=[(b"retry-after", b"30")]))
    budget = 2 * SLACK  # waiting it out would take SLACK longer than giving up may
    with EventsClient(ALICE_KEY, url, retry=FAST, signal_timeout=budget) as events:
        started = time.monotonic()
        with pytest.raises(RateLimitedError):
            events.signal("e", {}) if kind == "signal" else events.wait("e", budget)
        assert time.monotonic() - started < budget - SLACK
    assert len(app.seen) == 1


def test_non_json_error_bodies_are_reported(stand_in: Callable[..., tuple[StandIn, str]]) -> None:
    app, url = stand_in(lambda seen, n: Reply(502, raw=b"<html>Bad gateway from proxy</html>"))
    with EventsClient(ALICE_KEY, url, retry=FAST) as events, pytest.raises(ServerError) as caught:
        events.signal("e", {})
    assert "Bad gateway from proxy" in str(caught.value)
    assert len(app.seen) == FAST.max_attempts


def test_unexpected_200_body_is_a_server_error(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    _app, url = stand_in(lambda seen, n: Reply(body={"unexpected": True}))
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        with pytest.raises(ServerError) as caught:
            events.wait("e", 1)
        assert caught.value.status_code == 200
        with pytest.raises(ServerError):
            events.signal("e", {})


def test_extra_fields_in_answers_are_tolerated(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    _app, url = stand_in(
        lambda seen, n: Reply(body={"data": {"status": "sent", "id": 7}, "meta": {}})
    )
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        assert events.signal("e", {}) == "sent"


def test_wait_is_retried_after_a_dropped_connection(
    dropping: Callable[[int, Any], DroppingServer],
) -> None:
    server = dropping(1, {"data": {"code": "42"}})
    with EventsClient(ALICE_KEY, server.url, retry=FAST) as events:
        assert events.wait("e", 5) == {"code": "42"}
    first, second = server.requests
    assert second["timeoutMs"] <= first["timeoutMs"] <= 5000


def test_signal_is_not_resent_after_a_dropped_connection(
    dropping: Callable[[int, Any], DroppingServer],
) -> None:
    server = dropping(1, {"data": {"status": "ok"}})
    with (
        EventsClient(ALICE_KEY, server.url, retry=FAST) as events,
        pytest.raises(TransportError) as caught,
    ):
        events.signal("e", {"code": "1"})
    assert caught.value.maybe_delivered is True
    assert caught.value.event_name == "e"
    assert "not resent" in str(caught.value)
    assert server.requests == [{"data": {"code": "1"}}]


def test_signal_is_not_resent_after_a_read_timeout(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    app, url = stand_in(lambda seen, n: Reply(delay=3.0))
    with EventsClient(ALICE_KEY, url, retry=FAST, signal_timeout=0.3) as events:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            events.signal("e", {"code": "1"})
        assert time.monotonic() - started < 0.3 + DEADLINE_GRACE + SLACK  # not the server's 3 s
    assert caught.value.maybe_delivered is True
    assert len(app.seen) == 1


def test_connect_errors_are_retried_until_the_attempts_run_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        caplog.at_level(logging.INFO, logger="pytest_anchor_mfa.client"),
        EventsClient(ALICE_KEY, url, retry=FAST) as events,
        pytest.raises(TransportError) as caught,
    ):
        events.signal("e", {"code": "1"})
    assert caught.value.maybe_delivered is False
    assert "ConnectError" in str(caught.value)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == FAST.max_attempts - 1
    assert all("ConnectError" in r.getMessage() for r in retries)


class _StartOnFirstRetry(logging.Handler):
    """Starts the server the client failed to reach, when the client logs its first retry."""

    def __init__(self, start: Callable[[], object]) -> None:
        super().__init__(logging.INFO)
        self.start = start
        self.started = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.started and "retrying" in record.getMessage():
            self.started = True
            self.start()


@pytest.mark.parametrize("kind", ["signal", "wait"])
def test_connect_error_then_success(
    stand_in: Callable[..., tuple[StandIn, str]], caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    port = free_port()
    apps: list[StandIn] = []
    ok = Reply(body={"data": {"status": "ok"}} if kind == "signal" else {"data": {"n": 1}})
    handler = _StartOnFirstRetry(lambda: apps.append(stand_in(lambda s, n: ok, port=port)[0]))
    logger = logging.getLogger("pytest_anchor_mfa.client")
    logger.addHandler(handler)
    try:
        with (
            caplog.at_level(logging.INFO, logger="pytest_anchor_mfa.client"),
            EventsClient(ALICE_KEY, f"http://127.0.0.1:{port}", retry=FAST) as events,
        ):
            result = events.signal("e", {"n": 1}) if kind == "signal" else events.wait("e", 5)
    finally:
        logger.removeHandler(handler)
    assert handler.started
    assert result == ("ok" if kind == "signal" else {"n": 1})
    assert len(apps[0].seen) == 1


def test_retry_policy_validation_and_jitter() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(backoff_initial=-1)
    with pytest.raises(ConfigurationError):
        RetryPolicy(backoff_max=-0.1)
    policy = RetryPolicy(backoff_initial=0.2, backoff_max=1.0)
    rng = random.Random(1)
    for retry_number, cap in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (10, 1.0)]:
        delays = [policy.delay(retry_number, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # full jitter spans the range


@pytest.mark.parametrize(
    "kwargs",
    [{"signal_timeout": 0}, {"read_margin": -1}, {"max_poll": 0}, {"connect_timeout": 0}],
)
def test_client_rejects_bad_timeouts(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        EventsClient(ALICE_KEY, "http://127.0.0.1:1", **kwargs)  # type: ignore[arg-type]


# -- secrets ------------------------------------------------------------------------------------


def test_key_is_not_in_the_client_repr(events_server: FakeEventServer) -> None:
    with EventsClient(ALICE_KEY, events_server.url) as events:
        text = repr(events)
    assert ALICE_KEY not in text
    assert events_server.url in text and "…cdef" in text


def _all_text(exc: BaseException) -> str:
    return "\n".join(
        [str(exc), repr(exc), *traceback.format_exception(exc), str(getattr(exc, "message", ""))]
    )


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_key_echoed_by_the_server_never_reaches_exceptions_or_logs(
    stand_in: Callable[..., tuple[StandIn, str]], caplog: pytest.LogCaptureFixture, status: int
) -> None:
    app, url = stand_in(lambda seen, n: error(status, f"bad key {seen.headers['anchor-api-key']}!"))
    caplog.set_level(logging.DEBUG)
    with EventsClient(ALICE_KEY, url, retry=FAST) as events:
        for call in (lambda: events.signal("e", {}), lambda: events.wait("e", 1)):
            with pytest.raises(EventsApiError) as caught:
                call()
            assert caught.value.status_code == status
            assert "bad key" in str(caught.value)
            assert ALICE_KEY not in _all_text(caught.value)
    assert app.seen and all(s.headers["anchor-api-key"] == ALICE_KEY for s in app.seen)
    assert caplog.records  # the retries and httpx did log something
    for record in caplog.records:
        assert ALICE_KEY not in record.getMessage()


def test_key_echoed_in_a_plain_text_body_is_scrubbed(
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    _app, url = stand_in(lambda seen, n: Reply(400, raw=f"key={ALICE_KEY}".encode()))
    with (
        EventsClient(ALICE_KEY, url, retry=FAST) as events,
        pytest.raises(InvalidRequestError) as caught,
    ):
        events.signal("e", {})
    assert ALICE_KEY not in _all_text(caught.value)


def test_key_is_not_in_transport_errors_or_logs(
    dropping: Callable[[int, Any], DroppingServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = dropping(100, None)
    with EventsClient(ALICE_KEY, server.url, retry=FAST) as events:
        with pytest.raises(TransportError) as caught:
            events.wait("e", 2)
        with pytest.raises(TransportError) as caught_signal:
            events.signal("e", {})
    assert len(server.requests) == FAST.max_attempts + 1
    for exc in (caught.value, caught_signal.value):
        assert ALICE_KEY not in _all_text(exc)
    for record in caplog.records:
        assert ALICE_KEY not in record.getMessage()


# -- settings from the environment ------------------------------------------------------------


def test_key_and_url_from_anchor_env_vars(
    events_server: FakeEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_API_KEY", BOB_KEY)
    monkeypatch.setenv("ANCHOR_BASE_URL", events_server.url)
    with EventsClient(retry=FAST) as events:
        assert events.base_url == events_server.url
        events.signal("env", {"n": 1})
    assert events_server.kept_signals("env", user="bob") == [{"n": 1}]


def test_sdk_env_var_names_are_the_fallback(
    events_server: FakeEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHORBROWSER_API_KEY", BOB_KEY)
    monkeypatch.setenv("ANCHORBROWSER_BASE_URL", events_server.url)
    with EventsClient(retry=FAST) as events:
        events.signal("env", {"n": 1})
    assert events_server.kept_signals("env", user="bob") == [{"n": 1}]


def test_anchor_names_win_over_sdk_names(
    events_server: FakeEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_API_KEY", BOB_KEY)
    monkeypatch.setenv("ANCHORBROWSER_API_KEY", ALICE_KEY)
    monkeypatch.setenv("ANCHOR_BASE_URL", events_server.url)
    monkeypatch.setenv("ANCHORBROWSER_BASE_URL", "http://127.0.0.1:1")
    with EventsClient(retry=FAST) as events:
        events.signal("env", {"n": 1})
    assert events_server.kept_signals("env", user="bob") == [{"n": 1}]
    assert events_server.kept_signals("env", user="alice") == []


def test_blank_env_vars_are_skipped(
    events_server: FakeEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_API_KEY", "   ")
    monkeypatch.setenv("ANCHORBROWSER_API_KEY", BOB_KEY)
    monkeypatch.setenv("ANCHOR_BASE_URL", "")
    monkeypatch.setenv("ANCHORBROWSER_BASE_URL", events_server.url)
    with EventsClient(retry=FAST) as events:
        events.signal("env", {"n": 1})
    assert events_server.kept_signals("env", user="bob") == [{"n": 1}]


def test_arguments_win_over_the_environment(
    events_server: FakeEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_API_KEY", BOB_KEY)
    monkeypatch.setenv("ANCHOR_BASE_URL", "http://127.0.0.1:1")
    with EventsClient(ALICE_KEY, events_server.url, retry=FAST) as events:
        events.signal("env", {"n": 1})
    assert events_server.kept_signals("env", user="alice") == [{"n": 1}]


def test_default_base_url_is_the_service() -> None:
    with EventsClient(ALICE_KEY) as events:
        assert events.base_url == "https://api.anchorbrowser.io"


@pytest.mark.parametrize("client_type", [EventsClient, AsyncEventsClient])
def test_missing_key_names_the_env_var(client_type: type[Any]) -> None:
    with pytest.raises(ConfigurationError, match="ANCHOR_API_KEY"):
        client_type(base_url="http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="ANCHOR_API_KEY"):
        client_type("  ", base_url="http://127.0.0.1:1")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com", "not a url", "http://", "example.com", "http://h/?q=1", "http://h/#x"],
)
def test_bad_base_url_is_a_configuration_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError):
        EventsClient(ALICE_KEY, url)
    monkeypatch.setenv("ANCHOR_BASE_URL", url)
    with pytest.raises(ConfigurationError):
        EventsClient(ALICE_KEY)


# -- SDK-style aliases --------------------------------------------------------------------------


def test_sdk_style_aliases(client: EventsClient, events_server: FakeEventServer) -> None:
    assert isinstance(client.signal_event("sdk", {"code": "5"}), str)
    assert client.wait_for_event("sdk", timeout_ms=1000) == {"code": "5"}
    started = time.monotonic()
    with pytest.raises(EventTimeoutError) as caught:
        client.wait_for_event("sdk", timeout_ms=200)
    assert 0.15 <= time.monotonic() - started < 2
    assert caught.value.timeout == 0.2


# -- async --------------------------------------------------------------------------------------


@pytest.fixture
def async_client_factory(
    events_server: FakeEventServer,
) -> Callable[..., AsyncEventsClient]:
    def make(**kwargs: Any) -> AsyncEventsClient:
        kwargs.setdefault("retry", FAST)
        return AsyncEventsClient(
            kwargs.pop("api_key", ALICE_KEY), kwargs.pop("base_url", events_server.url), **kwargs
        )

    return make


@pytest.mark.anyio
async def test_async_wait_then_signal(
    async_client_factory: Callable[..., AsyncEventsClient], events_server: FakeEventServer
) -> None:
    async with async_client_factory() as events:
        scheduled = events_server.signal_when_waiting("amfa", {"code": "777"}, timeout=5)
        assert await events.wait("amfa", 5) == {"code": "777"}
    assert scheduled.result(5) == 1


@pytest.mark.anyio
async def test_async_concurrent_waiters_and_signal(
    async_client_factory: Callable[..., AsyncEventsClient], events_server: FakeEventServer
) -> None:
    results: list[dict[str, Any]] = []
    async with async_client_factory() as events:

        async def waiter() -> None:
            results.append(await events.wait("fanout", 5))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(waiter)
            await anyio.to_thread.run_sync(
                lambda: events_server.wait_for_waiters("fanout", 3, user="alice")
            )
            status = await events.signal("fanout", {"code": "3"})
    assert isinstance(status, str)
    assert results == [{"code": "3"}] * 3


@pytest.mark.anyio
async def test_async_signal_then_wait_and_aliases(
    async_client_factory: Callable[..., AsyncEventsClient],
) -> None:
    async with async_client_factory() as events:
        await events.signal("a", {"n": 1})
        await events.signal_event("a", {"n": 2})
        assert await events.wait("a", 1) == {"n": 1}
        assert await events.wait_for_event("a", timeout_ms=1000) == {"n": 2}
        assert await events.wait("a", 0.1, none_on_timeout=True) is None
        with pytest.raises(EventTimeoutError) as caught:
            await events.wait_for_event("a", timeout_ms=100)
    assert caught.value.event_name == "a"


@pytest.mark.anyio
async def test_async_wrong_key_and_repr(
    async_client_factory: Callable[..., AsyncEventsClient], events_server: FakeEventServer
) -> None:
    wrong = "sk-wrong-async-000000000000"
    async with async_client_factory(api_key=wrong) as events:
        assert wrong not in repr(events)
        with pytest.raises(AuthenticationError) as caught:
            await events.wait("e", 1)
    assert wrong not in _all_text(caught.value)


@pytest.mark.anyio
async def test_async_retries_on_503_with_the_deadline(
    async_client_factory: Callable[..., AsyncEventsClient],
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    app, url = stand_in(lambda seen, n: error(503) if n <= 2 else Reply(body={"data": {"n": 3}}))
    async with async_client_factory(base_url=url) as events:
        assert await events.wait("e", 5) == {"n": 3}
    asked = [seen.timeout_ms for seen in app.seen]
    assert len(asked) == 3 and asked == sorted(asked, reverse=True)


@pytest.mark.anyio
async def test_async_read_timeout_outlives_the_long_poll(
    async_client_factory: Callable[..., AsyncEventsClient],
    stand_in: Callable[..., tuple[StandIn, str]],
) -> None:
    _app, url = stand_in(
        lambda seen, n: Reply(body={"data": {"ok": 1}}, delay=seen.timeout_ms / 1000 - 0.1)
    )
    async with async_client_factory(base_url=url, read_margin=0.3) as events:
        assert await events.wait("e", 1.0) == {"ok": 1}


@pytest.mark.anyio
async def test_async_dropped_connection(
    async_client_factory: Callable[..., AsyncEventsClient],
    dropping: Callable[[int, Any], DroppingServer],
) -> None:
    waits = dropping(1, {"data": {"n": 1}})
    async with async_client_factory(base_url=waits.url) as events:
        assert await events.wait("e", 5) == {"n": 1}
    assert len(waits.requests) == 2
    signals = dropping(1, {"data": {"status": "ok"}})
    async with async_client_factory(base_url=signals.url) as events:
        with pytest.raises(TransportError) as caught:
            await events.signal("e", {})
    assert caught.value.maybe_delivered is True
    assert len(signals.requests) == 1


@pytest.mark.anyio
async def test_async_cancellation_leaves_no_waiter_behind(
    async_client_factory: Callable[..., AsyncEventsClient], events_server: FakeEventServer
) -> None:
    async with async_client_factory() as events:
        with anyio.move_on_after(0.3) as scope:
            await events.wait("cancelled", 30)
        assert scope.cancelled_caught

    def forgotten() -> bool:
        deadline = time.monotonic() + 5
        while events_server.pending_waiters("cancelled", user="alice"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    assert await anyio.to_thread.run_sync(forgotten)
    await _signal_is_kept(events_server)


async def _signal_is_kept(events_server: FakeEventServer) -> None:
    delivered = await anyio.to_thread.run_sync(
        lambda: events_server.signal("cancelled", {"n": 1}, user="alice")
    )
    assert delivered == 0
