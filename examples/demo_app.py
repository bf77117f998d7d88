"""A small web app with a password + MFA sign-in, for the plugin's Playwright examples.

Pages: ``/login`` (``#username``, ``#password``, ``#login-button``, ``#login-error``), ``/mfa``
(``#mfa-code``, ``#verify-button``, ``#resend-button``, ``#mfa-error``), ``/account``
(``#welcome``) and ``/logout``. A user's second factor is one of

* an event: after the password the app makes a random 6-digit code and "texts" it the way an
  SMS relay would, by signaling ``mfa_event`` with ``{"code": ...}`` on the events API;
* a phone inbox (``inbox=True``): the code is made the same way but only lands in the app's
  record of sent codes (``sent_codes``, ``wait_for_codes``), like an SMS on a phone that no
  relay watches; nothing is signaled, so a test needs a bridge to forward it; or
* an SMS (``sms=DemoSms(webhook_url, auth_token, number)``): the app texts the code the way
  Twilio delivers an inbound SMS to a webhook: it posts Twilio's form, signed with the auth
  token (``X-Twilio-Signature``), to ``webhook_url`` (in the examples, ``anchor_sms``);
* an e-mail (``mail=DemoMail(smtp_host, smtp_port, address)``): an HTML-only, quoted-printable
  mail, the code among other numbers (a year, a phone number, a colour), sent by SMTP (in the
  examples, to ``anchor_inbox``); or
* a TOTP secret: codes come from an authenticator, and each time-step's code is accepted once.

or none (``mfa=False``): the password alone signs the user in, for comparing a suite with MFA
switched off. ``sign_ins(username)`` counts a user's completed sign-ins (the account page
shows it too).

>>> with DemoApp(api_key, base_url) as app:
...     app.add_user("alice", "wonderland", mfa_event="alice_sms")
...     page.goto(f"{app.url}/login")
"""

from __future__ import annotations

import collections
import concurrent.futures
import hmac
import html
import logging
import secrets
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pytest_anchor_mfa.codes.totp import find_totp_step, totp
from pytest_anchor_mfa.errors import ConfigurationError
from pytest_anchor_mfa.events import EventsClient
from pytest_anchor_mfa.inbound.sms_requests import twilio_fields
from pytest_anchor_mfa.runtime.asgi import ClientGone, HttpError, read_body
from pytest_anchor_mfa.runtime.serve import AsgiServer

__all__ = ["MAX_FORM_BYTES", "SESSION_COOKIE", "DemoApp", "DemoMail", "DemoSms", "DemoUser"]

SESSION_COOKIE = "demo_session"
MAX_FORM_BYTES = 64 * 1024
"""A sign-in form is a few hundred bytes; a larger body is answered 413 (and drained)."""
_log = logging.getLogger("pytest_anchor_mfa.examples.demo_app")


@dataclass(frozen=True)
class DemoUser:
    """What a test knows of a user: the password, and the event their code is signaled on.

    ``mfa_event`` is None for TOTP and phone-inbox users. (The app keeps its own records.)
    """

    username: str
    password: str = field(repr=False)
    mfa_event: str | None = None


@dataclass(frozen=True)
class DemoSms:
    """Where a user's codes are texted: a Twilio-style inbound-SMS webhook and the number."""

    webhook_url: str
    auth_token: str = field(repr=False)
    number: str
    sender: str = "+15005550006"


@dataclass(frozen=True)
class DemoMail:
    """Where a user's codes are mailed: an SMTP server and the user's address."""

    smtp_host: str
    smtp_port: int
    address: str


@dataclass
class _User:
    password: str = field(repr=False)
    mfa_event: str | None
    totp_secret: str | None = field(repr=False)
    inbox: bool = False
    sms: DemoSms | None = None
    mail: DemoMail | None = None
    mfa: bool = True
    last_totp_step: int | None = None
    sent_codes: list[str] = field(default_factory=list, repr=False)

    @property
    def gets_sent_codes(self) -> bool:
        """Whether the app makes and sends the code (event or inbox), rather than a TOTP app."""
        return self.mfa and self.totp_secret is None


@dataclass
class _Session:
    pending: str | None = None  # passed the password, not yet the second factor
    user: str | None = None  # signed in
    code: str | None = field(default=None, repr=False)
    code_expires: float = 0.0
    attempts: int = 0
    notice: str | None = None  # shown once, on the next page


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
        f"<h1>{title}</h1>{body}</html>",
        status_code,
    )


def _alert(element_id: str, message: str | None) -> str:
    return f'<p id="{element_id}" role="alert">{html.escape(message)}</p>' if message else ""


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)  # after a POST, the browser GETs ``path``


def _login_form(error: str | None, status_code: int = 200) -> HTMLResponse:
    return _page(
        "Sign in",
        _alert("login-error", error) + '<form method="post" action="/login">'
        '<p><label for="username">Username</label> '
        '<input id="username" name="username" autocomplete="username" required>'
        '<p><label for="password">Password</label> '
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<p><button id="login-button" type="submit">Sign in</button></form>',
        status_code,
    )


def _mfa_form(
    code_sent: bool, notice: str | None, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    hint = "We sent you a code." if code_sent else "Enter the code from your authenticator app."
    status = f'<p id="mfa-notice" role="status">{html.escape(notice)}' if notice else ""
    resend = (
        '<form method="post" action="/mfa/resend">'
        '<button id="resend-button" type="submit">Send a new code</button></form>'
    )
    return _page(
        "Verify it's you",
        f"<p>{hint}{status}{_alert('mfa-error', error)}"
        '<form method="post" action="/mfa">'
        '<p><label for="mfa-code">Verification code</label> '
        '<input id="mfa-code" name="code" inputmode="numeric" autocomplete="one-time-code" '
        'required><p><button id="verify-button" type="submit">Verify</button></form>'
        + (resend if code_sent else ""),
        status_code,
    )


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's request.form() needs python-multipart, one more dependency.
    # Read with the package's read_body: at most MAX_FORM_BYTES, HttpError(413) past it.
    body = await read_body(request.receive, request.scope, MAX_FORM_BYTES)
    return dict(parse_qsl(body.decode("utf-8", "replace")))


async def _refused(request: Request, exc: Exception) -> Response:
    """An ``HttpError`` (a body over the limit) as a page with its status."""
    assert isinstance(exc, HttpError)  # registered for HttpError only
    page = _page("Request refused", f"<p>{html.escape(exc.message)}</p>", exc.status)
    page.headers.update(dict(exc.headers))
    return page


async def _gone(request: Request, exc: Exception) -> Response:
    """The client hung up mid-body: nobody reads this answer; no traceback in the log."""
    return Response(status_code=400)


class DemoApp:
    """The demo site, served on a loopback port while started (a context manager).

    ``clock`` (Unix seconds) decides code expiry and TOTP time-steps, so tests can move time.
    """

    def __init__(
        self,
        events_api_key: str | None = None,
        events_base_url: str | None = None,
        *,
        code_ttl: float = 300.0,
        max_attempts: int = 3,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if code_ttl <= 0 or max_attempts < 1:
            raise ConfigurationError("code_ttl must be > 0 and max_attempts >= 1")
        self._api_key = events_api_key
        self._base_url = events_base_url
        self._code_ttl = code_ttl
        self._max_attempts = max_attempts
        self._clock = clock
        self._lock = threading.Lock()
        self._sent = threading.Condition(self._lock)
        self._users: dict[str, _User] = {}
        self._sign_ins: collections.Counter[str] = collections.Counter()
        self._sessions: dict[str, _Session] = {}
        self._events: EventsClient | None = None
        self._sender: concurrent.futures.ThreadPoolExecutor | None = None
        self.app = Starlette(
            routes=[
                Route("/", self._home),
                Route("/login", self._login_page, methods=["GET"]),
                Route("/login", self._login, methods=["POST"]),
                Route("/mfa", self._mfa_page, methods=["GET"]),
                Route("/mfa", self._verify, methods=["POST"]),
                Route("/mfa/resend", self._resend, methods=["POST"]),
                Route("/account", self._account),
                Route("/logout", self._logout, methods=["GET", "POST"]),
            ],
            exception_handlers={HttpError: _refused, ClientGone: _gone},
        )
        self._server = AsgiServer(self.app, host=host, port=port, name="demo-app")

    # -- setup and lifecycle --------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        *,
        mfa_event: str | None = None,
        totp_secret: str | None = None,
        inbox: bool = False,
        sms: DemoSms | None = None,
        mail: DemoMail | None = None,
        mfa: bool = True,
    ) -> None:
        """Add (or replace) a user with one second factor: mfa_event, totp_secret, inbox,
        sms or mail; or with none and ``mfa=False`` (the password alone signs in)."""
        factors = [mfa_event, totp_secret, inbox or None, sms, mail]
        given = sum(factor is not None for factor in factors)
        if not mfa and given:
            raise ConfigurationError(f"user {username!r} has mfa=False: give no second factor")
        if mfa and given != 1:
            raise ConfigurationError(
                f"user {username!r} needs exactly one of mfa_event, totp_secret, inbox=True, "
                "sms or mail (or mfa=False)"
            )
        if totp_secret is not None:
            totp(totp_secret, at=0)  # a bad secret fails here, not at the first sign-in
        elif mfa_event is not None:
            self._events_client()  # likewise a missing API key
        with self._lock:
            self._users[username] = _User(password, mfa_event, totp_secret, inbox, sms, mail, mfa)

    def sign_ins(self, username: str) -> int:
        """How many times ``username`` completed a sign-in (password, and code unless
        ``mfa=False``) since the app was made."""
        with self._lock:
            return self._sign_ins[username]

    def sent_codes(self, username: str) -> list[str]:
        """The codes delivered to ``username`` so far (event or inbox), oldest first."""
        with self._lock:
            return list(self._users[username].sent_codes)

    def wait_for_codes(self, username: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        """Block until ``count`` codes were delivered to ``username``; raises TimeoutError."""
        with self._sent:
            user = self._users[username]
            if not self._sent.wait_for(lambda: len(user.sent_codes) >= count, timeout):
                raise TimeoutError(
                    f"{len(user.sent_codes)} of {count} codes for {username!r} were delivered "
                    f"within {timeout:g} s"
                )
            return list(user.sent_codes)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` while started."""
        return self._server.url

    def start(self) -> None:
        self._sender = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="demo-sms")
        self._server.start()

    def stop(self) -> None:
        """Stop serving, drop codes not yet sent, and close the events client."""
        self._server.stop()
        if self._sender is not None:
            self._sender.shutdown(wait=True, cancel_futures=True)
            self._sender = None
        with self._lock:
            events, self._events = self._events, None
        if events is not None:
            events.close()

    def __enter__(self) -> DemoApp:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- sending codes --------------------------------------------------------------------------

    def _events_client(self) -> EventsClient:
        with self._lock:
            if self._events is None:
                self._events = EventsClient(self._api_key, self._base_url)
            return self._events

    def _issue_code(self, session: _Session, username: str, event: str | None) -> None:
        """Make a new code for ``session``; signal it on ``event``, or only record it (None)."""
        session.code = f"{secrets.randbelow(10**6):06d}"
        session.code_expires = self._clock() + self._code_ttl
        if self._sender is None:
            raise RuntimeError("DemoApp is not started")
        # In the background, as an SMS gateway would: the page does not wait for delivery.
        self._sender.submit(self._deliver, username, event, session.code)

    def _deliver(self, username: str, event: str | None, code: str) -> None:
        with self._lock:
            sms, mail = self._users[username].sms, self._users[username].mail
        try:
            if event is not None:  # an inbox user's code is only recorded below
                self._events_client().signal(event, {"code": code})
            elif sms is not None:
                self._text(sms, code)
            elif mail is not None:
                self._mail(mail, code)
        except Exception as exc:  # logged: a lost SMS shows as a missing code, as in real life
            _log.warning("could not signal %r for user %r: %s", event, username, exc)
            return
        with self._sent:
            self._users[username].sent_codes.append(code)
            self._sent.notify_all()

    @staticmethod
    def _text(sms: DemoSms, code: str) -> None:
        """Text ``code`` as Twilio delivers an inbound SMS: its form, signed, to the webhook."""
        body = f"Your Demo sign-in code is {code}. Don't share it."
        fields, headers = twilio_fields(
            sms.auth_token, sms.webhook_url, sms.number, body, sms.sender
        )
        httpx.post(
            sms.webhook_url, data=dict(fields), headers=headers, timeout=10
        ).raise_for_status()

    @staticmethod
    def _mail(mail: DemoMail, code: str) -> None:
        """Mail ``code`` in an HTML-only, quoted-printable message with other numbers around."""
        message = EmailMessage()
        message["From"] = "Demo <no-reply@demo.example>"
        message["To"] = mail.address
        message["Subject"] = "Your Demo sign-in code"
        message.set_content(
            '<!doctype html><html><body style="color:#336699;font-family:sans-serif">'
            "<p>Hello,</p><p>Someone (we hope you) is signing in to Demo. Your verification "
            f'code is <b style="font-size:24px;color:#202020">{code}</b>. It expires in 5 '
            "minutes.</p><p>Not you? Call us on +1 (555) 010-4477, or reply to this mail.</p>"
            '<p style="color:#999999">&copy; 2025 Demo Inc., 221 Example Street</p>'
            "</body></html>",
            subtype="html",
            cte="quoted-printable",
        )
        with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    # -- sessions (the lock is held by the callers) ---------------------------------------------

    def _session(self, request: Request) -> _Session:
        return self._sessions.get(request.cookies.get(SESSION_COOKIE, "")) or _Session()

    def _save(self, request: Request, session: _Session, response: Response) -> Response:
        """Store ``session`` under a new id (no fixation across a sign-in step) and set it."""
        self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = session
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    def _check_code(self, session: _Session, user: _User, code: str) -> str | None:
        """None if ``code`` is right, else the error to show."""
        if user.totp_secret is not None:
            step = find_totp_step(user.totp_secret, code, at=self._clock())
            if step is None:
                return "Wrong code."
            if user.last_totp_step is not None and step <= user.last_totp_step:
                return "That code was already used. Wait for the next one."
            user.last_totp_step = step
            return None
        if session.code is None or not hmac.compare_digest(code.encode(), session.code.encode()):
            return "Wrong code."
        return None

    # -- pages ----------------------------------------------------------------------------------

    async def _home(self, request: Request) -> Response:
        with self._lock:
            signed_in = self._session(request).user is not None
        return _see("/account" if signed_in else "/login")

    async def _login_page(self, request: Request) -> Response:
        with self._lock:
            session = self._session(request)
            notice, session.notice = session.notice, None
        return _login_form(notice)

    async def _login(self, request: Request) -> Response:
        form = await _form(request)
        username, password = form.get("username", ""), form.get("password", "")
        with self._lock:
            user = self._users.get(username)
            # Compared even for an unknown user, so timing does not tell which users exist.
            expected = user.password if user is not None else secrets.token_hex(16)
            if not hmac.compare_digest(password.encode(), expected.encode()) or user is None:
                return _login_form("Wrong username or password.", 401)
            if not user.mfa:  # MFA switched off: the password is enough
                self._sign_ins[username] += 1
                return self._save(request, _Session(user=username), _see("/account"))
            session = _Session(pending=username)
            if user.gets_sent_codes:
                self._issue_code(session, username, user.mfa_event)
            return self._save(request, session, _see("/mfa"))

    async def _mfa_page(self, request: Request) -> Response:
        with self._lock:
            session = self._session(request)
            if session.pending is None:
                return _see("/login")
            notice, session.notice = session.notice, None
            code_sent = self._users[session.pending].gets_sent_codes
        return _mfa_form(code_sent, notice)

    async def _verify(self, request: Request) -> Response:
        code = "".join((await _form(request)).get("code", "").split())
        with self._lock:
            session = self._session(request)
            if session.pending is None:
                return _see("/login")
            user = self._users[session.pending]
            code_sent = user.gets_sent_codes
            if code_sent and self._clock() >= session.code_expires:
                # Not counted as an attempt: the user did nothing wrong.
                return _mfa_form(code_sent, None, "This code expired. Send a new one.", 401)
            error = self._check_code(session, user, code)
            if error is None:
                self._sign_ins[session.pending] += 1
                return self._save(request, _Session(user=session.pending), _see("/account"))
            session.attempts += 1
            left = self._max_attempts - session.attempts
            if left <= 0:
                session.pending, session.code = None, None
                session.notice = "Too many wrong codes. Sign in again."
                return _see("/login")
        plural = "" if left == 1 else "s"
        return _mfa_form(code_sent, None, f"{error} {left} attempt{plural} left.", 401)

    async def _resend(self, request: Request) -> Response:
        with self._lock:
            session = self._session(request)
            if session.pending is None:
                return _see("/login")
            user = self._users[session.pending]
            if user.gets_sent_codes:
                self._issue_code(session, session.pending, user.mfa_event)
                session.notice = "We sent you a new code."
        return _see("/mfa")

    async def _account(self, request: Request) -> Response:
        with self._lock:
            user = self._session(request).user
            sign_ins = self._sign_ins[user] if user is not None else 0
        if user is None:
            return _see("/login")
        return _page(
            "Your account",
            f'<p id="welcome">Welcome, {html.escape(user)}!</p>'
            f'<p>Sign-ins so far: <span id="sign-ins">{sign_ins}</span></p>'
            '<form method="post" action="/logout">'
            '<button id="logout-button" type="submit">Sign out</button></form>',
        )

    async def _logout(self, request: Request) -> Response:
        with self._lock:
            self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = _see("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response
