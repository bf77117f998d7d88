"""Every form field of every SMS provider, fuzzed against the real gateway over loopback.

Each example starts from what the provider really posts (``sms_requests``: Twilio's form,
Vonage's parameters, one request per part of a multipart SMS, the generic JSON body), then
replaces, drops or repeats any of its fields with hostile values (numbers with leading zeros,
huge numbers, non-ASCII digits, control characters, any JSON type) and signs the result as the
provider would, so the request gets past the signature check to the code that reads the
fields. Whatever arrives, the answer is never a 5xx: a refusal is a 4xx in the error envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_anchor_mfa.inbound.sms import SmsGateway
from pytest_anchor_mfa.inbound.sms_requests import twilio_fields, vonage_requests
from pytest_anchor_mfa.signatures.sms_hmac import sms_hmac_headers
from pytest_anchor_mfa.signatures.twilio import twilio_signature
from pytest_anchor_mfa.signatures.vonage import vonage_signature

NUMBER = "+15551230001"
VONAGE_SECRET = "vonage-fuzz-secret"
LONG_TEXT = "Your verification code is 864209. " + "x" * 300  # three Vonage parts

zero_padded = st.builds(
    lambda zeros, n: "0" * zeros + str(n), st.integers(0, 5), st.integers(0, 300)
)
numbers = zero_padded | st.integers(-(10**30), 10**30).map(str)
odd_digits = ["\u0661\u0662", "\uff11\uff12"]  # Arabic-Indic and fullwidth "12"
hostile = st.sampled_from(
    ["", " ", "00015", "000300", "1e3", *odd_digits, "\x00", "\r\n", "+", NUMBER, "15551230001"]
)
values = numbers | hostile | st.text(max_size=30)
NUMERIC = {"concat-total", "concat-part", "concat-ref", "timestamp", "NumMedia", "NumSegments"}
"""Fields that hold numbers: mostly fuzzed with numbers (leading zeros, huge, negative)."""
# What happens to a field picked for mutation: replaced, dropped, or sent twice (the second
# value fuzzed); the others are kept, so most requests get past the first check.
actions = st.sampled_from(["replace", "drop", "repeat"])


def mutate(
    pairs: list[tuple[str, str]], draw: st.DrawFn, exclude: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    names = [name for name, _ in pairs if name not in exclude]
    picked = draw(st.dictionaries(st.sampled_from(names), actions, max_size=3))
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        action = picked.get(name, "keep")
        if name in exclude or action == "drop":
            continue
        fuzzed = (numbers | values) if name in NUMERIC else values
        if action == "replace":
            value = draw(fuzzed)
        out.append((name, value))
        if action == "repeat":
            out.append((name, draw(fuzzed)))
    extra = draw(st.lists(st.tuples(st.text(max_size=12), values), max_size=2))
    return out + extra


@st.composite
def twilio_posts(draw: st.DrawFn) -> list[tuple[str, str]]:
    body = draw(st.sampled_from(["Code 123456", LONG_TEXT]) | st.text(max_size=50))
    pairs, _ = twilio_fields("unused", "http://unused", NUMBER, body, "+15005550006")
    return mutate(pairs, draw)


@st.composite
def vonage_posts(draw: st.DrawFn) -> tuple[str, list[list[tuple[str, str]]]]:
    text = draw(st.sampled_from(["Code 123456", LONG_TEXT]))
    parts = vonage_requests(NUMBER, text, "447700900001", secret=VONAGE_SECRET)
    how = draw(st.sampled_from(["GET", "form", "json"]))
    order = draw(st.permutations(range(len(parts))))
    target = draw(st.sampled_from(order))  # one part fuzzed; the others mostly as sent
    sent = []
    for index in order:
        fields = parts[index]
        if index == target or draw(st.integers(0, 3)) == 0:
            fields = mutate(fields, draw, exclude=("sig",))
        if draw(st.integers(0, 9)):  # mostly signed as Vonage does (else: refused as unsigned)
            fields.append(("sig", vonage_signature(VONAGE_SECRET, fields, "sha256")))
        sent.append(fields)
    return how, sent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@st.composite
def generic_posts(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {"from": "+15005550006", "to": NUMBER, "text": "Code 123456"}
    if draw(st.booleans()):
        payload["id"] = "msg-1"
    out: dict[str, Any] = {}
    picked = draw(st.dictionaries(st.sampled_from(sorted(payload)), actions, max_size=2))
    for name, value in payload.items():
        action = picked.get(name, "keep")
        if action != "drop":
            out[name] = draw(json_values) if action == "replace" else value
    out |= draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2))
    return out


@pytest.fixture(scope="module")
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway(lambda event, data: "delivered", vonage_secret=VONAGE_SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def fresh(gateway: SmsGateway) -> None:
    gateway.reset()
    gateway.route(NUMBER, "mfa")


def assert_no_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"] == response.status_code, response.text


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(fields=twilio_posts())
def test_fuzzed_twilio_fields_never_answer_5xx(
    gateway: SmsGateway, http: httpx.Client, fields: list[tuple[str, str]]
) -> None:
    fresh(gateway)
    url = gateway.url("twilio")
    signature = twilio_signature(gateway.twilio_auth_token, url, fields)
    response = http.post(
        url,
        content=str(httpx.QueryParams(fields)).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert_no_5xx(response)


@FUZZ
@given(post=vonage_posts())
def test_fuzzed_vonage_fields_and_multipart_numbers_never_answer_5xx(
    gateway: SmsGateway, http: httpx.Client, post: tuple[str, list[list[tuple[str, str]]]]
) -> None:
    fresh(gateway)
    how, requests = post
    url = gateway.url("vonage")
    for fields in requests:
        if how == "GET":
            response = http.get(url, params=httpx.QueryParams(fields))
        elif how == "form":
            response = http.post(url, data=dict(fields))
        else:
            response = http.post(url, json=dict(fields))
        assert_no_5xx(response)


@FUZZ
@given(payload=generic_posts(), raw=st.binary(max_size=40) | st.none())
def test_fuzzed_generic_fields_never_answer_5xx(
    gateway: SmsGateway, http: httpx.Client, payload: dict[str, Any], raw: bytes | None
) -> None:
    fresh(gateway)
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sms_hmac_headers(gateway.generic_secret, body)}
    assert_no_5xx(http.post(gateway.url("generic"), content=body, headers=headers))


@pytest.mark.parametrize("part", ["00015", "0000000000000000000000001", "1"])
def test_vonage_concat_numbers_with_leading_zeros_are_checked_as_used(
    gateway: SmsGateway, http: httpx.Client, part: str
) -> None:
    fresh(gateway)
    text = "Code 123456 " + "y" * 200
    first, second = vonage_requests(NUMBER, text, "44770", secret=VONAGE_SECRET)
    answers = []
    for fields in ([(n, part if n == "concat-part" else v) for n, v in first], second):
        fields = [(name, value) for name, value in fields if name != "sig"]
        fields.append(("sig", vonage_signature(VONAGE_SECRET, fields, "sha256")))
        answers.append(http.get(gateway.url("vonage"), params=httpx.QueryParams(fields)))
    for answer in answers:
        assert_no_5xx(answer)
    if part == "00015":  # part 15 of 2: refused, whatever its first four characters say
        assert answers[0].status_code == 400
        assert "'concat-part' must be from 1 to 'concat-total'" in answers[0].text
    else:  # 0...01 is part 1: with part 2, the whole message
        assert [answer.json()["signaled"] for answer in answers] == [False, True]
