"""The one verifier interface (``pytest_anchor_mfa.signatures``): every scheme refuses a request
the same way, with ``SignatureVerificationError`` and a ``reason`` naming the check.

Twilio's side is checked against the official ``twilio`` package's ``RequestValidator``; the
scheme-specific details (vectors, header forms, HTTP answers) are in ``test_webhooks_*`` and
``test_inbound_sms``.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from pytest_anchor_mfa.errors import (
    AnchorMfaError,
    SignatureVerificationError,
    WebhookVerificationError,
)
from pytest_anchor_mfa.signatures import (
    AnchorVerifier,
    SignedRequest,
    SmsHmacVerifier,
    TwilioVerifier,
    Verifier,
    VonageVerifier,
)
from pytest_anchor_mfa.signatures.anchor import sign
from pytest_anchor_mfa.signatures.request import SeenIds, first_match, header_values
from pytest_anchor_mfa.signatures.sms_hmac import sms_hmac_headers
from pytest_anchor_mfa.signatures.vonage import vonage_signature

SECRET = "sig-secret-0123456789"
NOW = 1_716_544_084
BODY = json.dumps({"id": "evt_1", "type": "task.completed", "data": {}}).encode()
URL = "https://sms.example.com/sms/twilio?x=1"
FIELDS = [("Body", "Your code is 123456"), ("From", "+1500"), ("To", "+1555")]


def refusal(verifier: Verifier, request: SignedRequest) -> SignatureVerificationError:
    """The refusal of ``request``, checked to be one line without the secret."""
    with pytest.raises(SignatureVerificationError) as info:
        verifier.verify(request)
    message = str(info.value)
    assert message and "\n" not in message and SECRET not in message
    return info.value


def vonage_params(stamp: int = NOW, secret: str = SECRET) -> list[tuple[str, str]]:
    params = [("msisdn", "447700900001"), ("text", "Code 112233"), ("timestamp", str(stamp))]
    return [*params, ("sig", vonage_signature(secret, params, "sha256"))]


def twilio_request(signature: str, *, method: str = "POST") -> SignedRequest:
    headers = [(b"x-twilio-signature", signature.encode())]
    return SignedRequest(b"", headers, method, URL, FIELDS)


def anchor() -> AnchorVerifier:
    return AnchorVerifier(SECRET, clock=lambda: NOW)


def vonage(now: float = NOW) -> VonageVerifier:
    return VonageVerifier(SECRET, "sha256", clock=lambda: now)


def sms_hmac(now: float = NOW) -> SmsHmacVerifier:
    return SmsHmacVerifier(SECRET, 300, clock=lambda: now)


def sms_hmac_request(stamp: int = NOW, secret: str = SECRET) -> SignedRequest:
    return SignedRequest(BODY, sms_hmac_headers(secret, BODY, stamp))


# -- one convention ----------------------------------------------------------------------------


def test_the_refusal_is_one_class_and_webhooks_keep_theirs() -> None:
    assert issubclass(SignatureVerificationError, AnchorMfaError)
    assert issubclass(WebhookVerificationError, SignatureVerificationError)
    error = refusal(anchor(), SignedRequest(BODY, {}))
    assert isinstance(error, WebhookVerificationError)  # `except` it still works
    assert error.reason == "missing_header"


def test_validly_signed_requests_pass_every_verifier() -> None:
    token_signature = RequestValidator(SECRET).compute_signature(URL, dict(FIELDS))
    cases: list[tuple[Verifier, SignedRequest]] = [
        (anchor(), SignedRequest(BODY, sign(SECRET, BODY, NOW))),
        (TwilioVerifier(SECRET), twilio_request(token_signature)),
        (vonage(), SignedRequest(params=vonage_params())),
        (sms_hmac(), sms_hmac_request()),
    ]
    for verifier, request in cases:
        assert verifier.verify(request) is None


@pytest.mark.parametrize(
    ("verifier", "request_", "reason"),
    [
        (anchor(), SignedRequest(BODY, sign(SECRET, BODY, NOW - 500)), "timestamp_out_of_range"),
        (anchor(), SignedRequest(BODY, sign("other", BODY, NOW)), "signature_mismatch"),
        (anchor(), SignedRequest(BODY, {**sign(SECRET, BODY), "Anchor-Timestamp": "x"}),
         "malformed_header"),
        (TwilioVerifier(SECRET), SignedRequest(b"", {}, "POST", URL, FIELDS), "missing_header"),
        (TwilioVerifier(SECRET), SignedRequest(b"", [("X-Twilio-Signature", "a")] * 2),
         "malformed_header"),
        (TwilioVerifier(SECRET), twilio_request("bm90IGl0"), "signature_mismatch"),
        (vonage(), SignedRequest(params=vonage_params()[:-1]), "missing_parameter"),
        (vonage(), SignedRequest(params=[*vonage_params(), ("sig", "0")]), "malformed_parameter"),
        (vonage(), SignedRequest(params=vonage_params(stamp=NOW - 301)), "timestamp_out_of_range"),
        (vonage(), SignedRequest(params=vonage_params(secret="other")), "signature_mismatch"),
        (sms_hmac(), SignedRequest(BODY, {}), "missing_header"),
        (sms_hmac(), SignedRequest(BODY, [*sms_hmac_headers(SECRET, BODY, NOW).items()] * 2),
         "malformed_header"),
        (sms_hmac(), SignedRequest(BODY, {**sms_hmac_headers(SECRET, BODY), "X-Anchor-SMS-"
                                          "Timestamp": "١٢٣"}), "malformed_header"),
        (sms_hmac(), sms_hmac_request(stamp=NOW + 301), "timestamp_out_of_range"),
        (sms_hmac(), sms_hmac_request(secret="other"), "signature_mismatch"),
    ],
)  # fmt: skip
def test_each_verifier_refuses_with_the_reason_of_the_failed_check(
    verifier: Verifier, request_: SignedRequest, reason: str
) -> None:
    assert refusal(verifier, request_).reason == reason


def test_a_nan_clock_is_refused_not_trusted() -> None:
    nan = float("nan")
    assert refusal(vonage(nan), SignedRequest(params=vonage_params())).reason == (
        "timestamp_out_of_range"
    )
    assert refusal(sms_hmac(nan), sms_hmac_request()).reason == "timestamp_out_of_range"
    nan_anchor = AnchorVerifier(SECRET, clock=lambda: nan)
    request = SignedRequest(BODY, sign(SECRET, BODY, NOW))
    assert refusal(nan_anchor, request).reason == "timestamp_out_of_range"


# -- scheme details behind the interface -------------------------------------------------------


def test_twilio_signs_the_form_of_a_post_only() -> None:
    """On a GET Twilio's parameters are in the URL: its validator signs the URL alone."""
    signature = RequestValidator(SECRET).compute_signature(URL, {})
    TwilioVerifier(SECRET).verify(twilio_request(signature, method="GET"))
    refused = refusal(TwilioVerifier(SECRET), twilio_request(signature))
    assert refused.reason == "signature_mismatch"


def test_the_sms_hmac_verifier_refuses_a_replay_until_forgotten() -> None:
    verifier = sms_hmac()
    request = sms_hmac_request()
    verifier.verify(request)
    assert refusal(verifier, request).reason == "replay"
    signature = header_values(request.headers, "X-Anchor-SMS-Signature")[0]
    verifier.forget(signature)
    verifier.verify(request)
    verifier.clear()
    verifier.verify(request)


def test_accepted_signatures_are_forgotten_after_twice_the_window() -> None:
    now = [float(NOW)]
    verifier = SmsHmacVerifier(SECRET, 300, clock=lambda: now[0])
    verifier.verify(sms_hmac_request())
    now[0] += 601
    verifier.verify(sms_hmac_request(stamp=NOW + 601))  # prunes the first one
    now[0] = NOW
    verifier.verify(sms_hmac_request())  # its memory is gone: the window alone guards it


def test_headers_come_in_every_form_and_repeats_are_kept() -> None:
    pairs = [("X-A", " 1 "), ("x-a", "2"), ("X-B", "3")]
    raw = [(name.lower().encode(), value.encode("latin-1")) for name, value in pairs]
    for headers in (pairs, raw, httpx.Headers(pairs)):
        assert header_values(headers, "x-A") == ["1", "2"]
    assert header_values({"X-A": "\xe9"}, "X-A") == ["\xe9"]
    assert header_values([(b"x-a", b"\xe9")], "X-A") == ["\xe9"]  # latin-1, as HTTP/1.1 is


def test_first_match_compares_every_candidate() -> None:
    assert first_match(["a", "b"], ["c", "b", "a"]) == "b"
    assert first_match(["a"], ["\u20ac", ""]) is None  # not latin-1: no crash, no match
    assert first_match([], ["a"]) is None


def test_seen_ids_are_bounded_and_expire_by_time() -> None:
    seen = SeenIds(max_ids=2)
    assert seen.add("a", 1.0) and not seen.add("a", 2.0)
    assert seen.add("b", 2.0) and seen.add("c", 3.0)
    assert "a" not in seen and len(seen) == 2
    assert seen.add("d", 10.0, forget_before=3.0)
    assert "b" not in seen and "c" in seen
    seen.discard("c")
    assert "c" not in seen


def test_the_generic_signature_is_the_documented_hmac() -> None:
    digest = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sms_hmac_headers(SECRET, BODY, NOW)["X-Anchor-SMS-Signature"] == "sha256=" + digest


# -- no header breaks a verifier -----------------------------------------------------------------

NAMES = st.sampled_from(
    ["Anchor-Timestamp", "Anchor-Signature", "X-Twilio-Signature", "X-Anchor-SMS-Timestamp",
     "x-anchor-sms-signature", "X-Other"]
)  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(NOW - 400, NOW + 400).map(str),
    st.text("0123456789abcdef,=tv1sha256 ", max_size=90),
)
REASONS = {
    "missing_header",
    "malformed_header",
    "timestamp_out_of_range",
    "signature_mismatch",
    "replay",
}


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(NAMES | st.text(max_size=8), VALUES), max_size=6),
    raw=st.booleans(),
    body=st.binary(max_size=60),
)
def test_malformed_headers_are_refused_never_crash(
    pairs: list[tuple[str, str]], raw: bool, body: bytes
) -> None:
    headers = [(n.encode("utf-8"), v.encode("utf-8")) for n, v in pairs] if raw else pairs
    request = SignedRequest(body, headers, "POST", URL, FIELDS)
    for verifier in (anchor(), TwilioVerifier(SECRET), sms_hmac()):
        try:
            verifier.verify(request)
        except SignatureVerificationError as exc:
            assert exc.reason in REASONS and "\n" not in str(exc) and SECRET not in str(exc)
        else:
            pytest.fail(f"{type(verifier).__name__} accepted unsigned headers {pairs!r}")
