"""``@pytest.mark.signed_in``: one sign-in per user per run, in real Chromium, under xdist.

The site (``signin_app.SignInSite``) runs in this process, so every worker of an inner run
signs in against the same site, which counts the sign-ins. Inner runs are real processes with
their own temporary directory, where the run's saved states live.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from signin_app import SignInSite

from pytest_anchor_mfa.codes.totp import random_secret

pytest_plugins = ["pytester"]

pytestmark = [
    pytest.mark.usefixtures("clean_anchor_env"),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]

INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--anchor-timeout", "40")

CONFTEST = """
import os
import pytest

SITE = os.environ["SIGNIN_SITE"]


@pytest.fixture(scope="session")
def anchor_sign_in(anchor_events):
    def sign_in(page, user, mfa_code):
        page.goto(f"{SITE}/login")
        page.fill("#user", user)
        if os.environ.get("SIGNIN_TOTP"):
            code = mfa_code(source="totp", secret=os.environ["SIGNIN_TOTP"])
        else:
            anchor_events.signal("mfa_code", {"code": os.environ["SIGNIN_CODE"]})
            code = mfa_code()
        page.fill("#code", code)
        page.click("#go")
        page.wait_for_url("**/home", timeout=5000)
    return sign_in
"""

TESTS = """
import os
import pytest

SITE = os.environ["SIGNIN_SITE"]


@pytest.mark.signed_in("alice@example.com")
@pytest.mark.parametrize("n", range({count}))
def test_home(page, n):
    page.goto(f"{{SITE}}/home")
    assert page.inner_text("#who") == "alice@example.com"
"""


@pytest.fixture
def site() -> Iterator[SignInSite]:
    with SignInSite() as started:
        yield started


@pytest.fixture
def inner(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, site: SignInSite
) -> Iterator[Path]:
    """The inner run's environment: the site, a code, and a temporary directory of its own
    (short: Chromium puts sockets there, whose paths have a length limit)."""
    tmp = Path(tempfile.mkdtemp(prefix="amfa-"))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("SIGNIN_SITE", site.url)
    monkeypatch.setenv("SIGNIN_CODE", site.fixed_code)
    pytester.makeconftest(CONFTEST)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def state_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("anchor-mfa-sign-in-*"))


def test_two_workers_sign_in_once_with_totp(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, inner: Path
) -> None:
    secret = random_secret()
    with SignInSite(totp_secret=secret) as totp_site:
        monkeypatch.setenv("SIGNIN_SITE", totp_site.url)
        monkeypatch.setenv("SIGNIN_TOTP", secret)  # a per-call secret: no TOTP setting
        pytester.makepyfile(TESTS.format(count=6))
        result = pytester.runpytest_subprocess(*INNER, "-n", "2")
        result.assert_outcomes(passed=6)
        assert totp_site.sign_ins == {"alice@example.com": 1}
    # The MFA timing report counts it: one sign-in (one TOTP code) served six tests.
    result.stdout.fnmatch_lines(
        [
            "*anchor-mfa: MFA timing*",
            "sign-ins: 1 made in *; tests served a saved state: 6",
            "source  waits  codes *",
            "totp        1      1 *",
        ]
    )
    assert state_dirs(inner) == []  # removed at the end of the run


def test_kept_states_are_private_files(pytester: pytest.Pytester, inner: Path) -> None:
    pytester.makepyfile(TESTS.format(count=2))
    result = pytester.runpytest_subprocess(*INNER, "--anchor-keep-sign-in")
    result.assert_outcomes(passed=2)
    (directory,) = state_dirs(inner)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    states = list(directory.glob("*.json"))
    assert len(states) == 1 and stat.S_IMODE(states[0].stat().st_mode) == 0o600


def test_a_refused_state_is_renewed_once(
    pytester: pytest.Pytester, inner: Path, site: SignInSite
) -> None:
    pytester.makeconftest(
        CONFTEST
        + """

@pytest.fixture(scope="session")
def anchor_signed_in_check():
    def check(page, user):
        page.goto(f"{SITE}/home")
        return page.locator("#who").count() == 1
    return check
"""
    )
    pytester.makepyfile(
        """
        import os
        import pytest

        SITE = os.environ["SIGNIN_SITE"]

        @pytest.mark.signed_in("alice@example.com")
        def test_1_signed_in(page):
            page.goto(f"{SITE}/home")
            assert page.inner_text("#who") == "alice@example.com"

        def test_2_the_site_forgets_every_session(page):  # page: ordered with the others
            page.goto(f"{SITE}/sign-everybody-out")

        @pytest.mark.signed_in("alice@example.com")
        @pytest.mark.parametrize("n", range(2))
        def test_3_signed_in_again(page, n):
            page.goto(f"{SITE}/home")
            assert page.inner_text("#who") == "alice@example.com"
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=4)
    assert site.sign_ins == {"alice@example.com": 2}


def test_a_failed_sign_in_fails_its_tests_with_one_line_and_is_not_retried(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, inner: Path, site: SignInSite
) -> None:
    monkeypatch.setenv("SIGNIN_CODE", "999999")  # the site takes 123456
    pytester.makepyfile(TESTS.format(count=3))
    result = pytester.runpytest_subprocess(*INNER, "--tb=line")
    result.assert_outcomes(errors=3)
    assert site.attempts == {"alice@example.com": 1}
    line = (
        "*SignInError: signing in 'alice@example.com' failed at "
        '`page.wait_for_url("**/home", timeout=5000)`: TimeoutError: *'
    )
    result.stdout.fnmatch_lines([line, line, line])
    shots = list((pytester.path / "test-results").glob("anchor-sign-in-*.png"))
    assert len(shots) == 1
    assert f"(screenshot: {shots[0].relative_to(pytester.path)})" in result.stdout.str()


def test_fresh_sign_in_signs_in_for_every_test(
    pytester: pytest.Pytester, inner: Path, site: SignInSite
) -> None:
    pytester.makepyfile(TESTS.format(count=3))
    result = pytester.runpytest_subprocess(*INNER, "--anchor-fresh-sign-in")
    result.assert_outcomes(passed=3)
    assert site.sign_ins == {"alice@example.com": 3}


def test_session_cookies_never_reach_the_reports(
    pytester: pytest.Pytester, inner: Path, site: SignInSite
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.signed_in("alice@example.com")
        def test_shows_its_cookies(context, record_property):
            cookie = context.cookies()[0]["value"]
            print("the session is", cookie)
            record_property("cookie", cookie)
            assert cookie == "x"
        """
    )
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(*INNER, "-rA", f"--junitxml={xml}")
    result.assert_outcomes(failed=1)
    (session,) = site.sessions
    output = result.stdout.str() + result.stderr.str() + xml.read_text()
    assert "the session is ••••" in output
    assert session not in output


def test_the_marker_without_pytest_playwright_stops_the_run_with_one_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.signed_in("alice@example.com")
        def test_x():
            pass

        @pytest.mark.signed_in()
        def test_y():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:playwright")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert (
        "test_x: @pytest.mark.signed_in needs pytest-playwright or pytest-playwright-asyncio"
        in errors
    )
    assert "test_y: @pytest.mark.signed_in takes one argument, the user" in errors


def test_anchor_signed_in_gives_state_files_for_several_users(
    pytester: pytest.Pytester, inner: Path, site: SignInSite
) -> None:
    pytester.makepyfile(
        """
        import os

        SITE = os.environ["SIGNIN_SITE"]

        def test_two_users(browser, anchor_signed_in):
            for user in ("alice", "bob", "alice"):
                context = browser.new_context(storage_state=anchor_signed_in(user))
                page = context.new_page()
                page.goto(f"{SITE}/home")
                assert page.inner_text("#who") == user
                context.close()
        """
    )
    result = pytester.runpytest_subprocess(*INNER)
    result.assert_outcomes(passed=1)
    assert site.sign_ins == {"alice": 1, "bob": 1}
