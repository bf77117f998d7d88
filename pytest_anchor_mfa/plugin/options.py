"""The plugin's settings: each one a command-line option, an ini key and an environment variable.

Precedence is command line > ini file > environment > default. ``Settings`` is what fixtures
see; its repr masks the API key and the TOTP secret.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from ..codes.rule import CodeRule
from ..environment import read_env
from ..errors import ConfigurationError
from ..events.settings import (
    API_KEY_ENV_VARS,
    BASE_URL_ENV_VARS,
    DEFAULT_BASE_URL,
    resolve_base_url,
)
from ..redact import mask_key

__all__ = ["OPTIONS", "SETTINGS", "Option", "Settings", "add_options", "load_settings"]


Mode = Literal["live", "fake"]
Source = Literal["events", "totp", "prompt"]
MODES = ("auto", "live", "fake")
SOURCES = ("events", "totp", "prompt")
Leaks = Literal["scrub", "fail", "off"]
LEAKS = ("scrub", "fail", "off")
BrowserHome = Literal["local", "session"]
BROWSER_HOMES = ("local", "session")
SessionScope = Literal["worker", "test"]
SESSION_SCOPES = ("worker", "test")
TOTP_SECRET_MISSING = (
    "the totp code source needs a secret: set ANCHOR_MFA_TOTP_SECRET or --anchor-totp-secret"
)
DEFAULT_SIGN_IN_MAX_AGE = 1800.0
"""Seconds: apps commonly end idle sessions after 30 minutes or more."""
DEFAULT_TIMEOUT = 120.0
"""Seconds. Generous on purpose: an SMS or a person can take a minute; a timeout still fails
the test with one clear line, so a stuck run ends with a reason."""


@dataclass(frozen=True)
class Option:
    """One setting: ``--anchor-<name>``, ini ``anchor_<name>``, env ``env[0]`` (then the rest)."""

    name: str
    help: str
    env: tuple[str, ...] = ()
    default: str | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False
    flag: bool = False
    metavar: str | None = None

    @property
    def cli(self) -> str:
        return "--anchor-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "anchor_" + self.name

    @property
    def dest(self) -> str:
        return "anchor_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option(
        "mode",
        "live, fake, or auto: live when an API key is set",
        ("ANCHOR_MFA_MODE",),
        "auto",
        MODES,
    ),
    Option("api_key", "Anchor API key (live mode)", API_KEY_ENV_VARS, secret=True, metavar="KEY"),
    Option("base_url", "events API base URL", BASE_URL_ENV_VARS, DEFAULT_BASE_URL, metavar="URL"),
    Option(
        "timeout",
        "seconds every wait may take",
        ("ANCHOR_MFA_TIMEOUT",),
        f"{DEFAULT_TIMEOUT:g}",
        metavar="SECONDS",
    ),
    Option(
        "mfa_event",
        "event name mfa_code() waits on",
        ("ANCHOR_MFA_EVENT",),
        "mfa_code",
        metavar="NAME",
    ),
    Option(
        "unique_events",
        "make the MFA event name unique per test (worker id and a random part), so parallel "
        "runs sharing one API key never take each other's codes; auto: on in live mode",
        ("ANCHOR_MFA_UNIQUE_EVENTS",),
        "auto",
        flag=True,
    ),
    Option(
        "code_digits",
        "expected number of digits of a code",
        ("ANCHOR_MFA_CODE_DIGITS",),
        "6",
        metavar="N",
    ),
    Option(
        "code_pattern",
        "regex a code must match in full (overrides code_digits)",
        ("ANCHOR_MFA_CODE_PATTERN",),
        metavar="REGEX",
    ),
    Option(
        "code_field",
        "key of the code in the event data",
        ("ANCHOR_MFA_CODE_FIELD",),
        "code",
        metavar="KEY",
    ),
    Option(
        "code_source",
        "where codes come from: events, totp (needs a secret) or prompt (a person types it)",
        ("ANCHOR_MFA_CODE_SOURCE",),
        "events",
        SOURCES,
    ),
    Option(
        "totp_secret",
        "base32 TOTP secret for the totp source",
        ("ANCHOR_MFA_TOTP_SECRET",),
        secret=True,
        metavar="BASE32",
    ),
    Option(
        "webhook_secret",
        "secret that signs and verifies webhooks in tests (default: a random one per run)",
        ("ANCHOR_MFA_WEBHOOK_SECRET",),
        secret=True,
        metavar="SECRET",
    ),
    Option(
        "twilio_auth_token",
        "auth token that signs Twilio webhooks to the SMS gateway in tests (default: a random "
        "one per run)",
        ("TWILIO_AUTH_TOKEN",),
        secret=True,
        metavar="TOKEN",
    ),
    Option(
        "leaks",
        "what to do when a secret of the test (an MFA code, the API key, a TOTP or webhook "
        "secret) appears in what pytest reports: scrub it (replace it with bullets), fail "
        "(scrub it and fail the test with a line naming where it appeared), or off",
        ("ANCHOR_MFA_LEAKS",),
        "scrub",
        LEAKS,
    ),
    Option(
        "scrub_traces",
        "rewrite the Playwright traces a test kept so that its MFA codes are replaced by "
        "bullets (the traces stay valid)",
        ("ANCHOR_MFA_SCRUB_TRACES",),
        "false",
        flag=True,
    ),
    Option(
        "report",
        "write the run's MFA timing report (figures and a picture of every wait for a code) "
        "to this self-contained HTML file",
        ("ANCHOR_MFA_REPORT",),
        metavar="PATH.html",
    ),
    Option(
        "store",
        "where the in-process fake server keeps events: memory, or a Redis URL "
        "(redis://host:6379/0; each fake server uses a namespace of its own there)",
        ("ANCHOR_MFA_STORE",),
        "memory",
        metavar="URL",
    ),
    Option(
        "sign_in_max_age",
        "seconds a saved sign-in (@pytest.mark.signed_in) is reused before it is renewed",
        ("ANCHOR_MFA_SIGN_IN_MAX_AGE",),
        f"{DEFAULT_SIGN_IN_MAX_AGE:g}",
        metavar="SECONDS",
    ),
    Option(
        "fresh_sign_in",
        "sign in again in every @pytest.mark.signed_in test, sharing nothing (for suites that "
        "test the login itself)",
        ("ANCHOR_MFA_FRESH_SIGN_IN",),
        "false",
        flag=True,
    ),
    Option(
        "keep_sign_in",
        "keep the saved sign-ins (session cookies: secrets) after the run, for debugging",
        ("ANCHOR_MFA_KEEP_SIGN_IN",),
        "false",
        flag=True,
    ),
    Option(
        "browser",
        "where pytest-playwright's browser runs: local (launched here) or session (an Anchor "
        "cloud browser session over CDP; in fake mode, the fake's own Chromium)",
        ("ANCHOR_MFA_BROWSER",),
        "local",
        BROWSER_HOMES,
    ),
    Option(
        "session_scope",
        "with --anchor-browser session: one session per worker, or a new one per test",
        ("ANCHOR_MFA_SESSION_SCOPE",),
        "worker",
        SESSION_SCOPES,
    ),
    Option(
        "chromium",
        "Chromium executable for Playwright when its own browser is not installed "
        "(default: discovered)",
        ("ANCHOR_MFA_CHROMIUM",),
        metavar="PATH",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("anchor-mfa", "Anchor Browser MFA codes (pytest-anchor-mfa)")
    for option in OPTIONS:
        env = " / ".join(f"${name}" for name in option.env)
        default = f"; default {option.default}" if option.default else ""
        # A command line is visible to every process on the machine: steer secrets elsewhere.
        prefer = "; prefer the environment" if option.secret else ""
        text = f"{option.help} (ini {option.ini}, env {env}{default}{prefer})"
        if option.flag:
            group.addoption(
                option.cli, action="store_const", const="true", dest=option.dest, help=text
            )
            group.addoption(
                option.cli.replace("--", "--no-", 1),
                action="store_const",
                const="false",
                dest=option.dest,
                help=f"turn {option.cli} off (over ini and environment)",
            )
        else:
            group.addoption(
                option.cli,
                dest=option.dest,
                choices=option.choices,
                metavar=option.metavar,
                help=text,
            )
        parser.addini(option.ini, help=option.help, type="string", default=None)


def _raw(
    config: pytest.Config, option: Option, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """The setting's value and where it came from."""
    value = config.getoption(option.dest, None)
    if value not in (None, ""):
        return str(value), option.cli
    ini = config.getini(option.ini)
    if ini:
        return str(ini).strip(), f"ini {option.ini}"
    found = read_env(option.env, environ, warn=lambda text: _deprecated(config, text))
    if found is not None:
        return found[0], f"${found[1]}"
    return option.default, "default"


def _deprecated(config: pytest.Config, text: str) -> None:
    config.issue_config_time_warning(DeprecationWarning(f"pytest-anchor-mfa: {text}"), 3)


@dataclass(frozen=True)
class Settings:
    """The resolved settings of a pytest run."""

    mode: Mode
    base_url: str
    timeout: float
    mfa_event: str
    unique_events: bool
    code_rule: CodeRule
    code_field: str
    code_source: Source
    api_key: str | None = field(repr=False)
    totp_secret: str | None = field(repr=False)
    webhook_secret: str | None = field(repr=False, default=None)
    twilio_auth_token: str | None = field(repr=False, default=None)
    chromium: str | None = None
    leaks: Leaks = "scrub"
    scrub_traces: bool = False
    report: str | None = None
    """Where ``--anchor-report`` writes the HTML timing report (None: nowhere)."""
    store: str = "memory"
    """Where the fake server keeps events: ``memory`` or a Redis URL."""
    sign_in_max_age: float = DEFAULT_SIGN_IN_MAX_AGE
    fresh_sign_in: bool = False
    keep_sign_in: bool = False
    browser: BrowserHome = "local"
    """Where pytest-playwright's ``browser`` runs: here, or in an Anchor session."""
    session_scope: SessionScope = "worker"

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    def describe(self) -> str:
        """One line for the report header and failure messages; secrets masked."""
        where = "in-process fake server" if self.mode == "fake" else self.base_url
        key = f", key {self.masked_key}" if self.mode == "live" else ""
        return f"mode {self.mode} ({where}{key})"


SETTINGS = pytest.StashKey[Settings]()
"""Where ``pytest_configure`` keeps the run's ``Settings`` (``config.stash[SETTINGS]``)."""


def _parse_bool(value: str, origin: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(f"{origin} must be true or false, got {value!r}")


def parse_timeout(value: Any, origin: str) -> float:
    """Seconds as a positive finite number, or a ConfigurationError naming ``origin``."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"{origin} must be a positive number of seconds, got {value!r}")
    return seconds


def _unique_events(value: str | None, origin: str, mode: str) -> bool:
    # Auto: on in live mode, where every run and CI job sharing the key shares its events (a
    # code left over by one test would go to the next test waiting on the same name); off in
    # fake mode, where each process has its own server, reset after every test.
    if (value or "auto").lower() == "auto":
        return mode == "live"
    return _parse_bool(value or "", origin)


def _choice(value: str | None, choices: tuple[str, ...], origin: str) -> str:
    if value not in choices:
        raise ConfigurationError(f"{origin} must be one of {', '.join(choices)}; got {value!r}")
    return value


def load_settings(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting; a bad one raises ConfigurationError naming where it came from."""
    env = os.environ if environ is None else environ
    raw: dict[str, tuple[str | None, str]] = {o.name: _raw(config, o, env) for o in OPTIONS}

    def get(name: str, convert: Callable[[str | None, str], Any] = lambda v, _: v) -> Any:
        value, origin = raw[name]
        return convert(value, origin)

    api_key = get("api_key")
    flag = lambda v, o: _parse_bool(v or "", o)  # noqa: E731
    mode = get("mode", lambda v, o: _choice(v, MODES, o))
    if mode == "auto":
        mode = "live" if api_key else "fake"
    if mode == "live" and not api_key:
        raise ConfigurationError(
            "live mode needs an API key: set ANCHOR_API_KEY, or --anchor-api-key, "
            "or use --anchor-mode fake to run offline"
        )
    digits_value, digits_origin = raw["code_digits"]
    pattern_value, pattern_origin = raw["code_pattern"]
    try:
        if pattern_value:
            rule = CodeRule.from_pattern(pattern_value)
        elif not (digits_value or "6").strip().isdigit():
            raise ValueError(f"must be a whole number of digits, like 6; got {digits_value!r}")
        else:
            rule = CodeRule.digits(int(digits_value or "6"))
    except ValueError as exc:  # the digits check above, or CodeRule's InvalidArgumentError
        origin = pattern_origin if pattern_value else digits_origin
        raise ConfigurationError(f"{origin}: {exc}") from None
    source = get("code_source", lambda v, o: _choice(v, SOURCES, o))
    totp_secret = get("totp_secret")
    if source == "totp" and not totp_secret:
        raise ConfigurationError(TOTP_SECRET_MISSING)
    return Settings(
        mode=mode,
        base_url=get("base_url", lambda v, o: resolve_base_url(v)),
        timeout=get("timeout", parse_timeout),
        mfa_event=get("mfa_event") or "mfa_code",
        unique_events=get("unique_events", lambda v, o: _unique_events(v, o, mode)),
        code_rule=rule,
        code_field=get("code_field") or "code",
        code_source=source,
        api_key=api_key,
        totp_secret=totp_secret,
        webhook_secret=get("webhook_secret"),
        twilio_auth_token=get("twilio_auth_token"),
        chromium=get("chromium"),
        leaks=get("leaks", lambda v, o: _choice(v, LEAKS, o)),
        scrub_traces=get("scrub_traces", flag),
        report=get("report") or None,
        store=get("store") or "memory",
        sign_in_max_age=get("sign_in_max_age", parse_timeout),
        fresh_sign_in=get("fresh_sign_in", flag),
        keep_sign_in=get("keep_sign_in", flag),
        browser=get("browser", lambda v, o: _choice(v, BROWSER_HOMES, o)),
        session_scope=get("session_scope", lambda v, o: _choice(v, SESSION_SCOPES, o)),
    )
