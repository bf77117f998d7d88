"""A login that survives a bad day of the events API (fault injection, fake mode only).

``anchor_fake.faults`` makes the fake server misbehave the way a real service does; the
client's retries (the app's, when it signals the code, and ``mfa_code``'s, when it waits) carry
the login through. The rules are cleared after the test.
"""

import pytest
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import FakeEventServer, MfaCode

pytestmark = pytest.mark.anchor_timeout(15)


def test_login_through_a_503_burst_and_an_early_408(
    page: Page, demo_url: str, mfa_code: MfaCode, anchor_fake: FakeEventServer
) -> None:
    anchor_fake.faults.fail(503, count=3)  # the next three API calls fail...
    anchor_fake.faults.end_waits_early(after_ms=50)  # ...and one long poll ends too soon
    page.goto(demo_url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", "correct horse")
    page.click("#login-button")
    page.fill("#mfa-code", mfa_code())
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text("Welcome, alice!")
    assert [kind for kind, _, _ in anchor_fake.faults.applied].count("fail") == 3
