"""A tiny sign-in site with a TOTP step, for the ``@pytest.mark.signed_in`` tests.

Served from the outer test process (one site for every xdist worker of an inner run), it counts
the sign-ins it completed, per user, and can sign everybody out (a session it no longer knows).
Plain ``http.server`` on a loopback port: the point is the browser flow, not the server.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from pytest_anchor_mfa.codes.totp import verify_totp

__all__ = ["SignInSite"]

LOGIN = """<!doctype html><form method="post" action="/login">
<input id="user" name="user"><input id="code" name="code">
<button id="go" type="submit">Sign in</button></form>"""


class SignInSite:
    """``url``; per user, ``attempts`` and completed ``sign_ins``; ``GET /sign-everybody-out``."""

    def __init__(self, totp_secret: str | None = None, fixed_code: str = "123456") -> None:
        self.totp_secret = totp_secret
        self.fixed_code = fixed_code
        """Without a TOTP secret, the one code the site takes."""
        self.attempts: Counter[str] = Counter()
        self.sign_ins: Counter[str] = Counter()
        self.sessions: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SignInSite:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sign_everybody_out(self) -> None:
        with self._lock:
            self.sessions.clear()

    def _sign_in(self, user: str, code: str) -> str | None:
        with self._lock:
            self.attempts[user] += 1
        if self.totp_secret is not None:
            valid = verify_totp(self.totp_secret, code)
        else:
            valid = code == self.fixed_code
        if not user or not valid:
            return None
        session = secrets.token_hex(16)
        with self._lock:
            self.sessions[session] = user
            self.sign_ins[user] += 1
        return session

    def _who(self, cookie: str) -> str | None:
        session = cookie.partition("session=")[2].split(";")[0]
        with self._lock:
            return self.sessions.get(session)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: str, headers: dict[str, str]) -> None:
                data = body.encode()
                self.send_response(status)
                for name, value in {"content-type": "text/html", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                user = site._who(self.headers.get("cookie", ""))
                if self.path == "/sign-everybody-out":
                    site.sign_everybody_out()
                    self._send(200, "<p id='done'>done</p>", {})
                elif self.path == "/home" and user is not None:
                    self._send(200, f'<p id="who">{user}</p>', {})
                elif self.path == "/home":
                    self._send(303, "", {"location": "/login"})
                else:
                    self._send(200, LOGIN, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                user, code = form.get("user", [""])[0], form.get("code", [""])[0]
                session = site._sign_in(user, code)
                if session is None:
                    self._send(403, "<p id='error'>wrong code</p>", {})
                else:
                    cookie = f"session={session}; Path=/; HttpOnly"
                    self._send(303, "", {"location": "/home", "set-cookie": cookie})

        return Handler
