"""The webhook receiver and the fake sender, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_anchor_mfa.errors import ConfigurationError, WebhookTimeoutError
from pytest_anchor_mfa.retry import RetryPolicy
from pytest_anchor_mfa.runtime.asgi import MAX_BODY_BYTES
from pytest_anchor_mfa.runtime.serve import AsgiServer
from pytest_anchor_mfa.signatures.anchor import sign, verify
from pytest_anchor_mfa.webhooks.builders import example_data, make_event
from pytest_anchor_mfa.webhooks.models import (
    CATALOG,
    EVENT_MODELS,
    GenericWebhookEvent,
    TaskCompleted,
)
from pytest_anchor_mfa.webhooks.receiver import WebhookReceiver
from pytest_anchor_mfa.webhooks.sender import Delivery, WebhookSender

SECRET = "whsec_receiver_test_secret"
OLD_SECRET = "whsec_receiver_old_secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as started:
        yield started


@pytest.fixture
def sender(receiver: WebhookReceiver) -> Iterator[WebhookSender]:
    with WebhookSender(receiver.url, SECRET) as created:
        yield created


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error envelope of a refusal (asserting its shape)."""
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == response.status_code and isinstance(error["message"], str)
    return error


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", CATALOG)
def test_every_catalog_type_round_trips(
    receiver: WebhookReceiver, sender: WebhookSender, event_type: str
) -> None:
    delivery = sender.send(event_type, example_data(event_type))
    assert delivery.ok and [a.status for a in delivery.attempts] == [200]
    event = receiver.wait_for(event_type, timeout=5)
    assert type(event) is EVENT_MODELS[event_type]
    assert event.id == delivery.event_id and event.data.model_dump(exclude_unset=True) == (
        json.loads(json.dumps(example_data(event_type)))
    )
    assert receiver.events == [event] and receiver.rejections == []


def test_async_round_trip(receiver: WebhookReceiver, sender: WebhookSender) -> None:
    async def send_both() -> list[Delivery]:
        return list(
            await asyncio.gather(
                sender.asend("task.completed", example_data("task.completed")),
                sender.asend("profile.updated", {"profile_id": "p1"}),
            )
        )

    deliveries = asyncio.run(send_both())
    assert all(d.ok for d in deliveries)
    assert isinstance(receiver.wait_for("task.completed", timeout=5), TaskCompleted)
    generic = receiver.wait_for("profile.updated", timeout=5)
    assert type(generic) is GenericWebhookEvent and generic.data == {"profile_id": "p1"}


def test_rotated_secrets(http: httpx.Client) -> None:
    with WebhookReceiver([SECRET, OLD_SECRET]) as receiver:
        for secret in (OLD_SECRET, SECRET, [SECRET, OLD_SECRET]):
            with WebhookSender(receiver.url, secret) as sender:
                assert sender.send("session.failed", {"session_id": "s"}).ok
        assert len(receiver.events) == 3
        with WebhookSender(receiver.url, "whsec_unknown") as stranger:
            assert stranger.send("session.failed", {"session_id": "s"}).status == 401


def test_url_and_custom_path() -> None:
    with WebhookReceiver(SECRET, path="hooks/anchor") as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert receiver.url.endswith("/hooks/anchor")
        assert SECRET not in repr(receiver)
        with WebhookSender(receiver.url, SECRET) as sender:
            assert sender.send("intervention.resolved", {}).ok


# -- waiting -------------------------------------------------------------------------------------


def test_wait_for_blocks_until_the_event_arrives(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    waiting = threading.Event()
    result: list[object] = []

    def wait() -> None:
        waiting.set()
        result.append(receiver.wait_for("batch.completed", timeout=5))

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert waiting.wait(5)
    delivery = sender.send("batch.completed", example_data("batch.completed"))
    waiter.join(5)
    assert not waiter.is_alive()
    assert [event.id for event in result] == [delivery.event_id]  # type: ignore[attr-defined]


def test_wait_for_with_a_predicate(receiver: WebhookReceiver, sender: WebhookSender) -> None:
    for session_id in ("s1", "s2", "s3"):
        sender.send("session.failed", {"session_id": session_id})
    event = receiver.wait_for(
        "session.failed", timeout=5, predicate=lambda e: e.data.session_id == "s2"
    )
    assert event.data.session_id == "s2"
    first = receiver.wait_for("session.failed", timeout=5)
    assert first.data.session_id == "s1"


def test_wait_for_times_out_with_a_helpful_message(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    sender.send("session.failed", {"session_id": "s1"})
    sender.send("session.failed", {"session_id": "s2"})
    with WebhookSender(receiver.url, "whsec_wrong") as wrong:
        wrong.send("task.completed", example_data("task.completed"))
    started = time.monotonic()
    with pytest.raises(WebhookTimeoutError) as info:
        receiver.wait_for("task.completed", timeout=0.2)
    # Real time is the behaviour (a Condition wait on a monotonic deadline): the 0.2 s asked
    # for, and far below the 10 s default, with room for a loaded CI machine.
    assert 0.2 <= time.monotonic() - started < 8
    message = str(info.value)
    assert "'task.completed'" in message and "0.2 s" in message
    assert "session.failed x2" in message and "signature_mismatch" in message
    assert SECRET not in message
    with pytest.raises(TimeoutError, match="matching the predicate"):
        receiver.wait_for("session.failed", timeout=0, predicate=lambda e: False)


def test_reset_forgets_events_rejections_and_ids(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    delivery = sender.send("session.failed", {"session_id": "s1"})
    sender.resend(delivery)
    assert len(receiver.events) == 1 and len(receiver.rejections) == 1
    receiver.reset()
    assert receiver.events == [] and receiver.rejections == []
    assert sender.resend(delivery).ok
    assert [event.id for event in receiver.events] == [delivery.event_id]


# -- refusals ------------------------------------------------------------------------------------


def test_a_duplicate_is_acknowledged_but_not_recorded_twice(
    receiver: WebhookReceiver, sender: WebhookSender, http: httpx.Client
) -> None:
    delivery = sender.send("task.completed", example_data("task.completed"))
    again = sender.resend(delivery)
    assert again.ok and [a.status for a in again.attempts] == [200]
    assert again.delivery_id == delivery.delivery_id and again.event_id == delivery.event_id
    # A new delivery (new delivery id) of the same event id is a duplicate too.
    copy = sender.deliver(delivery.envelope)
    assert copy.ok and copy.delivery_id != delivery.delivery_id
    assert [event.id for event in receiver.events] == [delivery.event_id]
    assert [reason for reason, _ in receiver.rejections] == ["duplicate", "duplicate"]
    response = http.post(receiver.url, content=delivery.body, headers=sign(SECRET, delivery.body))
    assert response.status_code == 200 and response.json()["duplicate"] is True


def test_concurrent_duplicates_record_the_event_once(
    receiver: WebhookReceiver, sender: WebhookSender
) -> None:
    envelope = make_event("task.healed", {"healed_task_version_id": "v2"})

    async def burst() -> list[Delivery]:
        return list(await asyncio.gather(*(sender.adeliver(envelope) for _ in range(8))))

    assert all(delivery.ok for delivery in asyncio.run(burst()))
    assert len(receiver.events) == 1 and len(receiver.rejections) == 7


def test_wrong_secret_is_refused_and_not_retried(receiver: WebhookReceiver) -> None:
    with WebhookSender(receiver.url, "whsec_wrong") as wrong:
        delivery = wrong.send("task.completed", example_data("task.completed"))
    assert not delivery.ok and [a.status for a in delivery.attempts] == [401]
    assert receiver.events == []
    assert [reason for reason, _ in receiver.rejections] == ["signature_mismatch"]


@pytest.mark.parametrize("skew", [-1000, 1000])
def test_stale_and_future_timestamps_are_refused(receiver: WebhookReceiver, skew: int) -> None:
    with WebhookSender(receiver.url, SECRET, clock=lambda: time.time() + skew) as skewed:
        delivery = skewed.send("session.failed", {"session_id": "s"})
    assert delivery.status == 401 and len(delivery.attempts) == 1
    assert receiver.rejections[0][0] == "timestamp_out_of_range"


def test_tolerance_is_configurable() -> None:
    with (
        WebhookReceiver(SECRET, tolerance=2000) as receiver,
        WebhookSender(receiver.url, SECRET, clock=lambda: time.time() - 1000) as skewed,
    ):
        assert skewed.send("session.failed", {"session_id": "s"}).ok


def _post(http: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return http.post(url, content=body, headers=headers)


def test_refusals_answer_the_error_envelope_naming_the_check(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    body = json.dumps(make_event("session.failed", {"session_id": "s"})).encode()
    now = int(time.time())
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (body, {}, 400, "missing_header"),
        (body, {"Anchor-Timestamp": str(now)}, 400, "missing_header"),
        (body, {"Anchor-Timestamp": "x", "Anchor-Signature": "t=x,v1=y"}, 400, "malformed_header"),
        (body, sign(SECRET, body, now) | {"Anchor-Timestamp": "1"}, 400, "malformed_header"),
        (body, sign(SECRET, body, now - 121), 401, "timestamp_out_of_range"),
        (body + b" ", sign(SECRET, body, now), 401, "signature_mismatch"),
        (b"not json", sign(SECRET, b"not json", now), 400, "invalid_payload"),
        (b"{}", sign(SECRET, b"{}", now), 400, "invalid_payload"),
    ]
    for content, headers, status, reason in cases:
        response = _post(http, receiver.url, content, headers)
        assert response.status_code == status, (reason, response.text)
        error = error_of(response)
        assert error["reason"] == reason and SECRET not in response.text
    assert [reason for reason, _ in receiver.rejections] == [case[3] for case in cases]
    assert receiver.events == []
    missing = receiver.rejections[-1][1]
    assert "missing required field 'id'" in missing


def test_a_signed_header_sent_twice_is_refused_as_malformed(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    """Two copies of a signed header are never resolved to one of them (first or last)."""
    body = json.dumps(make_event("session.failed", {"session_id": "s"})).encode()
    now = int(time.time())
    good = sign(SECRET, body, now)["Anchor-Signature"]
    forged = sign("whsec_forged", body, now)["Anchor-Signature"]
    stamp = ("anchor-timestamp", str(now))
    cases: list[tuple[str, list[tuple[str, str]]]] = [
        ("Anchor-Signature", [stamp, ("anchor-signature", good), ("anchor-signature", forged)]),
        ("Anchor-Signature", [stamp, ("Anchor-Signature", forged), ("anchor-signature", good)]),
        ("Anchor-Signature", [stamp, ("anchor-signature", good), ("anchor-signature", good)]),
        ("Anchor-Timestamp", [stamp, stamp, ("anchor-signature", good)]),
        ("Anchor-Timestamp", [("anchor-timestamp", "1"), stamp, ("anchor-signature", good)]),
    ]
    for name, headers in cases:
        response = http.post(
            receiver.url, content=body, headers=[("content-type", "application/json"), *headers]
        )
        assert response.status_code == 400, (headers, response.text)
        error = error_of(response)
        assert error["reason"] == "malformed_header"
        assert f"{name} was sent 2 times" in error["message"]
    assert [reason for reason, _ in receiver.rejections] == ["malformed_header"] * len(cases)
    assert receiver.events == []
    # The same delivery with each header once is accepted.
    assert _post(http, receiver.url, body, sign(SECRET, body, now)).status_code == 200
    assert len(receiver.events) == 1


def test_oversized_body_is_413(receiver: WebhookReceiver, http: httpx.Client) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = _post(http, receiver.url, body, sign(SECRET, body))
    assert response.status_code == 413 and "1048576" in error_of(response)["message"]
    # A body of exactly the limit is read (and then refused for what it is).
    exact = b" " * MAX_BODY_BYTES
    assert _post(http, receiver.url, exact, sign(SECRET, exact)).status_code == 400


def test_other_paths_and_methods(receiver: WebhookReceiver, http: httpx.Client) -> None:
    base = receiver.url.removesuffix("/webhooks")
    for method, url, status in [
        ("GET", receiver.url, 405),
        ("PUT", receiver.url, 405),
        ("POST", base + "/elsewhere", 404),
        ("GET", base + "/", 404),
    ]:
        response = http.request(method, url, content=b"{}" if method != "GET" else None)
        assert response.status_code == status
        assert error_of(response)["reason"] == {404: "not_found", 405: "method_not_allowed"}[status]
    assert http.get(receiver.url).headers["allow"] == "POST"
    assert receiver.events == []


def test_receiver_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver("")
    with pytest.raises(ConfigurationError):
        WebhookReceiver(SECRET, tolerance=-1)


# -- the sender's retries, against a scripted endpoint --------------------------------------------


class ScriptedEndpoint:
    """A Starlette endpoint that answers a scripted sequence and records every request.

    Each step is a status code, or ``"hang"`` to answer only after the sender gave up waiting.
    After the script it answers 200.
    """

    def __init__(self, *script: int | str) -> None:
        self.script = list(script)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._release: asyncio.Event | None = None
        app = Starlette(routes=[Route("/hook", self.handle, methods=["POST"])])
        self.server = AsgiServer(app, name="scripted-endpoint", on_stop=self._stop)

    @property
    def url(self) -> str:
        return self.server.url + "/hook"

    async def handle(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        step = self.script.pop(0) if self.script else 200
        if step == "hang":
            self._release = self._release or asyncio.Event()
            # Bounded: released at shutdown, or after a time no test waits for.
            await asyncio.wait_for(self._release.wait(), timeout=5)
            step = 200
        return JSONResponse({"step": step}, status_code=int(step))

    async def _stop(self) -> None:
        if self._release is not None:
            self._release.set()

    @property
    def delivery_ids(self) -> set[str]:
        return {headers["anchor-delivery-id"] for headers, _ in self.requests}

    @property
    def event_ids(self) -> set[str]:
        return {json.loads(body)["id"] for _, body in self.requests}


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[ScriptedEndpoint]:
    endpoint = ScriptedEndpoint(*request.param)
    with endpoint.server:
        yield endpoint


def ticking_clock() -> Any:
    """A clock one second further on each call, so each attempt has its own timestamp."""
    ticks = itertools.count()
    start = time.time()
    return lambda: start + next(ticks)


@pytest.mark.parametrize("scripted", [(503, 500, 429, 408)], indirect=True)
def test_failures_are_retried_with_the_same_ids_and_fresh_signatures(
    scripted: ScriptedEndpoint,
) -> None:
    with WebhookSender(scripted.url, SECRET, clock=ticking_clock()) as sender:
        delivery = sender.send("task.completed", example_data("task.completed"))
    assert delivery.ok
    assert [a.status for a in delivery.attempts] == [503, 500, 429, 408, 200]
    assert all(a.error is None and a.latency_s >= 0 for a in delivery.attempts)
    assert len(scripted.requests) == 5
    assert scripted.event_ids == {delivery.event_id}
    assert scripted.delivery_ids == {delivery.delivery_id}
    assert {body for _, body in scripted.requests} == {delivery.body}
    signatures = [headers["anchor-signature"] for headers, _ in scripted.requests]
    stamps = [int(headers["anchor-timestamp"]) for headers, _ in scripted.requests]
    assert len(set(signatures)) == 5 and stamps == sorted(set(stamps))
    for headers, body in scripted.requests:
        assert headers["anchor-event"] == "task.completed"
        assert headers["user-agent"] == "Anchor-Webhooks/1.0"
        verify(body, headers, SECRET, now=int(headers["anchor-timestamp"]))


@pytest.mark.parametrize("scripted", [(500, 502, 503, 504, 500, 503, 200)], indirect=True)
def test_at_most_six_attempts(scripted: ScriptedEndpoint) -> None:
    with WebhookSender(scripted.url, SECRET) as sender:
        delivery = sender.send("session.failed", {"session_id": "s"})
    assert not delivery.ok and len(delivery.attempts) == 6 and len(scripted.requests) == 6
    assert delivery.status == 503


@pytest.mark.parametrize("scripted", [(400,), (404,), (410,)], indirect=True)
def test_a_refusal_stops_after_one_attempt(scripted: ScriptedEndpoint) -> None:
    with WebhookSender(scripted.url, SECRET) as sender:
        delivery = sender.send("session.failed", {"session_id": "s"})
    assert not delivery.ok and len(delivery.attempts) == 1 and len(scripted.requests) == 1


@pytest.mark.parametrize("scripted", [(503, 503)], indirect=True)
def test_async_retries(scripted: ScriptedEndpoint) -> None:
    sender = WebhookSender(scripted.url, SECRET, clock=ticking_clock())
    delivery = asyncio.run(sender.asend("batch.failed", example_data("batch.failed")))
    assert delivery.ok and [a.status for a in delivery.attempts] == [503, 503, 200]
    assert scripted.delivery_ids == {delivery.delivery_id}
    assert len({headers["anchor-signature"] for headers, _ in scripted.requests}) == 3


@pytest.mark.parametrize("scripted", [("hang",)], indirect=True)
def test_a_timeout_is_retried(scripted: ScriptedEndpoint) -> None:
    with WebhookSender(scripted.url, SECRET, timeout=0.2) as sender:
        delivery = sender.send("session.failed", {"session_id": "s"})
    assert delivery.ok and [a.status for a in delivery.attempts] == [None, 200]
    assert "Timeout" in (delivery.attempts[0].error or "")
    assert 0.15 < delivery.attempts[0].latency_s < 5
    assert scripted.event_ids == {delivery.event_id}


def fast_retry(max_attempts: int) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, backoff_initial=0.001, backoff_max=0.01)


@dataclass(frozen=True)
class RecordingPolicy(RetryPolicy):
    """A policy that records the retry numbers the sender asks delays for."""

    asked: list[int] = field(default_factory=list)

    def delay(self, retry_number: int, rng: random.Random) -> float:
        self.asked.append(retry_number)
        return 0.0


@pytest.mark.parametrize("scripted", [(503, 429, 500, 502)], indirect=True)
def test_the_sender_takes_its_delays_from_its_retry_policy(scripted: ScriptedEndpoint) -> None:
    policy = RecordingPolicy(max_attempts=4)
    with WebhookSender(scripted.url, SECRET, retry=policy) as sender:
        delivery = sender.send("session.failed", {"session_id": "s"})
    assert [a.status for a in delivery.attempts] == [503, 429, 500, 502]
    assert policy.asked == [1, 2, 3]  # one delay before each retry, none after the last attempt


def test_default_backoff_is_full_jitter_of_milliseconds() -> None:
    sender = WebhookSender("http://127.0.0.1:9/", SECRET)
    rng = random.Random(1)
    delays = [sender.retry.delay(n, rng) for n in range(1, 6) for _ in range(200)]
    assert all(0 <= d <= 0.25 for d in delays)
    assert min(delays) < 0.0005  # full jitter: a delay can be close to zero (equal jitter: never)


def test_connection_errors_are_retried_until_the_attempts_run_out() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"  # nothing listens there any more
    with WebhookSender(url, SECRET, retry=fast_retry(3)) as sender:
        delivery = sender.send("session.failed", {"session_id": "s"})
    assert not delivery.ok and [a.status for a in delivery.attempts] == [None] * 3
    assert all("ConnectError" in (a.error or "") for a in delivery.attempts)
    delivery = asyncio.run(WebhookSender(url, SECRET, retry=fast_retry(2)).asend("x.y", {}))
    assert [a.status for a in delivery.attempts] == [None, None]


def test_sender_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        WebhookSender("http://127.0.0.1:9/", SECRET, timeout=0)
    with pytest.raises(ConfigurationError):
        WebhookSender("http://127.0.0.1:9/", SECRET, retry=RetryPolicy(max_attempts=0))
    with pytest.raises(ConfigurationError):
        WebhookSender("http://127.0.0.1:9/", SECRET, retry=RetryPolicy(backoff_initial=-1))
    assert WebhookSender("http://127.0.0.1:9/", SECRET).retry.max_attempts == 6
    closed = WebhookSender("http://127.0.0.1:9/", SECRET)
    assert SECRET not in repr(closed)
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.send("x.y", {})


# -- no input yields a 500 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[tuple[WebhookReceiver, httpx.Client]]:
    with (
        WebhookReceiver(SECRET) as receiver,
        httpx.Client(trust_env=False, timeout=10) as client,
    ):
        yield receiver, client


# What an HTTP client can send: printable ASCII without surrounding blanks.
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40
).map(str.strip)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(["Anchor-Timestamp", "Anchor-Signature", "Anchor-Event", "X-Any"]),
        HEADER_VALUES,
    ),
)
def test_random_unsigned_posts_never_yield_500(
    fuzz_target: tuple[WebhookReceiver, httpx.Client], body: bytes, headers: dict[str, str]
) -> None:
    receiver, client = fuzz_target
    response = client.post(receiver.url, content=body, headers=headers)
    assert response.status_code in (400, 401), response.text
    assert error_of(response)["reason"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=300)
    | st.builds(
        lambda event_type, data, event_id: json.dumps(
            {"id": event_id, "type": event_type, "data": data}
        ).encode(),
        st.sampled_from(CATALOG) | st.text(max_size=10),
        JSON,
        st.text(max_size=6) | JSON,
    )
)
def test_random_signed_posts_never_yield_500(
    fuzz_target: tuple[WebhookReceiver, httpx.Client], body: bytes
) -> None:
    receiver, client = fuzz_target
    response = client.post(receiver.url, content=body, headers=sign(SECRET, body))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert error_of(response)["reason"] == "invalid_payload"


def test_the_old_async_names_of_the_sender_still_work_with_a_warning(
    receiver: WebhookReceiver,
) -> None:
    sender = WebhookSender(receiver.url, SECRET)

    async def old_names() -> list[Delivery]:
        with pytest.warns(DeprecationWarning, match="send_async is renamed asend"):
            first = await sender.send_async("task.completed", example_data("task.completed"))
        with pytest.warns(DeprecationWarning, match="resend_async is renamed aresend"):
            again = await sender.resend_async(first)
        with pytest.warns(DeprecationWarning, match="deliver_async is renamed adeliver"):
            third = await sender.deliver_async(make_event("profile.updated", {"profile_id": "p"}))
        return [first, again, third]

    deliveries = asyncio.run(old_names())
    assert all(delivery.ok for delivery in deliveries)
    assert deliveries[0].delivery_id == deliveries[1].delivery_id
