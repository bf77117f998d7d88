"""An async login with pytest-playwright-asyncio: ``await async_mfa_code()`` in real Chromium."""

import pytest
from playwright.async_api import Page, expect

from pytest_anchor_mfa import AsyncMfaCode

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.anchor_timeout(15)]


async def test_login_async(page: Page, demo_url: str, async_mfa_code: AsyncMfaCode) -> None:
    await page.goto(demo_url + "/login")
    await page.fill("#username", "alice")
    await page.fill("#password", "correct horse")
    await page.click("#login-button")  # the app now sends the code...
    await page.fill("#mfa-code", await async_mfa_code())  # ...and this waits for it
    await page.click("#verify-button")
    await expect(page.locator("#welcome")).to_have_text("Welcome, alice!")
