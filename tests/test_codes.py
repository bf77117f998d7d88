"""Code validation and masking: whatever a sender puts in the event, the answer is a valid
code or a ``CodeValidationError`` that names the event and never shows the code."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_anchor_mfa.codes import CodeRule, code_from_data
from pytest_anchor_mfa.codes.masking import mask_sensitive, masked_secrets
from pytest_anchor_mfa.errors import CodeValidationError, InvalidArgumentError
from pytest_anchor_mfa.redact import MaskedCode, mask_code, mask_key

SIX = CodeRule.digits(6)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.text(max_size=8))
def test_any_event_data_gives_a_valid_code_or_a_clear_error(
    data: dict[str, Any], field: str
) -> None:
    try:
        code = code_from_data(data, field, SIX, event="mfa_code")
    except CodeValidationError as exc:
        message = str(exc)
        assert "'mfa_code'" in message
        value = data.get(field)
        if isinstance(value, str) and len(value.strip()) >= 3:
            # The received code is masked (the event name and field may appear, nothing else).
            rest = message.replace("'mfa_code'", "").replace(repr(field), "")
            assert value.strip() not in rest
    else:
        assert isinstance(code, MaskedCode) and re.fullmatch(r"\d{6}", code)
        assert repr(code) == "'••••••'"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"code": "123456"}, "123456"),
        ({"code": " 012345\n"}, "012345"),
        ({"code": 123456}, "123456"),  # a JSON number, as some senders do
    ],
)
def test_valid_codes(data: dict[str, Any], expected: str) -> None:
    assert code_from_data(data, "code", SIX, event="e") == expected


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "without a 'code' field (keys received: none)"),
        ({"otp": "123456"}, "keys received: otp"),
        ({"code": "12345"}, "'•••••' (5 characters) is not 6 digits"),
        ({"code": "12a456"}, "is not 6 digits"),
        ({"code": None}, "the code is a NoneType, expected a string of 6 digits"),
        ({"code": True}, "the code is a bool"),
        ({"code": ["123456"]}, "the code is a list"),
    ],
)
def test_invalid_codes_name_what_was_expected(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CodeValidationError, match=re.escape(fragment)):
        code_from_data(data, "code", SIX, event="e")


def test_pattern_rule() -> None:
    rule = CodeRule.from_pattern(r"[A-Z0-9]{8}")
    assert rule.check("AB12CD34", event="e") == "AB12CD34"
    with pytest.raises(CodeValidationError, match=r"is not a match of /\[A-Z0-9\]\{8\}/"):
        rule.check("ab12cd34", event="e")


@pytest.mark.parametrize("count", [0, 33, -1, True, "6", 6.0])
def test_bad_digit_counts(count: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="whole number from 1 to 32") as info:
        CodeRule.digits(count)
    assert isinstance(info.value, ValueError)  # what it was before it had a class of its own


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(", "missing ), unterminated subpattern at position 0"),
        ("[0-9", "unterminated character set at position 0"),
        ("a{5,3}", "min repeat greater than max repeat"),
        ("a{99999999999}", "the repetition number is too large"),  # an OverflowError in re
    ],
)
def test_an_invalid_regex_names_the_pattern_and_the_problem(pattern: str, problem: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        CodeRule.from_pattern(pattern)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"code pattern {pattern!r} is not a valid regex: ")
    assert problem in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("pattern", ["", None, 6])
def test_an_empty_or_non_string_pattern(pattern: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="code pattern must be a non-empty regex"):
        CodeRule.from_pattern(pattern)


def test_sensitive_values_mask_their_repr_but_not_their_value() -> None:
    data = mask_sensitive({"code": "123456", "otpCode": "654321", "user": "alice", "n": 1})
    assert data == {"code": "123456", "otpCode": "654321", "user": "alice", "n": 1}
    shown = repr(data)
    assert "123456" not in shown and "654321" not in shown and "alice" in shown
    assert json.loads(json.dumps(data)) == {
        "code": "123456",
        "otpCode": "654321",
        "user": "alice",
        "n": 1,
    }


@given(st.text(min_size=12, max_size=80).filter(lambda key: key.strip() == key))
def test_a_masked_key_shows_at_most_its_last_four_characters(key: str) -> None:
    masked = mask_key(key)
    assert key not in masked
    assert masked.endswith(key[-4:])
    assert len(masked) <= 8


@pytest.mark.parametrize(
    ("key", "shown"),
    [(None, "<none>"), ("", "<none>"), ("short", "………"), ("elevenchars", "………")],
)
def test_short_keys_are_hidden_entirely(key: str | None, shown: str) -> None:
    assert mask_key(key) == shown


def test_mask_code_keeps_the_length_only() -> None:
    assert mask_code("123456") == "••••••"
    assert mask_code("") == "<empty>"


def test_mask_sensitive_masks_in_depth_and_in_free_text() -> None:
    raw = {
        "message": "Your login code is 443322",
        "meta": {"otp": "887766", "attempts": [{"pin": 1234}, "your OTP: 555 111"]},
        "user": "alice",
        "ok": True,
    }
    data = mask_sensitive(raw)
    assert data == raw and json.loads(json.dumps(data)) == raw
    shown = repr(data)
    assert not any(secret in shown for secret in ("443322", "887766", "1234", "555 111"))
    assert "'Your login code is ••••••'" in shown and "'alice'" in shown and "True" in shown
    assert repr(data["meta"]["attempts"][0]["pin"]) == "'••••'"
    assert str(data["meta"]["attempts"][0]["pin"]) == "1234"  # an int subclass, str intact
    assert sorted(masked_secrets(data)) == ["1234", "443322", "555111", "887766"]


def test_masked_code_stays_masked_when_stripped_or_recased() -> None:
    code = MaskedCode(" ab12cd ")
    for derived in (code.strip(), code.upper(), code.lower().strip(), code.lstrip().rstrip()):
        assert isinstance(derived, MaskedCode) and "b12c" not in repr(derived).lower()
    assert code.strip().upper() == "AB12CD"
