"""The fake's browser sessions: who owns which browser, within bounds, on an injected clock.

``SessionStore`` creates a session by launching a browser (a ``Launcher``: a local Chromium
by default), keeps it per user, and ends it on ``end``, on ``stop`` (every session: the server
is going away), or when it has been idle (nobody connected to its CDP endpoint) for
``idle_timeout`` seconds (``sweep``, which the server calls periodically; tests call it after
moving their clock); a session whose browser exited on its own ends then too, ``failed``. At
most ``max_sessions`` run at once: past that ``create`` raises ``SessionsFull`` (the HTTP side
answers 503 with ``Retry-After``). Every end is reported once to the ``on_end`` listeners,
with the session's duration. No HTTP here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import ConfigurationError

__all__ = ["Browser", "Launcher", "Session", "SessionStore", "SessionsFull"]

_log = logging.getLogger("pytest_anchor_mfa.sessions")


class Browser(Protocol):
    """What a session runs: a browser reachable over CDP at ``ws_url``."""

    ws_url: str

    @property
    def pid(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    async def close(self) -> None: ...


Launcher = Callable[[], Awaitable[Browser]]
EndListener = Callable[["Session"], None]


class SessionsFull(Exception):
    """``max_sessions`` are running; the caller should retry after some end."""


@dataclass(eq=False)
class Session:
    """One session. ``duration`` is in seconds on the store's clock (to the end, once ended)."""

    id: str
    user: str
    browser: Browser
    config: dict[str, Any]
    created_at: datetime
    started: float
    last_active: float
    connections: int = 0
    ended: float | None = None
    status: str = "running"
    cdp_bytes: int = field(default=0)
    idle_timeout: float | None = None
    """Seconds this session may stay idle (None: the store's; inf: for ever)."""

    def duration(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started


class SessionStore:
    """The running sessions (see the module docstring); every method runs on one loop."""

    def __init__(
        self,
        launcher: Launcher,
        *,
        max_sessions: int = 4,
        idle_timeout: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1 or not idle_timeout > 0:
            raise ConfigurationError(
                "max_sessions must be >= 1 and idle_timeout > 0 seconds, got "
                f"{max_sessions!r} and {idle_timeout!r}"
            )
        self._launcher = launcher
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._starting = 0
        self._listeners: list[EndListener] = []

    def add_listener(self, listener: EndListener) -> None:
        """``listener(session)`` is called once per session, when it ends."""
        self._listeners.append(listener)

    def now(self) -> float:
        return self._clock()

    async def create(
        self, user: str, config: dict[str, Any], idle_timeout: float | None = None
    ) -> Session:
        """Launch a browser for ``user``; ``SessionsFull`` past ``max_sessions``.
        ``idle_timeout`` (seconds) overrides the store's for this session."""
        if len(self._sessions) + self._starting >= self.max_sessions:
            raise SessionsFull()
        self._starting += 1  # counted while it launches: two creates cannot both take the last
        try:
            browser = await self._launcher()
        finally:
            self._starting -= 1
        now = self._clock()
        session = Session(
            id=secrets.token_hex(16),
            user=user,
            browser=browser,
            config=config,
            created_at=datetime.now(UTC),
            started=now,
            last_active=now,
            idle_timeout=idle_timeout,
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def of_user(self, user: str) -> list[Session]:
        return [s for s in self._sessions.values() if s.user == user]

    def __len__(self) -> int:
        return len(self._sessions)

    def connected(self, session: Session) -> None:
        session.connections += 1
        session.last_active = self._clock()

    def disconnected(self, session: Session) -> None:
        session.connections -= 1
        session.last_active = self._clock()

    async def end(self, session: Session, status: str = "completed") -> bool:
        """End ``session`` (its browser reaped); False if it had ended already."""
        if self._sessions.pop(session.id, None) is None:
            return False
        session.ended, session.status = self._clock(), status
        try:
            await session.browser.close()
        finally:
            for listener in self._listeners:
                try:
                    listener(session)
                except Exception:
                    _log.exception("a session end listener failed")
        return True

    def idle(self) -> list[Session]:
        """Sessions nobody is connected to, idle for ``idle_timeout`` seconds or more."""
        now = self._clock()
        return [
            s
            for s in self._sessions.values()
            if not s.connections and now - s.last_active >= self._idle_timeout_of(s)
        ]

    def _idle_timeout_of(self, session: Session) -> float:
        return self.idle_timeout if session.idle_timeout is None else session.idle_timeout

    async def sweep(self) -> int:
        """End the idle sessions, and those whose browser died (``failed``); returns how many."""
        ended = 0
        for session in [s for s in self._sessions.values() if not s.browser.alive]:
            _log.warning("session %s: its browser exited on its own", session.id)
            ended += await self.end(session, "failed")
        for session in self.idle():
            _log.info("session %s idle too long: ended", session.id)
            ended += await self.end(session, "idle_timeout")
        return ended

    async def stop(self) -> None:
        """End every session (the server is stopping)."""
        for session in list(self._sessions.values()):
            with contextlib.suppress(Exception):
                await self.end(session, "server_stopped")

    async def run_sweeper(self, every: float) -> None:
        """Sweep every ``every`` seconds until cancelled (the server's background task)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception:
                _log.exception("sweeping idle sessions failed")
