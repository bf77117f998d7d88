"""The plugin's settings: registration in ``pytest -h``, precedence, validation, report header.

Every inner run is in-process (``runpytest``): the settings are read from ``os.environ`` when
the inner session configures, so ``monkeypatch.setenv`` is enough to test the environment layer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pytest_anchor_mfa.events.settings import DEFAULT_BASE_URL
from pytest_anchor_mfa.plugin.options import OPTIONS

pytest_plugins = ["pytester"]

# pytest-playwright keeps a global "soft assertion" scope around each test: an in-process inner
# run nested in an outer test must not load it (the plugin then skips its browser fixtures).
# Hypothesis' plugin costs ~0.8 s per in-process run and is not needed inside.
INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")

DUMP_SETTINGS = """
import json


def test_dump(anchor_settings):
    s = anchor_settings
    print("\\nSETTINGS=" + json.dumps({
        "mode": s.mode,
        "base_url": s.base_url,
        "timeout": s.timeout,
        "mfa_event": s.mfa_event,
        "unique_events": s.unique_events,
        "rule": s.code_rule.description,
        "code_field": s.code_field,
        "code_source": s.code_source,
    }))
"""


# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")


def settings_of(pytester: pytest.Pytester, *args: str, ini: str | None = None) -> dict[str, Any]:
    """Run an inner session that prints its resolved settings; return them."""
    if ini is not None:
        pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_dump=DUMP_SETTINGS)
    result = pytester.runpytest(*INNER, "-s", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    lines = [line for line in result.outlines if line.startswith("SETTINGS=")]
    assert len(lines) == 1, result.stdout.str()
    parsed: dict[str, Any] = json.loads(lines[0].removeprefix("SETTINGS="))
    return parsed


def usage_error(pytester: pytest.Pytester, *args: str, ini: str | None = None) -> str:
    """Run an inner session expected to stop with a usage error; return all its output."""
    if ini is not None:
        pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_never="def test_never():\n    print('INNER-TEST-RAN')\n")
    result = pytester.runpytest(*INNER, *args)
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "INNER-TEST-RAN" not in result.stdout.str()
    assert "collected" not in result.stdout.str()
    return output


# -- registration ---------------------------------------------------------------------------------


def test_every_option_is_listed_in_help_under_the_anchor_mfa_group(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(*INNER, "-h")
    assert result.ret == pytest.ExitCode.OK
    lines = result.outlines
    heads = [i for i, line in enumerate(lines) if re.match(r"^\S.*\(pytest-anchor-mfa\):$", line)]
    assert len(heads) == 1, "expected one option group titled '... (pytest-anchor-mfa):'"
    assert "anchor-mfa" in lines[heads[0]].lower()
    # The group runs until the next blank line.
    end = next(i for i in range(heads[0] + 1, len(lines)) if not lines[i].strip())
    group = "\n".join(lines[heads[0] + 1 : end])
    for option in OPTIONS:
        assert re.search(rf"^\s+{re.escape(option.cli)}\b", group, re.MULTILINE), option.cli
    # Each help text names its ini key and environment variable(s).
    flat = " ".join(group.split())
    for option in OPTIONS:
        assert f"ini {option.ini}" in flat
        for env in option.env:
            assert f"${env}" in flat


def test_every_ini_key_is_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*INNER, "-h")
    ini_section = result.stdout.str().split("[pytest] ", 1)[1]
    for option in OPTIONS:
        assert re.search(rf"^\s+{option.ini} \(string\):", ini_section, re.MULTILINE), option.ini


def test_options_are_accepted_in_the_ini_file_without_warnings(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nanchor_timeout = 3\nanchor_mfa_event = otp\n")
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*INNER, "--strict-config")
    result.assert_outcomes(passed=1)


# -- precedence: command line > ini > environment > default ---------------------------------------

# name: (cli option, ini key, env var, (cli, ini, env) values, settings key,
#        expected (cli, ini, env, default), extra args)
PRECEDENCE: dict[str, tuple[str, str, str, tuple[str, str, str], str, tuple[Any, ...], tuple]] = {
    "timeout": (
        "--anchor-timeout",
        "anchor_timeout",
        "ANCHOR_MFA_TIMEOUT",
        ("7", "8.5", "9"),
        "timeout",
        (7.0, 8.5, 9.0, 120.0),
        (),
    ),
    "mfa_event": (
        "--anchor-mfa-event",
        "anchor_mfa_event",
        "ANCHOR_MFA_EVENT",
        ("ev_cli", "ev_ini", "ev_env"),
        "mfa_event",
        ("ev_cli", "ev_ini", "ev_env", "mfa_code"),
        (),
    ),
    # An API key is set on every layer's run, so the default (auto) resolves to live, and
    # each layer differs from the one below it.
    "mode": (
        "--anchor-mode",
        "anchor_mode",
        "ANCHOR_MFA_MODE",
        ("fake", "live", "fake"),
        "mode",
        ("fake", "live", "fake", "live"),
        ("--anchor-api-key", "sk-precedence-0000000000"),
    ),
    "code_digits": (
        "--anchor-code-digits",
        "anchor_code_digits",
        "ANCHOR_MFA_CODE_DIGITS",
        ("4", "5", "7"),
        "rule",
        ("4 digits", "5 digits", "7 digits", "6 digits"),
        (),
    ),
    "code_pattern": (
        "--anchor-code-pattern",
        "anchor_code_pattern",
        "ANCHOR_MFA_CODE_PATTERN",
        ("[a-z]{3}", "[A-Z]{3}", "x+"),
        "rule",
        ("a match of /[a-z]{3}/", "a match of /[A-Z]{3}/", "a match of /x+/", "6 digits"),
        (),
    ),
    "base_url": (
        "--anchor-base-url",
        "anchor_base_url",
        "ANCHOR_BASE_URL",
        ("http://cli.test:1", "http://ini.test:2/", "https://env.test:3"),
        "base_url",
        ("http://cli.test:1", "http://ini.test:2", "https://env.test:3", DEFAULT_BASE_URL),
        (),
    ),
    "code_field": (
        "--anchor-code-field",
        "anchor_code_field",
        "ANCHOR_MFA_CODE_FIELD",
        ("f_cli", "f_ini", "f_env"),
        "code_field",
        ("f_cli", "f_ini", "f_env", "code"),
        (),
    ),
}
LAYERS = ("cli", "ini", "env", "default")


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(PRECEDENCE))
def test_settings_precedence(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, layer: str
) -> None:
    cli, ini, env, values, key, expected, extra = PRECEDENCE[name]
    depth = LAYERS.index(layer)  # set this layer and every layer below it
    args: list[str] = [*extra]
    ini_text = None
    if depth <= 0:
        args.append(f"{cli}={values[0]}")
    if depth <= 1:
        ini_text = f"{ini} = {values[1]}"
    if depth <= 2:
        monkeypatch.setenv(env, values[2])
    settings = settings_of(pytester, *args, ini=ini_text)
    assert settings[key] == expected[depth]


def test_second_environment_names_are_read_after_the_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHORBROWSER_BASE_URL", "http://second.test:9")
    assert settings_of(pytester)["base_url"] == "http://second.test:9"
    monkeypatch.setenv("ANCHOR_BASE_URL", "http://first.test:8")
    assert settings_of(pytester)["base_url"] == "http://first.test:8"


def test_a_pattern_on_any_layer_overrides_digits(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_MFA_CODE_PATTERN", "[0-9A-F]{8}")
    settings = settings_of(pytester, "--anchor-code-digits=4")
    assert settings["rule"] == "a match of /[0-9A-F]{8}/"


@pytest.mark.parametrize(
    ("args", "env", "ini", "expected"),
    [
        (("--anchor-unique-events",), None, None, True),
        ((), "yes", None, True),
        ((), "0", None, False),
        ((), "true", "anchor_unique_events = false", False),
        ((), None, None, False),  # auto, in fake mode: off
        (("--no-anchor-unique-events",), "true", "anchor_unique_events = true", False),
        (("--anchor-mode=live", "--anchor-api-key=sk-live-0123456789ab"), None, None, True),
        (
            ("--anchor-mode=live", "--anchor-api-key=sk-live-0123456789ab"),
            None,
            "anchor_unique_events = false",
            False,
        ),
        (("--anchor-mode=live", "--anchor-api-key=sk-live-0123456789ab"), "auto", None, True),
    ],
)
def test_unique_events_flag(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: str | None,
    ini: str | None,
    expected: bool,
) -> None:
    if env is not None:
        monkeypatch.setenv("ANCHOR_MFA_UNIQUE_EVENTS", env)
    assert settings_of(pytester, *args, ini=ini)["unique_events"] is expected


# -- mode -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ANCHOR_API_KEY": "sk-auto-1111111111"}, "live"),
        ({"ANCHORBROWSER_API_KEY": "sk-auto-2222222222"}, "live"),
        ({"ANCHOR_API_KEY": "   "}, "fake"),
        ({}, "fake"),
    ],
)
def test_auto_mode_is_live_when_a_key_is_set(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert settings_of(pytester)["mode"] == expected


def test_auto_mode_is_live_with_a_key_on_the_command_line(pytester: pytest.Pytester) -> None:
    assert settings_of(pytester, "--anchor-api-key=sk-cli-3333333333")["mode"] == "live"


def test_fake_mode_can_be_forced_with_a_key_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_API_KEY", "sk-forced-4444444444")
    assert settings_of(pytester, "--anchor-mode=fake")["mode"] == "fake"


@pytest.mark.parametrize(
    ("args", "env", "ini"),
    [
        (("--anchor-mode=live",), None, None),
        ((), {"ANCHOR_MFA_MODE": "live"}, None),
        ((), None, "anchor_mode = live"),
    ],
)
def test_live_mode_without_a_key_is_a_usage_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str] | None,
    ini: str | None,
) -> None:
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    output = usage_error(pytester, *args, ini=ini)
    assert "live mode needs an API key" in output
    assert "ANCHOR_API_KEY" in output


# -- bad values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "ini", "fragments"),
    [
        pytest.param(("--anchor-mode=bogus",), {}, None, ("--anchor-mode", "bogus"), id="mode-cli"),
        pytest.param(
            (),
            {"ANCHOR_MFA_MODE": "bogus"},
            None,
            ("$ANCHOR_MFA_MODE must be one of auto, live, fake", "'bogus'"),
            id="mode-env",
        ),
        pytest.param(
            (),
            {},
            "anchor_mode = bogus",
            ("ini anchor_mode must be one of auto, live, fake", "'bogus'"),
            id="mode-ini",
        ),
        pytest.param(
            ("--anchor-timeout=-1",),
            {},
            None,
            ("--anchor-timeout must be a positive number of seconds", "'-1'"),
            id="timeout-negative-cli",
        ),
        pytest.param(
            (),
            {"ANCHOR_MFA_TIMEOUT": "abc"},
            None,
            ("$ANCHOR_MFA_TIMEOUT must be a positive number of seconds", "'abc'"),
            id="timeout-abc-env",
        ),
        pytest.param(
            (),
            {},
            "anchor_timeout = 0",
            ("ini anchor_timeout must be a positive number of seconds", "'0'"),
            id="timeout-zero-ini",
        ),
        pytest.param(
            ("--anchor-timeout=inf",),
            {},
            None,
            ("--anchor-timeout must be a positive number of seconds", "'inf'"),
            id="timeout-inf-cli",
        ),
        pytest.param(
            ("--anchor-code-digits=x",), {}, None, ("--anchor-code-digits", "'x'"), id="digits-x"
        ),
        pytest.param(
            (),
            {},
            "anchor_code_digits = 0",
            ("ini anchor_code_digits", "whole number from 1 to 32"),
            id="digits-zero-ini",
        ),
        pytest.param(
            ("--anchor-code-pattern=(",),
            {},
            None,
            ("--anchor-code-pattern", "missing )"),
            id="pattern-bad-regex-cli",
        ),
        pytest.param(
            (),
            {"ANCHOR_MFA_CODE_PATTERN": "[0-9"},
            None,
            ("$ANCHOR_MFA_CODE_PATTERN", "unterminated character set"),
            id="pattern-bad-regex-env",
        ),
        pytest.param(
            (),
            {"ANCHOR_MFA_CODE_SOURCE": "sms"},
            None,
            ("$ANCHOR_MFA_CODE_SOURCE must be one of events, totp, prompt", "'sms'"),
            id="source-env",
        ),
        pytest.param(
            (),
            {"ANCHOR_MFA_UNIQUE_EVENTS": "maybe"},
            None,
            ("$ANCHOR_MFA_UNIQUE_EVENTS must be true or false", "'maybe'"),
            id="unique-events-env",
        ),
        pytest.param(
            ("--anchor-base-url=ftp://files.test",),
            {},
            None,
            ("'ftp://files.test' is not an http(s) URL", "--anchor-base-url"),
            id="base-url-cli",
        ),
        pytest.param(
            ("--anchor-code-source=totp",),
            {},
            None,
            ("totp code source needs a secret", "ANCHOR_MFA_TOTP_SECRET"),
            id="totp-without-secret",
        ),
    ],
)
def test_bad_values_are_usage_errors_naming_the_setting(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    ini: str | None,
    fragments: tuple[str, ...],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    output = usage_error(pytester, *args, ini=ini)
    flat = " ".join(output.split())
    for fragment in fragments:
        assert fragment in flat


# -- report header --------------------------------------------------------------------------------

LIVE_KEY = "sk-header-7f3e9d2c5b8aa1b2"


def test_report_header_in_live_mode_masks_the_key(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(
        *INNER,
        "-v",
        f"--anchor-api-key={LIVE_KEY}",
        "--anchor-base-url=http://events.test:8080/",
        "--anchor-timeout=12.5",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "anchor-mfa: mode live (http://events.test:8080, key sk-…a1b2), timeout 12.5 s, "
            "code source events"
        ]
    )
    everything = result.stdout.str() + result.stderr.str()
    assert LIVE_KEY not in everything
    assert LIVE_KEY[3:-4] not in everything


def test_report_header_with_the_key_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHORBROWSER_API_KEY", LIVE_KEY)
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*INNER)
    result.stdout.fnmatch_lines(
        ["anchor-mfa: mode live (https://api.anchorbrowser.io, key sk-…a1b2)*"]
    )
    assert LIVE_KEY not in result.stdout.str() + result.stderr.str()


def test_report_header_in_fake_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(*INNER, "--anchor-timeout=5")
    result.stdout.fnmatch_lines(
        ["anchor-mfa: mode fake (in-process fake server), timeout 5 s, code source events"]
    )
