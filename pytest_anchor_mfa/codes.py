"""MFA codes: what a valid code looks like (``CodeRule``) and how one is taken from event data.

Shared by the plugin (markers and options build rules), the code sources and the inbound
adapters (each routed event has a rule for the codes it extracts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import CodeValidationError
from .redact import MaskedCode, MaskedDict, MaskedInt, MaskedList, MaskedText, mask_code

__all__ = [
    "CodeRule",
    "code_from_data",
    "codes_in_text",
    "is_sensitive_key",
    "mask_sensitive",
    "mask_value",
    "masked_secrets",
]

_SENSITIVE_KEY = re.compile(r"code|otp|token|pass|secret|key|pin|totp", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"\d{4}|\d[ -]\d")
"""Free text worth searching for a code: it has four digits in a row, or digits in groups."""


@dataclass(frozen=True)
class CodeRule:
    """The form a code must have: a regex matched in full, and a human description of it."""

    pattern: re.Pattern[str]
    description: str
    length: int | None = None
    """The digit count when the rule is "N digits" (a TOTP code is then made that long)."""

    @classmethod
    def digits(cls, count: int) -> CodeRule:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 32:
            raise ValueError(f"code digits must be a whole number from 1 to 32, got {count!r}")
        return cls(re.compile(rf"\d{{{count}}}"), f"{count} digits", count)

    @classmethod
    def from_pattern(cls, pattern: str) -> CodeRule:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"code pattern must be a non-empty regex string, got {pattern!r}")
        return cls(re.compile(pattern), f"a match of /{pattern}/")

    def check(self, code: object, *, event: str) -> MaskedCode:
        """``code`` as a masked str, or CodeValidationError saying what was expected."""
        if isinstance(code, int) and not isinstance(code, bool):
            # JSON numbers lose leading zeros; a 6-digit rule can only accept them as text.
            code = str(code)
        if not isinstance(code, str):
            raise CodeValidationError(
                f"event {event!r}: the code is a {_type_name(code)}, expected a string "
                f"of {self.description}"
            )
        text = code.strip()
        if not self.pattern.fullmatch(text):
            raise CodeValidationError(
                f"event {event!r}: received code {mask_code(text)!r} ({len(text)} characters) "
                f"is not {self.description}"
            )
        return MaskedCode(text)


def _type_name(value: object) -> str:
    # Masked event data (MaskedList, MaskedDict...) is named as the JSON type it stands for.
    for kind in (bool, int, float, str, list, dict, tuple):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def code_from_data(
    data: Mapping[str, Any], field: str, rule: CodeRule, *, event: str
) -> MaskedCode:
    """Take ``data[field]`` and validate it; the message lists the keys that did arrive, and
    the sender's ``problem`` text when it gave one (an inbound adapter that found no code)."""
    if field not in data:
        problem = data.get("problem")
        if isinstance(problem, str) and problem.strip():
            raise CodeValidationError(f"event {event!r} was signaled without a code: {problem}")
        keys = ", ".join(sorted(map(str, data))) or "none"
        raise CodeValidationError(
            f"event {event!r} was signaled without a {field!r} field (keys received: {keys}); "
            f'the sender should signal {{"{field}": "<code>"}}'
        )
    return rule.check(data[field], event=event)


def is_sensitive_key(key: object) -> bool:
    """Whether a data key looks like it holds a secret (``code``, ``otp``, ``apiKey``...)."""
    return bool(_SENSITIVE_KEY.search(str(key)))


def codes_in_text(text: str, rule: CodeRule | None = None) -> list[str]:
    """The code-looking values in free text (an SMS, a mail), best first; [] if none.

    Uses the inbound extractor (keywords, digit groups) with ``rule`` (default: 6 digits) and,
    when ``rule`` is another one, the 6-digit rule as well.
    """
    if not _DIGIT_RUN.search(text) and (rule is None or rule.length is not None):
        return []
    from .inbound.extract import extract_codes

    found: list[str] = []
    for each in dict.fromkeys((rule, None)):
        found += [c.value for c in extract_codes(text, rule=each) if c.value not in found]
    return found


def mask_value(value: Any, *, sensitive: bool = False, rule: CodeRule | None = None) -> Any:
    """``value`` (event data at any depth) with masked reprs; equal to it, serialises as it.

    Strings and numbers under secret-looking keys (``sensitive``) are masked whole; free text
    that contains a code has the code hidden in its repr; dicts and lists are masked in depth.
    """
    if isinstance(value, Mapping):
        return MaskedDict(
            (key, mask_value(item, sensitive=sensitive or is_sensitive_key(key), rule=rule))
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        masked = [mask_value(item, sensitive=sensitive, rule=rule) for item in value]
        return MaskedList(masked) if isinstance(value, list) else tuple(masked)
    if isinstance(value, MaskedCode | MaskedText | MaskedInt):
        return value
    if isinstance(value, str):
        if sensitive:
            return MaskedCode(value)
        codes = codes_in_text(value, rule)
        return MaskedText(value, codes) if codes else value
    if sensitive and isinstance(value, int) and not isinstance(value, bool):
        return MaskedInt(value)
    return value


def mask_sensitive(data: Mapping[str, Any], rule: CodeRule | None = None) -> dict[str, Any]:
    """A copy of event data whose secrets have masked reprs, at any depth (``mask_value``).

    The values still compare and serialise as the original data.
    """
    masked: dict[str, Any] = mask_value(data, rule=rule)
    return masked


def masked_secrets(value: Any) -> list[str]:
    """Every secret a ``mask_value`` result hides (to scrub it from reports as well)."""
    if isinstance(value, MaskedText):
        return list(value.hidden)
    if isinstance(value, MaskedCode | MaskedInt):
        return [str(value)]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [secret for item in value for secret in masked_secrets(item)]
    return []
