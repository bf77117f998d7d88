"""The ``totp`` code source: codes from an authenticator secret instead of an event.

The secret is ``anchor_settings.totp_secret`` (``ANCHOR_MFA_TOTP_SECRET``; conftest.py makes one up
when it is unset). The app, like real ones, refuses a code whose 30 s time-step was already
used, so a second sign-in in the same step needs the next code: ``mfa_code()`` waits for it.
"""

from collections.abc import Callable

import pytest
from demo_app import DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode


@pytest.mark.slow  # up to 30 s of real time: the second code waits for the next time-step
@pytest.mark.mfa(source="totp", timeout=45)  # the timeout must exceed the 30 s step
def test_totp_login_twice_in_a_row(
    page: Page,
    totp_user: DemoUser,
    start_login: Callable[[Page, DemoUser], None],
    mfa_code: MfaCode,
) -> None:
    for _ in range(2):
        start_login(page, totp_user)
        page.fill("#mfa-code", mfa_code())  # never the same code twice in a run
        page.click("#verify-button")
        expect(page.locator("#welcome")).to_have_text(f"Welcome, {totp_user.username}!")
        page.click("#logout-button")
        expect(page.locator("#login-button")).to_be_visible()
