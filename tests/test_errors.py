"""Each error has the right class: a timeout class for every timeout that is no HTTP 408,
``InvalidArgumentError`` for a bad argument of a call, ``ConfigurationError`` for a bad setting.

A call site raising the wrong class fails here; the one-line messages are those users saw before.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import nullcontext

import pytest

import pytest_anchor_mfa
from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.errors import (
    AnchorMFAError,
    AnchorTimeoutError,
    EventsAPIError,
    EventTimeoutError,
    MessageTimeoutError,
    PromptTimeoutError,
    TotpTimeoutError,
    WaitersTimeoutError,
    WebhookTimeoutError,
)
from pytest_anchor_mfa.plugin.failures import explain
from pytest_anchor_mfa.plugin.options import Settings
from pytest_anchor_mfa.plugin.sources import prompt_for_code

SETTINGS = Settings(
    mode="fake",
    base_url="http://127.0.0.1:9",
    timeout=30.0,
    mfa_event="mfa_code",
    unique_events=False,
    code_rule=CodeRule.digits(6),
    code_field="code",
    code_source="prompt",
    api_key=None,
    totp_secret=None,
)

# -- timeouts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        WebhookTimeoutError,
        MessageTimeoutError,
        WaitersTimeoutError,
        PromptTimeoutError,
        TotpTimeoutError,
    ],
)
def test_every_timeout_without_a_408_is_an_anchor_timeout(cls: type[AnchorMFAError]) -> None:
    assert issubclass(cls, AnchorTimeoutError)
    assert issubclass(cls, TimeoutError) and issubclass(cls, AnchorMFAError)
    assert not issubclass(cls, EventsAPIError)
    assert getattr(pytest_anchor_mfa, cls.__name__) is cls
    assert cls.__name__ in pytest_anchor_mfa.__all__


def test_only_the_events_api_408_is_an_event_timeout() -> None:
    assert issubclass(EventTimeoutError, EventsAPIError)
    assert issubclass(EventTimeoutError, TimeoutError)
    assert not issubclass(EventTimeoutError, AnchorTimeoutError)
    assert EventTimeoutError("x", timeout=1).status_code == 408


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_prompt_nobody_answers_is_a_prompt_timeout_not_a_408() -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        with (
            open(terminal, encoding="utf-8", closefd=False) as stdin,
            pytest.raises(PromptTimeoutError) as info,
        ):
            prompt_for_code(
                "mfa_code",
                timeout=0.05,
                rule=CodeRule.digits(6),
                suspend_capture=nullcontext,
                stdin=stdin,
                stdout=io.StringIO(),
            )
    finally:
        os.close(controller)
        os.close(terminal)
    error = info.value
    assert not isinstance(error, EventTimeoutError)
    assert isinstance(error, TimeoutError)
    assert str(error) == "nobody typed a code within 0.05 s"
    assert (error.event_name, error.timeout) == ("mfa_code", 0.05)


def test_a_prompt_timeout_fails_a_test_with_the_same_line_as_before() -> None:
    # Before PromptTimeoutError the prompt raised EventTimeoutError; the line must not change.
    before = EventTimeoutError("nobody typed a code within 2 s", event_name="mfa_code", timeout=2)
    now = PromptTimeoutError("nobody typed a code within 2 s", event_name="mfa_code", timeout=2)
    line = explain(now, SETTINGS, "mfa_code")
    assert line == explain(before, SETTINGS, "mfa_code")
    assert line.startswith("anchor-mfa: mfa_code: event 'mfa_code' was not signaled within 2 s")
