"""Anchor browser sessions in a run: ``anchor_session_config``, ``anchor_session`` and the hooks.

With ``--anchor-browser session`` pytest-playwright's ``browser`` is a Chromium connected over
CDP to an Anchor session (``session_browser`` / ``session_browser_async``, registered by the
plugin for the flavour in use); the session comes from ``anchor_session``, created once per
worker (``--anchor-session-scope worker``) or per test (``test``) through the run's
``SessionsClient`` (``sessions.client``): Anchor's API in live mode, the in-process fake
server's in fake mode. Every session is ended when its scope ends, and at the end of the run
whatever happened (``pytest_unconfigure`` runs after Ctrl-C too; once a session exists, SIGTERM
interrupts the run as Ctrl-C does, where nothing else handles it). A failing test's report
names its session and live view. The session's ``cdp_url`` holds the API key: it is masked in
the repr and the leak guard scrubs it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import SessionError
from .leaks import API_KEY, remember
from .options import SETTINGS, Settings
from .signin import sign_in_directory

if TYPE_CHECKING:
    from ..sessions.client import AnchorSession, SessionsClient
    from ..sessions.gate import FirstCreate

__all__ = [
    "anchor_session",
    "anchor_session_config",
    "pytest_runtest_makereport",
    "pytest_unconfigure",
    "session_scope",
]

CLIENT = pytest.StashKey["SessionsClient"]()
"""The run's sessions client, once a session was first asked for."""
GATE: pytest.StashKey[FirstCreate] = pytest.StashKey()
"""The run's first create, shared by its processes (``sessions.gate``)."""
CDP_URL = "the session's CDP URL"


def session_scope(fixture_name: str, config: pytest.Config) -> Any:
    """The scope of a session and of the browser on it: ``--anchor-session-scope``."""
    settings = config.stash.get(SETTINGS, None)
    return "function" if settings is not None and settings.session_scope == "test" else "session"


@pytest.fixture(scope="session")
def anchor_session_config() -> dict[str, Any]:
    """The body of Anchor's create-session call (``session``, ``browser``, ``identities``...,
    as Anchor's API takes them). Override it to configure the sessions; default ``{}``."""
    return {}


def _client(request: pytest.FixtureRequest, settings: Settings) -> SessionsClient:
    config = request.config
    client = config.stash.get(CLIENT, None)
    if client is not None:
        return client
    from ..sessions.client import SessionsClient

    if settings.mode == "fake":
        server = request.getfixturevalue("anchor_fake_session")
        key, base_url = server.api_key, server.url
    else:
        assert settings.api_key is not None  # load_settings guarantees it in live mode
        key, base_url = settings.api_key, settings.base_url
    remember(config, key, API_KEY, run_wide=True)
    client = config.stash[CLIENT] = SessionsClient(key, base_url)
    _interrupt_on_sigterm()
    return client


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, a container stopped) interrupts the run like Ctrl-C, so
    that ``pytest_unconfigure`` still ends the sessions; by default Python just dies."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope=session_scope)
def anchor_session(
    anchor_settings: Settings,
    anchor_session_config: dict[str, Any],
    request: pytest.FixtureRequest,
) -> Iterator[AnchorSession]:
    """The Anchor browser session of this worker (or test): ``id``, ``live_view_url``,
    ``cdp_url`` (masked in the repr). Ended when its scope ends."""
    client = _client(request, anchor_settings)
    gate = request.config.stash.get(GATE, None)
    if gate is None:
        from ..sessions.gate import FirstCreate

        # The run's directory, shared with the xdist workers: one refused create per run.
        gate = request.config.stash[GATE] = FirstCreate(client, sign_in_directory(request.config))
    try:
        session = gate.create(anchor_session_config)
    except SessionError as exc:
        message = f"pytest-anchor-mfa: {exc}"
    else:
        message = ""
    if message:  # outside the except block: one line, no chained traceback
        pytest.fail(message, pytrace=False)
    remember(request.config, session.cdp_url, CDP_URL, run_wide=True)
    try:
        yield session
    finally:
        client.end(session.id)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    session = funcargs.get("anchor_session")
    if report.failed and session is not None:
        where = session.live_view_url or "(no live view URL)"
        report.sections.append(
            ("Anchor session", f"this test ran in Anchor session {session.id}; live view: {where}")
        )
        report.user_properties.append(("anchor_session", session.id))
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    client = config.stash.get(CLIENT, None)
    if client is None:
        return
    del config.stash[CLIENT]
    failures = client.end_all()  # after Ctrl-C, the scopes' own ends may not have run
    client.close()
    for failure in failures:  # the run is over: nothing left to report them to but stderr
        print(f"pytest-anchor-mfa: {failure}", file=sys.stderr)
