"""The fake event server against the contract (``shared/spec/events-api.md``), over real HTTP.

Every row of the spec's tables and every "Decided here" rule has a test here; requests are
made by hand with httpx so malformed input can be sent.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pytest_anchor_mfa.errors import (
    ConfigurationError,
    InvalidArgumentError,
    WaitersTimeoutError,
)
from pytest_anchor_mfa.server.fake import MAX_BODY_BYTES, FakeEventServer
from pytest_anchor_mfa.server.store import MemoryStore

# The keys of the shared fake server in tests/conftest.py (a test module cannot import a
# conftest: the repository has several). test_fake_server.py checks that they agree.
ALICE_KEY = "sk-test-alice-0123456789abcdef"
ALICE_KEY_2 = "sk-test-alice-second-9876543210"
BOB_KEY = "sk-test-bob-fedcba9876543210"
TEST_KEYS = {ALICE_KEY: "alice", ALICE_KEY_2: "alice", BOB_KEY: "bob"}

WAIT_S = 10.0  # upper bound of any long poll a test starts; tests end them much sooner


# -- helpers ---------------------------------------------------------------------------------


def post(
    server: FakeEventServer,
    path: str,
    body: Any = None,
    *,
    key: str | bytes | None = ALICE_KEY,
    content: bytes | None = None,
    timeout: float = WAIT_S + 5,
) -> httpx.Response:
    """One POST on a fresh connection (safe from any thread)."""
    headers: dict[str, str | bytes] = {} if key is None else {"anchor-api-key": key}
    with fresh_client(timeout) as client:
        if content is not None:
            return client.post(server.url + path, headers=headers, content=content)
        return client.post(server.url + path, headers=headers, json=body)


def fresh_client(timeout: float = WAIT_S + 5) -> httpx.Client:
    # Plain HTTP on loopback: skipping the CA bundle makes a client 30x cheaper to build.
    return httpx.Client(timeout=timeout, verify=False)


def signal(
    server: FakeEventServer, event: str, data: dict[str, Any], *, key: str = ALICE_KEY
) -> str:
    response = post(server, f"/v1/events/{event}", {"data": data}, key=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"} and set(body["data"]) == {"status"}
    status = body["data"]["status"]
    assert isinstance(status, str) and status
    return status


def wait(
    server: FakeEventServer, event: str, timeout_ms: int | None = None, *, key: str = ALICE_KEY
) -> httpx.Response:
    body = None if timeout_ms is None else {"timeoutMs": timeout_ms}
    return post(server, f"/v1/events/{event}/wait", body, key=key)


def data_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    assert isinstance(body["data"], dict)
    return body["data"]


def assert_envelope(response: httpx.Response, status: int) -> str:
    """The spec's error envelope with ``code`` equal to the HTTP status; returns the message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip()
    return message


def eventually(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``predicate`` until true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.005)


class FakeClock:
    """A store clock that moves only when the test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record_parks(server: FakeEventServer) -> list[tuple[str, str]]:
    """The (user, event) of every wait that parks on ``server`` from now on.

    "At once" means "without parking": a wait that parks, even briefly, shows up here, whatever
    the speed of the machine. Only for a dedicated server (a listener cannot be removed).
    """
    parks: list[tuple[str, str]] = []

    def listener(what: str, user: str, event: str) -> None:
        if what == "waiting":
            parks.append((user, event))

    server.store.add_listener(listener)
    return parks


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeEventServer]]:
    """Start a dedicated server with custom settings; stopped after the test."""
    started: list[FakeEventServer] = []

    def make(**kwargs: Any) -> FakeEventServer:
        kwargs.setdefault("api_keys", TEST_KEYS)
        server = FakeEventServer(kwargs.pop("api_keys"), **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def test_the_shared_server_accepts_the_keys_the_test_modules_use(
    events_server: FakeEventServer,
) -> None:
    assert events_server.api_keys == TEST_KEYS


# -- flow patterns -----------------------------------------------------------------------------


def test_wait_then_signal_unblocks_the_wait(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    pending = pool.submit(wait, events_server, "mfa_code", 8000)
    events_server.wait_for_waiters("mfa_code", user="alice")
    assert not pending.done()

    signal(events_server, "mfa_code", {"code": "123456"})

    assert data_of(pending.result(WAIT_S)) == {"code": "123456"}
    assert events_server.pending_waiters("mfa_code", user="alice") == 0
    assert events_server.kept_signals("mfa_code", user="alice") == []


def test_signal_then_wait_is_kept_and_returned_at_once(
    make_server: Callable[..., FakeEventServer],
) -> None:
    server = make_server()
    parks = record_parks(server)
    signal(server, "mfa_code", {"code": "654321", "extra": [1, {"x": None}]})
    assert server.kept_signals("mfa_code", user="alice") == [
        {"code": "654321", "extra": [1, {"x": None}]}
    ]

    response = wait(server, "mfa_code", 8000)

    assert parks == []  # at once: the wait never parked (nor waited for the 8 s poll)
    assert data_of(response) == {"code": "654321", "extra": [1, {"x": None}]}
    assert server.kept_signals("mfa_code", user="alice") == []


@pytest.mark.parametrize("waiters", [2, 5])
def test_a_signal_reaches_every_waiter_and_is_not_kept(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor, waiters: int
) -> None:
    pending = [pool.submit(wait, events_server, "broadcast", 8000) for _ in range(waiters)]
    events_server.wait_for_waiters("broadcast", count=waiters, user="alice")

    signal(events_server, "broadcast", {"code": "111111"})

    for future in pending:
        assert data_of(future.result(WAIT_S)) == {"code": "111111"}
    (record,) = events_server.history
    assert record.delivered_to == waiters
    # Delivered, hence not kept: the next wait finds nothing.
    assert events_server.kept_signals("broadcast", user="alice") == []
    assert_envelope(wait(events_server, "broadcast", 0), 408)


def test_signal_status_tells_delivered_from_kept(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    kept_status = signal(events_server, "status", {"n": 1})
    assert data_of(wait(events_server, "status", 0)) == {"n": 1}
    pending = pool.submit(wait, events_server, "status", 8000)
    events_server.wait_for_waiters("status", user="alice")
    delivered_status = signal(events_server, "status", {"n": 2})
    assert data_of(pending.result(WAIT_S)) == {"n": 2}
    assert kept_status != delivered_status
    assert [r.delivered_to for r in events_server.history] == [0, 1]


def test_kept_signals_queue_fifo_and_each_is_consumed_once(
    events_server: FakeEventServer,
) -> None:
    for n in range(1, 4):
        signal(events_server, "fifo", {"n": n})
    assert events_server.kept_signals("fifo", user="alice") == [{"n": 1}, {"n": 2}, {"n": 3}]

    assert data_of(wait(events_server, "fifo", 0)) == {"n": 1}
    assert data_of(wait(events_server, "fifo", 1000, key=ALICE_KEY_2)) == {"n": 2}
    assert data_of(wait(events_server, "fifo", 0)) == {"n": 3}
    assert_envelope(wait(events_server, "fifo", 0), 408)


def test_kept_signals_expire(make_server: Callable[..., FakeEventServer]) -> None:
    # Expiry reads the store's clock: an injected one makes it exact, at any machine speed.
    clock = FakeClock()
    start = clock.now
    server = make_server(store=MemoryStore(keep_for=60, clock=clock))
    signal(server, "short_lived", {"code": "1"})
    assert server.kept_signals("short_lived", user="alice") == [{"code": "1"}]
    clock.now = start + 59.5
    assert server.kept_signals("short_lived", user="alice") == [{"code": "1"}]

    clock.now = start + 60  # keep_for after it was kept: expired
    assert server.kept_signals("short_lived", user="alice") == []
    # An expired signal is not handed to a wait either, and does not sit before a newer one.
    assert_envelope(wait(server, "short_lived", 0), 408)
    signal(server, "short_lived", {"code": "2"})
    assert data_of(wait(server, "short_lived", 1000)) == {"code": "2"}


def test_queue_is_bounded_dropping_the_oldest_with_a_warning(
    make_server: Callable[..., FakeEventServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(store=MemoryStore(queue_limit=3))
    with caplog.at_level(logging.WARNING, logger="pytest_anchor_mfa.server"):
        for n in range(1, 6):
            signal(server, "bounded", {"n": n})

    assert server.kept_signals("bounded", user="alice") == [{"n": 3}, {"n": 4}, {"n": 5}]
    drops = [
        r
        for r in caplog.records
        if r.name == "pytest_anchor_mfa.server" and r.levelno == logging.WARNING
    ]
    assert len(drops) == 2
    assert all("bounded" in r.getMessage() for r in drops)
    assert [data_of(wait(server, "bounded", 0)) for _ in range(3)] == [
        {"n": 3},
        {"n": 4},
        {"n": 5},
    ]
    assert_envelope(wait(server, "bounded", 0), 408)


# -- users and keys -----------------------------------------------------------------------------


def test_two_keys_of_one_user_share_events(events_server: FakeEventServer) -> None:
    signal(events_server, "shared", {"code": "1"}, key=ALICE_KEY)
    assert data_of(wait(events_server, "shared", 0, key=ALICE_KEY_2)) == {"code": "1"}
    signal(events_server, "shared", {"code": "2"}, key=ALICE_KEY_2)
    assert data_of(wait(events_server, "shared", 0, key=ALICE_KEY)) == {"code": "2"}


def test_different_users_never_share_kept_signals(events_server: FakeEventServer) -> None:
    signal(events_server, "private", {"code": "alice"}, key=ALICE_KEY)
    assert_envelope(wait(events_server, "private", 0, key=BOB_KEY), 408)
    assert events_server.kept_signals("private", user="alice") == [{"code": "alice"}]
    assert events_server.kept_signals("private", user="bob") == []
    assert data_of(wait(events_server, "private", 0, key=ALICE_KEY_2)) == {"code": "alice"}


def test_a_signal_of_one_user_does_not_wake_another_users_waiter(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    bobs_wait = pool.submit(wait, events_server, "private", 8000, key=BOB_KEY)
    events_server.wait_for_waiters("private", user="bob")

    signal(events_server, "private", {"code": "alice"}, key=ALICE_KEY)
    assert events_server.history[-1].delivered_to == 0  # kept for Alice, not given to Bob
    assert events_server.pending_waiters("private", user="bob") == 1
    assert not bobs_wait.done()

    signal(events_server, "private", {"code": "bob"}, key=BOB_KEY)
    assert data_of(bobs_wait.result(WAIT_S)) == {"code": "bob"}
    assert events_server.kept_signals("private", user="alice") == [{"code": "alice"}]


def test_plain_iterable_of_keys_gives_each_key_its_own_user(
    make_server: Callable[..., FakeEventServer],
) -> None:
    server = make_server(api_keys=["sk-one-key-000000000000", "sk-two-key-000000000000"])
    assert server.api_key == "sk-one-key-000000000000"
    signal(server, "e", {"n": 1}, key="sk-one-key-000000000000")
    assert_envelope(wait(server, "e", 0, key="sk-two-key-000000000000"), 408)
    assert data_of(wait(server, "e", 0, key="sk-one-key-000000000000")) == {"n": 1}


def test_default_server_makes_a_random_key() -> None:
    with FakeEventServer() as one, FakeEventServer() as two:
        assert one.api_key != two.api_key
        assert one.api_key.startswith("sk-")
        signal(one, "e", {"n": 1}, key=one.api_key)
        assert_envelope(post(one, "/v1/events/e", {"data": {}}, key=two.api_key), 401)
        assert one.api_key not in repr(one)


# -- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal_prefix", "wait_prefix"), [("/api/v1", "/v1"), ("/v1", "/api/v1"), ("/api/v1",) * 2]
)
def test_api_v1_prefix_is_accepted_and_is_the_same_event(
    events_server: FakeEventServer, signal_prefix: str, wait_prefix: str
) -> None:
    response = post(events_server, f"{signal_prefix}/events/prefixed", {"data": {"n": 1}})
    assert response.status_code == 200, response.text
    assert data_of(
        post(events_server, f"{wait_prefix}/events/prefixed/wait", {"timeoutMs": 0})
    ) == {"n": 1}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v1/events",
        "/v1/events/",
        "/v1/events//wait",
        "/api/v1/events/",
        "/v2/events/x",
        "/api/v2/events/x",
        "/v1/event/x",
        "/v1/events/x/wait/more",
        "/v1/events/x/y",
        "/v1/events/x/",
        "/v1/events/x/wait/",
        "/v1/events/a%2Fb",
        "/v1/events/a%2Fwait",
        "/v1/events/a%2fwait",
        "/api/v1/events/a%2Fwait",
        "/v1/events/%2F",
        "/v1/events/a%2F/wait",
    ],
)
def test_unknown_paths_and_names_with_a_slash_are_404(
    events_server: FakeEventServer, path: str
) -> None:
    # A kept signal on "a" must not be taken by a request whose name only decodes to "a/wait".
    signal(events_server, "a", {"n": 1})
    response = post(events_server, path, {"data": {"n": 2}, "timeoutMs": 0})
    assert_envelope(response, 404)
    assert events_server.kept_signals("a", user="alice") == [{"n": 1}]
    assert len(events_server.history) == 1


def test_unknown_path_is_404_before_authentication(events_server: FakeEventServer) -> None:
    assert_envelope(post(events_server, "/nope", {}, key=None), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize(
    "path", ["/v1/events/x", "/v1/events/x/wait", "/api/v1/events/x", "/api/v1/events/x/wait"]
)
def test_wrong_methods_are_405(events_server: FakeEventServer, method: str, path: str) -> None:
    with fresh_client() as client:
        response = client.request(
            method, events_server.url + path, headers={"anchor-api-key": ALICE_KEY}
        )
    message = assert_envelope(response, 405)
    assert method in message


def test_head_is_405_too(events_server: FakeEventServer) -> None:
    with fresh_client() as client:
        response = client.head(events_server.url + "/v1/events/x")
    assert response.status_code == 405


def test_event_name_length_limit_is_256_characters(events_server: FakeEventServer) -> None:
    for name in ("x" * 256, "é" * 256, "💥" * 256):
        signal(events_server, name, {"ok": True})
        assert data_of(wait(events_server, name, 0)) == {"ok": True}
    for name in ("x" * 257, "é" * 257):
        message = assert_envelope(post(events_server, f"/v1/events/{name}", {"data": {}}), 400)
        assert "256" in message
        assert_envelope(post(events_server, f"/v1/events/{name}/wait", {"timeoutMs": 0}), 400)
    assert len(events_server.history) == 3


def test_event_names_are_decoded_once(events_server: FakeEventServer) -> None:
    # "%2541" is the name "%41", not "A".
    signal(events_server, "%2541", {"n": 1})
    assert events_server.kept_signals("%41", user="alice") == [{"n": 1}]
    assert events_server.kept_signals("A", user="alice") == []
    signal(events_server, "with%20space%3F%23", {"n": 2})
    assert events_server.kept_signals("with space?#", user="alice") == [{"n": 2}]


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/v1/events/e", "/v1/events/e/wait"])
@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "wrong",
        ALICE_KEY.upper(),
        ALICE_KEY + "x",
        ALICE_KEY[:-1],
        ALICE_KEY[:5] + " " + ALICE_KEY[5:],
        ALICE_KEY.encode() + b"\xe9",
    ],
    ids=["missing", "empty", "wrong", "upper", "longer", "prefix", "inner-space", "latin1"],
)
def test_missing_or_invalid_key_is_401(
    events_server: FakeEventServer, endpoint: str, key: str | bytes | None
) -> None:
    signal(events_server, "e", {"n": 1})
    response = post(events_server, endpoint, {"data": {"n": 2}, "timeoutMs": 0}, key=key)
    message = assert_envelope(response, 401)
    assert ALICE_KEY not in message
    assert events_server.kept_signals("e", user="alice") == [{"n": 1}]  # nothing consumed
    assert len(events_server.history) == 1


@pytest.mark.parametrize("keys", [(ALICE_KEY, BOB_KEY), (ALICE_KEY, ALICE_KEY), ("wrong", BOB_KEY)])
def test_a_duplicated_key_header_is_400(
    events_server: FakeEventServer, keys: tuple[str, str]
) -> None:
    """Two keys are never resolved silently to one of them (Alice's then Bob's used to be Alice)."""
    signal(events_server, "e", {"n": 1})
    with fresh_client() as client:
        response = client.post(
            events_server.url + "/v1/events/e/wait",
            headers=[("anchor-api-key", keys[0]), ("anchor-api-key", keys[1])],
            json={"timeoutMs": 0},
        )
    message = assert_envelope(response, 400)
    assert "anchor-api-key" in message and ALICE_KEY not in message
    assert events_server.kept_signals("e", user="alice") == [{"n": 1}]  # nothing consumed


def test_key_header_name_is_case_insensitive(events_server: FakeEventServer) -> None:
    with fresh_client() as client:
        response = client.post(
            events_server.url + "/v1/events/e",
            headers={"Anchor-API-Key": ALICE_KEY},
            json={"data": {}},
        )
    assert response.status_code == 200


# -- bad bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   ",
        b"{not json",
        b'{"data": {}',
        b"\xff\xfe\x00",
        b"[]",
        b'"data"',
        b"42",
        b"null",
        b"true",
        b"{}",
        b'{"dat": {}}',
        b'{"data": null}',
        b'{"data": []}',
        b'{"data": "123456"}',
        b'{"data": 123456}',
        b'{"data": true}',
        b'{"data": {"x": NaN}}',
        b'{"data": {"x": Infinity}}',
        b'{"data": {"x": -Infinity}}',
        b'{"data": {"x": "\\ud800"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"data": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
    ],
)
def test_bad_signal_bodies_are_400(events_server: FakeEventServer, content: bytes) -> None:
    response = post(events_server, "/v1/events/bad", content=content)
    assert_envelope(response, 400)
    assert events_server.history == []
    assert_envelope(wait(events_server, "bad", 0), 408)


def test_signal_400_message_says_data_is_required(events_server: FakeEventServer) -> None:
    message = assert_envelope(post(events_server, "/v1/events/e", {}), 400)
    assert "data" in message


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'"x"', b"0", b'{"timeoutMs": NaN}', b'{"timeoutMs": "\\udc00"}'],
)
def test_bad_wait_bodies_are_400(events_server: FakeEventServer, content: bytes) -> None:
    signal(events_server, "bad", {"n": 1})
    response = post(events_server, "/v1/events/bad/wait", content=content)
    assert_envelope(response, 400)
    assert events_server.kept_signals("bad", user="alice") == [{"n": 1}]


@pytest.mark.parametrize(
    "value",
    [-1, -600_000, 1.5, 1.0, 0.0, 1e3, True, False, "100", "", None, [], {}, 600_001, 10**30],
    ids=repr,
)
def test_invalid_timeout_ms_is_400_naming_the_field_and_range(
    events_server: FakeEventServer, value: Any
) -> None:
    signal(events_server, "t", {"n": 1})
    response = post(events_server, "/v1/events/t/wait", {"timeoutMs": value})
    message = assert_envelope(response, 400)
    assert "timeoutMs" in message
    assert "600000" in message and "0" in message
    assert events_server.kept_signals("t", user="alice") == [{"n": 1}]  # not consumed


def test_timeout_ms_zero_is_408_at_once(make_server: Callable[..., FakeEventServer]) -> None:
    server = make_server()
    parks = record_parks(server)
    message = assert_envelope(wait(server, "nothing", 0), 408)
    assert parks == []  # at once: the wait never parked
    assert "nothing" in message


def test_timeout_ms_zero_returns_a_kept_signal(events_server: FakeEventServer) -> None:
    signal(events_server, "zero", {"code": "0"})
    assert data_of(wait(events_server, "zero", 0)) == {"code": "0"}


def test_timeout_ms_max_is_accepted_and_max_plus_one_is_not(
    make_server: Callable[..., FakeEventServer],
) -> None:
    server = make_server()
    parks = record_parks(server)
    assert server.max_timeout_ms == 600_000
    signal(server, "max", {"n": 1})
    assert_envelope(wait(server, "max", 600_001), 400)
    assert data_of(wait(server, "max", 600_000)) == {"n": 1}
    assert parks == []  # the kept signal came at once: the wait never parked


def test_configured_max_bounds_the_long_poll(make_server: Callable[..., FakeEventServer]) -> None:
    server = make_server(max_timeout_ms=300)
    message = assert_envelope(wait(server, "e", 301), 400)
    assert "300" in message
    started = time.monotonic()
    assert_envelope(wait(server, "e", 300), 408)
    # Real time is the behaviour here (the server's loop timer): at least the 300 ms asked
    # for, and far below the 60 s default and the 600 s global max, with room for a slow CI.
    assert 0.28 <= time.monotonic() - started < WAIT_S


@pytest.mark.parametrize("content", [b"", b"{}", b'{"other": 1}'])
def test_absent_timeout_ms_uses_the_default_capped_by_the_max(
    make_server: Callable[..., FakeEventServer], content: bytes
) -> None:
    # The default is 60000 ms; a server whose max is lower applies its max instead.
    server = make_server(max_timeout_ms=300)
    started = time.monotonic()
    message = assert_envelope(post(server, "/v1/events/e/wait", content=content), 408)
    assert 0.28 <= time.monotonic() - started < WAIT_S  # the 300 ms max, not the 60 s default
    assert "300" in message


def test_absent_timeout_ms_really_waits(
    make_server: Callable[..., FakeEventServer], pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    server = make_server(max_timeout_ms=5000)
    pending = pool.submit(post, server, "/v1/events/e/wait")
    server.wait_for_waiters("e", user="alice")
    server.signal("e", {"n": 1}, user="alice")
    assert data_of(pending.result(WAIT_S)) == {"n": 1}


def test_max_timeout_zero_makes_every_wait_immediate(
    make_server: Callable[..., FakeEventServer],
) -> None:
    server = make_server(max_timeout_ms=0)
    parks = record_parks(server)
    assert_envelope(post(server, "/v1/events/e/wait"), 408)
    assert_envelope(wait(server, "e", 1), 400)
    assert parks == []  # immediate: no wait ever parked


# -- body size ----------------------------------------------------------------------------------


def _json_of_size(size: int) -> bytes:
    head = b'{"data": {"pad": "'
    tail = b'"}}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


@pytest.mark.parametrize("endpoint", ["/v1/events/big", "/v1/events/big/wait"])
def test_body_over_one_mib_is_413(events_server: FakeEventServer, endpoint: str) -> None:
    response = post(events_server, endpoint, content=_json_of_size(MAX_BODY_BYTES + 1))
    message = assert_envelope(response, 413)
    assert str(MAX_BODY_BYTES) in message
    assert events_server.history == []


@pytest.mark.parametrize("endpoint", ["/v1/events/big", "/v1/events/big/wait"])
def test_chunked_body_over_one_mib_is_413(events_server: FakeEventServer, endpoint: str) -> None:
    chunk = b" " * 65536
    sent: list[int] = []

    def stream() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
            sent.append(len(chunk))
            yield chunk

    with fresh_client() as client:
        response = client.post(
            events_server.url + endpoint, headers={"anchor-api-key": ALICE_KEY}, content=stream()
        )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_envelope(response, 413)
    assert events_server.history == []


def test_body_of_exactly_one_mib_is_accepted(events_server: FakeEventServer) -> None:
    response = post(events_server, "/v1/events/big", content=_json_of_size(MAX_BODY_BYTES))
    assert response.status_code == 200, response.text
    (kept,) = events_server.kept_signals("big", user="alice")
    assert len(kept["pad"]) > MAX_BODY_BYTES - 100


# -- lifecycle ----------------------------------------------------------------------------------


def test_shutdown_answers_pending_waits_with_503(
    make_server: Callable[..., FakeEventServer], pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    server = make_server()
    url = server.url
    pending = [pool.submit(wait, server, "e", 30_000), pool.submit(wait, server, "f", 30_000)]
    server.wait_for_waiters("e", user="alice")
    server.wait_for_waiters("f", user="alice")

    started = time.monotonic()
    server.stop()
    for future in pending:
        message = assert_envelope(future.result(WAIT_S), 503)  # 503, not the 408 of a timeout
        assert "shut" in message
    assert time.monotonic() - started < WAIT_S  # at the stop, far from the 30 s polls' end
    assert not server._server.running
    with pytest.raises(httpx.ConnectError), fresh_client() as client:
        client.post(url + "/v1/events/e", json={"data": {}})


def test_server_can_be_restarted(make_server: Callable[..., FakeEventServer]) -> None:
    server = make_server()
    server.stop()
    server = make_server()
    signal(server, "e", {"n": 1})
    assert data_of(wait(server, "e", 0)) == {"n": 1}


def test_a_waiter_whose_client_hangs_up_is_forgotten(events_server: FakeEventServer) -> None:
    body = json.dumps({"timeoutMs": 30_000}).encode()
    request = (
        f"POST /v1/events/hangup/wait HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"anchor-api-key: {ALICE_KEY}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", events_server.port), timeout=5) as sock:
        sock.sendall(request)
        events_server.wait_for_waiters("hangup", user="alice")
    # The socket is closed: the server must drop the waiter...
    eventually(lambda: events_server.pending_waiters("hangup", user="alice") == 0, "forgotten")
    # ...so the next signal is kept for a future wait instead of vanishing into the dead one.
    signal(events_server, "hangup", {"code": "1"})
    assert events_server.history[-1].delivered_to == 0
    assert data_of(wait(events_server, "hangup", 0)) == {"code": "1"}


def _raw_request(path: str, body: dict[str, Any]) -> bytes:
    raw = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nanchor-api-key: {ALICE_KEY}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(raw)}\r\n\r\n"
    ).encode() + raw


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (head and a Content-Length body) from a keep-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_a_signal_right_after_the_only_waiter_hung_up_is_kept(
    events_server: FakeEventServer,
) -> None:
    """The waiting client closes, and a signal follows at once on an open connection: the
    server may see both in one loop turn, and must keep the signal rather than hand it to
    the dead connection (it used to, almost every time)."""
    port = events_server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as signaler:
        for trial in range(20):
            event = f"race-{trial}"
            waiter = socket.create_connection(("127.0.0.1", port), timeout=5)
            waiter.sendall(_raw_request(f"/v1/events/{event}/wait", {"timeoutMs": 30_000}))
            events_server.wait_for_waiters(event, user="alice")
            waiter.close()
            signaler.sendall(_raw_request(f"/v1/events/{event}", {"data": {"n": trial}}))
            answer = _read_response(signaler)
            assert b'"queued"' in answer, (trial, answer)
            assert events_server.kept_signals(event, user="alice") == [{"n": trial}]


def test_reset_ends_pending_waits_and_forgets_everything(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    pending = pool.submit(wait, events_server, "waiting", 30_000)
    events_server.wait_for_waiters("waiting", user="alice")
    signal(events_server, "kept", {"n": 1})
    assert len(events_server.history) == 1

    events_server.reset()

    assert "reset" in assert_envelope(pending.result(5), 503)
    assert events_server.pending_waiters("waiting", user="alice") == 0
    assert events_server.kept_signals("kept", user="alice") == []
    assert events_server.history == []
    assert_envelope(wait(events_server, "kept", 0), 408)


# -- the Python handle --------------------------------------------------------------------------


def test_history_records_every_signal(events_server: FakeEventServer) -> None:
    before = time.time()
    signal(events_server, "h1", {"code": "999111"}, key=ALICE_KEY)
    events_server.signal("h2", {"code": "999222"}, user="bob")
    after = time.time()

    first, second = events_server.history
    assert (first.user, first.event, first.delivered_to) == ("alice", "h1", 0)
    assert (second.user, second.event) == ("bob", "h2")
    # Metadata only: whether a record carried given data can be asked, the data not read back.
    assert first.matches({"code": "999111"}) and not first.matches({"code": "999222"})
    assert second.matches({"code": "999222"})
    assert first.size == len(b'{"code":"999111"}')
    assert not hasattr(first, "data") and not hasattr(first, "payload")
    assert before - 1 <= first.at <= second.at <= after + 1
    assert "999111" not in repr(first)  # the data may hold an MFA code
    # history is a copy
    events_server.history.clear()
    assert len(events_server.history) == 2


def test_signal_from_python_reaches_http_waiters(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    assert events_server.signal("py", {"n": 1}) == 0  # default user is the first key's
    assert data_of(wait(events_server, "py", 0, key=ALICE_KEY)) == {"n": 1}
    pending = pool.submit(wait, events_server, "py", 8000, key=BOB_KEY)
    events_server.wait_for_waiters("py", user="bob")
    assert events_server.signal("py", {"n": 2}, user="bob") == 1
    assert data_of(pending.result(WAIT_S)) == {"n": 2}


def test_signal_from_python_copies_the_data(events_server: FakeEventServer) -> None:
    data: dict[str, Any] = {"code": "1", "nested": {"a": [1]}}
    events_server.signal("copy", data)
    data["nested"]["a"].append(2)
    data["code"] = "changed"
    assert data_of(wait(events_server, "copy", 0)) == {"code": "1", "nested": {"a": [1]}}


def test_python_handle_rejects_bad_input(events_server: FakeEventServer) -> None:
    with pytest.raises(InvalidArgumentError, match="unknown user"):
        events_server.signal("e", {}, user="mallory")
    with pytest.raises(InvalidArgumentError, match="JSON-serialisable"):
        events_server.signal("e", {"x": object()})
    with pytest.raises(InvalidArgumentError, match="unknown user"):
        events_server.kept_signals("e", user="mallory")
    assert events_server.history == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_keys": {}},
        {"api_keys": [""]},
        {"store": "memory"},
        {"max_timeout_ms": -1},
        {"max_body_bytes": 0},
    ],
)
def test_constructor_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    keys = kwargs.pop("api_keys", None)
    with pytest.raises(ConfigurationError):
        FakeEventServer(keys, **kwargs)


@pytest.mark.parametrize("kwargs", [{"keep_for": 0}, {"queue_limit": 0}])
def test_the_store_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        MemoryStore(**kwargs)


def test_signal_later_signals_after_the_delay(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    pending = pool.submit(wait, events_server, "later", 8000)
    events_server.wait_for_waiters("later", user="alice")
    delay = 1.0
    started = time.monotonic()
    scheduled = events_server.signal_later("later", {"code": "42"}, delay)
    # It returns before the signal is made (a whole second of margin for a stalled machine)...
    assert not scheduled.done and not pending.done()
    assert data_of(pending.result(WAIT_S)) == {"code": "42"}
    # ...which comes after the delay: the server's loop timer never fires early.
    assert time.monotonic() - started >= delay - 0.01
    assert scheduled.result(5) == 1
    assert scheduled.done


def test_signal_later_with_nobody_waiting_keeps_the_signal(events_server: FakeEventServer) -> None:
    scheduled = events_server.signal_later("later", {"code": "7"}, 0)
    assert scheduled.result(5) == 0
    assert data_of(wait(events_server, "later", 0)) == {"code": "7"}


def test_signal_later_can_be_cancelled_and_reset_cancels_it(
    events_server: FakeEventServer,
) -> None:
    cancelled = events_server.signal_later("later", {"code": "1"}, 30)
    assert cancelled.cancel()
    assert cancelled.done
    with pytest.raises(concurrent.futures.CancelledError):
        cancelled.result(1)

    by_reset = events_server.signal_later("later", {"code": "2"}, 30)
    events_server.reset()
    assert by_reset.done
    with pytest.raises(concurrent.futures.CancelledError):
        by_reset.result(1)
    assert events_server.history == []


def test_signal_when_waiting_signals_once_a_wait_is_pending(
    events_server: FakeEventServer,
) -> None:
    scheduled = events_server.signal_when_waiting("sms", {"code": "314159"}, timeout=5)
    assert not scheduled.done  # nobody waits yet
    assert events_server.history == []

    assert data_of(wait(events_server, "sms", 8000)) == {"code": "314159"}
    assert scheduled.result(5) == 1
    (record,) = events_server.history
    assert record.delivered_to == 1  # delivered to the wait, never kept


def test_signal_when_waiting_times_out_when_nobody_waits(events_server: FakeEventServer) -> None:
    started = time.monotonic()
    scheduled = events_server.signal_when_waiting("nobody", {"code": "1"}, timeout=0.1)
    with pytest.raises(WaitersTimeoutError, match="nobody") as info:
        scheduled.result(8)
    assert isinstance(info.value, TimeoutError) and info.value.event_name == "nobody"
    # Real time is the behaviour: the 0.1 s asked for, far below the 10 s default.
    assert 0.1 <= time.monotonic() - started < 8
    assert events_server.history == []
    assert events_server.kept_signals("nobody", user="alice") == []


def test_wait_for_waiters_times_out_with_a_clear_error(events_server: FakeEventServer) -> None:
    with pytest.raises(WaitersTimeoutError, match="ghost") as info:
        events_server.wait_for_waiters("ghost", timeout=0.05)
    # Still the one line (and the TimeoutError) users saw before it had a class of its own.
    assert isinstance(info.value, TimeoutError)
    assert str(info.value) == (
        "expected 1 pending wait(s) on event 'ghost' within 0.05 s, saw 0: "
        "is the code under test waiting on that event name?"
    )
    assert (info.value.event_name, info.value.timeout) == ("ghost", 0.05)


def test_idle_events_are_forgotten(
    events_server: FakeEventServer, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    """A long-running server must not keep an entry for every event name it ever saw."""
    signal(events_server, "kept-then-taken", {"n": 1})
    pending = pool.submit(wait, events_server, "waited-then-signaled", 5_000)
    events_server.wait_for_waiters("waited-then-signaled", user="alice")
    assert events_server.active_events(user="alice") == [
        "kept-then-taken",
        "waited-then-signaled",
    ]
    assert data_of(wait(events_server, "kept-then-taken", 0)) == {"n": 1}
    signal(events_server, "waited-then-signaled", {"n": 2})
    assert data_of(pending.result(5)) == {"n": 2}
    assert wait(events_server, "timed-out", 10).status_code == 408
    assert events_server.active_events(user="alice") == []
    assert events_server.active_events(user="bob") == []


def test_history_is_bounded() -> None:
    with FakeEventServer(store=MemoryStore(history_limit=3)) as server:
        for n in range(5):
            server.signal(f"e{n}", {"n": n})
        assert [record.event for record in server.history] == ["e2", "e3", "e4"]


def test_the_store_owns_its_settings() -> None:
    with pytest.raises(ConfigurationError, match=r"a store or its settings, not both.*keep_for="):
        FakeEventServer(store=MemoryStore(), keep_for=5)
    with pytest.raises(TypeError, match=r"unexpected keyword.*'kep_for'"):
        FakeEventServer(kep_for=5)
    with pytest.warns(DeprecationWarning, match=r"pass store=MemoryStore\(queue_limit=\)"):
        server = FakeEventServer(queue_limit=2)
    assert isinstance(server.store, MemoryStore)
    with server:
        for _ in range(3):
            server.signal("e", {"n": 1})
        assert len(server.kept_signals("e")) == 2  # the deprecated setting still applies
