"""The README's 30-second example: sign in, then type the code the app texted.

``demo_url`` (see conftest.py) registers alice / "correct horse" and makes the app text her
code on the event ``mfa_code`` waits on. ``page`` comes from pytest-playwright.
"""

import pytest
from playwright.sync_api import Page

from pytest_anchor_mfa import MfaCode

pytestmark = pytest.mark.anchor_timeout(15)  # a missing code fails after 15 s, not 120 s


def test_login(page: Page, demo_url: str, mfa_code: MfaCode) -> None:
    page.goto(demo_url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", "correct horse")
    page.click("#login-button")  # the app now sends the code...
    page.fill("#mfa-code", mfa_code())  # ...and mfa_code() waits for it (6 digits, validated)
    page.click("#verify-button")
    assert page.inner_text("#welcome") == "Welcome, alice!"
