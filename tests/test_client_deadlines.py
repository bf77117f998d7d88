"""The caller's deadline is kept whatever the server does (issue 10, point 1).

Two parts. Against ``misbehaving_server`` on loopback, where real time *is* the behaviour: every
call, sync and async, ``wait`` and ``signal``, ends within its budget plus ``DEADLINE_GRACE``
(asserted with 1 s more for a loaded machine) with the right exception, and not before its
budget when only the deadline can end it. Then the decisions of
``_Call`` with a fake clock: what each attempt asks for and allows itself, and what a late or
cut attempt means, exactly and without a single sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from misbehaving_server import MisbehavingServer

from pytest_anchor_mfa import (
    AsyncEventsClient,
    EventsClient,
    EventTimeoutError,
    InvalidRequestError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from pytest_anchor_mfa.events.core import DEADLINE_GRACE, _Call, _Core, _Cut, _Done, _Sleep

KEY = "sk-test-deadlines-0123456789"
BUDGET = 1.0
"""Seconds given to every call against a misbehaving server."""
SLACK = 1.0
"""Seconds on top of a promise, for a loaded machine."""
BOUND = BUDGET + DEADLINE_GRACE + SLACK
"""The promise, budget plus DEADLINE_GRACE, and the slack."""
HUGE_BUDGET = 2 * SLACK
"""The budget of a call that must give up at once (a Retry-After beyond any budget): it ends
before ``SLACK`` has passed, and waiting out the budget would take ``SLACK`` more than that."""
MANY = RetryPolicy(max_attempts=1000, backoff_initial=0.05, backoff_max=0.2)
"""Retries that never run out before the budget does: the deadline is what ends the call."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANCHOR_API_KEY", "ANCHORBROWSER_API_KEY", "ANCHOR_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def misbehaving() -> Iterator[Callable[..., MisbehavingServer]]:
    servers: list[MisbehavingServer] = []

    def start(mode: str, **kwargs: Any) -> MisbehavingServer:
        server = MisbehavingServer(mode, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass(frozen=True)
class Case:
    mode: str
    wait: type[Exception]
    signal: type[Exception]
    retry_after: str | None = None
    full_budget: bool = True
    """The call can only end at the deadline (it must not end early either)."""
    signal_maybe_delivered: bool | None = None

    @property
    def budget(self) -> float:
        return HUGE_BUDGET if self.retry_after == "86400" else BUDGET


CASES = {
    "hang_after_accept": Case(
        "hang_after_accept", EventTimeoutError, TransportError, None, True, True
    ),
    "never_accept": Case("never_accept", EventTimeoutError, TransportError, None, True, False),
    "trickle": Case("trickle", EventTimeoutError, TransportError, None, True, True),
    "trickle_body": Case("trickle_body", EventTimeoutError, TransportError, None, True, True),
    # A wait is retried after each drop until no retry fits; a signal is never resent.
    "drop_mid_response": Case(
        "drop_mid_response", TransportError, TransportError, None, False, True
    ),
    "always_503": Case("always_503", ServerError, ServerError, None, False),
    "always_429": Case("always_429", RateLimitedError, RateLimitedError, None, False),
    "always_429_retry_after": Case("always_429", RateLimitedError, RateLimitedError, "0.3", False),
    "always_429_huge_retry_after": Case(
        "always_429", RateLimitedError, RateLimitedError, "86400", False
    ),
    "always_503_huge_retry_after": Case("always_503", ServerError, ServerError, "86400", False),
    # 408 is not retried for a signal (it is a wait's "no event"); a wait polls until the deadline.
    "instant_408": Case("instant_408", EventTimeoutError, InvalidRequestError, None, False),
}


def _check(
    case: Case, kind: str, exc: BaseException, elapsed: float, server: MisbehavingServer
) -> None:
    expected = case.wait if kind == "wait" else case.signal
    assert type(exc) is expected, f"{type(exc).__name__}: {exc}"
    budget = case.budget
    bound = budget + DEADLINE_GRACE + SLACK
    assert elapsed <= bound, f"{case.mode} {kind} took {elapsed:.2f} s for a {budget} s budget"
    if case.full_budget or (kind == "wait" and case.mode == "instant_408"):
        assert elapsed >= budget - 0.05, f"gave up early, after {elapsed:.2f} s"
    if case.retry_after == "86400":
        assert len(server.requests) == 1 and elapsed < budget - SLACK  # no retry can fit
    if isinstance(exc, EventTimeoutError):
        assert exc.timeout == budget and exc.event_name == "e"
    if kind == "signal" and isinstance(exc, TransportError):
        assert exc.maybe_delivered is case.signal_maybe_delivered
        if exc.maybe_delivered:
            assert len(server.requests) == 1  # a signal that may have arrived is never resent
    if kind == "wait":
        # Every poll asked for no more than the time left of the budget.
        asked = [request["timeoutMs"] for request in server.requests]
        assert all(0 <= ms <= budget * 1000 for ms in asked)
        assert asked == sorted(asked, reverse=True)


@pytest.mark.parametrize("kind", ["wait", "signal"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_sync_call_keeps_its_deadline(
    misbehaving: Callable[..., MisbehavingServer], case: Case, kind: str
) -> None:
    server = misbehaving(case.mode, retry_after=case.retry_after)
    with EventsClient(KEY, server.url, retry=MANY, signal_timeout=case.budget) as events:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            events.wait("e", case.budget) if kind == "wait" else events.signal("e", {"code": "1"})
        elapsed = time.monotonic() - started
    _check(case, kind, caught.value, elapsed, server)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["wait", "signal"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_async_call_keeps_its_deadline(
    misbehaving: Callable[..., MisbehavingServer], case: Case, kind: str
) -> None:
    server = misbehaving(case.mode, retry_after=case.retry_after)
    budget = case.budget
    async with AsyncEventsClient(KEY, server.url, retry=MANY, signal_timeout=budget) as events:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            if kind == "wait":
                await events.wait("e", budget)
            else:
                await events.signal("e", {"code": "1"})
        elapsed = time.monotonic() - started
    _check(case, kind, caught.value, elapsed, server)


@pytest.mark.parametrize("client_type", ["sync", "async"])
def test_none_on_timeout_also_when_the_server_hangs(
    misbehaving: Callable[..., MisbehavingServer], client_type: str
) -> None:
    import anyio

    server = misbehaving("hang_after_accept")
    started = time.monotonic()
    if client_type == "sync":
        with EventsClient(KEY, server.url, retry=MANY) as events:
            result = events.wait("e", BUDGET, none_on_timeout=True)
    else:

        async def run() -> dict[str, Any] | None:
            async with AsyncEventsClient(KEY, server.url, retry=MANY) as events:
                return await events.wait("e", BUDGET, none_on_timeout=True)

        result = anyio.run(run)
    elapsed = time.monotonic() - started
    assert result is None
    assert BUDGET - 0.05 <= elapsed <= BOUND


def test_a_trickling_server_after_the_deadline_leaves_the_client_usable(
    misbehaving: Callable[..., MisbehavingServer],
) -> None:
    slow = misbehaving("trickle")
    fine = misbehaving("instant_408")
    with EventsClient(KEY, slow.url, retry=MANY) as events:
        with pytest.raises(EventTimeoutError):
            events.wait("e", 0.5)
        with pytest.raises(EventTimeoutError):
            events.wait("e", 0.5)  # the abandoned attempt holds nothing the next one needs
    with EventsClient(KEY, fine.url, retry=MANY) as events:
        assert events.wait("e", 0.3, none_on_timeout=True) is None


# -- the decisions, with a fake clock ---------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_core(clock: FakeClock, **kwargs: Any) -> _Core:
    settings: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=100, backoff_initial=0.2, backoff_max=0.2),
        "signal_timeout": 30.0,
        "read_margin": 10.0,
        "max_poll": 600.0,
        "connect_timeout": 10.0,
    }
    settings.update(kwargs)
    core = _Core(KEY, "http://127.0.0.1:9", clock=clock, **settings)
    core.rng.seed(7)
    return core


def answer(status: int, headers: dict[str, str] | None = None, body: Any = None) -> httpx.Response:
    if body is None:
        body = {"error": {"code": status, "message": "m"}}
    return httpx.Response(status, json=body, headers=headers)


def timeouts(call: _Call) -> tuple[float | None, ...]:
    send = call.next_send()
    t = send.timeout
    return (t.connect, t.read, t.write, t.pool, send.limit, send.body.get("timeoutMs"))


def test_wait_attempts_are_capped_by_the_time_left_plus_the_grace() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 2.0, none_on_timeout=False)
    cap = 2.0 + DEADLINE_GRACE
    assert timeouts(call) == (cap, cap, cap, cap, cap, 2000)
    clock.advance(1.5)
    step = call.on_response(answer(503))
    assert isinstance(step, _Sleep) and step.seconds < 0.5
    clock.advance(step.seconds)
    left = 0.5 - step.seconds
    connect, read, write, pool, limit, asked = timeouts(call)
    assert connect == read == write == pool == limit == pytest.approx(left + DEADLINE_GRACE)
    assert asked == int(left * 1000)  # only the time left, floored to the millisecond


def test_the_long_poll_read_margin_applies_below_the_cap() -> None:
    clock = FakeClock()
    call = make_core(clock, read_margin=0.1, connect_timeout=0.2).wait_call("e", 2.0, False)
    connect, read, write, pool, limit, asked = timeouts(call)
    assert asked == 2000 and read == write == pool == pytest.approx(2.1) and connect == 0.2
    assert limit == 2.0 + DEADLINE_GRACE
    # A server past timeoutMs + read_margin broke the long poll: a transport error, not a timeout.
    clock.advance(2.1)
    with pytest.raises(TransportError, match="ReadTimeout"):
        call.on_transport_error(httpx.ReadTimeout("timed out"))


def test_max_poll_splits_the_wait_and_polls_until_the_deadline() -> None:
    clock = FakeClock()
    call = make_core(clock, max_poll=0.3).wait_call("e", 1.2, none_on_timeout=True)
    asked = []
    while True:
        send = call.next_send()
        asked.append(send.body["timeoutMs"])
        # The poll plus read_margin, unless the deadline (plus the grace) comes first.
        expected_read = min(send.body["timeoutMs"] / 1000 + 10.0, send.limit)
        assert send.timeout.read == pytest.approx(expected_read)
        clock.advance(send.body["timeoutMs"] / 1000)  # the server holds each poll to its end
        step = call.on_response(answer(408))
        if isinstance(step, _Done):
            break
        assert step == _Sleep(0.0)  # a full poll: no pause before the next one
    assert step.value is None
    assert asked == [300, 300, 300, 300]
    assert clock.now == pytest.approx(1000 + 1.2)


def test_a_408_at_once_pauses_before_polling_again_and_ends_at_the_deadline() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 1.0, none_on_timeout=False)
    pauses = []
    with pytest.raises(EventTimeoutError) as caught:
        while True:
            call.next_send()
            clock.advance(0.001)
            step = call.on_response(answer(408))
            assert isinstance(step, _Sleep)
            pauses.append(step.seconds)
            clock.advance(step.seconds)
    assert pauses[0] == 0.25 and all(0 < p <= 0.25 for p in pauses)
    assert clock.now - 1000 >= 1.0 - 0.05  # polled to (nearly) the end of the budget
    assert caught.value.timeout == 1.0 and caught.value.status_code == 408


def test_retry_after_is_taken_when_it_fits_and_ends_the_call_when_it_does_not() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 1.0, none_on_timeout=False)
    call.next_send()
    assert call.on_response(answer(429, {"retry-after": "0.4"})) == _Sleep(0.4)
    clock.advance(0.4)
    call.next_send()
    with pytest.raises(RateLimitedError, match="2 attempts"):
        call.on_response(answer(429, {"retry-after": "0.7"}))  # 0.6 s left: does not fit


def test_backoff_that_does_not_fit_raises_the_last_failure() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 1.0, none_on_timeout=False)
    call.next_send()
    clock.advance(1.0)
    with pytest.raises(ServerError):
        call.on_response(answer(503))  # no time left: no backoff fits
    clock2 = FakeClock()
    call2 = make_core(clock2).wait_call("e", 1.0, none_on_timeout=False)
    call2.next_send()
    clock2.advance(1.0)
    with pytest.raises(TransportError) as caught:
        call2.on_transport_error(httpx.RemoteProtocolError("dropped"))
    assert "RemoteProtocolError" in str(caught.value)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("t"),
        httpx.WriteTimeout("t"),
        httpx.PoolTimeout("t"),
        httpx.ConnectTimeout("t"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_wait_cut_by_its_deadline_is_a_timeout(exc: httpx.TransportError) -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 1.0, none_on_timeout=False)
    call.next_send()
    clock.advance(1.0 + DEADLINE_GRACE)
    with pytest.raises(EventTimeoutError, match="had not answered") as caught:
        call.on_transport_error(exc)
    assert caught.value.timeout == 1.0
    quiet = make_core(clock).wait_call("e", 1.0, none_on_timeout=True)
    quiet.next_send()
    clock.advance(1.0 + DEADLINE_GRACE)
    assert quiet.on_transport_error(exc) == _Done(None)


def test_a_cut_attempt_ends_a_wait_as_a_timeout_and_a_signal_as_a_transport_error() -> None:
    clock = FakeClock()
    core = make_core(clock, signal_timeout=1.0)
    wait = core.wait_call("e", 1.0, none_on_timeout=False)
    wait.next_send()
    clock.advance(1.0 + DEADLINE_GRACE)
    with pytest.raises(EventTimeoutError):
        wait.on_outcome(_Cut(maybe_sent=True))
    for maybe_sent in (True, False):
        signal = core.signal_call("e", {"code": "1"})
        signal.next_send()
        clock.advance(1.0 + DEADLINE_GRACE)
        with pytest.raises(TransportError) as caught:
            signal.on_outcome(_Cut(maybe_sent=maybe_sent))
        assert caught.value.maybe_delivered is maybe_sent
        assert ("not resent" in str(caught.value)) is maybe_sent


def test_signal_attempts_get_only_the_time_left() -> None:
    clock = FakeClock()
    call = make_core(clock, signal_timeout=2.0, connect_timeout=10.0).signal_call("e", {})
    assert timeouts(call)[:5] == (2.0, 2.0, 2.0, 2.0, 2.0 + DEADLINE_GRACE)
    clock.advance(1.5)
    step = call.on_response(answer(503))
    assert isinstance(step, _Sleep)
    clock.advance(step.seconds)
    left = 0.5 - step.seconds
    connect, read, write, pool, limit, _ = timeouts(call)
    assert connect == read == write == pool == pytest.approx(left)
    assert limit == pytest.approx(left + DEADLINE_GRACE)


def test_signal_connect_timeout_is_not_sent_read_timeout_may_be() -> None:
    clock = FakeClock()
    core = make_core(clock, signal_timeout=1.0)
    call = core.signal_call("e", {})
    call.next_send()
    clock.advance(1.0)
    with pytest.raises(TransportError) as caught:
        call.on_transport_error(httpx.ConnectTimeout("t"))
    assert caught.value.maybe_delivered is False
    call = core.signal_call("e", {})
    call.next_send()
    clock.advance(0.3)  # time is left, but a signal that may have arrived is never resent
    with pytest.raises(TransportError) as caught:
        call.on_transport_error(httpx.ReadTimeout("t"))
    assert caught.value.maybe_delivered is True


def test_wait_zero_is_one_immediate_poll_with_only_the_grace() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 0, none_on_timeout=True)
    assert timeouts(call) == (DEADLINE_GRACE,) * 5 + (0,)
    assert call.on_response(answer(408)) == _Done(None)


def test_retried_wait_asks_exactly_for_the_time_left() -> None:
    clock = FakeClock()
    call = make_core(clock).wait_call("e", 1.0, none_on_timeout=False)
    asked = []
    with pytest.raises(ServerError):
        while True:
            send = call.next_send()
            asked.append((send.body["timeoutMs"], clock.now))
            clock.advance(0.15)  # the server takes 0.15 s to say 503
            step = call.on_response(answer(503))
            assert isinstance(step, _Sleep)
            clock.advance(step.seconds)
    assert len(asked) >= 3
    for timeout_ms, at in asked:
        assert timeout_ms == int((1000 + 1.0 - at) * 1000 + 1e-6)
    assert clock.now <= 1000 + 1.0  # no sleep ran past the deadline
