"""Hypothesis against one running fake server: whatever arrives, never a 500, always the error
envelope on a non-200, and the server keeps working afterwards."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_anchor_mfa import (
    EventsClient,
    InvalidArgumentError,
    InvalidRequestError,
    RetryPolicy,
)
from pytest_anchor_mfa.server import FakeEventServer, MemoryStore

# The same keys as the shared fake server in tests/conftest.py; this module runs its own server.
ALICE_KEY = "sk-test-alice-0123456789abcdef"
ALICE_KEY_2 = "sk-test-alice-second-9876543210"
BOB_KEY = "sk-test-bob-fedcba9876543210"
TEST_KEYS = {ALICE_KEY: "alice", ALICE_KEY_2: "alice", BOB_KEY: "bob"}

MAX_TIMEOUT_MS = 20  # any valid wait ends within 20 ms, so random waits never block long
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[FakeEventServer]:
    with FakeEventServer(
        TEST_KEYS, max_timeout_ms=MAX_TIMEOUT_MS, store=MemoryStore(queue_limit=5)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, verify=False) as client:
        yield client


@pytest.fixture
def server(
    fuzz_server: FakeEventServer, caplog: pytest.LogCaptureFixture
) -> Iterator[FakeEventServer]:
    fuzz_server.reset()
    caplog.set_level(logging.ERROR)
    yield fuzz_server
    # Still healthy: a normal signal and wait work, and nothing was logged as an error.
    with EventsClient(ALICE_KEY, fuzz_server.url, retry=RetryPolicy(max_attempts=1)) as events:
        events.signal("after-the-fuzz", {"code": "123456"})
        assert events.wait("after-the-fuzz", 0.01) == {"code": "123456"}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    fuzz_server.reset()


def check_answer(response: httpx.Response) -> Any:
    """No 5xx; a non-200 is the error envelope with its own status; a 200 holds ``data``."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.request.method == "HEAD":
        return None
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    body = response.json()
    if response.status_code == 200:
        assert set(body) == {"data"} and isinstance(body["data"], dict), body
        return body["data"]
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == response.status_code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return None


# -- strategies ---------------------------------------------------------------------------------

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
texts = st.one_of(st.text(max_size=20), surrogates)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
timeouts = st.one_of(
    st.integers(min_value=-5, max_value=MAX_TIMEOUT_MS + 5),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
json_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"data": json_values}),
    st.fixed_dictionaries({"data": st.dictionaries(st.text(max_size=8), json_values)}),
    st.fixed_dictionaries({"timeoutMs": timeouts}),
    st.fixed_dictionaries({}, optional={"data": json_values, "timeoutMs": timeouts, "x": texts}),
)


def _encode(body: Any) -> bytes:
    # allow_nan: NaN/Infinity tokens are exactly the kind of input the server must refuse.
    return json.dumps(body, allow_nan=True).encode()


bodies = st.one_of(
    st.binary(max_size=300),
    json_bodies.map(_encode),
    st.sampled_from(
        [b"", b"{", b"[" * 5000, b'{"data": {"x": NaN}}', b"\xef\xbb\xbf{}", b"\x00", b"null"]
    ),
)

event_names = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet="%/.?#&=+ aZ09~", max_size=12),
    st.sampled_from(["", ".", "..", "wait", "a/wait", "%2F", "%", "x" * 256, "x" * 257]),
    st.text(min_size=250, max_size=270, alphabet="aé💥"),
)
# Which characters are left unencoded in the path: "" is what a correct client does.
safe_sets = st.sampled_from(["", "/", "%", "/%", "?#", ".", "/%?#;=&+:@"])
prefixes = st.sampled_from(["/v1/events/", "/api/v1/events/", "/v1/event/", "/", "/v1/events"])
suffixes = st.sampled_from(["", "/wait", "/wait/", "/", "/WAIT", "/wait/x"])
methods = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])

header_text = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)
header_bytes = st.binary(min_size=1, max_size=40).map(
    lambda raw: bytes(b if 0x21 <= b <= 0x7E or b >= 0x80 else 0x41 for b in raw)
)
api_keys = st.one_of(
    st.none(), st.sampled_from([ALICE_KEY, ALICE_KEY_2, BOB_KEY]), header_text, header_bytes
)
content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x"]),
    header_text,
)
extra_headers = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
        lambda name: name not in {"content-length", "transfer-encoding", "host", "connection"}
    ),
    st.one_of(header_text, header_bytes),
    max_size=3,
)


# -- properties ---------------------------------------------------------------------------------


def test_random_requests_never_break_the_server(
    server: FakeEventServer, http: httpx.Client
) -> None:
    @FUZZ
    @given(
        method=methods,
        prefix=prefixes,
        name=event_names,
        safe=safe_sets,
        suffix=suffixes,
        body=bodies,
        key=api_keys,
        content_type=content_types,
        extra=extra_headers,
    )
    def throw(
        method: str,
        prefix: str,
        name: str,
        safe: str,
        suffix: str,
        body: bytes,
        key: str | bytes | None,
        content_type: str | None,
        extra: dict[str, str | bytes],
    ) -> None:
        headers: dict[str, str | bytes] = dict(extra)
        if key is not None:
            headers["anchor-api-key"] = key
        if content_type is not None:
            headers["content-type"] = content_type
        path = prefix + quote(name, safe=safe, errors="surrogatepass") + suffix
        response = http.request(method, server.url + path, content=body, headers=headers)
        check_answer(response)

    throw()


def test_random_bodies_on_the_real_endpoints(server: FakeEventServer, http: httpx.Client) -> None:
    @FUZZ
    @given(suffix=st.sampled_from(["", "/wait"]), body=bodies, chunked=st.booleans())
    def throw(suffix: str, body: bytes, chunked: bool) -> None:
        url = f"{server.url}/v1/events/fuzz{suffix}"
        content: bytes | Iterator[bytes] = iter([body[:7], body[7:]]) if chunked else body
        response = http.post(url, content=content, headers={"anchor-api-key": ALICE_KEY})
        data = check_answer(response)
        if response.status_code == 200 and suffix == "":
            assert isinstance(data["status"], str)

    throw()


def test_valid_signals_round_trip_exactly(server: FakeEventServer, http: httpx.Client) -> None:
    names = st.text(min_size=1, max_size=256).filter(lambda n: "/" not in n)
    finite = st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    )

    @FUZZ
    @given(
        name=names,
        data=st.dictionaries(st.text(max_size=10), finite, max_size=4),
        prefix=st.sampled_from(["/v1/events/", "/api/v1/events/"]),
        key=st.sampled_from([ALICE_KEY, ALICE_KEY_2]),
    )
    def round_trip(name: str, data: dict[str, Any], prefix: str, key: str) -> None:
        segment = quote(name, safe="")
        if segment in (".", ".."):
            segment = segment.replace(".", "%2E")
        headers = {"anchor-api-key": key}
        url = server.url + prefix + segment
        signaled = http.post(url, json={"data": data}, headers=headers)
        assert signaled.status_code == 200, signaled.text
        assert server.kept_signals(name, user="alice") == [data]
        waited = http.post(url + "/wait", json={"timeoutMs": 0}, headers=headers)
        assert check_answer(waited) == data
        assert server.kept_signals(name, user="alice") == []

    round_trip()


def test_client_with_random_names_and_data(server: FakeEventServer) -> None:
    finite = st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            texts,
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    )
    names = st.one_of(event_names, texts)
    with EventsClient(ALICE_KEY, server.url, retry=RetryPolicy(max_attempts=1)) as events:

        @FUZZ
        @given(name=names, data=st.dictionaries(st.text(max_size=10), finite, max_size=4))
        def use(name: str, data: dict[str, Any]) -> None:
            try:
                name.encode()
                json.dumps(data, ensure_ascii=False, allow_nan=False).encode()
                sendable = True
            except (UnicodeEncodeError, ValueError):
                sendable = False
            valid = sendable and 1 <= len(name) <= 256 and "/" not in name
            if not valid:
                # Refused by the client or answered 400/404 by the server, never anything else.
                with pytest.raises((InvalidArgumentError, InvalidRequestError)) as caught:
                    events.signal(name, data)
                if isinstance(caught.value, InvalidRequestError):
                    assert caught.value.status_code in (400, 404)
                return
            events.signal(name, data)
            assert events.wait(name, 0) == data
            assert events.wait(name, 0, none_on_timeout=True) is None

        use()
