"""The plugin's fixtures, in fake mode and in live mode (against a FakeEventServer started here).

Inner suites run in-process (``runpytest``) unless a real process matters (stdin, a terminal).
Every inner wait is bounded (``--anchor-timeout 5`` or a smaller explicit timeout).
"""

from __future__ import annotations

import functools
import os
import re
import select
import subprocess
import sys
import time

import pytest

from pytest_anchor_mfa.codes import totp as totp_module
from pytest_anchor_mfa.codes.totp import random_secret
from pytest_anchor_mfa.server import FakeEventServer

pytest_plugins = ["pytester"]

# pytest-playwright keeps a global "soft assertion" scope around each test: an in-process inner
# run nested in an outer test must not load it. Hypothesis' plugin costs ~0.8 s per inner run.
INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")
BOUNDED = ("--anchor-timeout", "5")

ANYIO_CONFTEST = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")


def failure_section(result: pytest.RunResult, title: str) -> list[str]:
    """The non-blank lines of the FAILURES section of the test titled ``title``."""
    lines = result.outlines
    starts = [i for i, line in enumerate(lines) if re.fullmatch(rf"_+ {re.escape(title)} _+", line)]
    assert len(starts) == 1, f"no failure section for {title}:\n" + "\n".join(lines)
    start = starts[0] + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith(("____", "===="))), len(lines)
    )
    return [line for line in lines[start:end] if line.strip()]


def assert_one_line_failure(result: pytest.RunResult, title: str, pattern: str) -> str:
    """The test failed with exactly one line, matching ``pattern``, and no traceback."""
    section = failure_section(result, title)
    assert len(section) == 1, "\n".join(section)
    assert re.fullmatch(pattern, section[0]), section[0]
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "httpx" not in output
    assert "httpcore" not in output
    return section[0]


# -- anchor_events, anchor_fake, anchor_connection ------------------------------------------------


def test_anchor_events_is_one_session_client_of_the_fake_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_anchor_mfa.events import EventsClient

        seen = []


        def test_one(anchor_events, anchor_connection, anchor_fake):
            assert isinstance(anchor_events, EventsClient)
            assert anchor_events.base_url == anchor_connection.base_url == anchor_fake.url
            assert anchor_events.signal("direct", {"n": 1}) == "queued"
            assert anchor_fake.kept_signals("direct") == [{"n": 1}]
            assert anchor_events.wait("direct", 1) == {"n": 1}
            seen.append(anchor_events)


        def test_two(anchor_events):
            assert seen and seen[0] is anchor_events
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=2)


def test_anchor_fake_is_reset_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_keeps_a_signal(signal_event, anchor_fake):
            assert signal_event("leaky", {"code": "111111"}) == "queued"
            anchor_fake.signal("leaky_direct", {"code": "222222"})
            assert len(anchor_fake.kept_signals("leaky")) == 1
            assert len(anchor_fake.history) == 2


        def test_does_not_see_it(anchor_fake, wait_for_event):
            assert anchor_fake.kept_signals("leaky") == []
            assert anchor_fake.kept_signals("leaky_direct") == []
            assert anchor_fake.history == []
            wait_for_event("leaky", timeout=0.2)
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=1, failed=1)
    assert_one_line_failure(
        result, "test_does_not_see_it", r"anchor-mfa: wait_for_event: event 'leaky' was not .*"
    )


def test_fault_rules_are_cleared_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_breaks_the_server(anchor_fake, signal_event):
            anchor_fake.faults.fail(503, count=None)
            anchor_fake.faults.delay(5000, count=None)


        def test_sees_a_healthy_server(anchor_fake, signal_event):
            assert not anchor_fake.faults.active
            assert signal_event("fine", {"code": "123456"}) == "queued"
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=2)


def test_a_webhook_that_does_not_come_is_a_one_line_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_waits_in_vain(anchor_webhooks):
            anchor_webhooks.wait_for("task.completed", timeout=0.2)
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(failed=1)
    assert_one_line_failure(
        result,
        "test_waits_in_vain",
        r"anchor-mfa: webhook wait_for: WebhookTimeoutError: no 'task\.completed' webhook .*",
    )
    assert "receiver.py" not in result.stdout.str()


def test_a_signal_made_with_the_session_client_does_not_leak(pytester: pytest.Pytester) -> None:
    """Even a direct anchor_events call (session scope) is cleaned up after its test."""
    pytester.makepyfile(
        """
        def test_keeps_a_signal(anchor_events):
            assert anchor_events.signal("leaky", {"code": "111111"}) == "queued"


        def test_does_not_see_it(anchor_events):
            assert anchor_events.wait("leaky", 0, none_on_timeout=True) is None
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=2)


def test_event_fixtures_isolate_tests_without_requesting_anchor_fake(
    pytester: pytest.Pytester,
) -> None:
    """signal_event/wait_for_event/mfa_code reset the fake server themselves after a test."""
    pytester.makepyfile(
        """
        def test_keeps_a_signal(signal_event):
            assert signal_event("mfa_code", code="123456") == "queued"


        def test_mfa_code_does_not_get_it(mfa_code):
            mfa_code(timeout=0.2)
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=1, failed=1)
    assert_one_line_failure(
        result,
        "test_mfa_code_does_not_get_it",
        r"anchor-mfa: mfa_code: event 'mfa_code' was not signaled within 0\.2 s .*",
    )


def test_anchor_fake_is_skipped_with_a_reason_in_live_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_fake(anchor_fake):\n    raise AssertionError('ran')\n")
    result = pytester.runpytest(
        *INNER, *BOUNDED, "-rs", "--anchor-mode=live", "--anchor-api-key=sk-live-000000000000"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED *needs the fake event server*live mode*"])


def test_anchor_connection_in_fake_and_live_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_connection(anchor_connection, anchor_settings, request):
            if anchor_settings.mode == "fake":
                fake = request.getfixturevalue("anchor_fake")
                assert anchor_connection.mode == "fake"
                assert anchor_connection.base_url == fake.url
                assert anchor_connection.api_key == fake.api_key
            else:
                assert anchor_connection.mode == "live"
                assert anchor_connection.base_url == "http://live.test:1234"
                assert anchor_connection.api_key == "sk-connection-9876543210"
            assert anchor_connection.api_key not in repr(anchor_connection)
            assert anchor_connection.api_key[-4:] in repr(anchor_connection)
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=1)
    live = ("--anchor-base-url=http://live.test:1234/", "--anchor-api-key=sk-connection-9876543210")
    pytester.runpytest(*INNER, *BOUNDED, *live).assert_outcomes(passed=1)


# -- signal_event, wait_for_event -----------------------------------------------------------------


def test_signal_event_and_wait_for_event(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_signal_forms(signal_event, anchor_fake):
            assert signal_event("bare") == "queued"
            assert signal_event("data", {"a": 1}) == "queued"
            assert signal_event("fields", user="u1", n=2) == "queued"
            assert signal_event("both", {"a": 1, "b": 1}, b=2) == "queued"
            assert anchor_fake.kept_signals("bare") == [{}]
            assert anchor_fake.kept_signals("data") == [{"a": 1}]
            assert anchor_fake.kept_signals("fields") == [{"user": "u1", "n": 2}]
            assert anchor_fake.kept_signals("both") == [{"a": 1, "b": 2}]


        def test_signal_first_wait_later(signal_event, wait_for_event):
            signal_event("ready", {"step": 1})
            assert wait_for_event("ready") == {"step": 1}


        def test_wait_first_signal_later(anchor_fake, wait_for_event):
            done = anchor_fake.signal_when_waiting("later", {"step": 2}, timeout=5)
            assert wait_for_event("later") == {"step": 2}
            assert done.result() == 1


        def test_a_signal_reaches_a_waiter_as_delivered(anchor_fake, signal_event, anchor_events):
            import threading

            got = []
            waiter = threading.Thread(target=lambda: got.append(anchor_events.wait("w", 5)))
            waiter.start()
            anchor_fake.wait_for_waiters("w", timeout=5)
            assert signal_event("w", x=1) == "delivered"
            waiter.join(5)
            assert got == [{"x": 1}]


        def test_secret_looking_values_are_masked_in_reprs(signal_event, wait_for_event):
            signal_event("data", code="123456", note="hello")
            data = wait_for_event("data")
            assert data == {"code": "123456", "note": "hello"}
            assert isinstance(data["code"], str)
            assert "123456" not in repr(data)
            assert "hello" in repr(data)
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=5)


def test_wait_for_event_timeout_is_one_line_naming_event_timeout_and_mode(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_explicit(wait_for_event):
            wait_for_event("never_signaled", timeout=0.3)


        def test_default(wait_for_event):
            wait_for_event("never_either")
        """
    )
    result = pytester.runpytest(*INNER, "--anchor-timeout=0.4", "--tb=long")
    result.assert_outcomes(failed=2)
    assert_one_line_failure(
        result,
        "test_explicit",
        r"anchor-mfa: wait_for_event: event 'never_signaled' was not signaled within 0\.3 s "
        r"\(mode fake \(in-process fake server\)\)\..*--anchor-timeout\. \(at test_\w+\.py:2\)",
    )
    assert_one_line_failure(
        result,
        "test_default",
        r"anchor-mfa: wait_for_event: event 'never_either' was not signaled within 0\.4 s .*",
    )


# -- mfa_code -------------------------------------------------------------------------------------


def test_mfa_code_waits_first_and_returns_the_signaled_code(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wait_first(anchor_fake, mfa_code, mfa_event_name):
            assert mfa_event_name == "mfa_code"
            sent = anchor_fake.signal_when_waiting(mfa_event_name, {"code": "482913"}, timeout=5)
            code = mfa_code()
            assert sent.result() == 1  # it was waiting when the code was sent
            assert code == "482913"
            assert isinstance(code, str)
            assert str(code) == "482913" and f"{code}" == "482913"
            assert "482913" not in repr(code)


        def test_json_number(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", {"code": 482913}, timeout=5)
            assert mfa_code() == "482913"


        def test_surrounding_whitespace(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", {"code": " 482913\\n"}, timeout=5)
            assert mfa_code() == "482913"


        def test_other_event_per_call(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("second_factor", {"code": "000111"}, timeout=5)
            assert mfa_code("second_factor", timeout=3) == "000111"


        def test_two_codes_in_one_test(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", {"code": "111111"}, timeout=5)
            assert mfa_code() == "111111"
            anchor_fake.signal_when_waiting("mfa_code", {"code": "222222"}, timeout=5)
            assert mfa_code() == "222222"
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=5)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        pytest.param(
            '{"code": "4829"}',
            r"anchor-mfa: mfa_code: CodeValidationError: event 'mfa_code': received code "
            r"'••••' \(4 characters\) is not 6 digits \(mode fake .*\)",
            id="too-short",
        ),
        pytest.param(
            '{"code": "48a91z"}',
            r".*event 'mfa_code': received code '••••••' \(6 characters\) is not 6 digits .*",
            id="letters",
        ),
        pytest.param(
            '{"code": 4829}',
            r".*event 'mfa_code': received code '••••' \(4 characters\) is not 6 digits .*",
            id="short-json-number",
        ),
        pytest.param(
            '{"code": ["482913"]}',
            r".*event 'mfa_code': the code is a list, expected a string of 6 digits .*",
            id="list",
        ),
        pytest.param(
            '{"otp": "482913", "user": "u"}',
            r".*event 'mfa_code' was signaled without a 'code' field \(keys received: otp, user\)"
            r".*",
            id="missing-field",
        ),
    ],
)
def test_mfa_code_rejects_a_bad_code_naming_event_and_expectation(
    pytester: pytest.Pytester, data: str, pattern: str
) -> None:
    pytester.makepyfile(
        f"""
        import json


        def test_bad_code(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", json.loads({data!r}), timeout=5)
            mfa_code()
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(failed=1)
    assert_one_line_failure(result, "test_bad_code", pattern)
    for secret in ("4829", "48a91z"):
        assert secret not in failure_section(result, "test_bad_code")[0]


def test_mfa_code_timeout_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_no_code(mfa_code):\n    mfa_code(timeout=0.3)\n")
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(failed=1)
    assert_one_line_failure(
        result,
        "test_no_code",
        r"anchor-mfa: mfa_code: event 'mfa_code' was not signaled within 0\.3 s "
        r"\(mode fake \(in-process fake server\)\)\..*",
    )


def test_mfa_code_follows_the_code_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_options(anchor_fake, mfa_code, anchor_mfa_settings):
            assert anchor_mfa_settings.event == "login_otp"
            anchor_fake.signal_when_waiting("login_otp", {"otp": "A1B2"}, timeout=5)
            assert mfa_code() == "A1B2"
        """
    )
    result = pytester.runpytest(
        *INNER,
        *BOUNDED,
        "--anchor-mfa-event=login_otp",
        "--anchor-code-field=otp",
        "--anchor-code-pattern=[A-Z0-9]{4}",
    )
    result.assert_outcomes(passed=1)


# -- names, timeouts, settings --------------------------------------------------------------------


def test_unique_event_name_and_unique_mfa_events(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import re


        def test_unique(unique_event_name):
            a, b = unique_event_name("mfa_code"), unique_event_name("mfa_code")
            assert a != b
            assert re.fullmatch(r"mfa_code-main-[0-9a-f]{10}", a), a
            assert re.fullmatch(r"event-main-[0-9a-f]{10}", unique_event_name())


        def test_unique_mfa_event(anchor_fake, mfa_code, mfa_event_name, anchor_mfa_settings):
            assert re.fullmatch(r"mfa_code-main-[0-9a-f]{10}", mfa_event_name), mfa_event_name
            assert anchor_mfa_settings.event == mfa_event_name
            anchor_fake.signal_when_waiting(mfa_event_name, {"code": "135790"}, timeout=5)
            assert mfa_code() == "135790"
        """
    )
    pytester.runpytest(*INNER, *BOUNDED, "--anchor-unique-events").assert_outcomes(passed=2)


def test_anchor_wait_timeout_and_mfa_settings_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_anchor_mfa import MfaSettings


        def test_values(anchor_wait_timeout, anchor_mfa_settings):
            assert anchor_wait_timeout == 2.5
            assert isinstance(anchor_mfa_settings, MfaSettings)
            assert anchor_mfa_settings.timeout == 2.5
            assert anchor_mfa_settings.event == "ev"
            assert anchor_mfa_settings.field == "f"
            assert anchor_mfa_settings.rule.description == "8 digits"
            assert anchor_mfa_settings.source == "events"
        """
    )
    result = pytester.runpytest(
        *INNER,
        "--anchor-timeout=2.5",
        "--anchor-mfa-event=ev",
        "--anchor-code-field=f",
        "--anchor-code-digits=8",
    )
    result.assert_outcomes(passed=1)


# -- async twins ----------------------------------------------------------------------------------


def test_async_twins(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(ANYIO_CONFTEST)
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.anyio
        async def test_signal_and_wait(async_signal_event, async_wait_for_event, anchor_fake):
            assert await async_signal_event("a", {"x": 1}, y=2) == "queued"
            assert anchor_fake.kept_signals("a") == [{"x": 1, "y": 2}]
            data = await async_wait_for_event("a")
            assert data == {"x": 1, "y": 2}


        @pytest.mark.anyio
        async def test_wait_first(async_wait_for_event, anchor_fake):
            anchor_fake.signal_when_waiting("b", {"token": "abc"}, timeout=5)
            data = await async_wait_for_event("b")
            assert data == {"token": "abc"}
            assert "abc" not in repr(data)


        @pytest.mark.anyio
        async def test_mfa_code(async_mfa_code, anchor_fake):
            anchor_fake.signal_when_waiting("mfa_code", {"code": "246802"}, timeout=5)
            code = await async_mfa_code()
            assert code == "246802" and isinstance(code, str)
            assert "246802" not in repr(code)
            anchor_fake.signal_when_waiting("other", {"code": 975310}, timeout=5)
            assert await async_mfa_code("other", timeout=3) == "975310"


        @pytest.mark.anyio
        async def test_wait_timeout(async_wait_for_event):
            await async_wait_for_event("nobody", timeout=0.3)


        @pytest.mark.anyio
        @pytest.mark.mfa(timeout=0.3)
        async def test_mfa_timeout(async_mfa_code):
            await async_mfa_code()


        @pytest.mark.anyio
        async def test_mfa_bad_code(async_mfa_code, anchor_fake):
            anchor_fake.signal_when_waiting("mfa_code", {"code": "12"}, timeout=5)
            await async_mfa_code()
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=3, failed=3)
    assert_one_line_failure(
        result,
        "test_wait_timeout",
        r"anchor-mfa: async_wait_for_event: event 'nobody' was not signaled within 0\.3 s .*",
    )
    assert_one_line_failure(
        result,
        "test_mfa_timeout",
        r"anchor-mfa: async_mfa_code: event 'mfa_code' was not signaled within 0\.3 s .*",
    )
    assert_one_line_failure(
        result,
        "test_mfa_bad_code",
        r"anchor-mfa: async_mfa_code: CodeValidationError: event 'mfa_code': received code "
        r"'••' \(2 characters\) is not 6 digits .*",
    )


# -- live mode: the real client code path, against a FakeEventServer started here -----------------

LIVE_SUITE = """
import pytest


def test_connection(anchor_connection, anchor_settings):
    assert anchor_settings.mode == "live"
    assert anchor_connection.mode == "live"


def test_mfa_code(mfa_code):
    assert mfa_code() == "314159"


def test_signal_then_wait(signal_event, wait_for_event):
    assert signal_event("handshake", step=1) == "queued"
    assert wait_for_event("handshake") == {"step": 1}


@pytest.mark.anyio
async def test_async_mfa_code(async_mfa_code):
    assert await async_mfa_code("async_mfa") == "271828"
"""


@pytest.mark.parametrize("how", ["cli", "env"])
def test_live_mode_against_a_server_started_outside(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    pytester.makeconftest(ANYIO_CONFTEST)
    pytester.makepyfile(LIVE_SUITE)
    with FakeEventServer() as server:
        if how == "cli":
            args = [
                "--anchor-mode=live",
                f"--anchor-base-url={server.url}",
                f"--anchor-api-key={server.api_key}",
            ]
        else:
            monkeypatch.setenv("ANCHOR_BASE_URL", server.url)
            monkeypatch.setenv("ANCHOR_API_KEY", server.api_key)  # auto mode -> live
            args = []
        args.append("--no-anchor-unique-events")  # the server signals fixed names
        sync = server.signal_when_waiting("mfa_code", {"code": "314159"}, timeout=10)
        async_ = server.signal_when_waiting("async_mfa", {"code": 271828}, timeout=10)
        result = pytester.runpytest(*INNER, *BOUNDED, *args)
        result.assert_outcomes(passed=4)
        assert sync.result(timeout=1) == 1
        assert async_.result(timeout=1) == 1
        assert [record.event for record in server.history] == [
            "mfa_code",
            "handshake",
            "async_mfa",
        ]
        result.stdout.fnmatch_lines([f"anchor-mfa: mode live ({server.url}, key sk-…*"])
    assert server.api_key not in result.stdout.str()


def test_live_mode_with_a_wrong_key_is_a_one_line_authentication_failure(
    pytester: pytest.Pytester,
) -> None:
    wrong_key = "sk-wrong-5e6f7a8b9c0d1e2f"
    pytester.makepyfile(
        """
        def test_mfa_code(mfa_code):
            mfa_code()


        def test_signal(signal_event):
            signal_event("x")
        """
    )
    with FakeEventServer() as server:
        result = pytester.runpytest(
            *INNER,
            *BOUNDED,
            "--anchor-mode=live",
            "--no-anchor-unique-events",
            f"--anchor-base-url={server.url}",
            f"--anchor-api-key={wrong_key}",
        )
        assert server.history == []
    result.assert_outcomes(failed=2)
    pattern = (
        r"anchor-mfa: {what}: AuthenticationError: HTTP 401 \(event '{event}'\): invalid API key "
        r"\(the API key sk-…1e2f was refused\) "
        r"\(mode live \(http://127\.0\.0\.1:\d+, key sk-…1e2f\)\); "
        r"check ANCHOR_API_KEY or --anchor-api-key \(at test_\w+\.py:\d+\)"
    )
    assert_one_line_failure(
        result, "test_mfa_code", pattern.format(what="mfa_code", event="mfa_code")
    )
    assert_one_line_failure(result, "test_signal", pattern.format(what="signal_event", event="x"))
    assert wrong_key not in result.stdout.str() + result.stderr.str()


# -- code sources: totp, prompt -------------------------------------------------------------------


TOTP_NOW = 30 * 56_666_667 + 10.0
"""The fake clock of the TOTP tests: 10 s into a 30 s time-step (2023-11-14)."""


class TotpTime:
    """Unix time that only moves when a TOTP generator sleeps."""

    def __init__(self) -> None:
        self.now = TOTP_NOW
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def totp_time(monkeypatch: pytest.MonkeyPatch) -> TotpTime:
    """The plugin's TOTP generators (made when a run first needs one) tell time by a fake
    clock: an in-process inner run knows the one code that is right."""
    clock = TotpTime()
    generator = functools.partial(totp_module.TotpGenerator, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(totp_module, "TotpGenerator", generator)
    return clock


def test_totp_source_gives_the_current_code_and_never_the_same_twice(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, totp_time: TotpTime
) -> None:
    secret = random_secret()
    monkeypatch.setenv("ANCHOR_MFA_TOTP_SECRET", secret)
    pytester.makepyfile(
        f"""
        import os

        import pytest

        from pytest_anchor_mfa.codes.totp import totp

        NOW = {TOTP_NOW!r}
        handed_out = []


        def test_current_code(mfa_code):
            code = mfa_code()
            assert code == totp(os.environ["ANCHOR_MFA_TOTP_SECRET"], at=NOW)
            assert isinstance(code, str) and len(code) == 6
            assert code not in repr(code)
            handed_out.append(str(code))


        @pytest.mark.mfa(timeout=1)
        def test_this_steps_code_is_used_and_the_next_is_too_far(mfa_code):
            for _ in range(2):
                with pytest.raises(pytest.fail.Exception) as failed:
                    mfa_code()
                assert "TOTP code was already used" in str(failed.value)
                assert "starts in 20.0 s, after the 1 s timeout" in str(failed.value)


        @pytest.mark.mfa(timeout=30)
        def test_the_next_steps_code_once_it_starts(mfa_code):
            code = mfa_code()
            assert code == totp(os.environ["ANCHOR_MFA_TOTP_SECRET"], at=NOW + 20)
            handed_out.append(str(code))
            assert len(handed_out) == len(set(handed_out)) == 2
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED, "--anchor-code-source=totp")
    result.assert_outcomes(passed=3)
    assert totp_time.sleeps == [20.0]  # the third test waited for the next step, and only it
    assert secret not in result.stdout.str() + result.stderr.str()


def test_totp_source_from_the_marker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, totp_time: TotpTime
) -> None:
    secret = random_secret()
    monkeypatch.setenv("ANCHOR_MFA_TOTP_SECRET", secret)
    pytester.makepyfile(
        f"""
        import os

        import pytest

        from pytest_anchor_mfa.codes.totp import totp


        @pytest.mark.mfa(source="totp", digits=8)
        def test_eight_digits(mfa_code, anchor_mfa_settings):
            assert anchor_mfa_settings.source == "totp"
            code = mfa_code()
            assert code == totp(os.environ["ANCHOR_MFA_TOTP_SECRET"], digits=8, at={TOTP_NOW!r})
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=1)
    assert totp_time.sleeps == []


def test_totp_source_without_a_secret_is_reported(pytester: pytest.Pytester) -> None:
    """With the option it is a usage error (see test_plugin_options); from a marker it fails the
    test, in one line naming the missing secret."""
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(source="totp")
        def test_totp(mfa_code):
            mfa_code()
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert_one_line_failure(
        result,
        "test_totp",
        r"anchor-mfa: mfa_code: ConfigurationError: the totp code source needs a secret: set "
        r"ANCHOR_MFA_TOTP_SECRET or --anchor-totp-secret .*",
    )


PROMPT_SUITE = """
import pytest


@pytest.mark.mfa(source="prompt", timeout=30)
def test_prompt_marker(mfa_code):
    mfa_code()
"""


def test_prompt_source_without_a_terminal_fails_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PROMPT_SUITE)
    started = time.monotonic()
    # A real process whose stdin is a closed pipe, as in CI (pytester's default for subprocesses).
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *BOUNDED, timeout=60
    )
    elapsed = time.monotonic() - started
    result.assert_outcomes(failed=1)
    assert_one_line_failure(
        result,
        "test_prompt_marker",
        r"anchor-mfa: mfa_code: ConfigurationError: the prompt code source needs an interactive "
        r"terminal \(stdin is not a TTY: CI, an xdist worker, or input piped in\).*",
    )
    assert elapsed < 25, f"the prompt waited ({elapsed:.1f} s) instead of failing at once"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_prompt_source_reads_the_code_from_a_terminal(pytester: pytest.Pytester) -> None:
    import pty

    pytester.makepyfile(
        """
        def test_prompt(mfa_code):
            code = mfa_code()
            assert code == "864209"
            print("INNER-GOT-CODE", len(code))
        """
    )
    try:
        master, slave = pty.openpty()
    except OSError as exc:  # no pseudo-terminals in this container
        pytest.skip(f"cannot open a pseudo-terminal: {exc}")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            "--anchor-code-source=prompt",
            "--anchor-timeout=20",
            "-rA",
        ],
        cwd=pytester.path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 40
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Enter the MFA code for 'mfa_code' (6 digits)" in output:
                os.write(master, b"864209\n")
                answered = True
        returncode = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = output.decode("utf-8", "replace")
    assert answered, text
    assert returncode == 0, text
    assert "INNER-GOT-CODE 6" in text
    assert "1 passed" in text


# -- types ----------------------------------------------------------------------------------------


def test_fixture_types_have_the_fixtures_exact_signatures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import inspect

        import pytest_anchor_mfa as pkg


        def called(protocol):
            signature = inspect.signature(protocol.__call__)
            return signature.replace(parameters=list(signature.parameters.values())[1:])


        def test_signatures(signal_event, wait_for_event, async_signal_event,
                            async_wait_for_event, async_mfa_code, unique_event_name, mfa_code):
            pairs = [
                (pkg.SignalEvent, signal_event),
                (pkg.WaitForEvent, wait_for_event),
                (pkg.AsyncSignalEvent, async_signal_event),
                (pkg.AsyncWaitForEvent, async_wait_for_event),
                (pkg.AsyncMfaCode, async_mfa_code),
                (pkg.UniqueEventName, unique_event_name),
                (pkg.MfaCode, mfa_code),
            ]
            for protocol, fixture in pairs:
                assert str(inspect.signature(fixture)) == str(called(protocol)), protocol
            assert isinstance(mfa_code, pkg.MfaCode)
            for name in ("AsyncMfaCode", "AsyncSignalEvent", "AsyncWaitForEvent", "MfaCode",
                         "SignalEvent", "UniqueEventName", "WaitForEvent"):
                assert name in pkg.__all__
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=1)


def test_a_failed_call_names_the_file_and_line_of_the_call(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_where="""
        import pytest


        def helper(wait_for_event):
            return wait_for_event("nobody", timeout=0.2)  # line 5


        @pytest.mark.anchor_timeout(0.2)
        def test_mfa(mfa_code):
            mfa_code()  # line 10


        def test_helper(wait_for_event):
            helper(wait_for_event)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:playwright")
    result.assert_outcomes(failed=2)
    result.stdout.re_match_lines(
        [
            r"anchor-mfa: mfa_code: event 'mfa_code' was not signaled .* \(at test_where\.py:10\)$",
            r"anchor-mfa: wait_for_event: event 'nobody' .* \(at test_where\.py:5\)$",
        ]
    )
