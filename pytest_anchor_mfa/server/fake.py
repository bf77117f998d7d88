"""An in-process fake of the events API, over real HTTP on a loopback port.

It implements ``../shared/spec/events-api.md``, including the "Decided here" rules:

* a signal that finds waiters is delivered to all of them and not kept; one that finds none is
  kept (FIFO per user and event, each consumed by one wait, expiring after ``keep_for``
  seconds, at most ``queue_limit`` kept: the oldest is dropped and the drop logged);
* ``timeoutMs`` is an integer in ``0..max_timeout_ms``; ``0`` returns a kept signal or 408 at once;
* bad input is answered 400/401/404/405/413 with the error envelope, never 500;
* keys are compared in constant time and map to users: keys of one user share events;
* a waiter whose client hangs up is forgotten, so it cannot swallow a signal;
* on shutdown every pending wait is answered 503;
* with ``webhook_url`` set, a wait that starts on an MFA event (name matching
  ``mfa_event_pattern``) posts a signed ``intervention.requested`` webhook, and the signal that
  answers it posts ``intervention.resolved``, as the real agent does when it needs a human.

Long polls are asyncio futures on the server's loop: a waiter costs no thread.

>>> with FakeEventServer() as server:
...     server.url, server.api_key            # point an EventsClient at these
...     server.signal("mfa_code", {"code": "123456"})   # act as the external system
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import ConfigurationError
from ..events.models import DEFAULT_TIMEOUT_MS, MAX_EVENT_NAME_LENGTH, ErrorEnvelope
from ..serving import BackgroundServer
from ..webhooks.sender import WebhookSender

__all__ = ["FakeEventServer", "ScheduledSignal", "SignalRecord"]

_log = logging.getLogger("pytest_anchor_mfa.fake_server")

MAX_BODY_BYTES = 1024 * 1024
_HANDLE_TIMEOUT = 10.0


class _Shutdown:
    """Result given to pending waits when the server stops or is reset."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True)
class SignalRecord:
    """One signal the server received (over HTTP or from the Python handle)."""

    user: str
    event: str
    data: dict[str, Any] = field(repr=False)  # may hold an MFA code: keep it out of reports
    delivered_to: int
    """How many waiters got it; 0 means it was kept for the next wait."""
    at: float


@dataclass
class _Kept:
    data: dict[str, Any]
    expires: float


@dataclass
class _Channel:
    """What the server holds for one (user, event)."""

    waiters: set[asyncio.Future[dict[str, Any] | _Shutdown]] = field(default_factory=set)
    kept: deque[_Kept] = field(default_factory=deque)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(ErrorEnvelope.of(status, message).model_dump(), status_code=status)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.response = _error(status, message)
        super().__init__(message)


def _copy_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep, JSON-only copy, so later mutation by a caller cannot change a kept signal."""
    try:
        copied = json.loads(json.dumps(data))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"signal data must be JSON-serialisable: {exc}") from None
    if not isinstance(copied, dict):
        raise ConfigurationError("signal data must be a JSON object (a mapping)")
    return copied


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


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
    """The fake events API, served from a background thread; a context manager.

    ``api_keys`` maps each accepted key to its user id (a plain iterable gives every key its
    own user); by default one random key is made, available as ``.api_key``.
    """

    def __init__(
        self,
        api_keys: Mapping[str, str] | Iterable[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_for: float = 600.0,
        queue_limit: int = 100,
        max_timeout_ms: int = 600_000,
        max_body_bytes: int = MAX_BODY_BYTES,
        history_limit: int = 10_000,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        mfa_event_pattern: str = r".*(mfa|otp|2fa|code).*",
    ) -> None:
        if api_keys is None:
            keys: dict[str, str] = {f"sk-fake-{secrets.token_hex(12)}": "user-1"}
        elif isinstance(api_keys, Mapping):
            keys = dict(api_keys)
        else:
            keys = {key: f"user-{i}" for i, key in enumerate(api_keys, start=1)}
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ConfigurationError("FakeEventServer needs at least one non-empty API key")
        if (
            keep_for <= 0
            or queue_limit < 1
            or max_timeout_ms < 0
            or max_body_bytes < 1
            or history_limit < 1
        ):
            raise ConfigurationError(
                "keep_for must be > 0, queue_limit, max_body_bytes and history_limit >= 1, "
                "max_timeout_ms >= 0"
            )
        self._keys = keys
        self.keep_for = keep_for
        self.queue_limit = queue_limit
        self.max_timeout_ms = max_timeout_ms
        self.max_body_bytes = max_body_bytes
        self._channels: dict[tuple[str, str], _Channel] = {}
        # Bounded, so a long-running ``anchor-mfa serve`` does not grow without end.
        self._history: deque[SignalRecord] = deque(maxlen=history_limit)
        self._scheduled: set[concurrent.futures.Future[int]] = set()
        self._changed = threading.Condition()
        self._closing = False
        self._webhooks: WebhookSender | None = None
        self.set_webhook(webhook_url, webhook_secret)
        self._mfa_event = re.compile(mfa_event_pattern, re.IGNORECASE)
        self._interventions: dict[tuple[str, str], str] = {}
        self._webhook_tasks: set[asyncio.Task[Any]] = set()
        self._server = BackgroundServer(
            self._build_app(), host=host, port=port, name="anchor-fake-events", on_stop=self._close
        )

    def __repr__(self) -> str:
        state = self._server.url if self._server.running else "stopped"
        return f"<FakeEventServer {state}, {len(self._keys)} key(s)>"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeEventServer:
        self._closing = False
        self._server.start()
        return self

    def stop(self) -> None:
        """Answer every pending wait with 503, then stop serving."""
        self._server.stop()

    def __enter__(self) -> FakeEventServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Send ``intervention.*`` webhooks to ``url``, signed with ``secret`` (None: stop)."""
        if url is None:
            self._webhooks = None
            return
        if not secret:
            raise ConfigurationError("a webhook URL needs a secret to sign deliveries")
        self._webhooks = WebhookSender(url, secret)

    def _user(self, user: str | None) -> str:
        if user is None:
            return self._keys[self.api_key]
        if user not in self._keys.values():
            raise ConfigurationError(
                f"unknown user {user!r}; known users: {sorted(set(self._keys.values()))}"
            )
        return user

    # -- acting as the external system (thread-safe) -----------------------------------------

    def signal(self, event: str, data: Mapping[str, Any], *, user: str | None = None) -> int:
        """Signal ``event`` now, as an external system would; returns waiters reached."""
        payload, owner = _copy_json(data), self._user(user)
        return self._server.run(self._async_signal(owner, event, payload))

    def signal_later(
        self, event: str, data: Mapping[str, Any], delay: float, *, user: str | None = None
    ) -> ScheduledSignal:
        """Signal ``event`` after ``delay`` seconds (from the server's loop; returns at once)."""
        payload, owner = _copy_json(data), self._user(user)
        future: concurrent.futures.Future[int] = concurrent.futures.Future()

        def fire() -> None:
            if future.set_running_or_notify_cancel():
                future.set_result(self._deliver(owner, event, payload))

        def schedule() -> None:
            handle = self._server.loop.call_later(max(delay, 0.0), fire)
            future.add_done_callback(lambda f: handle.cancel() if f.cancelled() else None)

        self._scheduled.add(future)
        future.add_done_callback(self._scheduled.discard)
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
        payload, owner = _copy_json(data), self._user(user)
        future: concurrent.futures.Future[int] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                self.wait_for_waiters(event, timeout=timeout, user=owner)
                future.set_result(self.signal(event, payload, user=owner))
            except BaseException as exc:  # handed to whoever reads the result
                future.set_exception(exc)

        self._scheduled.add(future)
        future.add_done_callback(self._scheduled.discard)
        threading.Thread(target=run, name=f"signal-when-waiting:{event}", daemon=True).start()
        return ScheduledSignal(future)

    # -- inspecting state (thread-safe) --------------------------------------------------------

    def pending_waiters(self, event: str, *, user: str | None = None) -> int:
        """How many waits are blocked on ``event`` right now."""
        owner = self._user(user)
        with self._changed:
            channel = self._channels.get((owner, event))
            return len(channel.waiters) if channel else 0

    def kept_signals(self, event: str, *, user: str | None = None) -> list[dict[str, Any]]:
        """Data of the signals kept for the next waits on ``event``, oldest first."""
        owner = self._user(user)
        now = time.monotonic()
        with self._changed:
            channel = self._channels.get((owner, event))
            kept = list(channel.kept) if channel else []
        return [_copy_json(k.data) for k in kept if k.expires > now]

    def active_events(self, *, user: str | None = None) -> list[str]:
        """Event names that have pending waits or kept signals right now, sorted."""
        owner = self._user(user)
        with self._changed:
            return sorted(event for (who, event) in self._channels if who == owner)

    @property
    def history(self) -> list[SignalRecord]:
        """The signals received since start or the last :meth:`reset` (the latest
        ``history_limit``), oldest first."""
        with self._changed:
            return list(self._history)

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

        def enough() -> bool:
            channel = self._channels.get((owner, event))
            return channel is not None and len(channel.waiters) >= count

        with self._changed:
            if not self._changed.wait_for(enough, timeout):
                channel = self._channels.get((owner, event))
                have = len(channel.waiters) if channel else 0
                raise TimeoutError(
                    f"expected {count} pending wait(s) on event {event!r} within {timeout:g} s, "
                    f"saw {have}: is the code under test waiting on that event name?"
                )

    def reset(self) -> None:
        """Forget kept signals, history and scheduled signals; end waits still pending (503).

        The plugin calls this after every test, so nothing leaks from one test into the next.
        """
        for future in list(self._scheduled):
            future.cancel()
        if self._server.running:
            self._server.run(self._release_all("the fake server was reset between tests"))
        with self._changed:
            self._channels.clear()
            self._history.clear()
            self._interventions.clear()
            self._changed.notify_all()

    # -- on the server's loop ------------------------------------------------------------------

    async def _async_signal(self, user: str, event: str, data: dict[str, Any]) -> int:
        return self._deliver(user, event, data)

    def _deliver(self, user: str, event: str, data: dict[str, Any]) -> int:
        with self._changed:
            channel = self._channels.setdefault((user, event), _Channel())
            waiters = [w for w in channel.waiters if not w.done()]
            channel.waiters.clear()
            for waiter in waiters:
                waiter.set_result(data)
            intervention = self._interventions.pop((user, event), None) if waiters else None
            if not waiters:
                now = time.monotonic()
                self._expire(channel, now)
                channel.kept.append(_Kept(data, now + self.keep_for))
                if len(channel.kept) > self.queue_limit:
                    channel.kept.popleft()
                    _log.warning(
                        "event %r: more than %d kept signals, dropped the oldest",
                        event,
                        self.queue_limit,
                    )
            self._drop_if_empty(user, event, channel)
            self._history.append(SignalRecord(user, event, data, len(waiters), time.time()))
            self._changed.notify_all()
        if intervention is not None:
            self._emit("intervention.resolved", {"intervention_id": intervention, "event": event})
        return len(waiters)

    def _open_intervention(self, user: str, event: str) -> None:
        """A wait parked on an MFA event: tell the webhook receiver a human is needed."""
        if self._webhooks is None or not self._mfa_event.fullmatch(event):
            return
        with self._changed:
            if (user, event) in self._interventions:
                return  # one intervention per pending MFA step, however many waiters
            intervention = f"int_{uuid.uuid4().hex[:16]}"
            self._interventions[(user, event)] = intervention
        data = {
            "intervention_id": intervention,
            "event": event,
            "reason": "mfa",
            "live_view_url": f"{self.url}/live/{intervention}",
        }
        self._emit("intervention.requested", data)

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        # Sent in the background, in order per event: a slow receiver never delays a wait.
        sender = self._webhooks
        if sender is None:
            return
        task = asyncio.get_running_loop().create_task(sender.send_async(event_type, data))
        self._webhook_tasks.add(task)
        task.add_done_callback(self._webhook_tasks.discard)

    @staticmethod
    def _expire(channel: _Channel, now: float) -> None:
        while channel.kept and channel.kept[0].expires <= now:
            channel.kept.popleft()

    def _take_kept(self, user: str, event: str) -> dict[str, Any] | None:
        with self._changed:
            channel = self._channels.get((user, event))
            if channel is None:
                return None
            self._expire(channel, time.monotonic())
            data = channel.kept.popleft().data if channel.kept else None
            self._drop_if_empty(user, event, channel)
            return data

    def _drop_if_empty(self, user: str, event: str, channel: _Channel) -> None:
        # Forget idle (user, event) pairs: a server that sees many event names stays small.
        if not channel.waiters and not channel.kept:
            self._channels.pop((user, event), None)

    def _add_waiter(
        self, user: str, event: str, waiter: asyncio.Future[dict[str, Any] | _Shutdown]
    ) -> None:
        with self._changed:
            self._channels.setdefault((user, event), _Channel()).waiters.add(waiter)
            self._changed.notify_all()

    def _remove_waiter(
        self, user: str, event: str, waiter: asyncio.Future[dict[str, Any] | _Shutdown]
    ) -> None:
        with self._changed:
            channel = self._channels.get((user, event))
            if channel is not None:
                channel.waiters.discard(waiter)
                self._drop_if_empty(user, event, channel)
            self._changed.notify_all()

    async def _release_all(self, reason: str) -> None:
        with self._changed:
            waiters = [w for channel in self._channels.values() for w in channel.waiters]
            for channel in self._channels.values():
                channel.waiters.clear()
            self._changed.notify_all()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(_Shutdown(reason))
        # Let the handlers send their 503 before the caller goes on.
        await asyncio.sleep(0)

    async def _close(self) -> None:
        self._closing = True
        await self._release_all("the fake event server is shutting down")
        if self._webhook_tasks:
            await asyncio.wait(set(self._webhook_tasks), timeout=_HANDLE_TIMEOUT)

    # -- HTTP ----------------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        routes = []
        for prefix in ("/v1/events", "/api/v1/events"):
            routes.append(Route(prefix + "/{event}", self._handle_signal, methods=["POST"]))
            routes.append(Route(prefix + "/{event}/wait", self._handle_wait, methods=["POST"]))

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            if exc.status_code == 405:
                message = f"method {request.method} is not allowed here; use POST"
            elif exc.status_code == 404:
                message = (
                    f"no such endpoint {request.url.path!r}; use POST /v1/events/{{event_name}} "
                    "or POST /v1/events/{event_name}/wait (event names cannot contain '/')"
                )
            else:
                message = exc.detail
            return _error(exc.status_code, message)

        async def unexpected(request: Request, exc: Exception) -> Response:
            _log.exception("fake event server: unexpected error")
            return _error(500, f"internal error in the fake server: {type(exc).__name__}")

        app = Starlette(
            routes=routes, exception_handlers={HTTPException: http_error, Exception: unexpected}
        )
        # A trailing slash is part of an (invalid) event name: answer 404, not a 307 redirect.
        app.router.redirect_slashes = False
        return app

    def _authenticate(self, request: Request) -> str:
        given = request.headers.get("anchor-api-key")
        if not given:
            raise _BadRequest(401, "missing API key: send it in the 'anchor-api-key' header")
        given_bytes = given.encode("utf-8", "surrogateescape")
        user = None
        for key, owner in self._keys.items():
            # Compare against every key, without stopping early, so timing tells nothing.
            if hmac.compare_digest(key.encode(), given_bytes):
                user = owner
        if user is None:
            raise _BadRequest(401, "invalid API key")
        return user

    def _event_name(self, request: Request) -> str:
        # The router matched the decoded path, where "%2F" already became "/": "a%2Fwait"
        # would be routed as a wait on "a". A name cannot hold "/", encoded or not.
        if b"%2f" in bytes(request.scope.get("raw_path") or b"").lower():
            raise _BadRequest(404, "event names cannot contain '/' (encoded as %2F or not)")
        event = str(request.path_params["event"])
        if not event or len(event) > MAX_EVENT_NAME_LENGTH:
            raise _BadRequest(
                400, f"event name must be 1 to {MAX_EVENT_NAME_LENGTH} characters long"
            )
        return event

    async def _json_body(self, request: Request) -> Any:
        """The parsed JSON body, or ``None`` for an empty one."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _BadRequest(413, f"request body is over {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BadRequest(413, f"request body is over {self.max_body_bytes} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return None
        try:
            parsed = json.loads(raw, parse_constant=_reject_constant)
            # What cannot be sent back (lone surrogates) must not be accepted and kept.
            json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
            return parsed
        except (ValueError, RecursionError):
            raise _BadRequest(400, "request body is not valid JSON") from None

    async def _prologue(self, request: Request) -> tuple[str, str, Any]:
        if self._closing:
            raise _BadRequest(503, "the fake event server is shutting down")
        user = self._authenticate(request)
        event = self._event_name(request)
        body = await self._json_body(request)
        if body is not None and not isinstance(body, dict):
            raise _BadRequest(400, "request body must be a JSON object")
        return user, event, body

    async def _handle_signal(self, request: Request) -> Response:
        try:
            user, event, body = await self._prologue(request)
            data = (body or {}).get("data")
            if data is None:
                raise _BadRequest(400, 'event data is required: send {"data": {...}}')
            if not isinstance(data, dict):
                raise _BadRequest(400, "'data' must be a JSON object")
        except _BadRequest as bad:
            return bad.response
        delivered = self._deliver(user, event, data)
        return JSONResponse({"data": {"status": "delivered" if delivered else "queued"}})

    def _timeout_ms(self, body: dict[str, Any] | None) -> int:
        if body is None or "timeoutMs" not in body:
            return min(DEFAULT_TIMEOUT_MS, self.max_timeout_ms)
        value = body["timeoutMs"]
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "a boolean" if isinstance(value, bool) else type(value).__name__
            raise _BadRequest(
                400,
                f"'timeoutMs' must be an integer from 0 to {self.max_timeout_ms}, got {kind}",
            )
        if not 0 <= value <= self.max_timeout_ms:
            raise _BadRequest(
                400, f"'timeoutMs' must be from 0 to {self.max_timeout_ms}, got {value}"
            )
        return value

    async def _handle_wait(self, request: Request) -> Response:
        try:
            user, event, body = await self._prologue(request)
            timeout_ms = self._timeout_ms(body)
        except _BadRequest as bad:
            return bad.response
        kept = self._take_kept(user, event)
        if kept is not None:
            return JSONResponse({"data": kept})
        if timeout_ms > 0:
            result = await self._park(request, user, event, timeout_ms / 1000)
            if isinstance(result, _Shutdown):
                return _error(503, result.reason)
            if result is not None:
                return JSONResponse({"data": result})
        return _error(408, f"event {event!r} was not signaled within {timeout_ms} ms")

    async def _park(
        self, request: Request, user: str, event: str, timeout: float
    ) -> dict[str, Any] | _Shutdown | None:
        """Wait for a signal, the timeout or the client hanging up (None for the latter two)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[dict[str, Any] | _Shutdown] = loop.create_future()
        # With the body read, the next ASGI message can only be the client's disconnect.
        hang_up: asyncio.Future[Any] = asyncio.ensure_future(request.receive())
        self._add_waiter(user, event, waiter)
        self._open_intervention(user, event)
        try:
            await asyncio.wait({waiter, hang_up}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            self._remove_waiter(user, event, waiter)
            hang_up.cancel()
        # A signal that raced the timeout still counts: check the waiter first.
        return waiter.result() if waiter.done() and not waiter.cancelled() else None
