"""Secrets (the API key, MFA codes, the TOTP secret) never reach terminal output or JUnit XML.

Each check uses distinctive random values, sent to the inner suite from outside (a
FakeEventServer started here, the inner run in live mode against it), so no secret appears in
the inner test sources that tracebacks print. Then the whole output and the XML file are grepped.
"""

from __future__ import annotations

import secrets
import time

import pytest

from pytest_anchor_mfa.codes.totp import random_secret, totp
from pytest_anchor_mfa.server import FakeEventServer

pytest_plugins = ["pytester"]

# pytest-playwright keeps a global "soft assertion" scope around each test: an in-process inner
# run nested in an outer test must not load it. Hypothesis' plugin costs ~0.8 s per inner run.
INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")


# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")


def ten_digits() -> str:
    """A random 10-digit code: long enough never to turn up in output by chance."""
    return str(10**9 + secrets.randbelow(9 * 10**9))


SUITE = """
import pytest


def test_compare_code(mfa_code, anchor_events, anchor_connection, anchor_settings):
    code = mfa_code()
    assert code == "0000000000"


def test_code_compared_with_another_code(mfa_code):
    code = mfa_code("mfa_twice")
    assert code != mfa_code("mfa_twice")


def test_compare_event_data(wait_for_event):
    data = wait_for_event("data_event")
    assert data == {"code": "nope", "user": "u1"}


def test_compare_code_in_list(mfa_code):
    codes = [mfa_code("mfa_listed")]
    assert codes == ["0000000000"]


def test_invalid_code(mfa_code):
    mfa_code("bad_code")


@pytest.mark.mfa(source="totp", digits=8)
def test_compare_totp_code(mfa_code, anchor_settings):
    code = mfa_code()
    assert code == "00000000"


def test_reprs(mfa_code, anchor_events, anchor_connection, anchor_settings, anchor_mfa_settings):
    fixtures = (mfa_code, anchor_events, anchor_connection, anchor_settings, anchor_mfa_settings)
    for fixture in fixtures:
        print("REPR", repr(fixture))
    code = mfa_code("mfa_printed")
    print("REPR", repr(code), [code], {"code": code})
"""


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(("-v", "-l", "--tb=long"), id="v-showlocals-long"),
        pytest.param(("-vv", "--showlocals", "--tb=short"), id="vv-showlocals-short"),
        pytest.param(("-q", "--tb=native"), id="q-native"),
    ],
)
def test_no_secret_in_terminal_output_or_junit_xml(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, options: tuple[str, ...]
) -> None:
    key = f"sk-secretkey-{secrets.token_hex(10)}"
    code = ten_digits()
    bad_code = f"Zq{secrets.token_hex(5)}"
    totp_secret = random_secret()
    pytester.makepyfile(SUITE)
    xml = pytester.path / "report.xml"
    with FakeEventServer(api_keys=[key]) as server:
        monkeypatch.setenv("ANCHOR_API_KEY", key)
        monkeypatch.setenv("ANCHOR_BASE_URL", server.url)
        monkeypatch.setenv("ANCHOR_MFA_TOTP_SECRET", totp_secret)
        for event in ("mfa_code", "mfa_listed", "mfa_printed"):
            server.signal_when_waiting(event, {"code": code}, timeout=10)
        # Two waits on one event: signal_when_waiting fires once, so the second is kept ahead.
        server.signal("mfa_twice", {"code": code})
        server.signal("mfa_twice", {"code": code})
        server.signal_when_waiting("data_event", {"code": code, "user": "u1"}, timeout=10)
        server.signal_when_waiting("bad_code", {"code": bad_code}, timeout=10)
        started = time.time()
        result = pytester.runpytest(
            *INNER,
            *options,
            "-rA",
            "--anchor-timeout=5",
            "--anchor-code-digits=10",
            "--no-anchor-unique-events",  # the server signals fixed names (live mode)
            f"--junitxml={xml}",
        )
        finished = time.time()
        assert len(server.history) == 7, "every signal must have been taken by the inner suite"
    result.assert_outcomes(passed=1, failed=6)
    output = result.stdout.str() + "\n" + result.stderr.str()
    report = xml.read_text(encoding="utf-8")
    totp_codes = {
        totp(totp_secret, digits=8, at=at)
        for at in (started - 30, started, finished, finished + 30)
    }
    secret_values = {
        "API key": key,
        "API key body": key[3:-4],
        "MFA code": code,
        "invalid code": bad_code,
        "TOTP secret": totp_secret,
        **{f"TOTP code {i}": value for i, value in enumerate(sorted(totp_codes))},
    }
    # Names only in the assertion message: printing the texts would show the leaked values.
    leaks = [
        f"{name} in {where}"
        for where, text in (("terminal output", output), ("JUnit XML", report))
        for name, value in secret_values.items()
        if value in text
    ]
    assert not leaks
    # The failures were reported, masked: the checks above looked at real output.
    assert f"sk-…{key[-4:]}" in output
    assert "'••••••••••'" in output
    assert "(an MFA code is compared: pytest-anchor-mfa masks both sides" in output
    assert "received code '••••••••••••' (12 characters) is not 10 digits" in " ".join(
        output.split()
    )
    assert "test_compare_code" in report and "<failure" in report


def test_no_key_in_output_when_the_live_key_is_refused(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = f"sk-wrongkey-{secrets.token_hex(10)}"
    pytester.makepyfile(
        """
        def test_mfa_code(mfa_code):
            mfa_code()


        def test_signal_event(signal_event):
            signal_event("x")


        def test_wait_for_event(wait_for_event):
            wait_for_event("x")


        def test_client_directly(anchor_events, anchor_connection, anchor_settings):
            anchor_events.wait("x", 1)
        """
    )
    xml = pytester.path / "report.xml"
    with FakeEventServer() as server:
        monkeypatch.setenv("ANCHORBROWSER_API_KEY", wrong_key)
        result = pytester.runpytest(
            *INNER,
            "-vv",
            "-l",
            "--tb=long",
            "-rA",
            "--anchor-timeout=5",
            f"--anchor-base-url={server.url}",
            f"--junitxml={xml}",
        )
    result.assert_outcomes(failed=4)
    output = result.stdout.str() + "\n" + result.stderr.str()
    report = xml.read_text(encoding="utf-8")
    leaks = [
        where
        for where, text in (("terminal output", output), ("JUnit XML", report))
        if wrong_key[3:-4] in text
    ]
    assert not leaks
    assert output.count(f"sk-…{wrong_key[-4:]} was refused") >= 4
