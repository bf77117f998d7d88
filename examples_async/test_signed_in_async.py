"""Sign in once, async flavour: ``anchor_sign_in`` returns a coroutine function that awaits
``mfa_code()``; three tests share one TOTP sign-in (the account page counts them)."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from demo_app import DemoApp
from demo_fixtures import PASSWORD
from playwright.async_api import Page, expect

from pytest_anchor_mfa.codes.totp import random_secret

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.anchor_timeout(45)]

SECRET = random_secret()
"""dave's authenticator app (made up for this run)."""


@pytest.fixture(scope="session")
def anchor_sign_in(demo_app: DemoApp) -> Callable[[Page, str, Any], Awaitable[None]]:
    demo_app.add_user("dave", PASSWORD, totp_secret=SECRET)

    async def sign_in(page: Page, user: str, mfa_code: Any) -> None:
        await page.goto(f"{demo_app.url}/login")
        await page.fill("#username", user)
        await page.fill("#password", PASSWORD)
        await page.click("#login-button")
        await page.fill("#mfa-code", await mfa_code(source="totp", secret=SECRET))
        await page.click("#verify-button")
        await expect(page.locator("#welcome")).to_be_visible()

    return sign_in


@pytest.mark.signed_in("dave")
@pytest.mark.parametrize("section", ["orders", "invoices", "settings"])
async def test_signed_in_async(page: Page, demo_app: DemoApp, section: str) -> None:
    await page.goto(f"{demo_app.url}/account?section={section}")
    await expect(page.locator("#welcome")).to_have_text("Welcome, dave!")
    await expect(page.locator("#sign-ins")).to_have_text("1")
