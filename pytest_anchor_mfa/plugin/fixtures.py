"""The pytest plugin: wires settings, markers, the client and the fake server into fixtures.

Registered through the ``pytest11`` entry point, so installing the package is enough. No
protocol logic lives here; see ``client``, ``fake_server``, ``codes`` and ``options``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, TypeVar

import anyio.to_thread
import pytest

from ..codes import CodeRule, code_from_data, mask_sensitive
from ..errors import AnchorMFAError, ConfigurationError, EventTimeoutError
from ..events import AsyncEventsClient, EventsClient
from ..redact import MaskedCode, mask_key
from ..server import FakeEventServer
from ..webhooks.receiver import WebhookReceiver
from .markers import MARKERS, marker_problems, mfa_marker, timeout_marker
from .options import TOTP_SECRET_MISSING, Settings, add_options, load_settings
from .sources import prompt_for_code, wait_for_code

__all__ = [
    "Connection",
    "MfaSettings",
    "anchor_connection",
    "anchor_events",
    "anchor_fake",
    "anchor_fake_server",
    "anchor_settings",
    "anchor_wait_timeout",
    "anchor_webhook_receiver",
    "anchor_webhook_secret",
    "anchor_webhooks",
    "async_mfa_code",
    "async_signal_event",
    "async_wait_for_event",
    "mfa_code",
    "mfa_event_name",
    "mfa_settings",
    "signal_event",
    "unique_event_name",
    "wait_for_event",
]

_T = TypeVar("_T")
_SETTINGS = pytest.StashKey[Settings]()
_FAKE_SERVER = pytest.StashKey[FakeEventServer]()
_TOTP = pytest.StashKey[dict[tuple[str, int], Any]]()


# -- hooks --------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for doc in MARKERS.values():
        config.addinivalue_line("markers", doc)
    try:
        settings = load_settings(config)
    except ConfigurationError as exc:
        raise pytest.UsageError(f"pytest-anchor-mfa: {exc}") from None
    config.stash[_SETTINGS] = settings
    config.stash[_TOTP] = {}
    if config.pluginmanager.hasplugin("playwright"):
        # Registered now, after every entry-point plugin, so this override of
        # pytest-playwright's fixture is the one pytest picks.
        config.pluginmanager.register(_PlaywrightSupport(), "anchor-mfa-browser")


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[_SETTINGS]
    return (
        f"anchor-mfa: {settings.describe()}, timeout {settings.timeout:g} s, "
        f"code source {settings.code_source}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """No MFA code in assertion messages: pytest diffs two strings by their raw text.

    When either side is a code, both sides are shown masked and no diff is made.
    """
    if not isinstance(left, MaskedCode) and not isinstance(right, MaskedCode):
        return None

    def shown(value: object) -> str:
        return repr(MaskedCode(value)) if isinstance(value, str) else repr(value)

    return [
        f"{shown(left)} {op} {shown(right)}",
        "(an MFA code is compared: pytest-anchor-mfa masks both sides and shows no diff)",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = [problem for item in items for problem in marker_problems(item)]
    if problems:
        raise pytest.UsageError(
            "pytest-anchor-mfa: bad marker arguments:\n  " + "\n  ".join(problems)
        )


class _PlaywrightSupport:
    """Browser discovery for pytest-playwright, and where to find a failed test's artifacts."""

    def __init__(self) -> None:
        self.failed: dict[str, list[tuple[str, str]]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # pytest-playwright attaches kept artifacts to the teardown report's user_properties.
        if report.failed and report.when == "call":
            self.failed.setdefault(report.nodeid, [])
        artifacts = [
            (str(name).removeprefix("playwright_"), str(value))
            for name, value in report.user_properties
            if str(name).startswith("playwright_")
        ]
        if artifacts and report.nodeid in self.failed:
            self.failed[report.nodeid].extend(artifacts)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        found = {nodeid: arts for nodeid, arts in self.failed.items() if arts}
        if not found:
            return
        terminalreporter.section("Playwright artifacts of failed tests (anchor-mfa)")
        for nodeid, artifacts in found.items():
            terminalreporter.line(nodeid)
            for kind, path in artifacts:
                hint = f"   (open: playwright show-trace {path})" if kind == "trace" else ""
                terminalreporter.line(f"  {kind}: {path}{hint}")
        terminalreporter.line(
            "Traces and screenshots record what the test typed, MFA codes included: "
            "keep them private (codes are single-use, but the artifacts are not)."
        )

    @pytest.fixture(scope="session")
    def browser_type_launch_args(
        self, browser_type_launch_args: dict[str, Any], browser_name: str, anchor_settings: Settings
    ) -> dict[str, Any]:
        """pytest-playwright's launch args, plus a system Chromium when Playwright has none."""
        if browser_name != "chromium":
            return browser_type_launch_args
        from .playwright import launch_args

        try:
            return launch_args(anchor_settings.chromium, browser_type_launch_args)
        except ConfigurationError as exc:
            pytest.fail(f"pytest-anchor-mfa: {exc}", pytrace=False)


# -- connection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """Where the events API is in this run: the live service or the in-process fake."""

    mode: str
    base_url: str
    api_key: str = field(repr=False)

    def __repr__(self) -> str:
        key = mask_key(self.api_key)
        return f"Connection(mode={self.mode!r}, base_url={self.base_url!r}, api_key={key!r})"

    def client(self) -> EventsClient:
        return EventsClient(self.api_key, self.base_url)

    def async_client(self) -> AsyncEventsClient:
        return AsyncEventsClient(self.api_key, self.base_url)


@pytest.fixture(scope="session")
def anchor_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved plugin settings (command line > ini > environment > default)."""
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session")
def anchor_fake_server(
    anchor_settings: Settings, pytestconfig: pytest.Config
) -> Iterator[FakeEventServer]:
    """The fake event server of this process (one per xdist worker). Skips in live mode."""
    if anchor_settings.mode != "fake":
        pytest.skip("needs the fake event server, but this run is in live mode (--anchor-mode)")
    with FakeEventServer() as server:
        pytestconfig.stash[_FAKE_SERVER] = server
        yield server
        del pytestconfig.stash[_FAKE_SERVER]


@pytest.fixture
def anchor_fake(anchor_fake_server: FakeEventServer) -> FakeEventServer:
    """The fake event server handle; its state is reset after every test."""
    return anchor_fake_server


@pytest.fixture(autouse=True)
def _anchor_fake_reset(pytestconfig: pytest.Config) -> Iterator[None]:
    # After every test, whichever fixture (or direct client call) touched the fake server:
    # kept signals, history and pending waits of one test never reach the next. Last in
    # teardown order, after the fixtures that may still signal.
    yield
    server = pytestconfig.stash.get(_FAKE_SERVER, None)
    if server is not None:
        server.reset()


@pytest.fixture(scope="session")
def anchor_connection(anchor_settings: Settings, request: pytest.FixtureRequest) -> Connection:
    """Base URL and API key of the events API for this run (the fake server's in fake mode)."""
    if anchor_settings.mode == "fake":
        server: FakeEventServer = request.getfixturevalue("anchor_fake_server")
        return Connection("fake", server.url, server.api_key)
    assert anchor_settings.api_key is not None  # load_settings guarantees it in live mode
    return Connection("live", anchor_settings.base_url, anchor_settings.api_key)


@pytest.fixture(scope="session")
def anchor_events(anchor_connection: Connection) -> Iterator[EventsClient]:
    """An ``EventsClient`` for this run's events API."""
    with anchor_connection.client() as client:
        yield client


# -- per-test settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class MfaSettings:
    """How ``mfa_code()`` gets the code in this test (markers over options)."""

    event: str
    timeout: float
    rule: CodeRule
    field: str
    source: str


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture
def unique_event_name() -> Callable[[str], str]:
    """``unique_event_name("mfa_code")`` -> ``"mfa_code-gw1-3f9c2a7b1d"``: one name per call.

    Use it where parallel runs share one API key, and hand the name to the system that signals.
    """

    def make(prefix: str = "event") -> str:
        return f"{prefix}-{_worker()}-{secrets.token_hex(5)}"

    return make


@pytest.fixture
def anchor_wait_timeout(anchor_settings: Settings, request: pytest.FixtureRequest) -> float:
    """Seconds a wait may take in this test: ``@pytest.mark.anchor_timeout`` or the option."""
    return timeout_marker(request.node) or anchor_settings.timeout


@pytest.fixture
def mfa_settings(
    anchor_settings: Settings,
    anchor_wait_timeout: float,
    request: pytest.FixtureRequest,
    unique_event_name: Callable[[str], str],
) -> MfaSettings:
    """This test's MFA settings: ``@pytest.mark.mfa(...)`` over options over defaults."""
    marker = mfa_marker(request.node)
    event = marker.event or anchor_settings.mfa_event
    if anchor_settings.unique_events:
        event = unique_event_name(event)
    return MfaSettings(
        event=event,
        timeout=marker.timeout or anchor_wait_timeout,
        rule=marker.rule or anchor_settings.code_rule,
        field=marker.field or anchor_settings.code_field,
        source=marker.source or anchor_settings.code_source,
    )


@pytest.fixture
def mfa_event_name(mfa_settings: MfaSettings) -> str:
    """The event name ``mfa_code()`` waits on in this test; give it to whatever sends the code."""
    return mfa_settings.event


# -- event fixtures -----------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _explain(exc: AnchorMFAError, settings: Settings, what: str) -> str:
    """One line for a failed test: what failed, why, in which mode; no secrets."""
    if isinstance(exc, EventTimeoutError):
        timeout = f"{exc.timeout:g} s" if exc.timeout is not None else "its timeout"
        return (
            f"anchor-mfa: {what}: event {exc.event_name!r} was not signaled within {timeout} "
            f"({settings.describe()}). Is the sender signaling this event name? "
            "Raise the timeout with @pytest.mark.anchor_timeout(...) or --anchor-timeout."
        )
    return f"anchor-mfa: {what}: {type(exc).__name__}: {exc} ({settings.describe()})"


def _clearly(settings: Settings, what: str, call: Callable[[], _T]) -> _T:
    """Run ``call``; our errors become one-line test failures (no httpx traceback)."""
    try:
        return call()
    except AnchorMFAError as exc:
        message = _explain(exc, settings, what)
    _fail(message)  # outside the except block: no chained "during handling" traceback


async def _aclearly(settings: Settings, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    try:
        return await call()
    except AnchorMFAError as exc:
        message = _explain(exc, settings, what)
    _fail(message)


SignalEvent = Callable[..., str]
WaitForEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def signal_event(anchor_events: EventsClient, anchor_settings: Settings) -> SignalEvent:
    """``signal_event(name, data=None, **fields)``: signal an event; returns the status."""

    def signal(name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        payload = {**(data or {}), **fields}
        return _clearly(
            anchor_settings, "signal_event", lambda: anchor_events.signal(name, payload)
        )

    return signal


@pytest.fixture
def wait_for_event(
    anchor_events: EventsClient,
    anchor_settings: Settings,
    anchor_wait_timeout: float,
) -> WaitForEvent:
    """``wait_for_event(name, timeout=None)``: block until ``name`` is signaled; its data.

    A timeout fails the test with one line naming the event, the timeout and the mode.
    """

    def wait(name: str, timeout: float | None = None) -> dict[str, Any]:
        seconds = anchor_wait_timeout if timeout is None else timeout
        data = _clearly(
            anchor_settings, "wait_for_event", lambda: anchor_events.wait(name, seconds)
        )
        return mask_sensitive(data)

    return wait


class MfaCode:
    """The ``mfa_code`` fixture: call it *after* the login asked for a code."""

    def __init__(
        self,
        settings: MfaSettings,
        anchor: Settings,
        events: Callable[[], EventsClient],
        totp: Callable[[MfaSettings], str],
        suspend_capture: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self.settings = settings
        self._anchor = anchor
        self._events = events
        self._totp = totp
        self._suspend = suspend_capture

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<mfa_code event={s.event!r} source={s.source} timeout={s.timeout:g} s, "
            f"expects {s.rule.description}>"
        )

    def for_call(self, event: str | None, timeout: float | None) -> MfaSettings:
        return replace(
            self.settings,
            event=event or self.settings.event,
            timeout=self.settings.timeout if timeout is None else timeout,
        )

    def get(self, settings: MfaSettings) -> MaskedCode:
        """Fetch and validate one code from the configured source (raises our errors)."""
        if settings.source == "totp":
            return settings.rule.check(self._totp(settings), event=settings.event)
        if settings.source == "prompt":
            return prompt_for_code(
                settings.event,
                timeout=settings.timeout,
                rule=settings.rule,
                suspend_capture=self._suspend,
            )
        return wait_for_code(
            self._events(),
            settings.event,
            timeout=settings.timeout,
            field=settings.field,
            rule=settings.rule,
        )

    def __call__(self, event: str | None = None, *, timeout: float | None = None) -> MaskedCode:
        """Block until the code arrives; returns it as a ``str`` (masked in reprs)."""
        settings = self.for_call(event, timeout)
        return _clearly(self._anchor, "mfa_code", lambda: self.get(settings))


def _suspend_capture(config: pytest.Config) -> Callable[[], AbstractContextManager[object]]:
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        return nullcontext

    @contextmanager
    def suspended() -> Iterator[None]:
        # in_=True, as pdb does: global_and_fixture_disabled() releases stdout/stderr but
        # leaves stdin redirected to /dev/null, so the prompt would never see the terminal.
        capman.suspend(in_=True)
        try:
            yield
        finally:
            capman.resume()

    return suspended


def _totp_source(config: pytest.Config, anchor: Settings) -> Callable[[MfaSettings], str]:
    def next_code(settings: MfaSettings) -> str:
        from ..totp import StepLedger, TotpGenerator

        if not anchor.totp_secret:
            raise ConfigurationError(TOTP_SECRET_MISSING)
        digits = settings.rule.length or 6
        # One generator per secret for the whole run, and a ledger file shared by every
        # process (xdist workers, parallel runs): no time-step's code is handed out twice.
        generators = config.stash[_TOTP]
        key = (anchor.totp_secret, digits)
        if key not in generators:
            ledger = StepLedger(anchor.totp_secret)  # shared with xdist workers
            generators[key] = TotpGenerator(anchor.totp_secret, digits=digits, ledger=ledger)
        return str(generators[key].next_code(timeout=settings.timeout))

    return next_code


@pytest.fixture
def mfa_code(
    mfa_settings: MfaSettings,
    anchor_settings: Settings,
    anchor_events: EventsClient,
    request: pytest.FixtureRequest,
) -> MfaCode:
    """``mfa_code(event=None, *, timeout=None) -> str``: wait for the MFA code, validated.

    Call it after the login asked for the code ("wait first, signal later"). Safe to call from
    worker threads: the events client is set up here, not on first call.
    """
    return MfaCode(
        mfa_settings,
        anchor_settings,
        lambda: anchor_events,
        _totp_source(request.config, anchor_settings),
        _suspend_capture(request.config),
    )


# -- webhooks -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def anchor_webhook_secret(anchor_settings: Settings) -> str:
    """The secret webhooks are signed with in tests: the setting, else random per run."""
    return anchor_settings.webhook_secret or f"whsec_{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def anchor_webhook_receiver(anchor_webhook_secret: str) -> Iterator[WebhookReceiver]:
    """A loopback webhook receiver for the whole run (one per xdist worker)."""
    with WebhookReceiver(anchor_webhook_secret) as receiver:
        yield receiver


@pytest.fixture
def anchor_webhooks(
    anchor_webhook_receiver: WebhookReceiver,
    anchor_webhook_secret: str,
    anchor_settings: Settings,
    request: pytest.FixtureRequest,
) -> Iterator[WebhookReceiver]:
    """The webhook receiver, emptied after the test; in fake mode the fake server posts to it."""
    fake: FakeEventServer | None = None
    if anchor_settings.mode == "fake":
        fake = request.getfixturevalue("anchor_fake")
        fake.set_webhook(anchor_webhook_receiver.url, anchor_webhook_secret)
    yield anchor_webhook_receiver
    if fake is not None:
        fake.set_webhook(None)
    anchor_webhook_receiver.reset()


# -- async twins ---------------------------------------------------------------------------------


@pytest.fixture
def async_signal_event(
    anchor_connection: Connection, anchor_settings: Settings
) -> Callable[..., Awaitable[str]]:
    """``await async_signal_event(name, data=None, **fields)`` (asyncio or trio)."""

    async def signal(name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        async def call() -> str:
            async with anchor_connection.async_client() as client:
                return await client.signal(name, {**(data or {}), **fields})

        return await _aclearly(anchor_settings, "async_signal_event", call)

    return signal


@pytest.fixture
def async_wait_for_event(
    anchor_connection: Connection,
    anchor_settings: Settings,
    anchor_wait_timeout: float,
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await async_wait_for_event(name, timeout=None)``: like ``wait_for_event``."""

    async def wait(name: str, timeout: float | None = None) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            async with anchor_connection.async_client() as client:
                return await client.wait(name, anchor_wait_timeout if timeout is None else timeout)

        return mask_sensitive(await _aclearly(anchor_settings, "async_wait_for_event", call))

    return wait


@pytest.fixture
def async_mfa_code(
    mfa_code: MfaCode, anchor_connection: Connection, anchor_settings: Settings
) -> Callable[..., Awaitable[MaskedCode]]:
    """``await async_mfa_code(event=None, *, timeout=None)``: like ``mfa_code``."""

    async def get(event: str | None = None, *, timeout: float | None = None) -> MaskedCode:
        settings = mfa_code.for_call(event, timeout)

        async def call() -> MaskedCode:
            if settings.source != "events":
                return await anyio.to_thread.run_sync(mfa_code.get, settings)
            async with anchor_connection.async_client() as client:
                data = await client.wait(settings.event, settings.timeout)
            return code_from_data(data, settings.field, settings.rule, event=settings.event)

        return await _aclearly(anchor_settings, "async_mfa_code", call)

    return get
