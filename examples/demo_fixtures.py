"""The demo site as fixtures, shared by the sync examples (``conftest.py``) and the async ones
(``examples_async/conftest.py``): the app for the whole run, and alice on this test's event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from demo_app import DemoApp

from pytest_anchor_mfa import Connection

__all__ = ["PASSWORD", "demo_app", "demo_url"]

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
