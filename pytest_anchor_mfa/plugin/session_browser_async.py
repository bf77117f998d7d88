"""``--anchor-browser session`` for pytest-playwright-asyncio: its async ``browser`` on a session.

The async flavour of ``session_browser``: registered after pytest-playwright-asyncio, only in
session mode; the fixture runs on the session's event loop, as pytest-playwright-asyncio's own.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

from .sessions import session_scope

__all__ = ["browser"]


async def _browser(browser_type: Any, anchor_session: Any) -> AsyncIterator[Any]:
    """pytest-playwright-asyncio's browser: Chromium over CDP in the run's Anchor session."""
    connected = await browser_type.connect_over_cdp(anchor_session.cdp_url)
    try:
        yield connected
    finally:
        await connected.close()


# pytest-asyncio is there whenever pytest-playwright-asyncio is (this module loads only then).
browser = importlib.import_module("pytest_asyncio").fixture(
    scope=session_scope, loop_scope="session", name="browser"
)(_browser)
