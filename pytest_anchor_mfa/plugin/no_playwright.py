"""Browser fixtures for a run without a Playwright pytest plugin: one line saying what to install.

Registered by the plugin's ``pytest_configure`` only when neither pytest-playwright nor
pytest-playwright-asyncio is active; a test asking for ``page``, ``context`` or ``browser``
then fails with the extra to install instead of pytest's bare "fixture 'page' not found".
"""

from __future__ import annotations

from typing import NoReturn

import pytest

__all__ = ["MISSING_PLAYWRIGHT", "browser", "context", "page"]

MISSING_PLAYWRIGHT = (
    "pytest-anchor-mfa: the fixture {name!r} comes from a Playwright pytest plugin, and none is "
    "active: pip install 'pytest-anchor-mfa[sync]' (pytest-playwright: def test_...(page)) or "
    "'pytest-anchor-mfa[async]' (pytest-playwright-asyncio: async def test_...(page))"
)


def _missing(name: str) -> NoReturn:
    pytest.fail(MISSING_PLAYWRIGHT.format(name=name), pytrace=False)


@pytest.fixture
def page() -> None:
    """pytest-playwright's ``page``: not installed (the failure names the extra)."""
    _missing("page")


@pytest.fixture
def context() -> None:
    """pytest-playwright's ``context``: not installed (the failure names the extra)."""
    _missing("context")


@pytest.fixture(scope="session")
def browser() -> None:
    """pytest-playwright's ``browser``: not installed (the failure names the extra)."""
    _missing("browser")
