"""The async login with MFA in an Anchor cloud browser session (``--anchor-browser session``).

pytest-playwright-asyncio's ``browser`` is then Chromium connected over CDP to an Anchor
session (offline: the fake server's own Chromium, through its CDP proxy). In a plain run this
file starts itself once more in session mode (pytester), so the async session path is covered.
"""

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from pytest_anchor_mfa import AsyncMfaCode, Settings

pytest_plugins = ["pytester"]


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.anchor_timeout(15)
async def test_login_async_in_an_anchor_session(
    page: Page,
    demo_url: str,
    async_mfa_code: AsyncMfaCode,
    anchor_settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    if anchor_settings.browser != "session":
        pytest.skip("runs with --anchor-browser session (see test_this_file_in_session_mode)")
    await page.goto(demo_url + "/login")
    await page.fill("#username", "alice")
    await page.fill("#password", "correct horse")
    await page.click("#login-button")
    await page.fill("#mfa-code", await async_mfa_code())
    await page.click("#verify-button")
    await expect(page.locator("#welcome")).to_have_text("Welcome, alice!")
    if anchor_settings.mode == "fake":  # the page really was in the fake's session browser
        (running,) = request.getfixturevalue("anchor_fake").sessions.running()
        assert running.id == request.getfixturevalue("anchor_session").id
        assert running.cdp_bytes > 0


def test_this_file_in_session_mode(pytester: pytest.Pytester, anchor_settings: Settings) -> None:
    if anchor_settings.browser == "session" or anchor_settings.mode != "fake":
        pytest.skip("this run is the session-mode run already (or live: no local Chromium)")
    result = pytester.runpytest_subprocess(
        str(Path(__file__)), "-p", "no:cacheprovider", "--anchor-mode", "fake",
        "--anchor-browser", "session", "-k", "test_login_async_in_an_anchor_session",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
