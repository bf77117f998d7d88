"""SMS provider webhooks: real HTTP against a running ``SmsGateway``.

Twilio's signature is checked against the official ``twilio`` package's ``RequestValidator``
(and its published vector); Vonage's ``sig`` against the vector of Vonage's own SDK tests; the
generic form's HMAC against its definition in docs/sms.md. A recording signaler stands in for the
events API, except in the pytester tests, where ``mfa_code()`` gets the code end to end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.inbound.concat import Reassembler
from pytest_anchor_mfa.inbound.sms import SmsGateway
from pytest_anchor_mfa.inbound.sms_requests import generic_request, vonage_requests
from pytest_anchor_mfa.signatures import SignatureVerificationError, SignedRequest, VonageVerifier
from pytest_anchor_mfa.signatures.sms_hmac import sms_hmac_headers
from pytest_anchor_mfa.signatures.twilio import twilio_signature, url_variants
from pytest_anchor_mfa.signatures.vonage import vonage_signature

pytest_plugins = ["pytester"]

NUMBER = "+15551230001"
VONAGE_SECRET = "vonage-signature-secret"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class Recorder:
    """A signaler that records ``(event, data)``; ``failures`` makes the next calls raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = 0
        self._lock = threading.Lock()

    def __call__(self, event: str, data: dict[str, Any]) -> str:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("events API unreachable")
            self.calls.append((event, data))
        return "delivered"


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def running(recorder: Recorder) -> Iterator[SmsGateway]:
    with SmsGateway(recorder, vonage_secret=VONAGE_SECRET) as gateway:
        yield gateway


@pytest.fixture
def gateway(running: SmsGateway, recorder: Recorder) -> Iterator[SmsGateway]:
    running.route(NUMBER, "mfa")
    yield running
    running.reset()
    recorder.calls.clear()
    recorder.failures = 0


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def twilio_form(
    to: str = NUMBER, body: str = "Your code is 123456", **extra: str
) -> dict[str, str]:
    return {
        "From": "+15005550006",
        "To": to,
        "Body": body,
        "MessageSid": "SM" + "ab" * 16,
        "AccountSid": "AC" + "cd" * 16,
        "NumMedia": "0",
        **extra,
    }


def post_twilio(
    http: httpx.Client,
    gateway: SmsGateway,
    form: dict[str, str],
    *,
    token: str | None = None,
    signed_url: str | None = None,
) -> httpx.Response:
    """Post ``form`` signed by Twilio's own validator (the oracle)."""
    url = gateway.url("twilio")
    validator = RequestValidator(token or gateway.twilio_auth_token)
    signature = validator.compute_signature(signed_url or url, form)
    return http.post(url, data=form, headers={"X-Twilio-Signature": signature})


# -- Twilio's signature -------------------------------------------------------------------------


def test_twilio_published_vector() -> None:
    # Twilio's published example: token 12345, this URL and these five call parameters. (With
    # no parameters the signature is another one, checked against the validator too.)
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    validator = RequestValidator("12345")
    assert twilio_signature("12345", url, list(params.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_signature("12345", url, []) == validator.compute_signature(url, {})


@settings(max_examples=60, deadline=None)
@given(
    token=st.text(min_size=1, max_size=20),
    fields=st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=6),
)
def test_twilio_signature_is_the_validators(token: str, fields: dict[str, str]) -> None:
    url = "https://example.com:8443/sms/twilio?x=1"
    ours = twilio_signature(token, url, list(fields.items()))
    assert ours == RequestValidator(token).compute_signature(url, fields)
    assert RequestValidator(token).validate(url, fields, ours)


def test_url_variants_with_and_without_the_port() -> None:
    assert url_variants("http://127.0.0.1:8080/a?b=1") == [
        "http://127.0.0.1:8080/a?b=1",
        "http://127.0.0.1/a?b=1",
    ]
    assert url_variants("https://example.com/a") == [
        "https://example.com/a",
        "https://example.com:443/a",
    ]
    assert url_variants("http://host:notaport/a") == ["http://host:notaport/a"]


def test_a_twilio_post_signed_by_twilios_validator_signals_the_code(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    response = post_twilio(http, gateway, twilio_form(Extra="unknown fields are signed too"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml"
    assert response.text == TWIML
    [(event, data)] = recorder.calls
    assert event == "mfa"
    assert data["code"] == "123456"
    assert (data["channel"], data["from"], data["to"]) == ("sms", "+15005550006", NUMBER)
    assert data["text"] == "Your code is 123456"
    [message] = gateway.messages
    assert message.code == "123456" and message.provider == "twilio"
    assert "123456" not in repr(message) and "123456" not in repr(gateway.messages)


@pytest.mark.parametrize("variant", ["without port", "with port"])
def test_twilio_signatures_over_the_url_with_or_without_its_port(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client, variant: str
) -> None:
    port = gateway.url("twilio").split(":")[2].split("/")[0]
    signed = gateway.url("twilio").replace(f":{port}", "") if variant == "without port" else None
    assert post_twilio(http, gateway, twilio_form(), signed_url=signed).status_code == 200
    assert len(recorder.calls) == 1


def test_a_public_url_is_what_twilio_signs_behind_a_proxy(
    recorder: Recorder, http: httpx.Client
) -> None:
    public = "https://sms.example.com/hooks"
    with SmsGateway(recorder, public_url=public) as gateway:
        gateway.route(NUMBER, "mfa")
        assert gateway.public_url("twilio") == public + "/sms/twilio"
        loopback = post_twilio(http, gateway, twilio_form())
        assert loopback.status_code == 403  # signed for a URL Twilio did not request
        for signed in (public + "/sms/twilio", "https://sms.example.com:443/hooks/sms/twilio"):
            form = twilio_form(MessageSid="SM" + hashlib.md5(signed.encode()).hexdigest())
            assert post_twilio(http, gateway, form, signed_url=signed).status_code == 200
        assert gateway.send(NUMBER, "Your code is 555111").status_code == 200
    assert [data["code"] for _, data in recorder.calls] == ["123456", "123456", "555111"]
    recorder.calls.clear()


def _signed(gateway: SmsGateway, form: dict[str, str]) -> str:
    return RequestValidator(gateway.twilio_auth_token).compute_signature(
        gateway.url("twilio"), form
    )


@pytest.mark.parametrize(
    "case", ["missing", "duplicated", "wrong token", "extra field", "changed body", "garbage"]
)
def test_a_forged_twilio_post_is_403_and_signals_nothing(
    gateway: SmsGateway,
    recorder: Recorder,
    http: httpx.Client,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    form = twilio_form()
    signature = _signed(gateway, form)
    headers: list[tuple[str, str | bytes]] = [("X-Twilio-Signature", signature)]
    if case == "missing":
        headers = []
    elif case == "duplicated":  # even twice the right value: never resolved to one copy
        headers = headers * 2
    elif case == "wrong token":
        wrong = RequestValidator("not-the-token").compute_signature(gateway.url("twilio"), form)
        headers = [("X-Twilio-Signature", wrong)]
    elif case == "extra field":
        form["Injected"] = "not covered by the signature"
    elif case == "changed body":
        form["Body"] = "Your code is 999999"
    else:
        headers = [("X-Twilio-Signature", b"\xe9\xe9 not base64")]
    with caplog.at_level(logging.INFO, logger="pytest_anchor_mfa.inbound.sms"):
        response = http.post(gateway.url("twilio"), data=form, headers=headers)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == 403
    assert recorder.calls == [] and gateway.messages == []
    refusals = [r for r in caplog.records if r.name == "pytest_anchor_mfa.inbound.sms"]
    assert len(refusals) == 1 and "403" in refusals[0].getMessage()


@pytest.mark.parametrize("host", [b"[abc", b"h:notaport", b"h:99999", b"", b"\xff\xfe"])
def test_a_bad_host_header_is_a_403_never_a_500(
    gateway: SmsGateway, recorder: Recorder, host: bytes
) -> None:
    body = b"From=%2B1&To=%2B15551230001&Body=Code+123456&MessageSid=SM1"
    port = int(gateway.url("twilio").split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /sms/twilio HTTP/1.1\r\nHost: " + host + b"\r\nX-Twilio-Signature: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 403 Forbidden"
    assert recorder.calls == []


def test_twilio_redeliveries_are_deduplicated_on_message_sid(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    form = twilio_form()
    for _ in range(3):
        response = post_twilio(http, gateway, form)
        assert response.status_code == 200 and response.text == TWIML
    assert len(recorder.calls) == 1 and len(gateway.messages) == 1
    other = twilio_form(MessageSid="SM" + "ef" * 16)
    assert post_twilio(http, gateway, other).status_code == 200
    assert len(recorder.calls) == 2


def test_a_twilio_post_missing_a_field_is_400(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    form = twilio_form()
    del form["MessageSid"]
    response = post_twilio(http, gateway, form)
    assert response.status_code == 400 and "MessageSid" in response.json()["error"]["message"]
    assert recorder.calls == []


# -- routing, codes, signaling --------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
def test_an_unrouted_number_is_404_and_signals_nothing(
    gateway: SmsGateway, recorder: Recorder, provider: str
) -> None:
    response = gateway.send("+15559999999", "Your code is 123456", provider=provider)
    assert response.status_code == 404, response.text
    assert "no route" in response.json()["error"]["message"]
    assert recorder.calls == [] and gateway.messages == []


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
def test_every_provider_signals_the_routed_event(
    gateway: SmsGateway, recorder: Recorder, provider: str
) -> None:
    gateway.route("+1555777*", "other")
    response = gateway.send("+15557770000", "Your login code: 246810", provider=provider)
    assert response.status_code == 200, response.text
    [(event, data)] = recorder.calls
    assert (event, data["code"], data["channel"]) == ("other", "246810", "sms")
    assert gateway.wait_for_message("+15557770000", timeout=1).event == "other"


def test_an_sms_without_a_code_still_signals(gateway: SmsGateway, recorder: Recorder) -> None:
    assert gateway.send(NUMBER, "Welcome aboard!").status_code == 200
    [(_, data)] = recorder.calls
    assert "code" not in data and "6 digits" in data["problem"]
    assert gateway.messages[0].code is None


def test_the_events_rule_reads_the_code(gateway: SmsGateway, recorder: Recorder) -> None:
    gateway.route("+15550008888", "long", rule=CodeRule.digits(8))
    assert gateway.send("+15550008888", "Use 12345678 to sign in").status_code == 200
    assert recorder.calls[0][1]["code"] == "12345678"


def test_a_failed_signal_is_503_and_the_retry_is_accepted(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    recorder.failures = 1
    form = twilio_form()
    failed = post_twilio(http, gateway, form)
    assert failed.status_code == 503 and "ConnectionError" in failed.json()["error"]["message"]
    assert gateway.messages == []
    assert post_twilio(http, gateway, form).status_code == 200  # same MessageSid: not a dupe
    assert len(recorder.calls) == 1


def test_bad_requests_get_the_envelope_never_a_500(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    base = gateway.url("twilio").rsplit("/sms/", 1)[0]
    assert http.get(base + "/nowhere").status_code == 404
    wrong = http.get(gateway.url("twilio"))
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    big = http.post(gateway.url("generic"), content=b"x" * (200 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == 413
    latin = http.post(gateway.url("twilio"), content=b"Body=\xff\xfe", headers=_form_type())
    assert latin.status_code == 400  # read before its signature is checked
    assert latin.json()["error"] == {"code": 400, "message": "the form body is not UTF-8"}
    assert recorder.calls == []


def _form_type() -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded"}


# -- Vonage ----------------------------------------------------------------------------------------


def test_vonage_md5hash_vector_of_vonages_sdk() -> None:
    params = [("a", "1"), ("b", "2"), ("timestamp", "1461605396")]
    assert vonage_signature("secret", params, "md5hash") == "6af838ef94998832dbfc29020b564830"


def test_vonage_hmac_sha256_is_sorted_and_escaped() -> None:
    params = [("text", "a&b=c"), ("msisdn", "1"), ("timestamp", "10"), ("sig", "ignored")]
    expected = hmac.new(b"s", b"&msisdn=1&text=a_b_c&timestamp=10", "sha256").hexdigest()
    assert vonage_signature("s", params, "sha256") == expected
    signed = SignedRequest(params=[*params[:3], ("sig", expected.upper())])
    VonageVerifier("s", "sha256", clock=lambda: 10).verify(signed)  # upper-case hex accepted
    with pytest.raises(SignatureVerificationError, match="away from now"):
        VonageVerifier("s", "sha256", clock=lambda: 10_000).verify(signed)  # stale
    with pytest.raises(SignatureVerificationError, match="does not match"):
        VonageVerifier("s", "sha1", clock=lambda: 10).verify(signed)


def test_a_signed_vonage_get_is_accepted(gateway: SmsGateway, recorder: Recorder) -> None:
    response = gateway.send(NUMBER, "Code 135790 for sign-in", provider="vonage")
    assert response.status_code == 200 and response.json()["signaled"] is True
    [(event, data)] = recorder.calls
    assert (event, data["code"], data["to"]) == ("mfa", "135790", NUMBER.lstrip("+"))


@pytest.mark.parametrize("body", ["form", "json"])
def test_a_signed_vonage_post_is_accepted(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client, body: str
) -> None:
    [params] = vonage_requests(NUMBER, "Code 112233", "447700900001", secret=VONAGE_SECRET)
    if body == "form":
        response = http.post(gateway.url("vonage"), data=dict(params))
    else:
        response = http.post(gateway.url("vonage"), json=dict(params))
    assert response.status_code == 200, response.text
    assert recorder.calls[0][1]["code"] == "112233"


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "tampered"])
def test_a_vonage_request_not_validly_signed_is_403(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client, case: str
) -> None:
    now = time.time() - (3600 if case == "stale" else 0)
    secret = "wrong" if case == "forged" else VONAGE_SECRET
    [params] = vonage_requests(NUMBER, "Code 112233", "447700900001", secret=secret, now=now)
    if case == "unsigned":
        [params] = vonage_requests(NUMBER, "Code 112233", "447700900001")
    if case == "tampered":
        params = [(k, "Code 999999" if k == "text" else v) for k, v in params]
    response = http.get(gateway.url("vonage"), params=tuple(params))
    assert response.status_code == 403, response.text
    assert recorder.calls == []


def test_vonage_multipart_sms_is_reassembled(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    text = "Hello! " + "x" * 300 + " Your verification code is 864209."
    parts = vonage_requests(NUMBER, text, "447700900001", secret=VONAGE_SECRET)
    assert len(parts) == 3
    for params in reversed(parts):  # the network delivers parts in any order
        assert recorder.calls == []
        response = http.get(gateway.url("vonage"), params=tuple(params))
        assert response.status_code == 200, response.text
    [(_, data)] = recorder.calls
    assert data["text"] == text and data["code"] == "864209"
    assert response.json()["signaled"] is True
    again = http.get(gateway.url("vonage"), params=tuple(parts[0]))  # a part sent again
    assert again.status_code == 200 and again.json()["signaled"] is False
    assert len(recorder.calls) == 1


def test_a_vonage_message_missing_a_part_signals_nothing(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    parts = vonage_requests(
        NUMBER, "Your code is 111222. " + "y" * 400, "44770", secret=VONAGE_SECRET
    )
    del parts[1]
    for params in parts:
        response = http.get(gateway.url("vonage"), params=tuple(params))
        assert response.status_code == 200 and response.json()["signaled"] is False
    assert recorder.calls == [] and gateway.messages == []


def test_an_unsigned_vonage_gateway_takes_unsigned_requests(
    recorder: Recorder, http: httpx.Client
) -> None:
    with SmsGateway(recorder) as gateway:
        gateway.route(NUMBER, "mfa")
        [params] = vonage_requests(NUMBER, "Code 445566", "447700900001")
        assert http.get(gateway.url("vonage"), params=tuple(params)).status_code == 200
        assert http.get(gateway.url("vonage"), params=tuple(params)).status_code == 200
    assert [data["code"] for _, data in recorder.calls] == ["445566"]  # messageId deduped
    recorder.calls.clear()


def test_incomplete_multipart_messages_are_bounded_in_memory_and_time() -> None:
    now = [0.0]
    parts = Reassembler(max_pending=2, max_age=60, max_chars=1000, clock=lambda: now[0])
    assert parts.add(("a", "b", "1"), 2, 1, "x") is None
    assert parts.add(("a", "b", "2"), 2, 1, "x") is None
    assert parts.add(("a", "b", "3"), 2, 1, "x") is None
    assert len(parts) == 2  # the oldest was dropped
    assert parts.add(("a", "b", "1"), 2, 2, "y") is None  # its first part is gone
    now[0] = 61.0
    assert parts.add(("a", "b", "9"), 2, 1, "z" * 1001) is None
    assert len(parts) == 0  # the rest expired, and this one is over the character budget
    assert parts.add(("a", "b", "5"), 2, 2, "2") is None
    assert parts.add(("a", "b", "5"), 2, 1, "1", "id") == ("12", ["id"])


# -- the generic form ------------------------------------------------------------------------------


def test_the_generic_signature_is_as_documented() -> None:
    body = b'{"from": "+1", "to": "+2", "text": "hi"}'
    headers = sms_hmac_headers("s3cret", body, timestamp=1700000000)
    digest = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers == {
        "X-Anchor-SMS-Timestamp": "1700000000",
        "X-Anchor-SMS-Signature": "sha256=" + digest,
    }


def test_a_signed_generic_post_signals_and_a_replay_is_refused(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    body, headers = generic_request(NUMBER, "Your code is 370370", "+1500", gateway.generic_secret)
    first = http.post(gateway.url("generic"), content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "signaled": True}
    replay = http.post(gateway.url("generic"), content=body, headers=headers)
    assert replay.status_code == 403 and "replay" in replay.json()["error"]["message"]
    assert len(recorder.calls) == 1


@pytest.mark.parametrize("case", ["missing", "wrong", "old", "future", "duplicated", "bad stamp"])
def test_a_generic_post_not_validly_signed_is_403(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client, case: str
) -> None:
    secret = "wrong" if case == "wrong" else gateway.generic_secret
    stamp = {"old": int(time.time()) - 600, "future": int(time.time()) + 600}.get(case)
    body, headers = generic_request(NUMBER, "Your code is 123456", "+1", secret, timestamp=stamp)
    pairs = list(headers.items())
    if case == "missing":
        pairs = pairs[:1]
    elif case == "duplicated":
        pairs.append(pairs[-1])
    elif case == "bad stamp":
        pairs[1] = ("X-Anchor-SMS-Timestamp", "soon")
    response = http.post(gateway.url("generic"), content=body, headers=pairs)
    assert response.status_code == 403, response.text
    assert recorder.calls == []


def test_a_signed_generic_post_with_bad_fields_is_400(
    gateway: SmsGateway, recorder: Recorder, http: httpx.Client
) -> None:
    body = json.dumps({"from": "+1", "to": NUMBER, "text": 5}).encode()
    headers = sms_hmac_headers(gateway.generic_secret, body)
    response = http.post(gateway.url("generic"), content=body, headers=headers)
    assert response.status_code == 400 and recorder.calls == []


# -- fuzzing: no input is a 500 --------------------------------------------------------------------

form_fields = st.lists(
    st.tuples(
        st.sampled_from(["From", "To", "Body", "MessageSid", "msisdn", "to", "text", "messageId",
                         "concat-ref", "concat-total", "concat-part", "sig", "timestamp", "x"])
        | st.text(max_size=10),
        st.text(max_size=40) | st.just(NUMBER),
    ),
    max_size=12,
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=form_fields,
    path=st.sampled_from(["twilio", "vonage", "generic"]),
    method=st.sampled_from(["POST", "GET"]),
    signed=st.booleans(),
)
def test_arbitrary_form_fields_never_cause_a_500(
    gateway: SmsGateway,
    http: httpx.Client,
    fields: list[tuple[str, str]],
    path: str,
    method: str,
    signed: bool,
) -> None:
    url = gateway.url(path)
    headers = {}
    if signed and path == "twilio":
        headers["X-Twilio-Signature"] = twilio_signature(gateway.twilio_auth_token, url, fields)
    if signed and path == "vonage":
        fields = [*fields, ("timestamp", str(int(time.time())))]
        fields.append(("sig", vonage_signature(VONAGE_SECRET, fields, "sha256")))
    encoded = httpx.QueryParams(fields)
    if method == "GET":
        response = http.get(url, params=encoded, headers=headers)
    else:
        content = str(encoded).encode()
        if signed and path == "generic":
            headers |= sms_hmac_headers(gateway.generic_secret, content)
        response = http.post(url, content=content, headers={**_form_type(), **headers})
    assert response.status_code in (200, 400, 403, 404, 405), response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"] == response.status_code


# -- the fixture, end to end -----------------------------------------------------------------------

INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")


def test_mfa_code_gets_the_code_of_a_twilio_post(
    pytester: pytest.Pytester, clean_anchor_env: None
) -> None:
    pytester.makepyfile(
        """
        import pytest


        def test_login(anchor_sms, mfa_code):
            response = anchor_sms.send(anchor_sms.number(), "Your code is 123456")
            assert response.status_code == 200
            assert mfa_code(timeout=10) == "123456"
            [message] = anchor_sms.messages
            assert "123456" not in repr(message) and "123456" not in repr(anchor_sms)


        @pytest.mark.mfa(digits=8)
        def test_the_marker_rule_reads_the_sms(anchor_sms, mfa_code):
            number = anchor_sms.number()
            anchor_sms.send(number, "Code 12345678 (expires at 10:45)", provider="vonage")
            assert mfa_code(timeout=10) == "12345678"


        def test_the_gateway_was_emptied(anchor_sms, mfa_event_name):
            assert anchor_sms.messages == []
            assert anchor_sms.gateway.routes.resolve("+15550000000") is None
            generic = anchor_sms.send(anchor_sms.number("other"), "Code 424242", provider="generic")
            assert generic.status_code == 200
            assert anchor_sms.wait_for_message(timeout=5).event == "other"
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=3)


def test_the_twilio_auth_token_comes_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, clean_anchor_env: None
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tw-token-from-env")
    pytester.makepyfile(
        """
        def test_token(anchor_sms, anchor_settings):
            assert anchor_sms.twilio_auth_token == "tw-token-from-env"
            assert "tw-token-from-env" not in repr(anchor_settings)
            assert anchor_sms.url("twilio").endswith("/sms/twilio")
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)


def test_sending_to_an_unrouted_number_fails_at_once(
    pytester: pytest.Pytester, clean_anchor_env: None
) -> None:
    pytester.makepyfile(
        """
        import time

        import pytest

        from pytest_anchor_mfa import InvalidArgumentError


        def test_unrouted(anchor_sms):
            started = time.monotonic()
            with pytest.raises(InvalidArgumentError) as caught:
                anchor_sms.send("+15550009999", "Your code is 123456")
            assert time.monotonic() - started < 5  # at once, not after a wait's timeout (120 s)
            message = str(caught.value)
            assert "no route takes the number '+15550009999'" in message
            assert "anchor_sms.number()" in message and "anchor_sms.route(" in message
            assert anchor_sms.messages == []


        def test_a_routed_glob_is_fine(anchor_sms, mfa_code):
            anchor_sms.route("+1444*")
            assert anchor_sms.send("+14440001111", "Code 654321").status_code == 200
            assert mfa_code(timeout=10) == "654321"
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=2)
