"""Where the events API is in this run, and the fixtures that reach it.

Owns ``Connection`` and the fixtures ``anchor_fake_session`` (one fake server per session, as
pytest-httpserver's ``httpserver``), ``anchor_fake`` (the same server, reset after every test),
``anchor_connection`` and ``anchor_events`` (the session's ``EventsClient``). The client
(httpx, pydantic) and the fake server (uvicorn) are imported when first needed.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ..redact import mask_key
from .leaks import API_KEY, guard_data, remember
from .options import Settings
from .renames import overridden

if TYPE_CHECKING:
    from ..events import AsyncEventsClient, EventsClient
    from ..server import FakeEventServer

__all__ = [
    "Connection",
    "anchor_connection",
    "anchor_events",
    "anchor_fake",
    "anchor_fake_session",
]

FAKE_SERVER = pytest.StashKey["FakeEventServer"]()
"""The running fake server of this process, while ``anchor_fake_session`` is set up."""


@dataclass(frozen=True)
class Connection:
    """Where the events API is in this run: the live service or the in-process fake."""

    mode: str
    base_url: str
    api_key: str = field(repr=False)
    guard: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)
    """Given, the clients mask signal and wait data with it and tell the leak guard."""

    def __repr__(self) -> str:
        key = mask_key(self.api_key)
        return f"Connection(mode={self.mode!r}, base_url={self.base_url!r}, api_key={key!r})"

    def client(self) -> EventsClient:
        if self.guard is None:
            from ..events import EventsClient

            return EventsClient(self.api_key, self.base_url)
        from .guarded import GuardedEventsClient

        client = GuardedEventsClient(self.api_key, self.base_url)
        client.guard = self.guard
        return client

    def async_client(self) -> AsyncEventsClient:
        if self.guard is None:
            from ..events import AsyncEventsClient

            return AsyncEventsClient(self.api_key, self.base_url)
        from .guarded import GuardedAsyncEventsClient

        client = GuardedAsyncEventsClient(self.api_key, self.base_url)
        client.guard = self.guard
        return client


@pytest.fixture(scope="session")
def anchor_fake_session(
    anchor_settings: Settings, pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> Iterator[FakeEventServer]:
    """The fake event server of this process (one per xdist worker). Skips in live mode."""
    found, override = overridden(request, "anchor_fake_session")
    if found:
        pytestconfig.stash[FAKE_SERVER] = override
        yield override
        return
    if anchor_settings.mode != "fake":
        pytest.skip("needs the fake event server, but this run is in live mode (--anchor-mode)")
    from ..server import FakeEventServer
    from ..server.store_url import store_from_url

    # A namespace per fake server: parallel runs (and xdist workers) on one Redis never meet.
    store = store_from_url(anchor_settings.store, namespace=f"pytest-{secrets.token_hex(8)}")
    from .playwright import find_chromium

    # The fake's sessions run a local Chromium: found now in session mode (a bad
    # --anchor-chromium fails at once), else when a test first creates a session.
    lookup = functools.partial(find_chromium, anchor_settings.chromium)
    chromium = lookup() if anchor_settings.browser == "session" else lookup
    with FakeEventServer(store=store, chromium=chromium) as server:
        pytestconfig.stash[FAKE_SERVER] = server
        yield server
        del pytestconfig.stash[FAKE_SERVER]


@pytest.fixture
def anchor_fake(anchor_fake_session: FakeEventServer) -> FakeEventServer:
    """The fake event server handle; its state is reset after every test."""
    return anchor_fake_session


@pytest.fixture(autouse=True)
def _anchor_fake_reset(pytestconfig: pytest.Config) -> Iterator[None]:
    # After every test, whichever fixture (or direct client call) touched the fake server:
    # kept signals, history and pending waits of one test never reach the next. Last in
    # teardown order, after the fixtures that may still signal.
    yield
    server = pytestconfig.stash.get(FAKE_SERVER, None)
    if server is not None:
        server.reset()


@pytest.fixture(scope="session")
def anchor_connection(anchor_settings: Settings, request: pytest.FixtureRequest) -> Connection:
    """Base URL and API key of the events API for this run (the fake server's in fake mode)."""
    config = request.config

    def guard(data: Any) -> Any:
        return guard_data(config, data, anchor_settings.code_rule)

    if anchor_settings.mode == "fake":
        server: FakeEventServer = request.getfixturevalue("anchor_fake_session")
        remember(config, server.api_key, API_KEY, run_wide=True)
        return Connection("fake", server.url, server.api_key, guard)
    assert anchor_settings.api_key is not None  # load_settings guarantees it in live mode
    remember(config, anchor_settings.api_key, API_KEY, run_wide=True)
    return Connection("live", anchor_settings.base_url, anchor_settings.api_key, guard)


@pytest.fixture(scope="session")
def anchor_events(anchor_connection: Connection) -> Iterator[EventsClient]:
    """An ``EventsClient`` for this run's events API."""
    with anchor_connection.client() as client:
        yield client
