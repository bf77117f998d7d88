"""``--anchor-browser session`` for pytest-playwright (sync): its ``browser`` on an Anchor session.

Registered by the plugin after pytest-playwright, only in session mode, so this ``browser``
overrides pytest-playwright's: the Chromium of ``anchor_session``, connected over CDP, for the
same scope (a worker, or a test with ``--anchor-session-scope test``). ``context``, ``page``
and everything built on them are pytest-playwright's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .sessions import session_scope

__all__ = ["browser"]


@pytest.fixture(scope=session_scope)
def browser(browser_type: Any, anchor_session: Any) -> Iterator[Any]:
    """pytest-playwright's browser: Chromium over CDP in the run's Anchor session."""
    connected = browser_type.connect_over_cdp(anchor_session.cdp_url)
    try:
        yield connected
    finally:
        connected.close()
