"""``wait_for_event``: the general form of ``mfa_code``, for any event and any data.

It returns the whole data the sender signaled (here ``{"code": "123456"}``), unvalidated;
``mfa_code()`` is the same wait plus "take ``data["code"]`` and check it is 6 digits".
"""

from collections.abc import Callable

import pytest
from demo_app import DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import WaitForEvent

pytestmark = pytest.mark.anchor_timeout(15)  # every wait in these tests: 15 s at most


def test_login_with_wait_for_event(
    page: Page,
    user: DemoUser,
    start_login: Callable[[Page, DemoUser], None],
    wait_for_event: WaitForEvent,
) -> None:
    start_login(page, user)  # password accepted: the app signals the code on user.mfa_event
    data = wait_for_event(user.mfa_event)
    page.fill("#mfa-code", data["code"])
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")
