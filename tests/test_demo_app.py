"""The demo app over real HTTP, with a stand-in for the events API that records what it gets."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_anchor_mfa.codes.totp import random_secret, totp
from pytest_anchor_mfa.errors import ConfigurationError, InvalidArgumentError
from pytest_anchor_mfa.runtime.serve import AsgiServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from demo_app import SESSION_COOKIE, DemoApp

API_KEY = "sk-demo-test-key-0001"
TOTP_SECRET = random_secret()
WAIT = 10.0


class EventsStandIn:
    """Answers ``POST /v1/events/{name}`` like the events API and records each signal.

    ``gate`` holds answers back while cleared, to stand for a slow SMS relay.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, str | None, dict[str, Any]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self._changed = threading.Condition()
        self.app = Starlette(routes=[Route("/v1/events/{name}", self._signal, methods=["POST"])])

    async def _signal(self, request: Request) -> JSONResponse:
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, WAIT)
        body = await request.json()
        with self._changed:
            entry = (request.path_params["name"], request.headers.get("anchor-api-key"), body)
            self.received.append(entry)
            self._changed.notify_all()
        return JSONResponse({"data": {"status": "success"}})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def events() -> Iterator[tuple[EventsStandIn, str]]:
    stand_in = EventsStandIn()
    with AsgiServer(stand_in.app, name="events-stand-in") as server:
        yield stand_in, server.url
        stand_in.gate.set()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demo(events: tuple[EventsStandIn, str], clock: FakeClock) -> Iterator[DemoApp]:
    with DemoApp(API_KEY, events[1], code_ttl=60, max_attempts=3, clock=clock) as app:
        app.add_user("alice", "wonderland", mfa_event="alice_sms")
        app.add_user("bob", "builder", totp_secret=TOTP_SECRET)
        yield app


def browser(app: DemoApp) -> httpx.Client:
    """A client with its own cookie jar, like a browser profile."""
    return httpx.Client(base_url=app.url, timeout=WAIT)


@pytest.fixture
def web(demo: DemoApp) -> Iterator[httpx.Client]:
    with browser(demo) as client:
        yield client


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password})


def submit(client: httpx.Client, code: str) -> httpx.Response:
    return client.post("/mfa", data={"code": code})


def test_event_code_sign_in(
    web: httpx.Client, demo: DemoApp, events: tuple[EventsStandIn, str]
) -> None:
    page = web.get("/login")
    for element in ('id="username"', 'id="password"', 'id="login-button"', 'for="username"'):
        assert element in page.text
    assert "login-error" not in page.text

    response = sign_in(web, "alice", "wonderland")
    assert response.status_code == 303 and response.headers["location"] == "/mfa"
    [code] = demo.wait_for_codes("alice", 1, timeout=WAIT)
    assert len(code) == 6 and code.isdigit()
    assert events[0].received == [("alice_sms", API_KEY, {"data": {"code": code}})]

    mfa = web.get("/mfa")
    for element in ('id="mfa-code"', 'id="verify-button"', 'id="resend-button"', 'for="mfa-code"'):
        assert element in mfa.text
    response = submit(web, code)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    account = web.get("/account")
    assert account.status_code == 200
    assert '<p id="welcome">Welcome, alice!</p>' in account.text

    assert web.get("/logout").headers["location"] == "/login"
    assert web.get("/account").headers["location"] == "/login"


def test_wrong_credentials(web: httpx.Client, demo: DemoApp) -> None:
    for username, password in (("alice", "wrong"), ("nobody", "wonderland"), ("alice", "")):
        response = sign_in(web, username, password)
        assert response.status_code == 401
        assert '<p id="login-error" role="alert">Wrong username or password.</p>' in response.text
    assert web.get("/mfa").headers["location"] == "/login"
    assert demo.sent_codes("alice") == []  # nothing was even queued


def test_wrong_code_can_be_retried(web: httpx.Client, demo: DemoApp) -> None:
    sign_in(web, "alice", "wonderland")
    [code] = demo.wait_for_codes("alice")
    wrong = "000000" if code != "000000" else "111111"
    response = submit(web, wrong)
    assert response.status_code == 401
    assert '<p id="mfa-error" role="alert">Wrong code. 2 attempts left.</p>' in response.text
    assert submit(web, wrong).text.count("1 attempt left") == 1
    assert submit(web, f" {code[:3]} {code[3:]} ").headers["location"] == "/account"


def test_too_many_wrong_codes_end_the_attempt(web: httpx.Client, demo: DemoApp) -> None:
    sign_in(web, "alice", "wonderland")
    [code] = demo.wait_for_codes("alice")
    wrong = "000000" if code != "000000" else "111111"
    assert submit(web, wrong).status_code == 401
    assert submit(web, wrong).status_code == 401
    response = submit(web, wrong)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Too many wrong codes. Sign in again." in web.get("/login").text
    assert "login-error" not in web.get("/login").text  # shown once
    assert submit(web, code).headers["location"] == "/login"  # the right code is too late


def test_expired_code_and_resend(web: httpx.Client, demo: DemoApp, clock: FakeClock) -> None:
    sign_in(web, "alice", "wonderland")
    [first] = demo.wait_for_codes("alice")
    clock.now += 60
    for _ in range(4):  # more than max_attempts: an expired code is not the user's mistake
        response = submit(web, first)
        assert response.status_code == 401
        assert "code expired" in response.text and 'id="resend-button"' in response.text

    response = web.post("/mfa/resend")
    assert response.status_code == 303 and response.headers["location"] == "/mfa"
    first_again, second = demo.wait_for_codes("alice", 2, timeout=WAIT)
    assert first_again == first
    assert "We sent you a new code." in web.get("/mfa").text
    if second != first:
        assert submit(web, first).status_code == 401
    assert submit(web, second).headers["location"] == "/account"


def test_login_page_does_not_wait_for_the_signal(
    web: httpx.Client, demo: DemoApp, events: tuple[EventsStandIn, str]
) -> None:
    stand_in = events[0]
    stand_in.gate.clear()  # the relay now holds every signal until the gate opens
    response = sign_in(web, "alice", "wonderland")
    assert response.status_code == 303
    assert demo.sent_codes("alice") == [] and stand_in.received == []
    stand_in.gate.set()
    [code] = demo.wait_for_codes("alice", 1, timeout=WAIT)
    assert stand_in.received[0][2] == {"data": {"code": code}}


def test_totp_sign_in_refuses_a_replayed_code(demo: DemoApp, clock: FakeClock) -> None:
    code = totp(TOTP_SECRET, at=clock.now)
    previous = totp(TOTP_SECRET, at=clock.now - 30)
    with browser(demo) as first, browser(demo) as second:
        assert sign_in(first, "bob", "builder").headers["location"] == "/mfa"
        page = first.get("/mfa").text
        assert "authenticator" in page and "resend-button" not in page
        assert submit(first, code).headers["location"] == "/account"

        sign_in(second, "bob", "builder")
        for replayed in (code, previous):  # the same step, and one before it
            response = submit(second, replayed)
            assert response.status_code == 401
            assert "That code was already used." in response.text
        clock.now += 30
        assert submit(second, totp(TOTP_SECRET, at=clock.now)).headers["location"] == "/account"
    assert demo.sent_codes("bob") == []


def test_user_without_mfa_signs_in_with_the_password_alone(
    web: httpx.Client, demo: DemoApp, events: tuple[EventsStandIn, str]
) -> None:
    demo.add_user("dora", "explorer", mfa=False)
    assert sign_in(web, "dora", "wrong").status_code == 401
    assert demo.sign_ins("dora") == 0
    response = sign_in(web, "dora", "explorer")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert response.cookies[SESSION_COOKIE]  # a new session, as after a code
    account = web.get("/account")
    assert '<p id="welcome">Welcome, dora!</p>' in account.text
    assert '<span id="sign-ins">1</span>' in account.text
    assert web.get("/mfa").headers["location"] == "/login"  # no code step pending
    assert demo.sign_ins("dora") == 1 and demo.sign_ins("alice") == 0
    with browser(demo) as again:
        sign_in(again, "dora", "explorer")
    assert demo.sign_ins("dora") == 2
    assert demo.sent_codes("dora") == [] and events[0].received == []


def test_sign_ins_counts_code_sign_ins(web: httpx.Client, demo: DemoApp, clock: FakeClock) -> None:
    sign_in(web, "bob", "builder")
    assert demo.sign_ins("bob") == 0  # the password alone is half a sign-in
    submit(web, totp(TOTP_SECRET, at=clock.now))
    assert demo.sign_ins("bob") == 1
    assert '<span id="sign-ins">1</span>' in web.get("/account").text


def test_inbox_user_gets_codes_recorded_but_never_signaled(
    web: httpx.Client, demo: DemoApp, events: tuple[EventsStandIn, str]
) -> None:
    demo.add_user("carol", "phone", inbox=True)
    assert sign_in(web, "carol", "phone").headers["location"] == "/mfa"
    [first] = demo.wait_for_codes("carol", 1, timeout=WAIT)
    assert len(first) == 6 and first.isdigit()
    page = web.get("/mfa").text
    assert "We sent you a code." in page and 'id="resend-button"' in page

    assert web.post("/mfa/resend").headers["location"] == "/mfa"
    first_again, second = demo.wait_for_codes("carol", 2, timeout=WAIT)
    assert first_again == first
    assert demo.sent_codes("carol") == [first, second]
    if second != first:
        assert submit(web, first).status_code == 401  # only the newest code counts
    assert submit(web, second).headers["location"] == "/account"
    assert events[0].received == []  # the inbox is the only place the codes went


def test_session_cookie_is_http_only_and_renewed(web: httpx.Client) -> None:
    response = sign_in(web, "bob", "builder")
    pending = response.cookies[SESSION_COOKIE]
    assert "httponly" in response.headers["set-cookie"].lower()
    response = submit(web, totp(TOTP_SECRET, at=FakeClock().now))
    assert response.cookies[SESSION_COOKIE] != pending


def test_user_configuration_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    app = DemoApp(API_KEY, "http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match="exactly one of"):
        app.add_user("carol", "pw")
    with pytest.raises(ConfigurationError, match="exactly one of"):
        app.add_user("carol", "pw", mfa_event="e", totp_secret=TOTP_SECRET)
    with pytest.raises(ConfigurationError, match="exactly one of"):
        app.add_user("carol", "pw", mfa_event="e", inbox=True)
    with pytest.raises(ConfigurationError, match="exactly one of"):
        app.add_user("carol", "pw", totp_secret=TOTP_SECRET, inbox=True)
    with pytest.raises(ConfigurationError, match="mfa=False"):
        app.add_user("carol", "pw", totp_secret=TOTP_SECRET, mfa=False)
    with pytest.raises(InvalidArgumentError, match="base32") as info:
        app.add_user("carol", "pw", totp_secret="not-a-secret!")
    assert "not-a-secret" not in str(info.value)
    for name in ("ANCHOR_API_KEY", "ANCHORBROWSER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    keyless = DemoApp(None, "http://127.0.0.1:9")
    keyless.add_user("dave", "pw", totp_secret=TOTP_SECRET)  # TOTP needs no events API
    keyless.add_user("frank", "pw", inbox=True)  # nor does the phone inbox
    with pytest.raises(ConfigurationError, match="API key"):
        keyless.add_user("erin", "pw", mfa_event="erin_sms")
    app.stop()
    keyless.stop()
