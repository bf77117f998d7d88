"""MFA codes: what a valid code looks like, and the sources a code can come from.

Sources:

* ``events`` - wait on an event of the events API and take ``data[field]`` (the default);
* ``totp`` - compute an RFC 6238 code from a shared secret, never the same code twice;
* ``prompt`` - ask a person at the terminal (local headed runs), with a timeout.
"""

from __future__ import annotations

import re
import select
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TextIO

from .client import EventsClient
from .errors import CodeValidationError, ConfigurationError, EventTimeoutError
from .redact import MaskedCode, mask_code

__all__ = [
    "CodeRule",
    "code_from_data",
    "mask_sensitive",
    "prompt_for_code",
    "wait_for_code",
]

_SENSITIVE_KEY = re.compile(r"code|otp|token|pass|secret|key|pin|totp", re.IGNORECASE)


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
                f"event {event!r}: the code is a {type(code).__name__}, expected a string "
                f"of {self.description}"
            )
        text = code.strip()
        if not self.pattern.fullmatch(text):
            raise CodeValidationError(
                f"event {event!r}: received code {mask_code(text)!r} ({len(text)} characters) "
                f"is not {self.description}"
            )
        return MaskedCode(text)


def code_from_data(
    data: Mapping[str, Any], field: str, rule: CodeRule, *, event: str
) -> MaskedCode:
    """Take ``data[field]`` and validate it; the message lists the keys that did arrive."""
    if field not in data:
        keys = ", ".join(sorted(map(str, data))) or "none"
        raise CodeValidationError(
            f"event {event!r} was signaled without a {field!r} field (keys received: {keys}); "
            f'the sender should signal {{"{field}": "<code>"}}'
        )
    return rule.check(data[field], event=event)


def mask_sensitive(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of event data whose secret-looking string values have masked reprs.

    The values still compare and serialise as the original strings.
    """
    return {
        key: MaskedCode(value)
        if isinstance(value, str) and _SENSITIVE_KEY.search(str(key))
        else value
        for key, value in data.items()
    }


def wait_for_code(
    client: EventsClient,
    event: str,
    *,
    timeout: float,
    field: str,
    rule: CodeRule,
) -> MaskedCode:
    """Block on ``event`` until it is signaled, then validate its code."""
    data = client.wait(event, timeout)
    return code_from_data(data, field, rule, event=event)


def prompt_for_code(
    event: str,
    *,
    timeout: float,
    rule: CodeRule,
    suspend_capture: Callable[[], AbstractContextManager[object]],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> MaskedCode:
    """Ask a person for the code on the terminal, with output capture suspended.

    Fails at once, with a reason, where no person can answer (no terminal, as in CI).
    """
    with suspend_capture():
        # Looked up only now: while pytest captures, sys.stdin/sys.stdout are its stand-ins.
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        if not stdin.isatty():
            raise ConfigurationError(
                "the prompt code source needs an interactive terminal (stdin is not a TTY: "
                "CI, an xdist worker, or input piped in); use --anchor-code-source events or "
                "totp there"
            )
        stdout.write(
            f"\n[anchor-mfa] Enter the MFA code for {event!r} ({rule.description}), {timeout:g} s: "
        )
        stdout.flush()
        ready, _, _ = select.select([stdin], [], [], timeout)
        if not ready:
            stdout.write("\n")
            raise EventTimeoutError(
                f"nobody typed a code within {timeout:g} s", event_name=event, timeout=timeout
            )
        answer = stdin.readline()
    return rule.check(answer, event=event)
