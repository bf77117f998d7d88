"""``@pytest.mark.mfa``: per-test settings of ``mfa_code``, here the event name.

Hand ``mfa_event_name`` to whatever sends the code (the ``user`` fixture does): it follows the
marker, and with ``--anchor-unique-events`` it gets a unique suffix per test.
"""

from collections.abc import Callable

import pytest
from demo_app import DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode


@pytest.mark.mfa(event="mfa_code_login", timeout=15)
def test_login_with_a_per_test_event(
    page: Page,
    user: DemoUser,
    start_login: Callable[[Page, DemoUser], None],
    mfa_code: MfaCode,
    mfa_event_name: str,
) -> None:
    assert mfa_event_name.startswith("mfa_code_login")  # e.g. mfa_code_login-gw0-3f9c2a7b1d
    assert user.mfa_event == mfa_event_name  # the app texts this user's code there
    start_login(page, user)
    page.fill("#mfa-code", mfa_code())  # waits on "mfa_code_login", at most 15 s
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")
