"""What a valid code looks like (``CodeRule``) and how one is taken from event data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import CodeValidationError, InvalidArgumentError
from ..redact import MaskedCode, mask_code

__all__ = ["CodeRule", "code_from_data"]


@dataclass(frozen=True)
class CodeRule:
    """The form a code must have: a regex matched in full, and a human description of it."""

    pattern: re.Pattern[str]
    description: str
    length: int | None = None
    """The digit count when the rule is "N digits" (a TOTP code is then made that long)."""

    @classmethod
    def digits(cls, count: int) -> CodeRule:
        """``count`` digits; else ``InvalidArgumentError`` (a ``ValueError``)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 32:
            raise InvalidArgumentError(
                f"code digits must be a whole number from 1 to 32, got {count!r}"
            )
        return cls(re.compile(rf"\d{{{count}}}"), f"{count} digits", count)

    @classmethod
    def from_pattern(cls, pattern: str) -> CodeRule:
        """A full match of the regex ``pattern``; else ``InvalidArgumentError`` (a ValueError)."""
        if not isinstance(pattern, str) or not pattern:
            raise InvalidArgumentError(
                f"code pattern must be a non-empty regex string, got {pattern!r}"
            )
        try:
            compiled = re.compile(pattern)
        except (re.error, OverflowError) as exc:  # OverflowError: a repeat count like {10**10}
            raise InvalidArgumentError(
                f"code pattern {pattern!r} is not a valid regex: {exc}"
            ) from None
        return cls(compiled, f"a match of /{pattern}/")

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
