"""A Flask app whose sign-in is Flask-Security-Too's own two-factor flow, codes by e-mail.

Nothing of the sign-in is ours: Flask-Security-Too renders ``/login`` and ``/tf-validate``,
makes the code (its TOTP, valid 5 minutes) and mails it with Flask-Mailman through SMTP, here
the test's ``anchor_inbox``. The app only configures it: two-factor required, e-mail the only
method, users in SQLite in memory, and one user created at start-up whose two-factor method
is already e-mail (what the ``/tf-setup`` flow would store: a TOTP secret and the method), so
the test signs in, gets the mail and types the code.

>>> with FlaskTwoFactorApp(smtp_host, smtp_port, email, "password") as app:
...     page.goto(app.url + "/login")

Needs the ``examples`` extra (flask-security-too, flask-mailman, flask-sqlalchemy).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from flask import Flask
from flask_mailman import Mail
from flask_security import Security, SQLAlchemyUserDatastore, auth_required, current_user
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy
from markupsafe import escape
from werkzeug.serving import make_server

__all__ = ["FlaskTwoFactorApp", "add_account_page", "users_in_memory"]


def create_app(
    smtp_host: str, smtp_port: int, email: str, password: str, *, password_reset: bool = False
) -> Flask:
    """The Flask app, its database created and ``email`` / ``password`` registered.

    With ``password_reset``, the sign-in is a password only and "forgot password" is on
    (Flask-Security-Too's ``/reset`` mails a reset link): ``test_flask_security_reset_link``.
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        SECURITY_PASSWORD_SALT=secrets.token_urlsafe(16),
        # argon2 (the default) needs argon2-cffi; pbkdf2 is in the standard library.
        SECURITY_PASSWORD_HASH="pbkdf2_sha512",
        SECURITY_TWO_FACTOR=True,
        SECURITY_TWO_FACTOR_REQUIRED=True,
        SECURITY_TWO_FACTOR_ENABLED_METHODS=["email"],
        SECURITY_TWO_FACTOR_RESCUE_EMAIL=False,
        # The TOTP secrets are stored encrypted (cryptography) with these keys.
        SECURITY_TOTP_SECRETS={"1": secrets.token_urlsafe(32)},
        SECURITY_TOTP_ISSUER="Flask 2FA demo",
        # email-validator refuses the special-use .test domain unless told it is a test.
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False, "test_environment": True},
        SECURITY_POST_LOGIN_VIEW="/account",
        SQLALCHEMY_DATABASE_URI="sqlite://",  # in memory (one connection, shared by threads)
        MAIL_SERVER=smtp_host,
        MAIL_PORT=smtp_port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_TIMEOUT=10,
        MAIL_DEFAULT_SENDER="Flask 2FA demo <no-reply@flask-demo.example>",
    )
    if password_reset:
        app.config.update(
            SECURITY_TWO_FACTOR=False,
            SECURITY_TWO_FACTOR_REQUIRED=False,
            SECURITY_RECOVERABLE=True,  # /reset: "forgot password", a link by e-mail
            SECURITY_AUTO_LOGIN_AFTER_RESET=False,
        )
    db, datastore = users_in_memory(app)
    security = Security(app, datastore)
    Mail(app)
    add_account_page(app)

    with app.app_context():
        db.create_all()
        user = datastore.create_user(email=email, password=password)
        if not password_reset:
            # What /tf-setup stores once the user chose e-mail and confirmed a code.
            totp_secret = security.totp_factory.generate_totp_secret()
            datastore.tf_set(user, "email", totp_secret=totp_secret)
        db.session.commit()
    return app


def users_in_memory(app: Flask) -> tuple[SQLAlchemy, SQLAlchemyUserDatastore]:
    """Flask-Security-Too's models (fsqla v3) on ``app``'s database, and their datastore."""
    db = SQLAlchemy(app)
    fsqla.FsModels.set_db_info(db)

    class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
        pass

    class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
        pass

    # With the ``webauthn`` package installed (the examples extra has it), fsqla's User refers
    # to a WebAuthn model: it must exist even where passkeys are off.
    class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):  # type: ignore[name-defined,misc]
        pass

    return db, SQLAlchemyUserDatastore(db, User, Role, WebAuthn)


def add_account_page(app: Flask) -> None:
    """``/account``: who is signed in (``#welcome``), or Flask-Security-Too's sign-in."""

    @app.route("/account")
    @auth_required()
    def account() -> str:
        who = escape(current_user.email)
        return f'<!doctype html><title>Account</title><p id="welcome">Signed in as {who}</p>'


class FlaskTwoFactorApp:
    """``create_app`` served by werkzeug on a free loopback port, from a thread."""

    def __init__(
        self,
        smtp_host: str,
        smtp_port: int,
        email: str,
        password: str,
        *,
        password_reset: bool = False,
    ) -> None:
        self.app = create_app(smtp_host, smtp_port, email, password, password_reset=password_reset)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FlaskTwoFactorApp:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
