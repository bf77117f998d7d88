"""The plugin's markers, their documentation, and validation of their arguments.

Arguments are checked at collection time, so a typo fails the run before any browser starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ..codes.rule import CodeRule
from ..errors import ConfigurationError
from .options import SOURCES, parse_timeout

__all__ = [
    "MARKERS",
    "MfaMarker",
    "marker_problems",
    "mfa_marker",
    "signed_in_marker",
    "timeout_marker",
]

MARKERS = {
    "anchor_timeout": "anchor_timeout(seconds): timeout of every event wait in this test "
    "(overrides --anchor-timeout)",
    "mfa": "mfa(event=None, timeout=None, digits=None, pattern=None, field=None, source=None): "
    "per-test settings of the mfa_code fixture",
    "signed_in": "signed_in(user): the test's Playwright context starts signed in as user "
    "(signed in once per run by the anchor_sign_in fixture, then reused)",
}

_MFA_KEYS = ("event", "timeout", "digits", "pattern", "field", "source")


@dataclass(frozen=True)
class MfaMarker:
    event: str | None = None
    timeout: float | None = None
    rule: CodeRule | None = None
    field: str | None = None
    source: str | None = None


def timeout_marker(node: pytest.Item) -> float | None:
    marker = node.get_closest_marker("anchor_timeout")
    if marker is None:
        return None
    args = list(marker.args)
    if "seconds" in marker.kwargs:
        args.append(marker.kwargs["seconds"])
    extra = set(marker.kwargs) - {"seconds"}
    if len(args) != 1 or extra:
        raise ConfigurationError(
            "@pytest.mark.anchor_timeout takes one argument, the seconds: "
            f"anchor_timeout(30), got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    return parse_timeout(args[0], "@pytest.mark.anchor_timeout(seconds)")


def _non_empty_str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"@pytest.mark.mfa({name}=...) must be a non-empty string, got {value!r}"
        )
    return value


def mfa_marker(node: pytest.Item) -> MfaMarker:
    marker = node.get_closest_marker("mfa")
    if marker is None:
        return MfaMarker()
    if marker.args:
        raise ConfigurationError(
            f"@pytest.mark.mfa takes keyword arguments only ({', '.join(_MFA_KEYS)}), "
            f"got positional {marker.args!r}"
        )
    unknown = sorted(set(marker.kwargs) - set(_MFA_KEYS))
    if unknown:
        raise ConfigurationError(
            f"@pytest.mark.mfa got unknown argument(s) {', '.join(unknown)}; "
            f"it takes {', '.join(_MFA_KEYS)}"
        )
    kw = marker.kwargs
    if "digits" in kw and "pattern" in kw:
        raise ConfigurationError("@pytest.mark.mfa takes digits= or pattern=, not both")
    rule = None
    key = "digits" if "digits" in kw else "pattern"
    try:
        if "digits" in kw:
            rule = CodeRule.digits(kw["digits"])
        elif "pattern" in kw:
            rule = CodeRule.from_pattern(kw["pattern"])
    except ValueError as exc:  # CodeRule's InvalidArgumentError (bad regexes included)
        # Named by its keyword: the test's author looks for "pattern=" in the marker.
        raise ConfigurationError(f"@pytest.mark.mfa({key}=...): {exc}") from None
    source = kw.get("source")
    if source is not None and source not in SOURCES:
        raise ConfigurationError(
            f"@pytest.mark.mfa(source=...) must be one of {', '.join(SOURCES)}, got {source!r}"
        )
    return MfaMarker(
        event=_non_empty_str(kw["event"], "event") if "event" in kw else None,
        timeout=parse_timeout(kw["timeout"], "@pytest.mark.mfa(timeout=...)")
        if "timeout" in kw
        else None,
        rule=rule,
        field=_non_empty_str(kw["field"], "field") if "field" in kw else None,
        source=source,
    )


def marker_problems(item: pytest.Item) -> list[str]:
    """Every marker problem of ``item``, each naming the test; empty when all is well."""
    problems = []
    for check in (timeout_marker, mfa_marker, signed_in_marker):
        try:
            check(item)
        except ConfigurationError as exc:
            problems.append(f"{item.nodeid}: {exc}")
    return problems


def signed_in_marker(node: pytest.Item) -> str | None:
    """The user of the test's ``@pytest.mark.signed_in(user)``, or None without the marker."""
    marker = node.get_closest_marker("signed_in")
    if marker is None:
        return None
    args = [*marker.args, *([marker.kwargs["user"]] if "user" in marker.kwargs else [])]
    if len(args) != 1 or set(marker.kwargs) - {"user"}:
        raise ConfigurationError(
            "@pytest.mark.signed_in takes one argument, the user: "
            f"signed_in('alice@example.com'), got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    user = args[0]
    if not isinstance(user, str) or not user.strip():
        raise ConfigurationError(
            f"@pytest.mark.signed_in(user) needs a non-empty string, got {user!r}"
        )
    return user
