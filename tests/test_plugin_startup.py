"""Lean start-up: loading the plugin imports neither the events client nor the fake server.

Each check runs in a fresh interpreter, so what the outer test run imported does not count.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

HEAVY = ("httpx", "pydantic", "starlette", "uvicorn", "aiosmtpd")
"""Loaded when a fixture first needs the client, the fake server or the inbox; never at start."""


def imported_after(statement: str) -> set[str]:
    """Top-level names of the modules ``statement`` leaves in ``sys.modules`` (fresh process)."""
    code = (
        "import sys\n"
        f"{statement}\n"
        "print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def test_importing_the_plugin_loads_no_client_and_no_server() -> None:
    modules = imported_after(
        "import pytest_anchor_mfa.plugin\n"
        "import pytest_anchor_mfa.plugin.fixtures, pytest_anchor_mfa.plugin.connection\n"
        "import pytest_anchor_mfa.plugin.mfa, pytest_anchor_mfa.plugin.webhooks\n"
        "import pytest_anchor_mfa.plugin.playwright"
    )
    assert "pytest" in modules  # the check itself works
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_importing_the_events_client_loads_no_pytest_and_no_server() -> None:
    modules = imported_after("from pytest_anchor_mfa.events import AsyncEventsClient, EventsClient")
    assert "httpx" in modules  # the check itself works
    assert modules.isdisjoint({"pytest", "_pytest", "starlette", "uvicorn"}), sorted(modules)


def test_a_run_with_no_anchor_fixture_loads_no_client_and_no_server(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import sys


        def test_nothing_heavy(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("anchor_mfa")
            loaded = sorted(name for name in {HEAVY!r} if name in sys.modules)
            assert loaded == []
        """
    )
    # A real process with every installed plugin (pytest-playwright too): as a user's run. A
    # plugin module imported before pytest registers it would warn that it cannot be rewritten.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error::pytest.PytestAssertRewriteWarning"
    )
    result.assert_outcomes(passed=1)
