"""The call signatures of the plugin's callable fixtures, as ``Protocol`` types.

Annotate a test's parameters with them (``wait_for_event: WaitForEvent``) and IDEs and type
checkers show the real signatures, like pytest-playwright's ``CreateContextCallback``. Each one
matches its fixture exactly; ``MfaCode`` (the ``mfa_code`` fixture) is a class of its own, in
``mfa``. Importable from ``pytest_anchor_mfa`` as well. Types only: nothing here runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..codes.links import MaskedLink
from ..redact import MaskedCode

__all__ = [
    "AsyncMfaCode",
    "AsyncMfaLink",
    "AsyncSignalEvent",
    "AsyncWaitForEvent",
    "SignalEvent",
    "UniqueEventName",
    "WaitForEvent",
]


class SignalEvent(Protocol):
    """The ``signal_event`` fixture: signal ``name`` with ``data`` and ``fields``; the status."""

    def __call__(self, name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str: ...


class WaitForEvent(Protocol):
    """The ``wait_for_event`` fixture: block until ``name`` is signaled; its data."""

    def __call__(self, name: str, timeout: float | None = None) -> dict[str, Any]: ...


class AsyncSignalEvent(Protocol):
    """The ``async_signal_event`` fixture: ``signal_event`` as a coroutine (asyncio or trio)."""

    async def __call__(
        self, name: str, data: Mapping[str, Any] | None = None, **fields: Any
    ) -> str: ...


class AsyncWaitForEvent(Protocol):
    """The ``async_wait_for_event`` fixture: ``wait_for_event`` as a coroutine."""

    async def __call__(self, name: str, timeout: float | None = None) -> dict[str, Any]: ...


class AsyncMfaCode(Protocol):
    """The ``async_mfa_code`` fixture: ``mfa_code`` as a coroutine; the code, masked in reprs."""

    async def __call__(
        self, event: str | None = None, *, timeout: float | None = None
    ) -> MaskedCode: ...


class AsyncMfaLink(Protocol):
    """The ``async_mfa_link`` fixture: ``mfa_link`` as a coroutine; the link, masked in reprs."""

    async def __call__(
        self, event: str | None = None, *, timeout: float | None = None, path: str | None = None
    ) -> MaskedLink: ...


class UniqueEventName(Protocol):
    """The ``unique_event_name`` fixture: ``prefix-<xdist worker>-<random>``, new on every call."""

    def __call__(self, prefix: str = "event") -> str: ...
