"""A Flask app whose passkeys are Flask-Security-Too's own WebAuthn support.

Nothing of the ceremony is ours: Flask-Security-Too renders ``/wan-register`` and
``/wan-signin``, makes the challenges, runs its own JavaScript that calls
``navigator.credentials.create()`` / ``get()``, and verifies the answers with the ``webauthn``
package (py_webauthn). The app only configures it: passkeys on (``SECURITY_WEBAUTHN``), users
in SQLite in memory, one user created at start-up with a password. A person signs in with
the password, registers a security key at ``/wan-register`` and from then on can sign in at
``/wan-signin`` with the key alone.

WebAuthn needs a secure context and a domain as relying-party id: the app is opened as
``http://localhost:PORT`` (Flask-Security-Too takes the RP id from the request's host).

>>> with FlaskWebAuthnApp(email, "password") as app:
...     register_key(page, app.url, email, "password")  # the page's authenticator
...     sign_out(page, app.url)
...     sign_in_with_key(page, app.url, email)

``require_user_verification=True`` makes sign-in demand user verification (a PIN or a
fingerprint; Flask-Security-Too only prefers it). Needs the ``examples`` extra
(flask-security-too, webauthn).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask_2fa_app import FlaskTwoFactorApp, add_account_page, users_in_memory
from flask_security import Security, WebauthnUtil
from playwright.sync_api import Page, expect
from webauthn.helpers.structs import UserVerificationRequirement

__all__ = ["FlaskWebAuthnApp", "create_app", "register_key", "sign_in_with_key", "sign_out"]

SIGNIN_TIMEOUT_MS = 5_000
"""How long the browser waits for an authenticator (Flask-Security-Too's default is 60 s)."""


class RequiredVerification(WebauthnUtil):
    """Flask-Security-Too's own hook: sign-in requires user verification, not just prefers it."""

    def user_verification(self, user: Any, usage: list[str]) -> UserVerificationRequirement:
        return UserVerificationRequirement.REQUIRED


def create_app(email: str, password: str, *, require_user_verification: bool = False) -> Flask:
    """The Flask app, its database created and ``email`` / ``password`` registered."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        SECURITY_PASSWORD_SALT=secrets.token_urlsafe(16),
        SECURITY_PASSWORD_HASH="pbkdf2_sha512",  # argon2 (the default) needs argon2-cffi
        SECURITY_WEBAUTHN=True,
        SECURITY_WAN_RP_NAME="Flask passkey demo",
        SECURITY_WAN_REGISTER_TIMEOUT=SIGNIN_TIMEOUT_MS,
        SECURITY_WAN_SIGNIN_TIMEOUT=SIGNIN_TIMEOUT_MS,
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False, "test_environment": True},
        SECURITY_POST_LOGIN_VIEW="/account",
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    db, datastore = users_in_memory(app)
    util = RequiredVerification if require_user_verification else WebauthnUtil
    Security(app, datastore, webauthn_util_cls=util)
    add_account_page(app)

    with app.app_context():
        db.create_all()
        datastore.create_user(email=email, password=password)
        db.session.commit()
    return app


class FlaskWebAuthnApp(FlaskTwoFactorApp):
    """``create_app`` served like ``FlaskTwoFactorApp``, its URL on ``localhost``."""

    def __init__(self, email: str, password: str, *, require_user_verification: bool = False):
        self.app = create_app(email, password, require_user_verification=require_user_verification)
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        # A secure context whose host is a domain: the RP id is "localhost".
        return super().url.replace("http://127.0.0.1:", "http://localhost:", 1)


# -- what a person does on the app's pages (Playwright, sync) -------------------------------------


def register_key(page: Page, url: str, email: str, password: str, name: str = "test key") -> None:
    """Sign in with the password and register the page's authenticator as a first factor."""
    page.goto(url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {email}")
    page.goto(url + "/wan-register")
    page.fill("#name", name)
    page.check("input[name=usage][value=first]")  # sign in with the key alone
    page.click("#wan_register")  # the app's script calls navigator.credentials.create()
    expect(page.get_by_text(f"Successfully added the passkey with name: {name}")).to_be_visible()


def sign_out(page: Page, url: str) -> None:
    """Sign out with the app's own menu; the account page then asks to sign in."""
    page.goto(url + "/wan-register")
    page.get_by_role("button", name="Sign Out").click()
    page.goto(url + "/account")
    expect(page.locator("#welcome")).not_to_be_visible()


def sign_in_with_key(page: Page, url: str, email: str) -> None:
    """Start the passkey sign-in; the app's script calls navigator.credentials.get()."""
    page.goto(url + "/wan-signin")
    page.fill("#identity", email)
    page.click("#wan_signin")
