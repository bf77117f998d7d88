"""The async flavour: pytest-playwright-asyncio's async ``page`` with ``async_mfa_code``.

This folder runs in an environment with ``pytest-anchor-mfa[async]`` (pytest-playwright-asyncio,
not pytest-playwright: the two refuse to run together), so it is not in the main test run;
``.ci/run`` runs it in a virtual environment of its own (see the README's set-up). The demo
sign-in site is the one of ``examples/``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from demo_app import DemoApp  # found through the path above

from pytest_anchor_mfa import Connection

PASSWORD = "correct horse"


@pytest.fixture(scope="session")
def demo_app(anchor_connection: Connection) -> Iterator[DemoApp]:
    """The demo site for the whole run; it texts codes through this run's events API."""
    with DemoApp(anchor_connection.api_key, anchor_connection.base_url) as app:
        yield app


@pytest.fixture
def demo_url(demo_app: DemoApp, mfa_event_name: str) -> str:
    """The demo site's address. User alice / "correct horse" gets this test's MFA event."""
    demo_app.add_user("alice", PASSWORD, mfa_event=mfa_event_name)
    return demo_app.url
