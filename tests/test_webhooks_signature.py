"""Signing and verification of webhook deliveries (``pytest_anchor_mfa.signatures.anchor``)."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from pytest_anchor_mfa.errors import (
    ConfigurationError,
    InvalidArgumentError,
    WebhookVerificationError,
)
from pytest_anchor_mfa.signatures.anchor import (
    Deduplicator,
    HeadersArg,
    compute_signature,
    sign,
    verify,
)

SECRET = "whsec_current_0123456789"
OLD_SECRET = "whsec_previous_9876543210"
BODY = b'{"id":"evt_1","type":"task.completed","data":{"task_id":"t1"}}'
NOW = 1_716_544_084


def expect_failure(
    reason: str,
    body: bytes,
    headers: HeadersArg,
    *,
    secrets: str | list[str] = SECRET,
    tolerance: float = 120,
) -> str:
    """Assert ``verify`` fails with ``reason``; return the message (checked to be secret-free)."""
    with pytest.raises(WebhookVerificationError) as info:
        verify(body, headers, secrets, tolerance=tolerance, now=NOW)
    assert info.value.reason == reason, str(info.value)
    for text in (str(info.value), repr(info.value)):
        assert SECRET not in text and OLD_SECRET not in text
    return str(info.value)


def signed(body: bytes = BODY, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return sign(secret, body, timestamp)


# -- signing -----------------------------------------------------------------------------------


def test_sign_produces_the_documented_headers() -> None:
    headers = sign(SECRET, BODY, NOW, event_type="task.completed", delivery_id="d-1")
    expected = hmac.new(SECRET.encode(), f"v0:{NOW}:".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "Anchor-Webhooks/1.0",
        "Anchor-Timestamp": str(NOW),
        "Anchor-Signature": f"t={NOW},v1={expected}",
        "Anchor-Event": "task.completed",
        "Anchor-Delivery-Id": "d-1",
    }
    assert compute_signature(SECRET, NOW, BODY) == expected


def test_sign_defaults_to_now_and_omits_optional_headers() -> None:
    headers = sign(SECRET.encode(), BODY)
    assert re.fullmatch(r"t=\d{10},v1=[0-9a-f]{64}", headers["Anchor-Signature"])
    assert "Anchor-Event" not in headers and "Anchor-Delivery-Id" not in headers
    verify(BODY, headers, SECRET)


def test_sign_with_several_secrets_carries_one_v1_each() -> None:
    headers = sign([SECRET, OLD_SECRET], BODY, NOW)
    assert len(re.findall(r"v1=[0-9a-f]{64}", headers["Anchor-Signature"])) == 2
    verify(BODY, headers, SECRET, now=NOW)
    verify(BODY, headers, OLD_SECRET, now=NOW)


# -- accepted deliveries -----------------------------------------------------------------------


def test_valid_delivery_passes() -> None:
    verify(BODY, signed(), SECRET, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    headers = {name.lower(): value for name, value in signed().items()}
    verify(BODY, headers, SECRET, now=NOW)
    verify(BODY, {name.upper(): value for name, value in signed().items()}, SECRET, now=NOW)


def test_rotated_secrets_accept_the_old_and_the_new() -> None:
    verify(BODY, signed(secret=OLD_SECRET), [SECRET, OLD_SECRET], now=NOW)
    verify(BODY, signed(secret=SECRET), (OLD_SECRET, SECRET), now=NOW)
    expect_failure("signature_mismatch", BODY, signed(secret=OLD_SECRET), secrets=[SECRET])


def test_any_of_several_v1_values_may_match() -> None:
    good = compute_signature(SECRET, NOW, BODY)
    headers = {
        "Anchor-Timestamp": str(NOW),
        "Anchor-Signature": f"t={NOW}, v1={'0' * 64}, v0=legacy, v1={good}",
    }
    verify(BODY, headers, SECRET, now=NOW)


def test_uppercase_hex_is_accepted() -> None:
    headers = signed()
    headers["Anchor-Signature"] = headers["Anchor-Signature"].upper().replace("T=", "t=")
    headers["Anchor-Signature"] = headers["Anchor-Signature"].replace("V1=", "v1=")
    verify(BODY, headers, SECRET, now=NOW)


@pytest.mark.parametrize("offset", [0, 1, 119, 120, -1, -120])
def test_timestamps_within_tolerance_pass_both_ways(offset: int) -> None:
    verify(BODY, signed(timestamp=NOW - offset), SECRET, now=NOW)


def test_custom_tolerance() -> None:
    verify(BODY, signed(timestamp=NOW - 300), SECRET, now=NOW, tolerance=300)
    expect_failure("timestamp_out_of_range", BODY, signed(timestamp=NOW - 301), tolerance=300)


# -- refused deliveries ------------------------------------------------------------------------


def test_tampered_body_is_refused() -> None:
    message = expect_failure("signature_mismatch", BODY.replace(b"t1", b"t2"), signed())
    assert "Anchor-Signature" in message


def test_re_serialised_json_is_refused() -> None:
    """The signature covers the raw bytes: equal JSON with other whitespace does not verify."""
    expect_failure("signature_mismatch", BODY.replace(b",", b", "), signed())


def test_wrong_secret_is_refused() -> None:
    expect_failure("signature_mismatch", BODY, signed(secret="whsec_other"))


def test_message_never_contains_the_expected_signature() -> None:
    headers = signed(secret="whsec_other")
    message = expect_failure("signature_mismatch", BODY, headers)
    assert compute_signature(SECRET, NOW, BODY) not in message


@pytest.mark.parametrize(("offset", "word"), [(121, "old"), (3600, "old"), (-121, "future")])
def test_timestamps_beyond_tolerance_are_refused(offset: int, word: str) -> None:
    message = expect_failure("timestamp_out_of_range", BODY, signed(timestamp=NOW - offset))
    assert word in message and "120" in message


@pytest.mark.parametrize("missing", ["Anchor-Timestamp", "Anchor-Signature"])
def test_missing_header_is_refused(missing: str) -> None:
    headers = signed()
    del headers[missing]
    assert missing in expect_failure("missing_header", BODY, headers)


def test_empty_headers_count_as_missing_and_all_are_named() -> None:
    message = expect_failure("missing_header", BODY, {"Anchor-Timestamp": " ", "Other": "x"})
    assert "Anchor-Timestamp" in message and "Anchor-Signature" in message


def _with_signature(value: str, timestamp: str = str(NOW)) -> dict[str, str]:
    return {"Anchor-Timestamp": timestamp, "Anchor-Signature": value}


GOOD_V1 = compute_signature(SECRET, NOW, BODY)


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        (_with_signature(f"t={NOW},v1={GOOD_V1}", timestamp="soon"), "unix seconds"),
        (_with_signature(f"t={NOW},v1={GOOD_V1}", timestamp="-5"), "unix seconds"),
        (_with_signature(f"t={NOW},v1={GOOD_V1}", timestamp="1.5"), "unix seconds"),
        (_with_signature(f"t={NOW},v1={GOOD_V1}", timestamp="١٢٣"), "unix seconds"),
        (_with_signature(f"v1={GOOD_V1}"), "exactly one t="),
        (_with_signature(f"t={NOW},t={NOW},v1={GOOD_V1}"), "exactly one t="),
        (_with_signature(f"t={NOW}"), "no v1="),
        (_with_signature(f"t={NOW},v0={GOOD_V1}"), "no v1="),
        (_with_signature(f"t={NOW},v1=xyz"), "64 hex"),
        (_with_signature(f"t={NOW},v1={GOOD_V1}0"), "64 hex"),
        (_with_signature(f"t={NOW},{GOOD_V1}"), "key=value"),
        (_with_signature(f"t={NOW},v1={GOOD_V1},"), "key=value"),
        (_with_signature("garbage"), "key=value"),
        (_with_signature(f"t={NOW - 1},v1={GOOD_V1}"), "does not match"),
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str], fragment: str) -> None:
    assert fragment in expect_failure("malformed_header", BODY, headers)


def _raw(pairs: list[tuple[str, str]]) -> Headers:
    return Headers(raw=[(name.lower().encode(), value.encode()) for name, value in pairs])


@pytest.mark.parametrize("container", ["pairs", "httpx", "starlette", "dict"])
@pytest.mark.parametrize("twice", ["Anchor-Signature", "Anchor-Timestamp"])
def test_a_header_sent_twice_is_malformed_whatever_holds_the_headers(
    container: str, twice: str
) -> None:
    """Never resolved to the first or the last copy: a forged copy must not hide behind one."""
    good = signed()
    other = {
        "Anchor-Signature": signed(secret="whsec_forged")["Anchor-Signature"],
        "Anchor-Timestamp": good["Anchor-Timestamp"],  # even an identical copy is refused
    }[twice]
    pairs = [*good.items(), (twice.lower(), other)]
    for order in (pairs, pairs[::-1]):
        containers: dict[str, HeadersArg] = {
            "pairs": order,
            "httpx": httpx.Headers(order),
            "starlette": _raw(order),
            # A dict can hold a header twice only under two spellings of its name.
            "dict": dict(order),
        }
        message = expect_failure("malformed_header", BODY, containers[container])
        assert f"{twice} was sent 2 times" in message


def test_multi_valued_containers_with_each_header_once_pass() -> None:
    pairs = list(signed().items())
    for headers in (pairs, httpx.Headers(pairs), _raw(pairs), Headers(headers=dict(pairs))):
        verify(BODY, headers, SECRET, now=NOW)


def test_t_must_equal_the_timestamp_header_even_when_signed_over_t() -> None:
    """A header whose t= differs from Anchor-Timestamp is refused, whichever value was signed."""
    stale = sign(SECRET, BODY, NOW - 10)["Anchor-Signature"]
    expect_failure("malformed_header", BODY, _with_signature(stale, timestamp=str(NOW)))


def test_checks_run_in_the_documented_order() -> None:
    # Missing header before anything else, even with a malformed other header.
    expect_failure("missing_header", BODY, {"Anchor-Signature": "garbage"})
    # Malformed before the timestamp check.
    expect_failure("malformed_header", BODY, _with_signature("t=1,v1=zz", timestamp="1"))
    # Timestamp before the signature: a stale delivery signed with a wrong secret.
    expect_failure("timestamp_out_of_range", BODY, signed(timestamp=NOW - 500, secret="x"))


def test_a_missing_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        verify(BODY, signed(), [], now=NOW)
    with pytest.raises(ConfigurationError):
        verify(BODY, signed(), "", now=NOW)


def test_a_negative_tolerance_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="tolerance must be >= 0 s, got -1"):
        verify(BODY, signed(), SECRET, now=NOW, tolerance=-1)


# -- deduplication -----------------------------------------------------------------------------


def test_deduplicator_refuses_a_seen_id() -> None:
    seen = Deduplicator()
    seen.check("evt_1")
    with pytest.raises(WebhookVerificationError) as info:
        seen.check("evt_1")
    assert info.value.reason == "duplicate" and "evt_1" in str(info.value)
    seen.check("evt_2")
    assert "evt_1" in seen and len(seen) == 2
    seen.clear()
    seen.check("evt_1")


def test_deduplicator_forgets_the_oldest_beyond_its_bound() -> None:
    seen = Deduplicator(max_ids=2)
    for event_id in ("a", "b", "c"):
        seen.check(event_id)
    assert "a" not in seen and "b" in seen and "c" in seen


def test_deduplicator_lets_exactly_one_of_concurrent_checks_through() -> None:
    seen = Deduplicator()
    barrier = threading.Barrier(8, timeout=5)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def check() -> None:
        barrier.wait()
        try:
            seen.check("evt_race")
            ok = True
        except WebhookVerificationError:
            ok = False
        with lock:
            outcomes.append(ok)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(outcomes) == [False] * 7 + [True]


# -- properties --------------------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    ["Anchor-Timestamp", "anchor-timestamp", "Anchor-Signature", "ANCHOR-SIGNATURE", "X-Other"]
)
SIGNATURE_ITEMS = st.one_of(
    st.just(f"t={NOW}"),
    st.integers(-(10**20), 10**20).map(lambda n: f"t={n}"),
    st.just(f"v1={GOOD_V1}"),
    st.text(alphabet="0123456789abcdefABCDEF", max_size=70).map(lambda h: f"v1={h}"),
    st.text(max_size=20),
)
SIGNATURE_VALUES = st.lists(SIGNATURE_ITEMS, max_size=5).map(",".join) | st.text(max_size=80)
TIMESTAMP_VALUES = st.one_of(
    st.integers(NOW - 500, NOW + 500).map(str), st.just(str(NOW)), st.text(max_size=20)
)


@st.composite
def header_maps(draw: st.DrawFn) -> dict[str, str]:
    headers = draw(st.dictionaries(HEADER_NAMES | st.text(max_size=10), st.text(max_size=30)))
    if draw(st.booleans()):
        headers["Anchor-Timestamp"] = draw(TIMESTAMP_VALUES)
    if draw(st.booleans()):
        headers["Anchor-Signature"] = draw(SIGNATURE_VALUES)
    return headers


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=200), headers=header_maps())
def test_verify_raises_only_verification_errors(body: bytes, headers: dict[str, str]) -> None:
    try:
        verify(body, headers, [SECRET, OLD_SECRET], now=NOW)
    except WebhookVerificationError as exc:
        assert exc.reason in {
            "missing_header",
            "malformed_header",
            "timestamp_out_of_range",
            "signature_mismatch",
        }
        assert SECRET not in str(exc) and OLD_SECRET not in str(exc)
    else:
        # Only a genuinely signed body can pass.
        assert body == BODY


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=300),
    secret=st.text(min_size=1, max_size=40),
    flip=st.integers(min_value=0),
)
def test_signed_bodies_verify_and_any_altered_byte_breaks_them(
    body: bytes, secret: str, flip: int
) -> None:
    headers = sign(secret, body, NOW)
    verify(body, headers, secret, now=NOW)
    if body:
        index = flip % len(body)
        altered = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(WebhookVerificationError) as info:
            verify(altered, headers, secret, now=NOW)
        assert info.value.reason == "signature_mismatch"
