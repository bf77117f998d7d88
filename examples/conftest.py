"""Fixtures for the browser examples: the demo sign-in site, and a fresh user for every test.

Copy what you need into your own ``conftest.py`` and swap ``DemoApp`` for your application.
The demo app plays the SMS relay: it signals each code on the events API of this run (the
in-process fake server offline, the real service when ``ANCHOR_API_KEY`` is set).

pytest puts this folder on ``sys.path`` (it has no ``__init__.py``), so ``import demo_app``
works here and in the test files.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from demo_app import DemoApp, DemoMail, DemoSms, DemoUser
from demo_fixtures import *  # noqa: F403 (demo_app, demo_url: the fixtures shared with examples_async)
from demo_fixtures import PASSWORD
from playwright.sync_api import BrowserContext, Page, expect

from pytest_anchor_mfa import Settings
from pytest_anchor_mfa.codes.totp import random_secret

BROWSER_TIMEOUT_MS = 5_000
"""A missing element fails a step after 5 s (Playwright's default is 30 s)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes up to 30 s of real time (deselect: -m 'not slow')"
    )
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        app = DemoApp()
        app.start()
        site = SharedSite(app.url, random_secret())
        app.add_user(SHARED_USER, PASSWORD, totp_secret=site.totp_secret)
        config.stash[_SHARED_SITE] = (app, site)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker signs in to the controller's one shared site."""
    _, site = node.config.stash[_SHARED_SITE]
    node.workerinput["demo_shared_site"] = dataclasses.asdict(site)


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(_SHARED_SITE, None)
    if shared is not None:
        shared[0].stop()


SHARED_USER = "carol"
"""The user of the signed_in examples, on the site every worker of the run shares."""


@dataclasses.dataclass(frozen=True)
class SharedSite:
    """The demo site of the whole run (one for all xdist workers), with carol's TOTP secret."""

    url: str
    totp_secret: str


_SHARED_SITE = pytest.StashKey[tuple[DemoApp, SharedSite]]()

NewUser = Callable[..., DemoUser]
StartLogin = Callable[[Page, DemoUser], None]


# -- settings -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def anchor_settings(anchor_settings: Settings) -> Settings:
    """The plugin's settings, plus a made-up TOTP secret when none is configured.

    The ``totp`` code source reads ``anchor_settings.totp_secret``; this override gives the
    examples one without ``ANCHOR_MFA_TOTP_SECRET``. Settings are frozen: change them with
    ``dataclasses.replace``.
    """
    if anchor_settings.totp_secret:
        return anchor_settings
    return dataclasses.replace(anchor_settings, totp_secret=random_secret())


# -- the app under test -------------------------------------------------------------------------


@pytest.fixture
def new_user(demo_app: DemoApp) -> NewUser:
    """``new_user(mfa_event=... | totp_secret=... | inbox=True | sms=DemoSms(...) |
    mail=DemoMail(...))``: register a fresh user."""

    def make(
        *,
        mfa_event: str | None = None,
        totp_secret: str | None = None,
        inbox: bool = False,
        sms: DemoSms | None = None,
        mail: DemoMail | None = None,
    ) -> DemoUser:
        user = DemoUser(f"user-{secrets.token_hex(4)}", PASSWORD, mfa_event)
        demo_app.add_user(
            user.username,
            user.password,
            mfa_event=mfa_event,
            totp_secret=totp_secret,
            inbox=inbox,
            sms=sms,
            mail=mail,
        )
        return user

    return make


@pytest.fixture
def user(new_user: NewUser, mfa_event_name: str) -> DemoUser:
    """A fresh user whose code the app signals on ``mfa_event_name``, where ``mfa_code`` waits.

    With ``--anchor-unique-events`` that name is unique per test, so parallel runs sharing one
    API key never take each other's codes.
    """
    return new_user(mfa_event=mfa_event_name)


@pytest.fixture
def totp_user(new_user: NewUser, anchor_settings: Settings) -> DemoUser:
    """A fresh user with an authenticator app on the plugin's TOTP secret."""
    assert anchor_settings.totp_secret  # the anchor_settings override above sets one
    return new_user(totp_secret=anchor_settings.totp_secret)


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture
def new_context(new_context: Callable[..., BrowserContext]) -> Callable[..., BrowserContext]:
    """pytest-playwright's ``new_context``, with short timeouts so a broken step fails fast.

    The ``context`` and ``page`` fixtures are built on it, so they get the short timeout too.
    """

    def make(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        return context

    return make


@pytest.fixture
def start_login(demo_app: DemoApp) -> StartLogin:
    """``start_login(page, user)``: sign in with the password and stop at the code page.

    The app sends the code as soon as the password is accepted.
    """

    def start(page: Page, user: DemoUser) -> None:
        page.goto(f"{demo_app.url}/login")
        page.fill("#username", user.username)
        page.fill("#password", user.password)
        page.click("#login-button")
        expect(page.locator("#mfa-code")).to_be_visible()

    return start


# -- sign in once (@pytest.mark.signed_in) ------------------------------------------------------


@pytest.fixture(scope="session")
def shared_site(pytestconfig: pytest.Config) -> SharedSite:
    """The demo site every worker of this run shares: sign-ins made in one serve them all."""
    workerinput = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None:
        return SharedSite(**workerinput["demo_shared_site"])
    return pytestconfig.stash[_SHARED_SITE][1]


@pytest.fixture(scope="session")
def anchor_sign_in(shared_site: SharedSite) -> Callable[[Page, str, Any], None]:
    """How a user signs in to the demo site; the plugin calls it once per user per run."""

    def sign_in(page: Page, user: str, mfa_code: Any) -> None:
        page.goto(f"{shared_site.url}/login")
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.fill("#mfa-code", mfa_code(source="totp", secret=shared_site.totp_secret))
        page.click("#verify-button")
        expect(page.locator("#welcome")).to_be_visible()

    return sign_in
