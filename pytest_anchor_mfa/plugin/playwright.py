"""Playwright support: a Chromium for pytest-playwright, and where a failed test's artifacts are.

A pytest plugin module of its own, registered by the plugin's ``pytest_configure`` only when a
Playwright pytest plugin is present (after it, so this module's ``browser_type_launch_args``
wraps pytest-playwright's). It owns browser discovery and that fixture, and the end-of-run list
of failed tests' traces and screenshots (``pytest_terminal_summary``; no state of its own).

Order of search: an explicit path or name (``--anchor-chromium``), the environment
(``ANCHOR_MFA_CHROMIUM``, ``CHROMIUM_BIN``, ``CHROME_BIN``), Playwright's bundled
Chromium if it is installed, then a system Chromium or Chrome on ``PATH``.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigurationError
from ..sessions.chromium import SYSTEM_CHROMIUM_FLAGS

if TYPE_CHECKING:
    from .options import Settings

__all__ = [
    "ENV_VARS",
    "SYSTEM_CANDIDATES",
    "SYSTEM_CHROMIUM_FLAGS",
    "browser_type_launch_args",
    "failed_artifacts",
    "find_chromium",
    "launch_args",
    "pytest_terminal_summary",
]

ENV_VARS = ("ANCHOR_MFA_CHROMIUM", "ANCHOR_CHROMIUM_EXECUTABLE", "CHROMIUM_BIN", "CHROME_BIN")
"""Variables naming a browser executable, first set wins."""

SYSTEM_CANDIDATES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "/usr/bin/chromium",
)

_BUNDLED_LOOKUP_TIMEOUT = 30.0
_INSTALL_HINT = (
    "install one (Debian/Ubuntu: apt-get install -y chromium), or point to one with "
    "--anchor-chromium PATH or ANCHOR_MFA_CHROMIUM=PATH"
)


def _resolve(value: str, source: str) -> str:
    """An executable path for ``value`` (a path or a name on PATH), or ConfigurationError."""
    expanded = os.path.expanduser(value.strip())
    if os.sep in expanded or (os.altsep is not None and os.altsep in expanded):
        if os.path.isfile(expanded) and os.access(expanded, os.X_OK):
            return os.path.abspath(expanded)
        problem = "does not exist" if not os.path.exists(expanded) else "is not an executable file"
    else:
        found = shutil.which(expanded)
        if found is not None:
            return found
        problem = "is not found on PATH"
    raise ConfigurationError(
        f"the browser given by {source} ({value!r}) {problem}; {_INSTALL_HINT}"
    )


def _explicit(explicit: str | None) -> tuple[str, str] | None:
    if explicit is not None and explicit.strip():
        return explicit, "--anchor-chromium"
    for name in ENV_VARS:
        value = os.environ.get(name, "")
        if value.strip():
            return value, name
    return None


@functools.cache
def _bundled_chromium() -> str | None:
    """Playwright's downloaded Chromium, if on disk; None otherwise. Starts the driver once."""
    result: list[str | None] = [None]

    def lookup() -> None:
        # The sync API refuses to start inside a running asyncio loop (pytest-playwright may have
        # one in this thread already), so ask from a thread of our own.
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                result[0] = playwright.chromium.executable_path
        except Exception:  # no usable Playwright means no bundled browser
            result[0] = None

    thread = threading.Thread(target=lookup, name="anchor-mfa-chromium-lookup", daemon=True)
    thread.start()
    thread.join(_BUNDLED_LOOKUP_TIMEOUT)
    path = result[0]
    return path if path and os.path.isfile(path) else None


def _system_chromium() -> str | None:
    for candidate in SYSTEM_CANDIDATES:
        found = shutil.which(candidate)
        if found is not None:
            return found
    return None


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium to launch, or None if there is none.

    ``explicit`` (a path or a name on PATH) or else the first of ``ENV_VARS`` that is set must
    resolve, or ``ConfigurationError`` says what was wrong: a browser someone asked for by name
    is never silently swapped for another.
    """
    given = _explicit(explicit)
    if given is not None:
        return _resolve(*given)
    return _bundled_chromium() or _system_chromium()


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)  # absent on Windows
    return geteuid is not None and geteuid() == 0


def _merge_flags(user_args: list[str], extra: list[str]) -> list[str]:
    # The user's flags come first and win: a flag of ours is skipped when the user passed the
    # same switch, with or without a value.
    merged = list(dict.fromkeys(user_args))
    switches = {arg.split("=", 1)[0] for arg in merged}
    merged += [flag for flag in extra if flag.split("=", 1)[0] not in switches]
    return merged


def launch_args(explicit: str | None, base_args: Mapping[str, Any]) -> dict[str, Any]:
    """``base_args`` (Playwright ``launch()`` keyword arguments) made to work on this machine.

    Unchanged when ``base_args`` chose a browser (``executable_path`` or ``channel``; only
    ``explicit`` or ``ANCHOR_MFA_CHROMIUM`` override that) or when Playwright's bundled
    Chromium is installed and nothing was named. Otherwise adds the
    ``executable_path`` of a system Chromium and the flags it needs (``SYSTEM_CHROMIUM_FLAGS``,
    plus ``--no-sandbox`` as root), merged with the user's ``args``. Raises
    ``ConfigurationError`` when no browser can be found.
    """
    args = dict(base_args)
    given = _explicit(explicit)
    # Our own option and variable override pytest-playwright's choice; CHROME_BIN and the like,
    # often set for other tools, do not.
    ours = given is not None and given[1] in ("--anchor-chromium", ENV_VARS[0])
    if not ours and (args.get("executable_path") or args.get("channel")):
        return args
    if given is not None:
        executable = _resolve(*given)
    else:
        bundled = _bundled_chromium()
        if bundled is not None:
            return args
        found = _system_chromium()
        if found is None:
            raise ConfigurationError(
                "no Chromium found: Playwright's own browser is not installed (and cannot be "
                "downloaded without internet), none of "
                f"{', '.join(ENV_VARS)} is set, and none of {', '.join(SYSTEM_CANDIDATES)} "
                f"is on PATH; {_INSTALL_HINT}"
            )
        executable = found
    flags = [*SYSTEM_CHROMIUM_FLAGS, "--no-sandbox"] if _is_root() else list(SYSTEM_CHROMIUM_FLAGS)
    args.pop("channel", None)  # an explicit executable overrides a channel
    args["executable_path"] = executable
    args["args"] = _merge_flags(list(args.get("args") or []), flags)
    return args


# -- the pytest side: a fixture and a hook (this module is registered as a plugin) ----------------


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], browser_name: str, anchor_settings: Settings
) -> dict[str, Any]:
    """pytest-playwright's launch args, plus a system Chromium when Playwright has none."""
    if browser_name != "chromium":
        return browser_type_launch_args
    try:
        return launch_args(anchor_settings.chromium, browser_type_launch_args)
    except ConfigurationError as exc:
        message = f"pytest-anchor-mfa: {exc}"
    # Outside the except block: no chained "During handling..." traceback, one line.
    pytest.fail(message, pytrace=False)


def failed_artifacts(reports: Iterable[Any]) -> dict[str, list[tuple[str, str]]]:
    """Failed test id -> its kept Playwright artifacts (kind, path), in the order of failure.

    pytest-playwright attaches the artifacts it keeps to the teardown report's
    ``user_properties`` as ``playwright_<kind>``; a test failed when its call report did.
    """
    seen = list(reports)
    failed: dict[str, list[tuple[str, str]]] = {
        r.nodeid: [] for r in seen if r.when == "call" and r.failed
    }
    for report in seen:
        if report.nodeid not in failed:
            continue
        for name, value in getattr(report, "user_properties", ()):
            artifact = (str(name).removeprefix("playwright_"), str(value))
            if str(name).startswith("playwright_") and artifact not in failed[report.nodeid]:
                failed[report.nodeid].append(artifact)
    return {nodeid: artifacts for nodeid, artifacts in failed.items() if artifacts}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Every report (xdist workers' included) is in the terminal reporter's stats, by category.
    reports = (r for category in terminalreporter.stats.values() for r in category)
    found = failed_artifacts(r for r in reports if hasattr(r, "when") and hasattr(r, "nodeid"))
    if not found:
        return
    terminalreporter.section("Playwright artifacts of failed tests (anchor-mfa)")
    for nodeid, artifacts in found.items():
        terminalreporter.line(nodeid)
        for kind, path in artifacts:
            hint = f"   (open: playwright show-trace {path})" if kind == "trace" else ""
            terminalreporter.line(f"  {kind}: {path}{hint}")
    terminalreporter.line(
        "Traces and screenshots record what the test typed, MFA codes included: "
        "keep them private (codes are single-use, but the artifacts are not)."
    )
