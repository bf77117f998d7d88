"""Sign in once per run: eight tests as carol, behind TOTP, and one sign-in for all of them.

``anchor_sign_in`` (conftest.py) is how carol signs in; ``@pytest.mark.signed_in`` starts each
test's context with her saved state. The demo site counts her sign-ins on her account page:
whichever test runs first, and on whichever xdist worker, it shows 1, so no test signed in
again (a second TOTP sign-in would also have had to wait for the next 30 s step).
"""

import pytest
from playwright.sync_api import Page, expect

from conftest import SHARED_USER, SharedSite

PAGES = ["account", "orders", "invoices", "settings", "billing", "team", "security", "help"]


@pytest.mark.signed_in(SHARED_USER)
@pytest.mark.parametrize("section", PAGES)
def test_a_signed_in_page(page: Page, shared_site: SharedSite, section: str) -> None:
    page.goto(f"{shared_site.url}/account?section={section}")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {SHARED_USER}!")
    expect(page.locator("#sign-ins")).to_have_text("1")  # one TOTP sign-in for the whole run
