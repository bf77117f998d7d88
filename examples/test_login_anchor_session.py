"""The login with MFA, in an Anchor cloud browser session instead of a local Chromium.

Run with ``pytest examples/test_login_anchor_session.py --anchor-browser session``: the
``page`` is then in a Chromium connected over CDP to an Anchor session (offline: the fake
server's own Chromium, through its CDP proxy; live: Anchor's browser). Nothing else in the
test changes. In a plain run this file starts itself once more in session mode (pytester), so
the suite covers the session path either way.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from pytest_anchor_mfa import MfaCode, Settings

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.anchor_timeout(15)


def test_login_in_an_anchor_session(
    page: Page,
    demo_url: str,
    mfa_code: MfaCode,
    anchor_settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    if anchor_settings.browser != "session":
        pytest.skip("runs with --anchor-browser session (see test_this_file_in_session_mode)")
    page.goto(demo_url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", "correct horse")
    page.click("#login-button")
    page.fill("#mfa-code", mfa_code())
    page.click("#verify-button")
    assert page.inner_text("#welcome") == "Welcome, alice!"
    if anchor_settings.mode == "fake":  # the page really was in the fake's session browser
        session = request.getfixturevalue("anchor_session")
        running = request.getfixturevalue("anchor_fake").sessions.running()
        assert [s.id for s in running] == [session.id]
        assert running[0].cdp_bytes > 0  # every CDP message went through the proxy


def test_this_file_in_session_mode(pytester: pytest.Pytester, anchor_settings: Settings) -> None:
    if anchor_settings.browser == "session" or anchor_settings.mode != "fake":
        pytest.skip("this run is the session-mode run already (or live: no local Chromium)")
    result = pytester.runpytest_subprocess(
        str(Path(__file__)), "-p", "no:cacheprovider", "--anchor-mode", "fake",
        "--anchor-browser", "session", "-k", "test_login_in_an_anchor_session",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
