"""The plugin's markers: registration, ``anchor_timeout``, ``mfa(...)`` and their validation."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# pytest-playwright keeps a global "soft assertion" scope around each test: an in-process inner
# run nested in an outer test must not load it. Hypothesis' plugin costs ~0.8 s per inner run.
INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")
# Every inner wait is bounded, so a broken plugin fails these tests instead of hanging them.
BOUNDED = ("--anchor-timeout", "5")


# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")


# -- registration ---------------------------------------------------------------------------------


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.anchor_timeout(4)


        @pytest.mark.mfa(event="otp", timeout=3, digits=8, field="otp", source="events")
        def test_mfa():
            pass


        @pytest.mark.anchor_timeout(2)
        def test_timeout():
            pass


        @pytest.mark.mfa(pattern="[A-Z]{4}")
        def test_pattern():
            pass
        """
    )
    result = pytester.runpytest(*INNER, "--strict-markers")
    result.assert_outcomes(passed=3)


def test_markers_are_documented_in_pytest_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.anchor_timeout(seconds): *",
            "@pytest.mark.mfa(event=None, timeout=None, digits=None, pattern=None, field=None, "
            "source=None): *",
        ]
    )


def test_an_unregistered_marker_still_fails_under_strict_markers(
    pytester: pytest.Pytester,
) -> None:
    """Control for the test above: --strict-markers is really in force in the inner run."""
    pytester.makepyfile("import pytest\n\n@pytest.mark.anchor_typo\ndef test_x():\n    pass\n")
    result = pytester.runpytest(*INNER, "--strict-markers")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*'anchor_typo' not found in `markers` configuration option*"])


# -- anchor_timeout -------------------------------------------------------------------------------


def test_anchor_timeout_overrides_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.anchor_timeout(0.25)
        def test_fixture_value(anchor_wait_timeout, anchor_mfa_settings):
            assert anchor_wait_timeout == 0.25
            assert anchor_mfa_settings.timeout == 0.25


        def test_option_value(anchor_wait_timeout, anchor_mfa_settings):
            assert anchor_wait_timeout == 5
            assert anchor_mfa_settings.timeout == 5


        @pytest.mark.anchor_timeout(seconds=0.3)
        def test_wait_times_out_at_the_marker(wait_for_event):
            wait_for_event("nobody_signals")


        @pytest.mark.anchor_timeout(0.3)
        def test_mfa_code_times_out_at_the_marker(mfa_code):
            mfa_code()


        @pytest.mark.anchor_timeout(0.3)
        def test_an_explicit_timeout_beats_the_marker(wait_for_event):
            wait_for_event("nobody_either", timeout=0.2)
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "anchor-mfa: wait_for_event: event 'nobody_signals' was not signaled within 0.3 s *",
            "anchor-mfa: mfa_code: event 'mfa_code' was not signaled within 0.3 s *",
            "anchor-mfa: wait_for_event: event 'nobody_either' was not signaled within 0.2 s *",
        ]
    )


def test_anchor_timeout_on_a_class_or_module_applies_to_its_tests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.anchor_timeout(7)


        def test_module_level(anchor_wait_timeout):
            assert anchor_wait_timeout == 7


        @pytest.mark.anchor_timeout(3)
        class TestGroup:
            def test_class_level(self, anchor_wait_timeout):
                assert anchor_wait_timeout == 3

            @pytest.mark.anchor_timeout(1.5)
            def test_closest_wins(self, anchor_wait_timeout):
                assert anchor_wait_timeout == 1.5
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=3)


# -- mfa(...) -------------------------------------------------------------------------------------


def test_mfa_marker_sets_the_mfa_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(event="bank_otp", timeout=2.5, digits=8, field="otp", source="events")
        def test_all(anchor_mfa_settings, mfa_event_name, anchor_wait_timeout):
            assert anchor_mfa_settings.event == mfa_event_name == "bank_otp"
            assert anchor_mfa_settings.timeout == 2.5
            assert anchor_wait_timeout == 5  # mfa(timeout=...) is for mfa_code() only
            assert anchor_mfa_settings.rule.description == "8 digits"
            assert anchor_mfa_settings.field == "otp"
            assert anchor_mfa_settings.source == "events"


        @pytest.mark.mfa(pattern="[A-Z]{2}-[0-9]{3}")
        def test_pattern(anchor_mfa_settings):
            assert anchor_mfa_settings.rule.description == "a match of /[A-Z]{2}-[0-9]{3}/"
            assert anchor_mfa_settings.rule.pattern.fullmatch("AB-123")
            assert not anchor_mfa_settings.rule.pattern.fullmatch("123456")


        @pytest.mark.anchor_timeout(4)
        def test_defaults(anchor_mfa_settings):
            assert anchor_mfa_settings.event == "mfa_code"
            assert anchor_mfa_settings.timeout == 4
            assert anchor_mfa_settings.rule.description == "6 digits"
            assert anchor_mfa_settings.field == "code"
            assert anchor_mfa_settings.source == "events"
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=3)


def test_mfa_marker_drives_mfa_code(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(event="bank_otp", digits=8, field="otp")
        def test_event_digits_field(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("bank_otp", {"otp": "12345678"}, timeout=5)
            assert mfa_code() == "12345678"


        @pytest.mark.mfa(pattern="[A-Z]{2}-[0-9]{3}")
        def test_pattern(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", {"code": "QX-042"}, timeout=5)
            assert mfa_code() == "QX-042"


        @pytest.mark.mfa(digits=8)
        def test_digits_rejects_six(anchor_fake, mfa_code):
            anchor_fake.signal_when_waiting("mfa_code", {"code": "123456"}, timeout=5)
            mfa_code()


        @pytest.mark.mfa(timeout=0.3)
        def test_timeout(mfa_code):
            mfa_code()
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "anchor-mfa: mfa_code: CodeValidationError: event 'mfa_code': received code "
            "'••••••' (6 characters) is not 8 digits *",
            "anchor-mfa: mfa_code: event 'mfa_code' was not signaled within 0.3 s *",
        ]
    )


def test_mfa_marker_on_a_class_applies_to_its_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(event="class_event")
        class TestLogin:
            def test_one(self, mfa_event_name):
                assert mfa_event_name == "class_event"

            @pytest.mark.mfa(event="method_event")
            def test_closest_wins(self, mfa_event_name):
                assert mfa_event_name == "method_event"
        """
    )
    pytester.runpytest(*INNER, *BOUNDED).assert_outcomes(passed=2)


# -- bad marker arguments: a usage error at collection, naming the test ---------------------------


@pytest.mark.parametrize(
    ("marker", "fragment"),
    [
        pytest.param("mfa(evnt='x')", "unknown argument(s) evnt", id="unknown-kwarg"),
        pytest.param("mfa('mfa_code')", "keyword arguments only", id="positional"),
        pytest.param("mfa(digits=0)", "whole number from 1 to 32, got 0", id="digits-zero"),
        pytest.param("mfa(digits='6')", "whole number from 1 to 32, got '6'", id="digits-str"),
        pytest.param("mfa(digits=True)", "whole number from 1 to 32, got True", id="digits-bool"),
        pytest.param(
            "mfa(pattern='(')",
            "@pytest.mark.mfa(pattern=...): code pattern '(' is not a valid regex: missing )",
            id="bad-pattern",
        ),
        pytest.param("mfa(pattern='')", "non-empty regex", id="empty-pattern"),
        pytest.param("mfa(digits=6, pattern='x')", "digits= or pattern=, not both", id="both"),
        pytest.param("mfa(timeout=-1)", "positive number of seconds, got -1", id="neg-timeout"),
        pytest.param("mfa(timeout='soon')", "positive number of seconds", id="str-timeout"),
        pytest.param("mfa(source='sms')", "events, totp, prompt, got 'sms'", id="bad-source"),
        pytest.param(
            "mfa(event='')", "mfa(event=...) must be a non-empty string", id="empty-event"
        ),
        pytest.param("mfa(field=3)", "mfa(field=...) must be a non-empty string", id="int-field"),
        pytest.param("anchor_timeout(-1)", "positive number of seconds", id="timeout-negative"),
        pytest.param("anchor_timeout(0)", "positive number of seconds", id="timeout-zero"),
        pytest.param("anchor_timeout()", "takes one argument", id="timeout-no-arg"),
        pytest.param("anchor_timeout(1, 2)", "takes one argument", id="timeout-two-args"),
        pytest.param("anchor_timeout(secs=1)", "takes one argument", id="timeout-bad-kwarg"),
    ],
)
def test_bad_marker_arguments_are_a_usage_error_before_any_test_runs(
    pytester: pytest.Pytester, marker: str, fragment: str
) -> None:
    pytester.makepyfile(
        test_a_first=(
            "def test_runs_first_if_allowed():\n    print('INNER-TEST-RAN')\n"
            "    raise AssertionError('INNER-TEST-RAN')\n"
        ),
        test_b_marked=(
            f"import pytest\n\n\n@pytest.mark.{marker}\ndef test_marked():\n"
            "    raise AssertionError('INNER-TEST-RAN')\n"
        ),
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "INNER-TEST-RAN" not in output
    flat = " ".join(output.split())
    assert "pytest-anchor-mfa: bad marker arguments" in flat
    assert "test_b_marked.py::test_marked" in flat
    assert fragment in flat


def test_every_bad_marker_is_reported_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(digits=0)
        def test_one():
            pass


        @pytest.mark.anchor_timeout(-2)
        @pytest.mark.mfa(source="sms")
        def test_two():
            pass


        @pytest.mark.parametrize("n", [1, 2])
        @pytest.mark.mfa(bogus=1)
        def test_three(n):
            pass


        def test_fine():
            pass
        """
    )
    result = pytester.runpytest(*INNER, *BOUNDED)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    flat = " ".join(result.stderr.str().split())
    for nodeid in (
        "::test_one:",
        "::test_two: @pytest.mark.anchor_timeout",
        "::test_two: @pytest.mark.mfa(source=...)",
        "::test_three[1]:",
        "::test_three[2]:",
    ):
        assert nodeid in flat
    assert "::test_fine" not in flat


def test_good_marker_arguments_pass_validation(pytester: pytest.Pytester) -> None:
    """Validation must not flag good markers (control for the usage-error tests)."""
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.mfa(digits=32, timeout=1, source="prompt", event="e", field="f")
        @pytest.mark.anchor_timeout(seconds=0.5)
        def test_ok():
            pass
        """
    )
    pytester.runpytest(*INNER, *BOUNDED, "--strict-markers").assert_outcomes(passed=1)
