"""The naming rule: each fixture's exported type, and the old names that still work, warning.

Inner suites run in-process; each asserts both the value the old name gives and the one
DeprecationWarning naming the fixture to use instead.
"""

from __future__ import annotations

import pytest

from pytest_anchor_mfa.plugin.renames import RENAMED

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("clean_anchor_env")

INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")


@pytest.mark.parametrize(("old", "new"), [(old, new) for old, (new, _) in RENAMED.items()])
def test_an_old_name_gives_the_new_fixture_and_warns(
    pytester: pytest.Pytester, old: str, new: str
) -> None:
    pytester.makepyfile(
        f"""
        import warnings

        def test_old({new}, request):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = request.getfixturevalue("{old}")
            assert value is {new}
            messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
            assert len(messages) == 1, messages
            assert "{old!r} is renamed {new!r}" in messages[0]
        """
    )
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


def test_the_new_names_warn_nothing(pytester: pytest.Pytester) -> None:
    names = ", ".join(new for new, _ in RENAMED.values())
    pytester.makepyfile(f"def test_new({names}):\n    pass\n")
    result = pytester.runpytest(*INNER, "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=1)


def test_an_override_of_an_old_name_in_a_conftest_is_still_used(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from pytest_anchor_mfa import MfaSettings

        @pytest.fixture
        def mfa_settings(anchor_settings):
            return MfaSettings("overridden", 3.0, anchor_settings.code_rule, "code", "events")
        """
    )
    pytester.makepyfile(
        """
        def test_uses_the_override(anchor_mfa_settings, mfa_event_name, anchor_fake, mfa_code):
            assert anchor_mfa_settings.event == mfa_event_name == "overridden"
            anchor_fake.signal("overridden", {"code": "123456"})
            assert mfa_code() == "123456"
        """
    )
    result = pytester.runpytest(*INNER, "-W", "always::DeprecationWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*your override of 'mfa_settings' is used for now*"])


def test_an_override_in_one_module_does_not_reach_another(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        from pytest_anchor_mfa import MfaSettings

        @pytest.fixture
        def mfa_settings(anchor_settings):
            return MfaSettings("here", 3.0, anchor_settings.code_rule, "code", "events")

        def test_here(mfa_event_name):
            assert mfa_event_name == "here"
        """,
        test_b="""
        def test_elsewhere(mfa_event_name):
            assert mfa_event_name == "mfa_code"
        """,
    )
    pytester.runpytest(*INNER).assert_outcomes(passed=2)


def test_an_old_environment_variable_still_works_and_warns(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_WEBHOOK_SECRET", "whsec_from_the_old_name")
    pytester.makepyfile(
        """
        def test_secret(anchor_webhook_secret):
            assert anchor_webhook_secret == "whsec_from_the_old_name"
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*DeprecationWarning*$ANCHOR_WEBHOOK_SECRET is renamed $ANCHOR_MFA_WEBHOOK_SECRET*"]
    )


def test_the_new_environment_variable_wins_over_the_old() -> None:
    from pytest_anchor_mfa.environment import RENAMED_ENV, read_env

    warned: list[str] = []
    for old, new in RENAMED_ENV.items():
        both = {old: "old", new: "new"}
        assert read_env([new], both, warn=warned.append) == ("new", new)
        assert read_env([new], {old: "old"}, warn=warned.append) == ("old", old)
        assert read_env([new], {old: "  "}, warn=warned.append) is None  # blank is unset
    assert len(warned) == len(RENAMED_ENV)
    assert all("is renamed" in text for text in warned)


def test_every_fixture_has_its_type_in_the_public_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest_anchor_mfa as pkg

        TYPES = {
            "anchor_fake": "FakeEventServer", "anchor_fake_session": "FakeEventServer",
            "anchor_inbox": "AnchorInbox", "anchor_inbox_session": "SmtpInbox",
            "anchor_sms": "AnchorSms", "anchor_sms_session": "SmsGateway",
            "anchor_webhooks": "WebhookReceiver", "anchor_webhooks_session": "WebhookReceiver",
            "anchor_events": "EventsClient", "anchor_connection": "Connection",
            "anchor_settings": "Settings", "anchor_mfa_settings": "MfaSettings",
            "mfa_code": "MfaCode",
        }

        def test_types(request):
            for fixture, name in TYPES.items():
                assert name in pkg.__all__, name
                assert isinstance(request.getfixturevalue(fixture), getattr(pkg, name)), fixture
        """
    )
    pytester.runpytest(*INNER, "-W", "error::DeprecationWarning").assert_outcomes(passed=1)
