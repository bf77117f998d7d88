"""The MFA fixtures: this test's MFA settings and the ``mfa_code`` / ``async_mfa_code`` callables.

Owns ``MfaSettings`` (markers over options over defaults), ``MfaCode`` and the fixtures
``anchor_mfa_settings``, ``mfa_event_name``, ``mfa_code`` and ``async_mfa_code``. Where a code comes
from (events, TOTP, prompt) is decided in ``sources``, for both the sync and the async fixture.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pytest

from ..codes.rule import CodeRule
from ..redact import MaskedCode
from .failures import aclearly, clearly
from .leaks import LEAK_GUARD, MFA_CODE, remember
from .markers import mfa_marker
from .options import Settings
from .renames import overridden
from .sources import CodeSources
from .timing import timing
from .types import AsyncMfaCode, UniqueEventName

if TYPE_CHECKING:
    from ..events import EventsClient
    from ..report import TimingRecorder
    from .connection import Connection

__all__ = [
    "MfaCode",
    "MfaSettings",
    "anchor_mfa_settings",
    "async_mfa_code",
    "mfa_code",
    "mfa_event_name",
]


@dataclass(frozen=True)
class MfaSettings:
    """How ``mfa_code()`` gets the code in this test (markers over options)."""

    event: str
    timeout: float
    rule: CodeRule
    field: str
    source: str


class MfaCode:
    """The ``mfa_code`` fixture: call it *after* the login asked for a code."""

    def __init__(
        self,
        settings: MfaSettings,
        anchor: Settings,
        sources: CodeSources,
        recorder: TimingRecorder | None = None,
        nodeid: str | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.recorder = recorder
        self.nodeid = nodeid
        self._anchor = anchor

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<mfa_code event={s.event!r} source={s.source} timeout={s.timeout:g} s, "
            f"expects {s.rule.description}>"
        )

    def for_call(self, event: str | None, timeout: float | None) -> MfaSettings:
        """This test's settings with one call's ``event`` and ``timeout``."""
        return replace(
            self.settings,
            event=event or self.settings.event,
            timeout=self.settings.timeout if timeout is None else timeout,
        )

    def timed(
        self, settings: MfaSettings, *, label: str | None = None
    ) -> AbstractContextManager[None]:
        """Records the block as one wait for the timing report (never the code), under
        ``label`` (default: the settings' source; ``mfa_link`` waits are "link")."""
        if self.recorder is None:
            return nullcontext()
        return self.recorder.timed_wait(
            source=label or settings.source,
            event=settings.event,
            timeout=settings.timeout,
            nodeid=self.nodeid,
        )

    def get(self, settings: MfaSettings) -> MaskedCode:
        """Fetch and validate one code from the configured source (raises our errors)."""
        with self.timed(settings):
            return self.sources.get(settings)

    def __call__(self, event: str | None = None, *, timeout: float | None = None) -> MaskedCode:
        """Block until the code arrives; returns it as a ``str`` (masked in reprs)."""
        settings = self.for_call(event, timeout)
        code = clearly(self._anchor, "mfa_code", lambda: self.get(settings))
        self.remember(code)
        return code

    def remember(self, code: str) -> None:
        """Tell the leak guard: the code is scrubbed from this test's reports."""
        remember(self.sources.config, code, MFA_CODE)


@pytest.fixture
def anchor_mfa_settings(
    anchor_settings: Settings,
    anchor_wait_timeout: float,
    request: pytest.FixtureRequest,
    unique_event_name: UniqueEventName,
) -> MfaSettings:
    """This test's MFA settings: ``@pytest.mark.mfa(...)`` over options over defaults."""
    found, override = overridden(request, "anchor_mfa_settings")
    if found:
        return override  # type: ignore[no-any-return]
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
def mfa_event_name(anchor_mfa_settings: MfaSettings) -> str:
    """The event name ``mfa_code()`` waits on in this test; give it to whatever sends the code."""
    return anchor_mfa_settings.event


@pytest.fixture
def mfa_code(
    anchor_mfa_settings: MfaSettings,
    anchor_settings: Settings,
    anchor_events: EventsClient,
    request: pytest.FixtureRequest,
) -> MfaCode:
    """``mfa_code(event=None, *, timeout=None) -> str``: wait for the MFA code, validated.

    Call it after the login asked for the code ("wait first, signal later"). Safe to call from
    worker threads: the events client is set up here, not on first call.
    """
    guard = request.config.stash.get(LEAK_GUARD, None)
    if guard is not None:
        guard.remember_settings(anchor_settings)  # a conftest may override anchor_settings
    sources = CodeSources(request.config, anchor_events, anchor_settings.totp_secret)
    recorder = timing(request.config)
    return MfaCode(anchor_mfa_settings, anchor_settings, sources, recorder, request.node.nodeid)


@pytest.fixture
def async_mfa_code(
    mfa_code: MfaCode, anchor_connection: Connection, anchor_settings: Settings
) -> AsyncMfaCode:
    """``await async_mfa_code(event=None, *, timeout=None)``: like ``mfa_code``."""

    async def get(event: str | None = None, *, timeout: float | None = None) -> MaskedCode:
        settings = mfa_code.for_call(event, timeout)

        async def timed() -> MaskedCode:
            with mfa_code.timed(settings):
                return await mfa_code.sources.aget(settings, anchor_connection.async_client)

        code = await aclearly(anchor_settings, "async_mfa_code", timed)
        mfa_code.remember(code)
        return code

    return get
