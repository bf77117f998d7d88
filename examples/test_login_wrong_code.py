"""Wrong codes and resent codes: the error shows, and the next try can still succeed.

Each ``mfa_code()`` call takes the next code the sender signals, in order.
"""

from collections.abc import Callable

import pytest
from demo_app import DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode

pytestmark = pytest.mark.anchor_timeout(15)


def test_wrong_code_then_the_right_one(
    page: Page, user: DemoUser, start_login: Callable[[Page, DemoUser], None], mfa_code: MfaCode
) -> None:
    start_login(page, user)
    code = mfa_code()
    page.fill("#mfa-code", "000000" if code != "000000" else "111111")
    page.click("#verify-button")
    expect(page.locator("#mfa-error")).to_have_text("Wrong code. 2 attempts left.")

    page.fill("#mfa-code", code)
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")


def test_resend_sends_a_new_code(
    page: Page, user: DemoUser, start_login: Callable[[Page, DemoUser], None], mfa_code: MfaCode
) -> None:
    start_login(page, user)
    mfa_code()  # the first code: taken, so the next call gets the resent one
    page.click("#resend-button")
    expect(page.locator("#mfa-notice")).to_have_text("We sent you a new code.")
    page.fill("#mfa-code", mfa_code())
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")
