"""Fault injection (``FakeEventServer.faults``, ``restart``, ``anchor-mfa serve --fault``)."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from pytest_anchor_mfa import EventsClient, RetryPolicy, TransportError
from pytest_anchor_mfa.errors import ConfigurationError
from pytest_anchor_mfa.server import FakeEventServer
from pytest_anchor_mfa.server.faults import Fault, parse_fault

KEY = "sk-test-faults-0123456789"


@pytest.fixture
def server() -> Iterator[FakeEventServer]:
    with FakeEventServer({KEY: "u"}) as fake:
        yield fake


@pytest.fixture
def client(server: FakeEventServer) -> Iterator[EventsClient]:
    quick = RetryPolicy(max_attempts=6, backoff_initial=0.01, backoff_max=0.05)
    with EventsClient(KEY, server.url, retry=quick) as events:
        yield events


def post(server: FakeEventServer, path: str, body: object) -> httpx.Response:
    with httpx.Client(timeout=10, headers={"anchor-api-key": KEY}) as http:
        return http.post(server.url + path, json=body)


def test_a_failure_burst_then_normal_service(server: FakeEventServer) -> None:
    server.faults.fail(503, count=2, retry_after=2)
    answers = [post(server, "/v1/events/e", {"data": {"n": n}}) for n in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["retry-after"] == "2"
    assert answers[0].json()["error"] == {"code": 503, "message": "injected fault: HTTP 503"}
    assert server.kept_signals("e", user="u") == [{"n": 2}]  # failed requests did nothing
    assert [kind for kind, _, _ in server.faults.applied] == ["fail", "fail"]


def test_the_client_retries_through_a_503_burst(
    server: FakeEventServer, client: EventsClient
) -> None:
    server.faults.fail(503, count=3)
    server.faults.fail(429, count=1, retry_after=0, on="wait")
    server.signal("mfa_code", {"code": "123456"}, user="u")
    assert client.wait("mfa_code", timeout=10) == {"code": "123456"}
    assert len(server.faults.applied) == 4


def test_a_fraction_is_seeded_and_roughly_right(server: FakeEventServer) -> None:
    server.faults.fail(502, count=None, fraction=0.5, event="flaky")
    statuses = [post(server, "/v1/events/flaky", {"data": {}}).status_code for _ in range(60)]
    assert 15 <= statuses.count(502) <= 45
    assert set(statuses) == {200, 502}
    assert post(server, "/v1/events/other", {"data": {}}).status_code == 200  # not that event


def test_a_delay_slows_the_answer(server: FakeEventServer) -> None:
    server.faults.delay(300, on="signal", count=1)
    started = time.monotonic()
    assert post(server, "/v1/events/e", {"data": {}}).status_code == 200
    assert time.monotonic() - started >= 0.29  # the server's timer never fires early
    assert server.faults.applied == [("delay", "signal", "e")]
    assert post(server, "/v1/events/e", {"data": {}}).status_code == 200
    assert server.faults.applied == [("delay", "signal", "e")]  # count=1: used up
    assert not server.faults.active


def test_a_dropped_signal_answer_is_a_transport_error_that_may_have_delivered(
    server: FakeEventServer, client: EventsClient
) -> None:
    server.faults.drop(on="signal")
    with pytest.raises(TransportError) as caught:
        client.signal("e", {"code": "1"})
    assert caught.value.maybe_delivered
    assert server.kept_signals("e", user="u") == [{"code": "1"}]  # it was, in fact


def test_an_early_408_is_polled_through_until_the_signal(
    server: FakeEventServer, client: EventsClient
) -> None:
    server.faults.end_waits_early(after_ms=20, count=2)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.wait, "late", 10)
        deadline = time.monotonic() + 10
        while len(server.faults.applied) < 2 and time.monotonic() < deadline:
            server.wait_for_waiters("late", user="u", timeout=5)  # each poll parks again
        server.wait_for_waiters("late", user="u")
        server.signal("late", {"n": 1}, user="u")
        assert pending.result(10) == {"n": 1}
    assert [kind for kind, _, _ in server.faults.applied] == ["early_408", "early_408"]


def test_a_late_signal_is_accepted_at_once_and_arrives_later(server: FakeEventServer) -> None:
    late = 1.2  # seconds: the check right after the answer has that much margin
    server.faults.delay_signals(int(late * 1000))
    started = time.monotonic()
    answer = post(server, "/v1/events/e", {"data": {"code": "9"}})
    assert answer.json() == {"data": {"status": "accepted"}}
    assert server.kept_signals("e", user="u") == []
    got = post(server, "/v1/events/e/wait", {"timeoutMs": 10_000})
    assert got.json() == {"data": {"code": "9"}}
    assert late - 0.01 <= time.monotonic() - started < late + 5


def test_a_late_signal_with_bad_data_is_still_400(server: FakeEventServer) -> None:
    server.faults.delay_signals(10)
    assert post(server, "/v1/events/e", {"data": 5}).status_code == 400


def test_restart_cuts_parked_waits_and_keeps_kept_signals(
    server: FakeEventServer, client: EventsClient
) -> None:
    port = server.port
    server.signal("kept", {"n": 1}, user="u")
    body = json.dumps({"timeoutMs": 30_000}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST /v1/events/w/wait HTTP/1.1\r\nhost: x\r\nanchor-api-key: {KEY}\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        server.wait_for_waiters("w", user="u")
        server.restart()
        assert sock.recv(65536) == b""  # cut, not answered
    assert server.port == port
    assert client.wait("kept", timeout=5) == {"n": 1}


def test_reset_clears_the_rules(server: FakeEventServer) -> None:
    server.faults.fail(503, count=None)
    server.reset()
    assert not server.faults.active and server.faults.applied == []
    assert post(server, "/v1/events/e", {"data": {}}).status_code == 200


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("503", Fault("fail", status=503)),
        ("429:retry_after=2,count=all", Fault("fail", status=429, retry_after=2, count=None)),
        ("delay:ms=200,on=wait", Fault("delay", on="wait", ms=200)),
        ("drop:event=mfa", Fault("drop", event="mfa")),
        ("early-408:ms=50", Fault("early_408", on="wait", ms=50)),
        ("late-signal:ms=100,count=2", Fault("late_signal", on="signal", ms=100, count=2)),
        ("502:fraction=0.25", Fault("fail", status=502, fraction=0.25)),
    ],
)
def test_fault_specs_of_the_cli(spec: str, expected: Fault) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["500", "slow", "503:count=0", "503:fraction=2", "delay:ms=x", "503:colour=red", "503:count"],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="fault"):
        parse_fault(spec)


@pytest.mark.parametrize("spec", ["delay", "delay:count=all", "late-signal", "late-signal:count=2"])
def test_a_lateness_fault_without_ms_is_refused(spec: str) -> None:
    with pytest.raises(ConfigurationError, match=r"needs ms=MILLISECONDS .*e\.g\. [a-z-]+:ms=200"):
        parse_fault(spec)
