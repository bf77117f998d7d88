"""The general fixtures: the run's settings, per-test waits and names, and the event callables.

Owns ``anchor_settings``, ``anchor_wait_timeout``, ``unique_event_name`` (small fixtures meant
to be overridden in a ``conftest.py``) and ``signal_event``, ``wait_for_event`` with their async
twins. The fake server and the client are in ``connection``, ``mfa_code`` is in ``mfa``, the
webhook fixtures are in ``webhooks``; their types are in ``types``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from .failures import aclearly, clearly
from .leaks import guard_data
from .markers import timeout_marker
from .options import SETTINGS, Settings
from .types import (
    AsyncSignalEvent,
    AsyncWaitForEvent,
    SignalEvent,
    UniqueEventName,
    WaitForEvent,
)

if TYPE_CHECKING:
    from ..events import EventsClient
    from .connection import Connection

__all__ = [
    "anchor_settings",
    "anchor_wait_timeout",
    "async_signal_event",
    "async_wait_for_event",
    "signal_event",
    "unique_event_name",
    "wait_for_event",
]


@pytest.fixture(scope="session")
def anchor_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved plugin settings (command line > ini > environment > default)."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture
def anchor_wait_timeout(anchor_settings: Settings, request: pytest.FixtureRequest) -> float:
    """Seconds a wait may take in this test: ``@pytest.mark.anchor_timeout`` or the option."""
    return timeout_marker(request.node) or anchor_settings.timeout


@pytest.fixture
def unique_event_name() -> UniqueEventName:
    """``unique_event_name("mfa_code")`` -> ``"mfa_code-gw1-3f9c2a7b1d"``: one name per call.

    Use it where parallel runs share one API key, and hand the name to the system that signals.
    """

    def make(prefix: str = "event") -> str:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        return f"{prefix}-{worker}-{secrets.token_hex(5)}"

    return make


@pytest.fixture
def signal_event(
    anchor_events: EventsClient, anchor_settings: Settings, pytestconfig: pytest.Config
) -> SignalEvent:
    """``signal_event(name, data=None, **fields)``: signal an event; returns the status.

    The data is masked (and its codes remembered by the leak guard) before it goes further.
    """

    def signal(name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        payload = guard_data(pytestconfig, {**(data or {}), **fields}, anchor_settings.code_rule)
        return clearly(anchor_settings, "signal_event", lambda: anchor_events.signal(name, payload))

    return signal


@pytest.fixture
def wait_for_event(
    anchor_events: EventsClient,
    anchor_settings: Settings,
    anchor_wait_timeout: float,
    pytestconfig: pytest.Config,
) -> WaitForEvent:
    """``wait_for_event(name, timeout=None)``: block until ``name`` is signaled; its data.

    The data is masked in reprs at any depth (secret-looking keys, codes in free text) and
    its codes are scrubbed from the test's reports. A timeout fails the test with one line
    naming the event, the timeout and the mode.
    """

    def wait(name: str, timeout: float | None = None) -> dict[str, Any]:
        seconds = anchor_wait_timeout if timeout is None else timeout
        data = clearly(anchor_settings, "wait_for_event", lambda: anchor_events.wait(name, seconds))
        masked: dict[str, Any] = guard_data(pytestconfig, data, anchor_settings.code_rule)
        return masked

    return wait


@pytest.fixture
def async_signal_event(
    anchor_connection: Connection, anchor_settings: Settings, pytestconfig: pytest.Config
) -> AsyncSignalEvent:
    """``await async_signal_event(name, data=None, **fields)`` (asyncio or trio)."""

    async def signal(name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        payload = guard_data(pytestconfig, {**(data or {}), **fields}, anchor_settings.code_rule)

        async def call() -> str:
            async with anchor_connection.async_client() as client:
                return await client.signal(name, payload)

        return await aclearly(anchor_settings, "async_signal_event", call)

    return signal


@pytest.fixture
def async_wait_for_event(
    anchor_connection: Connection,
    anchor_settings: Settings,
    anchor_wait_timeout: float,
    pytestconfig: pytest.Config,
) -> AsyncWaitForEvent:
    """``await async_wait_for_event(name, timeout=None)``: like ``wait_for_event``."""

    async def wait(name: str, timeout: float | None = None) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            async with anchor_connection.async_client() as client:
                return await client.wait(name, anchor_wait_timeout if timeout is None else timeout)

        data = await aclearly(anchor_settings, "async_wait_for_event", call)
        masked: dict[str, Any] = guard_data(pytestconfig, data, anchor_settings.code_rule)
        return masked

    return wait
