"""Two users signing in at once, each in their own browser context, each with their own event.

The two waits run in threads while the main thread drives both browsers: waits don't touch
Playwright, and Playwright's sync API must stay on the thread that started it.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from demo_app import DemoUser
from playwright.sync_api import BrowserContext, Page, expect

from pytest_anchor_mfa import MfaCode

pytestmark = pytest.mark.anchor_timeout(15)


def test_two_users_sign_in_at_once(
    new_context: Callable[..., BrowserContext],
    new_user: Callable[..., DemoUser],
    unique_event_name: Callable[[str], str],
    start_login: Callable[[Page, DemoUser], None],
    mfa_code: MfaCode,
) -> None:
    users = [new_user(mfa_event=unique_event_name("mfa_code")) for _ in range(2)]
    pages = [new_context().new_page() for _ in users]  # separate cookies: separate sessions

    with ThreadPoolExecutor(max_workers=2) as pool:
        waits = [pool.submit(mfa_code, user.mfa_event) for user in users]  # both wait now...
        for page, user in zip(pages, users, strict=True):
            start_login(page, user)  # ...while this thread signs both users in
        codes = [wait.result() for wait in waits]

    for page, user, code in zip(pages, users, codes, strict=True):
        page.fill("#mfa-code", code)
        page.click("#verify-button")
        expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")
