"""Sign in once per run with a passkey: ``@pytest.mark.signed_in`` and a routine that uses a key.

``anchor_sign_in`` is a session fixture, so it takes ``anchor_webauthn_session`` (the
function-scoped ``anchor_webauthn`` is out of its reach). The session fixture ``passkey``
registers a security key on Flask-Security-Too's own pages (``flask_webauthn_app.py``) and
keeps its credentials; this module's ``anchor_sign_in`` (overriding the conftest's for these
tests) attaches them to the routine's page and signs in at ``/wan-signin`` with the key alone.
The routine runs once: both tests start signed in from its saved state.

Each xdist worker serves an app of its own, so the user's name (what a saved state is kept
under) is one per process.
"""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from pytest_anchor_mfa import AnchorWebAuthn, Credential

flask_webauthn_app = pytest.importorskip(
    "flask_webauthn_app", reason="needs the 'examples' extra: pip install -e '.[examples]'"
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:Passing SelectField choices as tuples is deprecated:DeprecationWarning"
)
EMAIL = "erin@flask-demo.test"
PASSWORD = "correct horse battery"
USER = f"erin-{os.getpid()}"
SIGN_INS: list[str] = []


@pytest.fixture(scope="session")
def passkey_site() -> Iterator[str]:
    with flask_webauthn_app.FlaskWebAuthnApp(EMAIL, PASSWORD) as app:
        yield app.url


@pytest.fixture(scope="session")
def passkey(
    browser: Browser, passkey_site: str, anchor_webauthn_session: AnchorWebAuthn
) -> list[Credential]:
    """A security key registered once for the run, as its credentials."""
    context = browser.new_context()
    try:
        page = context.new_page()
        key = anchor_webauthn_session.attach(page, transport="usb")
        flask_webauthn_app.register_key(page, passkey_site, EMAIL, PASSWORD)
        return key.credentials()
    finally:
        context.close()  # the authenticator goes with the page


@pytest.fixture(scope="session")
def anchor_sign_in(
    passkey_site: str, passkey: list[Credential], anchor_webauthn_session: AnchorWebAuthn
) -> Callable[[Page, str, Any], None]:
    """How the user signs in: the key alone, loaded into the routine's page."""

    def sign_in(page: Page, user: str, mfa_code: Any) -> None:
        SIGN_INS.append(user)
        anchor_webauthn_session.attach(page, transport="usb", credentials=passkey)
        flask_webauthn_app.sign_in_with_key(page, passkey_site, EMAIL)
        expect(page.locator("#welcome")).to_have_text(f"Signed in as {EMAIL}")

    return sign_in


@pytest.mark.signed_in(USER)
@pytest.mark.parametrize("visit", [1, 2])
def test_signed_in_with_a_passkey(page: Page, passkey_site: str, visit: int) -> None:
    page.goto(passkey_site + "/account")
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {EMAIL}")
    assert SIGN_INS == [USER]  # one sign-in with the key, whichever test came first
