"""A real framework's own passkeys: Flask-Security-Too's WebAuthn, completed by anchor_webauthn.

The app (``flask_webauthn_app.py``) is Flask-Security-Too with ``SECURITY_WEBAUTHN`` on; its
pages run its own JavaScript against ``navigator.credentials`` and verify the answers with
py_webauthn. ``anchor_webauthn.attach(page)`` gives the page a virtual security key in
Chromium: the test registers it through the app's pages like a person, signs out, and signs in
with the key alone. Flask-Security-Too asks for a roaming key (cross-platform) for first-factor
sign-in, hence ``transport="usb"``; the site is opened as ``http://localhost:PORT`` (a secure
context whose RP id is a domain).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from pytest_anchor_mfa import AnchorWebAuthn, Credential

flask_webauthn_app = pytest.importorskip(
    "flask_webauthn_app", reason="needs the 'examples' extra: pip install -e '.[examples]'"
)
register_key = flask_webauthn_app.register_key
sign_out = flask_webauthn_app.sign_out
sign_in_with_key = flask_webauthn_app.sign_in_with_key

pytestmark = pytest.mark.filterwarnings(
    # Flask-Security-Too's own forms use a WTForms API that WTForms deprecates: theirs to fix.
    "ignore:Passing SelectField choices as tuples is deprecated:DeprecationWarning"
)
EMAIL = "dana@flask-demo.test"
PASSWORD = "correct horse battery"


@pytest.fixture
def app_url() -> Iterator[str]:
    with flask_webauthn_app.FlaskWebAuthnApp(EMAIL, PASSWORD) as app:
        yield app.url


@pytest.fixture
def strict_app_url() -> Iterator[str]:
    """The same app, its sign-in requiring user verification (a PIN or a fingerprint)."""
    with flask_webauthn_app.FlaskWebAuthnApp(
        EMAIL, PASSWORD, require_user_verification=True
    ) as app:
        yield app.url


def test_register_a_security_key_sign_out_and_sign_in_with_it(
    page: Page, app_url: str, anchor_webauthn: AnchorWebAuthn
) -> None:
    key = anchor_webauthn.attach(page, transport="usb")
    register_key(page, app_url, EMAIL, PASSWORD)
    [credential] = key.credentials()
    assert credential.rp_id == "localhost"
    sign_out(page, app_url)
    sign_in_with_key(page, app_url, EMAIL)
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {EMAIL}")
    assert key.credentials()[0].sign_count > credential.sign_count  # the key signed again


def test_a_credential_moved_to_another_browser_context_signs_in(
    browser: Browser, page: Page, app_url: str, anchor_webauthn: AnchorWebAuthn
) -> None:
    key = anchor_webauthn.attach(page, transport="usb")
    register_key(page, app_url, EMAIL, PASSWORD)
    credentials: list[Credential] = key.credentials()
    other = browser.new_context()  # another person's browser: no cookie of the first
    try:
        page2 = other.new_page()
        anchor_webauthn.attach(page2, transport="usb", credentials=credentials)
        sign_in_with_key(page2, app_url, EMAIL)
        expect(page2.locator("#welcome")).to_have_text(f"Signed in as {EMAIL}")
    finally:
        other.close()


def test_a_key_without_the_credential_cannot_sign_in(
    browser: Browser, page: Page, app_url: str, anchor_webauthn: AnchorWebAuthn
) -> None:
    anchor_webauthn.attach(page, transport="usb")
    register_key(page, app_url, EMAIL, PASSWORD)
    other = browser.new_context()
    try:
        page2 = other.new_page()
        anchor_webauthn.attach(page2, transport="usb")  # an empty key
        sign_in_with_key(page2, app_url, EMAIL)
        expect(page2.locator("#wan-errors")).to_contain_text("NotAllowedError")
        expect(page2.locator("#welcome")).not_to_be_visible()
    finally:
        other.close()


def test_user_verification_failing_makes_the_site_refuse(
    page: Page, strict_app_url: str, anchor_webauthn: AnchorWebAuthn
) -> None:
    key = anchor_webauthn.attach(page, transport="usb")
    register_key(page, strict_app_url, EMAIL, PASSWORD)
    sign_out(page, strict_app_url)
    key.set_user_verified(False)  # the wrong PIN, or a finger the key does not know
    sign_in_with_key(page, strict_app_url, EMAIL)
    expect(page.locator("#wan-errors")).to_contain_text("NotAllowedError")
    page.goto(strict_app_url + "/account")
    expect(page.locator("#welcome")).not_to_be_visible()
    key.set_user_verified(True)
    sign_in_with_key(page, strict_app_url, EMAIL)
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {EMAIL}")
