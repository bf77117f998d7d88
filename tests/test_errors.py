"""Each error has the right class: a timeout class for every timeout that is no HTTP 408,
``InvalidArgumentError`` for a bad argument of a call, ``ConfigurationError`` for a bad setting.

A call site raising the wrong class fails here; the one-line messages are those users saw before.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest

import pytest_anchor_mfa
from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.codes.totp import find_totp_step, hotp, time_step, totp
from pytest_anchor_mfa.errors import (
    AnchorMfaError,
    AnchorTimeoutError,
    ConfigurationError,
    EventsApiError,
    EventTimeoutError,
    InvalidArgumentError,
    MessageTimeoutError,
    PromptTimeoutError,
    TotpTimeoutError,
    WaitersTimeoutError,
    WebhookTimeoutError,
)
from pytest_anchor_mfa.events import EventsClient
from pytest_anchor_mfa.inbound.routes import Routes
from pytest_anchor_mfa.inbound.sms import SmsGateway
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.plugin.failures import explain
from pytest_anchor_mfa.plugin.options import Settings
from pytest_anchor_mfa.plugin.sources import prompt_for_code, totp_code
from pytest_anchor_mfa.retry import RetryPolicy
from pytest_anchor_mfa.runtime.limits import ServerLimits
from pytest_anchor_mfa.runtime.serve import bind_socket
from pytest_anchor_mfa.server.fake import FakeEventServer
from pytest_anchor_mfa.server.faults import Faults, parse_fault
from pytest_anchor_mfa.server.store import MemoryStore
from pytest_anchor_mfa.server.store_url import store_from_url
from pytest_anchor_mfa.signatures.anchor import sign, verify
from pytest_anchor_mfa.signatures.vonage import vonage_signature
from pytest_anchor_mfa.webhooks import WebhookReceiver, WebhookSender, example_data

SECRET = "JBSWY3DPEHPK3PXP"
WEBHOOK_SECRET = "whsec_errors"
BODY = b'{"event_type": "task.completed"}'
UNREACHABLE = "http://127.0.0.1:9"

SETTINGS = Settings(
    mode="fake",
    base_url=UNREACHABLE,
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
def test_every_timeout_without_a_408_is_an_anchor_timeout(cls: type[AnchorMfaError]) -> None:
    assert issubclass(cls, AnchorTimeoutError)
    assert issubclass(cls, TimeoutError) and issubclass(cls, AnchorMfaError)
    assert not issubclass(cls, EventsApiError)
    assert getattr(pytest_anchor_mfa, cls.__name__) is cls
    assert cls.__name__ in pytest_anchor_mfa.__all__


def test_only_the_events_api_408_is_an_event_timeout() -> None:
    assert issubclass(EventTimeoutError, EventsApiError)
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


# -- bad arguments of a call: InvalidArgumentError (a ValueError) naming the argument -------------


def _ignore(event: str, data: dict[str, Any]) -> None:
    """A signaler for inboxes and gateways that are never started."""


BAD_ARGUMENTS: list[Any] = [
    pytest.param(lambda: CodeRule.digits(0), "code digits", id="rule-digits"),
    pytest.param(lambda: CodeRule.from_pattern("("), "code pattern '('", id="rule-regex"),
    pytest.param(lambda: totp("not base32!"), "TOTP secret", id="totp-secret"),
    pytest.param(lambda: totp(SECRET, digits=5), "TOTP digits", id="totp-digits"),
    pytest.param(lambda: totp(SECRET, algorithm="md5"), "TOTP algorithm", id="totp-algorithm"),
    pytest.param(lambda: totp(SECRET, period=0), "TOTP period", id="totp-period"),
    pytest.param(lambda: find_totp_step(SECRET, "1", window=-1), "TOTP window", id="totp-window"),
    pytest.param(lambda: hotp(SECRET, -1), "HOTP counter", id="hotp-counter"),
    pytest.param(lambda: time_step(-1), "at=-1", id="time-step"),
    pytest.param(lambda: Faults().fail(count=0), "fault count", id="fault-count"),
    pytest.param(lambda: Faults().fail(fraction=2), "fault fraction", id="fault-fraction"),
    pytest.param(lambda: Faults().delay(-1), "fault delays", id="fault-delay"),
    pytest.param(lambda: Faults().drop(on="both"), "fault 'on'", id="fault-on"),  # type: ignore[arg-type]
    pytest.param(lambda: Routes().add(" ", "e"), "a route needs a pattern", id="route-pattern"),
    pytest.param(
        lambda: SmsGateway(_ignore, public_url="https://sms.test").public_url("pigeon"),
        "SMS provider",
        id="sms-url-provider",
    ),
    pytest.param(
        lambda: SmtpInbox(_ignore).route("", "e"), "a route needs a pattern", id="inbox-route"
    ),
    pytest.param(
        lambda: vonage_signature("s", [], "sha3"), "Vonage signature method", id="vonage-method"
    ),
    pytest.param(
        lambda: verify(BODY, sign(WEBHOOK_SECRET, BODY), WEBHOOK_SECRET, tolerance=-1),
        "tolerance",
        id="verify-tolerance",
    ),
    pytest.param(lambda: example_data("nope.nope"), "event type 'nope.nope'", id="example-data"),
    pytest.param(
        lambda: EventsClient("sk-x", UNREACHABLE).wait("e", -1), "wait timeout", id="wait-timeout"
    ),
]


@pytest.mark.parametrize(("call", "names"), BAD_ARGUMENTS)
def test_a_bad_argument_of_a_call_is_an_invalid_argument(
    call: Callable[[], object], names: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert names in str(info.value)
    assert "\n" not in str(info.value)


@pytest.fixture
def fake() -> Iterator[FakeEventServer]:
    # Never started: every argument below is refused before the server would be needed.
    yield FakeEventServer({"sk-errors": "alice"})


@pytest.mark.parametrize(
    ("call", "names"),
    [
        pytest.param(lambda f: f.signal("e", [("code", "1")]), "signal data", id="data-list"),
        pytest.param(lambda f: f.signal("e", {"x": object()}), "signal data", id="data-object"),
        pytest.param(
            lambda f: f.signal_later("e", {"x": {1, 2}}, 1), "signal data", id="later-data"
        ),
        pytest.param(lambda f: f.signal("e", {}, user="mallory"), "unknown user", id="user"),
        pytest.param(
            lambda f: f.wait_for_waiters("e", user="mallory"), "unknown user", id="waiters-user"
        ),
    ],
)
def test_a_bad_argument_of_the_fake_server_is_an_invalid_argument(
    fake: FakeEventServer, call: Callable[[FakeEventServer], object], names: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=names):
        call(fake)


def test_an_address_an_earlier_route_took_is_an_invalid_argument() -> None:
    inbox = SmtpInbox(_ignore)
    event = "Needs A Routed Address"  # not plain: the inbox routes a hashed address to it
    token = hashlib.sha256(event.encode()).hexdigest()[:16]
    inbox.route(f"test+r{token}@inbox.test", "another_event")
    with pytest.raises(InvalidArgumentError, match="cannot make an address") as info:
        inbox.address_for(event)
    assert info.value.event_name == event


# -- bad settings: ConfigurationError, naming the setting -----------------------------------------


BAD_SETTINGS: list[Any] = [
    pytest.param(lambda: EventsClient("sk-x", "ftp://files.test"), "base URL", id="base-url"),
    pytest.param(
        lambda: EventsClient("sk-x", UNREACHABLE, signal_timeout=0),
        "signal_timeout",
        id="client-timeouts",
    ),
    pytest.param(lambda: RetryPolicy(max_attempts=0), "max_attempts", id="retry"),
    pytest.param(lambda: ServerLimits(request_timeout=0), "request_timeout", id="limits"),
    pytest.param(lambda: FakeEventServer([""]), "API key", id="fake-keys"),
    pytest.param(lambda: FakeEventServer(max_timeout_ms=-1), "max_timeout_ms", id="fake-max"),
    pytest.param(
        lambda: FakeEventServer(webhook_url=UNREACHABLE), "needs a secret", id="fake-webhook"
    ),
    pytest.param(lambda: MemoryStore(max_waits=0), "max_waits", id="store"),
    pytest.param(lambda: SmtpInbox(_ignore, keep=0), "keep", id="inbox-keep"),
    pytest.param(lambda: SmsGateway(_ignore, tolerance=-1), "tolerance", id="sms-tolerance"),
    pytest.param(
        lambda: SmsGateway(_ignore, vonage_method="md4"), "vonage_method", id="sms-vonage"
    ),
    pytest.param(lambda: WebhookReceiver(""), "webhook secret", id="receiver-secret"),
    pytest.param(
        lambda: WebhookReceiver(WEBHOOK_SECRET, tolerance=-1), "tolerance", id="receiver-tol"
    ),
    pytest.param(
        lambda: WebhookSender(UNREACHABLE, WEBHOOK_SECRET, timeout=0), "timeout", id="sender"
    ),
    pytest.param(lambda: store_from_url("http://x", namespace="n"), "a store is", id="store-url"),
    # The --fault flag: the values Fault refuses as arguments are a bad setting here.
    pytest.param(lambda: parse_fault("503:count=0"), "fault count", id="fault-flag-count"),
    pytest.param(lambda: parse_fault("503:on=both"), "fault 'on'", id="fault-flag-on"),
    pytest.param(lambda: parse_fault("teapot"), "unknown fault", id="fault-flag-kind"),
]


@pytest.mark.parametrize(("call", "names"), BAD_SETTINGS)
def test_a_bad_setting_is_a_configuration_error(call: Callable[[], object], names: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        call()
    assert not isinstance(info.value, ValueError)
    assert names in str(info.value)


def test_a_taken_port_is_a_configuration_error() -> None:
    # The relay turns exactly this class into its "cannot bind" exit code.
    taken = bind_socket("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigurationError, match=r"cannot listen on 127\.0\.0\.1:"):
            bind_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


@pytest.mark.parametrize(
    ("secret", "digits", "names"),
    [("not base32!", 6, "TOTP secret is not base32"), (SECRET, 4, "TOTP digits")],
)
def test_a_bad_totp_setting_stays_a_configuration_error_in_the_plugin(
    pytestconfig: pytest.Config, secret: str, digits: int, names: str
) -> None:
    # totp() refuses these as arguments; for the plugin they come from settings or a marker.
    with pytest.raises(ConfigurationError, match=names):
        totp_code(pytestconfig, secret, digits=digits, timeout=1)
