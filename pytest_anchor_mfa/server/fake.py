"""``FakeEventServer``: the events API on a loopback port, and the thread-safe handle tests use.

It puts together a store (``MemoryStore`` unless one is given), the ASGI app over it and an
``AsgiServer`` (uvicorn, on the process's runtime loop), and lets a test act as the external
system (``signal``, ``signal_later``, ``signal_when_waiting``) and look inside
(``pending_waiters``, ``kept_signals``, ``history``, ``wait_for_waiters``). Every call from the
test's thread runs on the server's loop. With ``webhook_url`` set it also posts intervention
webhooks (``interventions``).

>>> with FakeEventServer() as server:
...     server.url, server.api_key            # point an EventsClient at these
...     server.signal("mfa_code", {"code": "123456"})   # act as the external system
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from ..contract import MAX_BODY_BYTES
from ..errors import (
    AnchorMfaError,
    BrowserLaunchError,
    ConfigurationError,
    InvalidArgumentError,
    WaitersTimeoutError,
)
from ..runtime.asgi import HttpError
from ..runtime.limits import ServerLimits
from ..runtime.recorder import Recorder
from ..runtime.serve import AsgiServer
from ..sessions.chromium import launch_chromium
from ..sessions.routes import SessionsApi, completed_data
from ..sessions.store import Browser, Launcher, Session, SessionStore
from .app import EventsApp, encode_data
from .faults import Faults
from .interventions import Interventions
from .store import EventStore, MemoryStore, SignalRecord

__all__ = [
    "MAX_BODY_BYTES",
    "FakeEventServer",
    "FakeSessions",
    "ScheduledSignal",
    "SignalRecord",
]

_T = TypeVar("_T")
_HANDLE_TIMEOUT = 10.0


def _payload(data: Mapping[str, Any]) -> bytes:
    if not isinstance(data, Mapping):
        raise InvalidArgumentError("signal data must be a JSON object (a mapping)")
    try:
        return encode_data(dict(data))
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidArgumentError(f"signal data must be JSON-serialisable: {exc}") from None


def _keys(api_keys: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    if api_keys is None:
        return {f"sk-fake-{secrets.token_hex(12)}": "user-1"}
    if isinstance(api_keys, Mapping):
        keys = dict(api_keys)
    else:
        keys = {key: f"user-{i}" for i, key in enumerate(api_keys, start=1)}
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigurationError("FakeEventServer needs at least one non-empty API key")
    return keys


_STORE_SETTINGS = frozenset(
    {"keep_for", "queue_limit", "history_limit", "max_waits", "max_kept_events", "max_kept_bytes"}
)


def _store(store: EventStore | None, settings: dict[str, Any]) -> EventStore:
    """The server's store: the one given, or (deprecated) a ``MemoryStore`` of ``settings``."""
    unknown = sorted(set(settings) - _STORE_SETTINGS)
    if unknown:
        raise TypeError(f"FakeEventServer() got unexpected keyword argument(s): {unknown}")
    if store is not None and not isinstance(store, EventStore):
        raise ConfigurationError(
            f"store must be an EventStore such as MemoryStore(...), got {type(store).__name__}; "
            "for a URL (memory, redis://...) use server.store_url.store_from_url"
        )
    if not settings:
        return store or MemoryStore()
    names = ", ".join(f"{name}=" for name in sorted(settings))
    if store is not None:
        raise ConfigurationError(
            f"FakeEventServer takes a store or its settings, not both: give {names} to the "
            "store you pass as store="
        )
    warnings.warn(
        f"FakeEventServer({names}) is deprecated: pass store=MemoryStore({names}) "
        "(the store owns its settings); removed in the next minor version",
        DeprecationWarning,
        stacklevel=3,
    )
    return MemoryStore(**settings)


def _launcher(chromium: str | Callable[[], str | None] | None) -> Launcher:
    """A session's browser: ``chromium`` (a path, or what finds one when first needed)
    started for it; sessions are refused without one."""
    found: list[str | None] = []

    async def launch() -> Browser:
        if not found:
            try:  # a lookup may start a process (Playwright's driver): not on the loop
                path = await asyncio.to_thread(chromium) if callable(chromium) else chromium
            except AnchorMfaError as exc:
                raise BrowserLaunchError(str(exc)) from None
            found.append(path)
        if found[0] is None:
            raise HttpError(
                501,
                "this fake server has no Chromium for sessions: start it with chromium=PATH, "
                "or install one (Debian: apt-get install -y chromium)",
            )
        return await launch_chromium(found[0])

    return launch


def _mount_sessions(fake: FakeEventServer, store: SessionStore) -> SessionsApi:
    """Anchor's sessions on ``fake``'s app; a session's end posts ``session.completed`` (or
    ``session.failed`` when its browser died on its own)."""
    app, interventions = fake._app, fake._interventions
    api = SessionsApi(
        store,
        app.user_of,
        lambda: fake.url,
        retry_after=fake.limits.retry_after,
        max_body_bytes=app.max_body_bytes,
    )

    def ended(session: Session) -> None:
        if session.status == "failed":
            interventions.emit("session.failed", {"session_id": session.id})
        else:
            interventions.emit("session.completed", completed_data(session, fake.url, store.now()))

    store.add_listener(ended)
    app.sessions = api
    return api


class FakeSessions:
    """The fake's browser sessions, read and changed from a test's thread."""

    def __init__(self, store: SessionStore, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self.store = store
        self._run = run

    def running(self) -> list[Session]:
        """The sessions running now, every user's."""

        async def look() -> list[Session]:
            return list(self.store.all())

        result: list[Session] = self._run(look())
        return result

    def sweep(self) -> int:
        """End the sessions idle for the idle timeout now (tests move their clock first)."""
        ended: int = self._run(self.store.sweep())
        return ended


class ScheduledSignal:
    """A signal scheduled by :meth:`FakeEventServer.signal_later`; ``cancel()`` it if unneeded."""

    def __init__(self, future: concurrent.futures.Future[int]) -> None:
        self._future = future

    def cancel(self) -> bool:
        return self._future.cancel()

    def result(self, timeout: float = _HANDLE_TIMEOUT) -> int:
        """Block until the signal was made; returns how many waiters it reached."""
        return self._future.result(timeout)

    @property
    def done(self) -> bool:
        return self._future.done()


class FakeEventServer:
    """The fake events API, served on the process's runtime loop thread; a context manager.

    ``api_keys`` maps each accepted key to its user id (a plain iterable gives every key its
    own user); by default one random key is made, available as ``.api_key``. ``store`` is
    where events live, with its own settings (default: ``MemoryStore()``; e.g.
    ``store=MemoryStore(keep_for=60)``); ``limits`` are the connection limits
    (``ServerLimits``: request timeout, keep-alive, connections, header bytes); ``faults`` the
    fault injection rules (also ``.faults``). The store settings once taken here
    (``keep_for=``...) still work, deprecated, when no ``store`` is given.

    It plays Anchor's browser sessions too (``sessions``): ``chromium`` is the browser a
    session runs (a path, or a callable that finds one at the first create; none: creates are
    refused), at most ``max_sessions`` at once, each ended
    after ``session_idle_timeout`` seconds with nobody connected (on ``session_clock``).
    """

    def __init__(
        self,
        api_keys: Mapping[str, str] | Iterable[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: EventStore | None = None,
        max_timeout_ms: int = 600_000,
        max_body_bytes: int = MAX_BODY_BYTES,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        mfa_event_pattern: str = r".*(mfa|otp|2fa|code).*",
        limits: ServerLimits | None = None,
        faults: Faults | None = None,
        chromium: str | Callable[[], str | None] | None = None,
        max_sessions: int = 4,
        session_idle_timeout: float = 300.0,
        session_clock: Callable[[], float] = time.monotonic,
        **store_settings: Any,
    ) -> None:
        self._keys = _keys(api_keys)  # each part checks its own settings as it is built
        self.limits = limits or ServerLimits()
        self._store = _store(store, store_settings)
        self._app = EventsApp(
            self._store,
            self._keys,
            max_timeout_ms=max_timeout_ms,
            max_body_bytes=max_body_bytes,
            retry_after=self.limits.retry_after,
            faults=faults,
        )
        self._scheduled: set[concurrent.futures.Future[int]] = set()
        # The store's changes as they happen; wait_for_waiters waits for one after its look.
        self._changes: Recorder[tuple[str, str, str]] = Recorder(keep=1)
        self._interventions = Interventions(mfa_event_pattern, lambda: self.url)
        self._interventions.configure(webhook_url, webhook_secret)
        self._store.add_listener(self._interventions.on_change)
        self._store.add_listener(self._on_change)
        self._sessions = _mount_sessions(
            self,
            SessionStore(
                _launcher(chromium),
                max_sessions=max_sessions,
                idle_timeout=session_idle_timeout,
                clock=session_clock,
            ),
        )
        self._server = AsgiServer(
            self._app,
            host=host,
            port=port,
            name="anchor-fake-events",
            on_stop=self._close,
            limits=self.limits,
            websockets=True,
        )

    def __repr__(self) -> str:
        state = self._server.url if self._server.running else "stopped"
        return f"<FakeEventServer {state}, {len(self._keys)} key(s)>"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeEventServer:
        self._app.closing = False
        self._server.start()
        return self

    def stop(self) -> None:
        """Answer every pending wait with 503, then stop serving."""
        self._server.stop()

    def restart(self) -> None:
        """Go away and come back on the same port (a fault a real service has): pending waits
        see their connection dropped; kept signals survive, as they would in a real service."""
        self._server.restart()
        self._app.closing = False

    def __enter__(self) -> FakeEventServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _close(self) -> None:
        self._app.closing = True
        await self._sessions.stop()
        await self._store.release_all("the fake event server is shutting down")
        close = getattr(self._store, "close", None)  # a store with connections (Redis) leaves
        if close is not None:
            await close()
        await self._interventions.drain()

    @property
    def url(self) -> str:
        """Base URL to give a client (``http://127.0.0.1:<port>``)."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def api_key(self) -> str:
        """The first configured key (the generated one by default)."""
        return next(iter(self._keys))

    @property
    def api_keys(self) -> dict[str, str]:
        return dict(self._keys)

    @property
    def store(self) -> EventStore:
        return self._store

    @property
    def sessions(self) -> FakeSessions:
        """Anchor's browser sessions it runs (thread-safe): ``running()``, ``sweep()``."""
        return FakeSessions(self._sessions.store, self._run)

    @property
    def faults(self) -> Faults:
        """Fault injection rules (``faults.fail(503, count=3)``...); cleared by ``reset``."""
        return self._app.faults

    @property
    def max_timeout_ms(self) -> int:
        return self._app.max_timeout_ms

    @property
    def max_body_bytes(self) -> int:
        return self._app.max_body_bytes

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Send ``intervention.*`` webhooks to ``url``, signed with ``secret`` (None: stop)."""
        self._interventions.configure(url, secret)

    def _user(self, user: str | None) -> str:
        if user is None:
            return self._keys[self.api_key]
        if user not in self._keys.values():
            raise InvalidArgumentError(
                f"unknown user {user!r}; known users: {sorted(set(self._keys.values()))}"
            )
        return user

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run a store call on the server's loop (or here, when the server is not running)."""
        if self._server.running:
            return self._server.run(coro, timeout=_HANDLE_TIMEOUT)
        return asyncio.run(coro)

    def _on_change(self, what: str, user: str, event: str) -> None:
        self._changes.record((what, user, event))

    # -- acting as the external system (thread-safe) -----------------------------------------

    def signal(self, event: str, data: Mapping[str, Any], *, user: str | None = None) -> int:
        """Signal ``event`` now, as an external system would; returns waiters reached."""
        return self._signal_now(self._user(user), event, _payload(data))

    def _signal_now(self, owner: str, event: str, payload: bytes) -> int:
        return self._server.run(self._store.signal(owner, event, payload), _HANDLE_TIMEOUT)

    def signal_later(
        self, event: str, data: Mapping[str, Any], delay: float, *, user: str | None = None
    ) -> ScheduledSignal:
        """Signal ``event`` after ``delay`` seconds (from the server's loop; returns at once)."""
        payload, owner = _payload(data), self._user(user)
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        loop = self._server.loop

        def fire() -> None:
            if future.set_running_or_notify_cancel():
                task = loop.create_task(self._store.signal(owner, event, payload))
                task.add_done_callback(lambda t: _copy_outcome(t, future))

        def schedule() -> None:
            handle = loop.call_later(max(delay, 0.0), fire)
            future.add_done_callback(lambda f: handle.cancel() if f.cancelled() else None)

        self._track(future)
        self._server.call_soon(schedule)
        return ScheduledSignal(future)

    def signal_when_waiting(
        self,
        event: str,
        data: Mapping[str, Any],
        *,
        timeout: float = _HANDLE_TIMEOUT,
        user: str | None = None,
    ) -> ScheduledSignal:
        """Signal ``event`` as soon as someone waits on it (within ``timeout`` seconds).

        This is what an SMS relay does: the code goes out only after the login asked for it.
        Returns at once; ``.result()`` re-raises ``TimeoutError`` if nobody waited in time.
        """
        payload, owner = _payload(data), self._user(user)
        future: concurrent.futures.Future[int] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                self.wait_for_waiters(event, timeout=timeout, user=owner)
                future.set_result(self._signal_now(owner, event, payload))
            except BaseException as exc:  # handed to whoever reads the result
                future.set_exception(exc)

        self._track(future)
        threading.Thread(target=run, name=f"signal-when-waiting:{event}", daemon=True).start()
        return ScheduledSignal(future)

    def _track(self, future: concurrent.futures.Future[int]) -> None:
        self._scheduled.add(future)
        future.add_done_callback(self._scheduled.discard)

    # -- inspecting state (thread-safe) --------------------------------------------------------

    def pending_waiters(self, event: str, *, user: str | None = None) -> int:
        """How many waits are blocked on ``event`` right now."""
        return self._run(self._store.pending_waiters(self._user(user), event))

    def kept_signals(self, event: str, *, user: str | None = None) -> list[dict[str, Any]]:
        """Data of the signals kept for the next waits on ``event``, oldest first."""
        payloads = self._run(self._store.kept_payloads(self._user(user), event))
        return [json.loads(payload) for payload in payloads]

    def active_events(self, *, user: str | None = None) -> list[str]:
        """Event names that have pending waits or kept signals right now, sorted."""
        return self._run(self._store.active_events(self._user(user)))

    @property
    def history(self) -> list[SignalRecord]:
        """The signals received since start or the last :meth:`reset` (the latest
        ``history_limit``), oldest first."""
        return self._run(self._store.history())

    def wait_for_waiters(
        self,
        event: str,
        count: int = 1,
        *,
        timeout: float = _HANDLE_TIMEOUT,
        user: str | None = None,
    ) -> None:
        """Block until at least ``count`` waits are pending on ``event``; bounded by ``timeout``."""
        owner = self._user(user)
        deadline = time.monotonic() + timeout
        while True:
            # Marked before the look: a change made while the store is read (on the loop) is
            # recorded after the mark, so the wait below sees it and none is missed.
            mark = self._changes.mark()
            have = self.pending_waiters(event, user=owner)
            if have >= count:
                return
            if self._changes.wait_for(None, deadline - time.monotonic(), since=mark) is None:
                raise WaitersTimeoutError(
                    f"expected {count} pending wait(s) on event {event!r} within {timeout:g} s, "
                    f"saw {have}: is the code under test waiting on that event name?",
                    event_name=event,
                    timeout=timeout,
                )

    def reset(self) -> None:
        """Forget kept signals, history and scheduled signals; end waits still pending (503).

        The plugin calls this after every test, so nothing leaks from one test into the next.
        """
        for future in list(self._scheduled):
            future.cancel()
        self._app.faults.clear()
        self._run(self._store.reset("the fake event server was reset between tests"))
        self._interventions.clear()
        self._on_change("reset", "", "")


def _copy_outcome(task: asyncio.Task[int], future: concurrent.futures.Future[int]) -> None:
    # The future is already running (it cannot be cancelled any more): hand over the outcome.
    if task.cancelled():
        future.set_exception(concurrent.futures.CancelledError())
        return
    exc = task.exception()
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(task.result())
