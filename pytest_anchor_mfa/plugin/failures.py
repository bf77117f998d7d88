"""How the plugin's errors fail a test: one line (what failed, why, in which mode), no secrets.

Every callable fixture runs its work through ``clearly`` (or ``aclearly``): an ``AnchorMfaError``
becomes ``pytest.fail`` with that line and no traceback (no httpx frames, no chained errors).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import pytest

from ..errors import (
    AnchorMfaError,
    AuthenticationError,
    EventTimeoutError,
    PromptTimeoutError,
    TransportError,
)
from .options import Settings

__all__ = ["aclearly", "clearly", "explain"]

_T = TypeVar("_T")
_HINTS: dict[type[AnchorMfaError], str] = {
    AuthenticationError: "; check ANCHOR_API_KEY or --anchor-api-key",
    TransportError: "; check ANCHOR_BASE_URL or --anchor-base-url",
}
"""What to do next, in this interface's words (the client's messages name no interface)."""


def explain(exc: AnchorMfaError, settings: Settings | None, what: str) -> str:
    """One line for a failed test: what failed, why, in which mode (with ``settings``: None for
    what does not depend on the mode, such as the browser's authenticator); no secrets."""
    mode = f" ({settings.describe()})" if settings is not None else ""
    # A prompt nobody answered reads like an unsignaled event: the same line as before it had
    # a class of its own.
    if isinstance(exc, EventTimeoutError | PromptTimeoutError):
        timeout = f"{exc.timeout:g} s" if exc.timeout is not None else "its timeout"
        return (
            f"anchor-mfa: {what}: event {exc.event_name!r} was not signaled within {timeout}"
            f"{mode}. Is the sender signaling this event name? "
            "Raise the timeout with @pytest.mark.anchor_timeout(...) or --anchor-timeout."
        )
    hint = _HINTS.get(type(exc), "")
    return f"anchor-mfa: {what}: {type(exc).__name__}: {exc}{mode}{hint}"


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def clearly(settings: Settings | None, what: str, call: Callable[[], _T]) -> _T:
    """Run ``call``; our errors become one-line test failures (no httpx traceback)."""
    try:
        return call()
    except AnchorMfaError as exc:
        message = explain(exc, settings, what)
    _fail(message)  # outside the except block: no chained "during handling" traceback


async def aclearly(settings: Settings | None, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """``clearly`` for coroutines."""
    try:
        return await call()
    except AnchorMfaError as exc:
        message = explain(exc, settings, what)
    _fail(message)
