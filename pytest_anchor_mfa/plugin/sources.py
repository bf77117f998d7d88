"""Where ``mfa_code()`` gets a code, sync and async: the events API, a TOTP secret, a person.

(``mfa_link()`` waits on the events API only: ``wait_for_link`` / ``await_for_link``.)

* ``events`` - wait on an event of the events API and take ``data[field]`` (the default);
* ``totp`` - compute an RFC 6238 code from a shared secret, never the same code twice;
* ``prompt`` - ask a person at the terminal (local headed runs), with a timeout.

``CodeSources`` is the one place that picks the source, for ``mfa_code`` (``get``) and
``async_mfa_code`` (``aget``). The events client, TOTP and anyio are imported when first used.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

import pytest

from ..codes.links import MaskedLink, link_from_data
from ..codes.rule import CodeRule, code_from_data
from ..errors import ConfigurationError, InvalidArgumentError, PromptTimeoutError
from ..redact import MaskedCode
from .options import TOTP_SECRET_MISSING

if TYPE_CHECKING:
    from ..codes.totp import TotpGenerator
    from ..events import AsyncEventsClient, EventsClient

__all__ = [
    "CodeRequest",
    "CodeSources",
    "await_for_code",
    "await_for_link",
    "prompt_for_code",
    "suspend_capture",
    "totp_code",
    "wait_for_code",
    "wait_for_link",
]

TOTP_GENERATORS = pytest.StashKey[dict[tuple[str, int], "TotpGenerator"]]()
"""One generator per (secret, digits) for the whole run: ``config.stash[TOTP_GENERATORS]``."""


class CodeRequest(Protocol):
    """What one call of ``mfa_code()`` asks for (``MfaSettings`` is one)."""

    @property
    def event(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def rule(self) -> CodeRule: ...
    @property
    def field(self) -> str: ...
    @property
    def source(self) -> str: ...


def wait_for_code(
    client: EventsClient, event: str, *, timeout: float, field: str, rule: CodeRule
) -> MaskedCode:
    """Block on ``event`` until it is signaled, then validate its code."""
    data = client.wait(event, timeout)
    return code_from_data(data, field, rule, event=event)


async def await_for_code(
    client: AsyncEventsClient, event: str, *, timeout: float, field: str, rule: CodeRule
) -> MaskedCode:
    """``wait_for_code`` on an ``AsyncEventsClient``."""
    data = await client.wait(event, timeout)
    return code_from_data(data, field, rule, event=event)


def wait_for_link(
    client: EventsClient, event: str, *, timeout: float, path: str | None = None
) -> MaskedLink:
    """Block on ``event`` (an inbound mail's data) until it is signaled, then take its link."""
    data = client.wait(event, timeout)
    return link_from_data(data, event=event, path=path)


async def await_for_link(
    client: AsyncEventsClient, event: str, *, timeout: float, path: str | None = None
) -> MaskedLink:
    """``wait_for_link`` on an ``AsyncEventsClient``."""
    data = await client.wait(event, timeout)
    return link_from_data(data, event=event, path=path)


def prompt_for_code(
    event: str,
    *,
    timeout: float,
    rule: CodeRule,
    suspend_capture: Callable[[], AbstractContextManager[object]],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> MaskedCode:
    """Ask a person for the code on the terminal, with output capture suspended.

    Fails at once, with a reason, where no person can answer (no terminal, as in CI).
    """
    with suspend_capture():
        # Looked up only now: while pytest captures, sys.stdin/sys.stdout are its stand-ins.
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        if not stdin.isatty():
            raise ConfigurationError(
                "the prompt code source needs an interactive terminal (stdin is not a TTY: "
                "CI, an xdist worker, or input piped in); use --anchor-code-source events or "
                "totp there"
            )
        stdout.write(
            f"\n[anchor-mfa] Enter the MFA code for {event!r} ({rule.description}), {timeout:g} s: "
        )
        stdout.flush()
        ready, _, _ = select.select([stdin], [], [], timeout)
        if not ready:
            stdout.write("\n")
            raise PromptTimeoutError(
                f"nobody typed a code within {timeout:g} s", event_name=event, timeout=timeout
            )
        answer = stdin.readline()
    return rule.check(answer, event=event)


def suspend_capture(config: pytest.Config) -> Callable[[], AbstractContextManager[object]]:
    """A context manager factory that lets a prompt reach the terminal through pytest's capture."""
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


def totp_code(config: pytest.Config, secret: str | None, *, digits: int, timeout: float) -> str:
    """The next unused TOTP code of ``secret``; waits for the next time step if need be."""
    from ..codes.totp import StepLedger, TotpGenerator

    if not secret:
        raise ConfigurationError(TOTP_SECRET_MISSING)
    # One generator per secret for the whole run, and a ledger file shared by every process
    # (xdist workers, parallel runs): no time-step's code is handed out twice.
    generators = config.stash.setdefault(TOTP_GENERATORS, {})
    key = (secret, digits)
    if key not in generators:
        try:
            generators[key] = TotpGenerator(secret, digits=digits, ledger=StepLedger(secret))
        except InvalidArgumentError as exc:  # here the secret and digits are settings
            raise ConfigurationError(str(exc)) from None
    return str(generators[key].next_code(timeout=timeout))


@dataclass(frozen=True)
class CodeSources:
    """The code sources of one test: the events client, the TOTP secret, the terminal."""

    config: pytest.Config
    events: EventsClient
    totp_secret: str | None

    def get(self, request: CodeRequest) -> MaskedCode:
        """Fetch and validate one code from ``request.source`` (raises our errors)."""
        if request.source == "totp":
            digits = request.rule.length or 6
            code = totp_code(self.config, self.totp_secret, digits=digits, timeout=request.timeout)
            return request.rule.check(code, event=request.event)
        if request.source == "prompt":
            return prompt_for_code(
                request.event,
                timeout=request.timeout,
                rule=request.rule,
                suspend_capture=suspend_capture(self.config),
            )
        return wait_for_code(
            self.events,
            request.event,
            timeout=request.timeout,
            field=request.field,
            rule=request.rule,
        )

    async def aget(
        self, request: CodeRequest, async_client: Callable[[], AsyncEventsClient]
    ) -> MaskedCode:
        """``get`` as a coroutine: the events source on ``async_client()``, the others in a
        worker thread (they block: a TOTP step, a person typing)."""
        if request.source != "events":
            import anyio.to_thread

            return await anyio.to_thread.run_sync(self.get, request)
        async with async_client() as client:
            return await await_for_code(
                client,
                request.event,
                timeout=request.timeout,
                field=request.field,
                rule=request.rule,
            )
