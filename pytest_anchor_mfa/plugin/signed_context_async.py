"""``@pytest.mark.signed_in`` for pytest-playwright-asyncio: its async ``context``, signed in.

Registered after pytest-playwright-asyncio, like ``signed_context`` for the sync flavour. The
user's ``anchor_sign_in`` returns ``async def sign_in(page, user, mfa_code)`` and awaits
``mfa_code()``. ``anchor_signed_in`` is ``await anchor_signed_in(user) -> Path``. The decisions
(one sign-in per run, the lock other processes wait on) are ``signin.SignIns``', run in a worker
thread so that waiting for another process's sign-in never blocks the event loop; the sign-in
itself runs on the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from .connection import Connection
from .leaks import MFA_CODE, TOTP_SECRET, remember
from .markers import signed_in_marker
from .options import Settings
from .signin import SignedIn, SignInCode, sign_ins, signin_screenshot

__all__ = ["AsyncSignInCode", "AsyncSignedIn", "anchor_signed_in", "context"]


class AsyncSignInCode:
    """The ``mfa_code`` an async sign-in routine awaits: ``await mfa_code(event=None, *,
    timeout=None, source=None, secret=None)``."""

    def __init__(self, code: SignInCode, connection: Connection) -> None:
        self._code = code
        self._connection = connection

    def __repr__(self) -> str:
        return f"<async {self._code!r}>"

    async def __call__(
        self,
        event: str | None = None,
        *,
        timeout: float | None = None,
        source: str | None = None,
        secret: str | None = None,
    ) -> Any:
        config = self._code.sources.config
        if secret:
            remember(config, secret, TOTP_SECRET, run_wide=True)
        call = self._code.for_call(event, timeout)
        settings = replace(call, source=source or call.source)
        sources = replace(self._code.sources, totp_secret=secret or self._code.sources.totp_secret)
        with self._code.timed(settings):  # counted in the MFA timing report like any wait
            code = await sources.aget(settings, self._connection.async_client)
        remember(config, code, MFA_CODE)
        return code


class AsyncSignedIn:
    """The async ``anchor_signed_in``: ``await signed_in(user) -> Path``."""

    def __init__(self, signed_in: SignedIn, loops: list[asyncio.AbstractEventLoop]) -> None:
        self._signed_in = signed_in
        self._loops = loops

    def __repr__(self) -> str:
        return repr(self._signed_in)

    async def __call__(self, user: str) -> Path:
        self._loops[:] = [asyncio.get_running_loop()]  # where the sign-in itself will run
        return await asyncio.to_thread(self._signed_in, user)

    async def renew(self, user: str, refused: Path) -> Path:
        """A newer state than ``refused``, which the app no longer accepted."""
        self._loops[:] = [asyncio.get_running_loop()]
        return await asyncio.to_thread(self._signed_in.renew, user, refused)


@pytest.fixture
def anchor_signed_in(
    anchor_sign_in: Callable[..., Awaitable[None]],
    anchor_settings: Settings,
    anchor_connection: Connection,
    _anchor_sign_in_code: SignInCode,
    browser: Any,
    browser_context_args: dict[str, Any],
    pytestconfig: pytest.Config,
) -> AsyncSignedIn:
    """``await anchor_signed_in(user) -> Path``: the user's saved storage state."""
    loops: list[asyncio.AbstractEventLoop] = []
    output = Path(str(pytestconfig.getoption("--output", "test-results")))
    args = {k: v for k, v in browser_context_args.items() if k != "storage_state"}
    code = AsyncSignInCode(_anchor_sign_in_code, anchor_connection)

    def make_state(user: str) -> Mapping[str, Any]:  # in the worker thread: the loop is free
        coroutine = _sign_in(browser, args, anchor_sign_in, code, user, output)
        return asyncio.run_coroutine_threadsafe(coroutine, loops[0]).result()

    flow = sign_ins(pytestconfig, anchor_settings, make_state, output)
    return AsyncSignedIn(SignedIn(flow, pytestconfig), loops)


async def _sign_in(
    browser: Any,
    args: Mapping[str, Any],
    sign_in: Callable[..., Awaitable[None]],
    code: AsyncSignInCode,
    user: str,
    output: Path,
) -> dict[str, Any]:
    context = await browser.new_context(**args)
    page = await context.new_page()
    try:
        await sign_in(page, user, code)
        state: dict[str, Any] = await context.storage_state()
        return state
    except Exception:
        output.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(signin_screenshot(output, user)))
        raise
    finally:
        await context.close()


async def _context(
    new_context: Any, browser_context_args: dict[str, Any], request: pytest.FixtureRequest
) -> Any:
    """pytest-playwright-asyncio's context; signed in as the ``@pytest.mark.signed_in`` user."""
    user = signed_in_marker(request.node)
    if user is None:
        return await new_context()
    if "storage_state" in browser_context_args:
        raise pytest.UsageError(
            "@pytest.mark.signed_in sets the context's storage_state: remove storage_state "
            "from your browser_context_args override"
        )
    signed_in: AsyncSignedIn = request.getfixturevalue("anchor_signed_in")
    check = request.getfixturevalue("anchor_signed_in_check")
    state = await signed_in(user)
    context = await new_context(storage_state=str(state))
    if check is None or await _still_signed_in(context, check, user):
        return context
    await context.close()
    return await new_context(storage_state=str(await signed_in.renew(user, state)))


async def _still_signed_in(context: Any, check: Any, user: str) -> bool:
    page = await context.new_page()
    try:
        return bool(await check(page, user))
    finally:
        await page.close()


# pytest-asyncio is there whenever pytest-playwright-asyncio is (this module loads only then).
context = importlib.import_module("pytest_asyncio").fixture(loop_scope="session", name="context")(
    _context
)
