"""Fixtures renamed by the naming rule: the old names keep working, with a DeprecationWarning.

A test that requests an old name gets the new fixture's value; a conftest, test module or
class that *defines* an old name (to override it) is still honoured: the new fixture returns
the override's value. Both warn once per name, naming the fixture to use instead. The old
names go in the next minor version (see the CHANGELOG).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pytest

__all__ = ["OVERRIDDEN", "RENAMED", "deprecated_fixtures", "find_overrides", "overridden"]

RENAMED: dict[str, tuple[str, str]] = {
    # old name: (new name, scope)
    "anchor_fake_server": ("anchor_fake_session", "session"),
    "anchor_inbox_server": ("anchor_inbox_session", "session"),
    "anchor_sms_gateway": ("anchor_sms_session", "session"),
    "anchor_webhook_receiver": ("anchor_webhooks_session", "session"),
    "mfa_settings": ("anchor_mfa_settings", "function"),
}

OVERRIDDEN = pytest.StashKey[set[str]]()
"""Old names that a conftest, test module or class defines (overrides), found at collection."""

_WARNED = pytest.StashKey[set[str]]()
_PROBING = pytest.StashKey[set[str]]()
_NOT_OVERRIDDEN = object()
"""What an alias answers while ``overridden`` probes its name: there is no override here."""


def _warn(config: pytest.Config, old: str, message: str) -> None:
    warned = config.stash.setdefault(_WARNED, set())
    if old not in warned:
        warned.add(old)
        warnings.warn(message, DeprecationWarning, stacklevel=2)


def _alias(old: str, new: str, scope: str) -> Callable[..., Any]:
    def fixture(request: pytest.FixtureRequest) -> Any:
        if old in request.config.stash.get(_PROBING, set()):
            return _NOT_OVERRIDDEN
        _warn(
            request.config,
            old,
            f"the fixture {old!r} is renamed {new!r}; request {new!r} instead "
            f"({old!r} goes in the next minor version of pytest-anchor-mfa)",
        )
        return request.getfixturevalue(new)

    fixture.__name__ = old
    fixture.__doc__ = f"Deprecated: renamed ``{new}``."
    return pytest.fixture(scope=scope, name=old)(fixture)  # type: ignore[call-overload,no-any-return]


def deprecated_fixtures() -> dict[str, Callable[..., Any]]:
    """One alias fixture per renamed fixture, for a plugin module's namespace."""
    return {old: _alias(old, new, scope) for old, (new, scope) in RENAMED.items()}


def _defines(namespace: object, name: str) -> bool:
    return callable(getattr(namespace, "__dict__", {}).get(name))


def find_overrides(config: pytest.Config, namespaces: Iterable[object]) -> None:
    """Note the old names that ``namespaces`` (conftests, test modules, classes) define."""
    found = config.stash.setdefault(OVERRIDDEN, set())
    for namespace in namespaces:
        if getattr(namespace, "__name__", "").startswith("pytest_anchor_mfa."):
            continue  # this plugin's own aliases
        found.update(old for old in RENAMED if old not in found and _defines(namespace, old))


def overridden(request: pytest.FixtureRequest, new: str) -> tuple[bool, Any]:
    """``(True, value)`` when the user overrides the old name of fixture ``new``."""
    old = next(name for name, (renamed, _) in RENAMED.items() if renamed == new)
    if old not in request.config.stash.get(OVERRIDDEN, set()):
        return False, None
    # Defined somewhere, maybe not where this request looks: ask for it, with this plugin's
    # own alias answering "none here" rather than asking for ``new`` (which is being made).
    probing = request.config.stash.setdefault(_PROBING, set())
    probing.add(old)
    try:
        value = request.getfixturevalue(old)
    finally:
        probing.discard(old)
    if value is _NOT_OVERRIDDEN:
        return False, None
    _warn(
        request.config,
        old,
        f"the fixture {old!r} is renamed {new!r}: your override of {old!r} is used for now; "
        f"rename it {new!r} ({old!r} goes in the next minor version of pytest-anchor-mfa)",
    )
    return True, value
