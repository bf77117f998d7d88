"""The pytest plugin (entry point ``pytest11``: ``anchor_mfa``): its hooks, and its fixtures.

This module owns the hooks (options, configuration, report header, masked assertion messages,
marker checks), registers the leak guard (``leaks``: scrubs the test's secrets from every
report, live log and warning; ``traces`` rewrites kept Playwright traces) and the fixture
modules (``pytest_plugins`` below). The other modules:
``options`` (settings from options/ini/env), ``markers``, ``fixtures`` (settings, event
callables), ``connection`` (the fake server, the client), ``mfa`` (``mfa_code``), ``links``
(``mfa_link``), ``webhooks``, ``sources`` (where a code comes from), ``webauthn`` and
``webauthn_async`` (``anchor_webauthn``), ``failures`` (one-line failures), ``types`` (fixture
signatures), ``timing`` (the MFA timing report's recorder and hooks), ``playwright``
(browser discovery, failed-test artifacts, pytest-playwright's own warning let through;
registered only with pytest-playwright) and ``no_playwright`` (without it: browser fixtures
that name the extra to install). No
protocol logic here; start-up imports only pytest, the stdlib and the package's light modules:
the client, the fake server and Playwright load when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator
from typing import Any

import pytest

from ..codes.links import MaskedLink
from ..errors import ConfigurationError
from ..redact import MaskedCode, MaskedInt, MaskedText
from .leaks import ACTIVE, LEAK_GUARD, LeakGuard
from .markers import MARKERS, marker_problems
from .options import SETTINGS, add_options, load_settings
from .renames import find_overrides

# Imported and registered right after this module, in this order: a module imported by another
# before its own turn could not be assertion-rewritten, and pytest would warn (fixtures imports
# mfa, and mfa imports timing, so they come first).
pytest_plugins = (
    "pytest_anchor_mfa.plugin.timing",
    "pytest_anchor_mfa.plugin.connection",
    "pytest_anchor_mfa.plugin.mfa",
    "pytest_anchor_mfa.plugin.links",
    "pytest_anchor_mfa.plugin.fixtures",
    "pytest_anchor_mfa.plugin.webhooks",
    "pytest_anchor_mfa.plugin.inbound",
    "pytest_anchor_mfa.plugin.sms",
    "pytest_anchor_mfa.plugin.signin",
    "pytest_anchor_mfa.plugin.webauthn",
    "pytest_anchor_mfa.plugin.sessions",
    "pytest_anchor_mfa.plugin.deprecated",
)

PLAYWRIGHT_PLUGINS = (
    "playwright",  # pytest-playwright's entry point
    "playwright-asyncio",  # pytest-playwright-asyncio's entry point
    "pytest_playwright.pytest_playwright",  # either one given with -p MODULE
    "pytest_playwright_asyncio.pytest_playwright",
)
"""Names a Playwright pytest plugin is registered under; with one, ``playwright`` is added."""

PLAYWRIGHT_SUPPORT = "pytest_anchor_mfa.plugin.playwright"
NO_PLAYWRIGHT = "pytest_anchor_mfa.plugin.no_playwright"
"""Without a Playwright pytest plugin: ``page``, ``context`` and ``browser`` name the extra."""

SYNC_PLAYWRIGHT_PLUGINS = ("playwright", "pytest_playwright.pytest_playwright")
SIGNED_CONTEXT = "pytest_anchor_mfa.plugin.signed_context"
"""pytest-playwright's sync ``context``, signed in for ``@pytest.mark.signed_in``."""
ASYNC_PLAYWRIGHT_PLUGINS = ("playwright-asyncio", "pytest_playwright_asyncio.pytest_playwright")
SIGNED_CONTEXT_ASYNC = "pytest_anchor_mfa.plugin.signed_context_async"
WEBAUTHN_ASYNC = "pytest_anchor_mfa.plugin.webauthn_async"
"""The async ``anchor_webauthn``, replacing the sync one (registered at start-up)."""
SESSION_BROWSER = "pytest_anchor_mfa.plugin.session_browser"
"""With ``--anchor-browser session``: pytest-playwright's ``browser`` on an Anchor session."""
SESSION_BROWSER_ASYNC = "pytest_anchor_mfa.plugin.session_browser_async"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for doc in MARKERS.values():
        config.addinivalue_line("markers", doc)
    try:
        settings = load_settings(config)
    except ConfigurationError as exc:
        raise pytest.UsageError(f"pytest-anchor-mfa: {exc}") from None
    config.stash[SETTINGS] = settings
    manager = config.pluginmanager
    guard = LeakGuard(config, settings)
    config.stash[LEAK_GUARD] = guard
    ACTIVE.append(guard)
    wanted = any(manager.hasplugin(name) for name in PLAYWRIGHT_PLUGINS)
    if wanted and not manager.hasplugin(PLAYWRIGHT_SUPPORT):
        # Registered now, after every entry-point plugin, so this override of
        # pytest-playwright's browser_type_launch_args is the one pytest picks.
        manager.register(importlib.import_module(PLAYWRIGHT_SUPPORT), PLAYWRIGHT_SUPPORT)
    elif not wanted and not manager.hasplugin(NO_PLAYWRIGHT):
        manager.register(importlib.import_module(NO_PLAYWRIGHT), NO_PLAYWRIGHT)
    flavours = [
        (SYNC_PLAYWRIGHT_PLUGINS, SIGNED_CONTEXT),
        (ASYNC_PLAYWRIGHT_PLUGINS, SIGNED_CONTEXT_ASYNC),
        (ASYNC_PLAYWRIGHT_PLUGINS, WEBAUTHN_ASYNC),
    ]
    if settings.browser == "session":
        flavours += [
            (SYNC_PLAYWRIGHT_PLUGINS, SESSION_BROWSER),
            (ASYNC_PLAYWRIGHT_PLUGINS, SESSION_BROWSER_ASYNC),
        ]
    for flavour, module in flavours:
        if any(manager.hasplugin(name) for name in flavour) and not manager.hasplugin(module):
            manager.register(importlib.import_module(module), module)


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.stash.get(LEAK_GUARD, None)
    if guard is not None:
        guard.restore_loggers()
    if guard in ACTIVE:
        ACTIVE.remove(guard)


# -- the leak guard (leaks): every report, live log and warning is scrubbed of the test's secrets


def pytest_sessionstart(session: pytest.Session) -> None:
    guard = session.config.stash[LEAK_GUARD]
    guard.wrap_log_formatters()
    guard.quiet_third_party_loggers()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:  # after the junitxml plugin wrote its file
        session.config.stash[LEAK_GUARD].scrub_junit_xml()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    with item.config.stash[LEAK_GUARD].warnings_watched(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    with item.config.stash[LEAK_GUARD].warnings_watched(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    with item.config.stash[LEAK_GUARD].warnings_watched(item):
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, pytest.TestReport]:
    # tryfirst: the outermost wrapper, so this runs after every other plugin changed the report
    # (pytest-playwright attaches its artifacts), before any reporter (or xdist) sees it.
    report: pytest.TestReport = yield
    item.config.stash[LEAK_GUARD].process_report(report, item)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, Any, pytest.CollectReport]:
    report: pytest.CollectReport = yield
    collector.config.stash[LEAK_GUARD].process_collect_report(report)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_warning_recorded(warning_message: Any) -> None:
    # Before the terminal reporter or an xdist worker records it. No config is given: the
    # guard of the innermost run in progress.
    if ACTIVE:
        ACTIVE[-1].process_warning(warning_message)


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[SETTINGS]
    return (
        f"anchor-mfa: {settings.describe()}, timeout {settings.timeout:g} s, "
        f"code source {settings.code_source}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """No MFA code (or link token) in assertion messages: pytest diffs two strings by their
    raw text.

    When either side is a code, a link (``mfa_link``) or a masked value of event data, both
    sides are shown masked and no diff is made.
    """
    masked = (MaskedCode, MaskedText, MaskedInt, MaskedLink)
    if not isinstance(left, masked) and not isinstance(right, masked):
        return None
    link = isinstance(left, MaskedLink) or isinstance(right, MaskedLink)

    def shown(value: object) -> str:
        if isinstance(value, masked):
            return repr(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return repr(MaskedInt(value))
        if isinstance(value, str):
            return repr(MaskedLink(value) if link else MaskedCode(value))
        return repr(value)

    what = "a link (its token is a secret)" if link else "an MFA code"
    return [
        f"{shown(left)} {op} {shown(right)}",
        f"({what} is compared: pytest-anchor-mfa masks both sides and shows no diff)",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Conftests are plugins; test modules and classes are where a test may override too.
    places = {id(p): p for p in config.pluginmanager.get_plugins()}
    for item in items:
        for place in (getattr(item, "module", None), getattr(item, "cls", None)):
            if place is not None:
                places.setdefault(id(place), place)
    find_overrides(config, places.values())
    problems = [problem for item in items for problem in marker_problems(item)]
    manager = config.pluginmanager
    if not (manager.hasplugin(SIGNED_CONTEXT) or manager.hasplugin(SIGNED_CONTEXT_ASYNC)):
        problems += [
            f"{item.nodeid}: @pytest.mark.signed_in needs pytest-playwright or "
            "pytest-playwright-asyncio (pip install 'pytest-anchor-mfa[sync]' or '[async]')"
            for item in items
            if item.get_closest_marker("signed_in") is not None
        ]
    if problems:
        raise pytest.UsageError(
            "pytest-anchor-mfa: bad marker arguments:\n  " + "\n  ".join(problems)
        )
