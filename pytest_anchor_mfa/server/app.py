"""The events API over HTTP: a plain ASGI app in front of an ``EventStore``.

It owns the HTTP side of the events API (``contract``): the two routes (under ``/v1`` and
``/api/v1``), authentication (keys compared in constant time, each mapped to a user), event
names, body limits and validation, ``timeoutMs``, and every answer in the error envelope. The
rules of delivery are the store's. There are no framework objects per request: a parked wait
costs a coroutine, a future, a timer and the task that notices the client hanging up.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from ..contract import (
    API_KEY_HEADER,
    DEFAULT_TIMEOUT_MS,
    EVENTS_PATH,
    MAX_BODY_BYTES,
    MAX_EVENT_NAME_LENGTH,
    TIMEOUT_FIELD,
    WAIT_SUFFIX,
)
from ..errors import ConfigurationError
from ..runtime.asgi import (
    HttpError,
    Receive,
    Scope,
    Send,
    guard,
    parse_json_object,
    read_body,
    send_bytes,
    send_error,
    single_header,
)
from ..sessions.routes import SessionsApi
from .faults import Faults
from .injection import inject
from .store import Closed, EventStore, Overloaded

__all__ = ["EventsApp", "encode_data"]

_log = logging.getLogger("pytest_anchor_mfa.server")

_PREFIXES = (EVENTS_PATH, "/api" + EVENTS_PATH)
_KEY_HEADER = API_KEY_HEADER.encode()
_DELIVERED = b'{"data":{"status":"delivered"}}'
_QUEUED = b'{"data":{"status":"queued"}}'
_ALLOW_POST = [("allow", "POST")]


def encode_data(data: Any) -> bytes:
    """The JSON bytes a store keeps for a signal's ``data``; ValueError if not sendable."""
    # ensure_ascii=False + strict UTF-8: lone surrogates cannot be sent back, so are refused.
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _check_other_fields(body: dict[str, Any] | None, main: str) -> None:
    """What cannot be sent back (lone surrogates) must not be accepted, in any field."""
    if body is None or body.keys() <= {main}:
        return  # the main field is checked where it is used
    try:
        encode_data({k: v for k, v in body.items() if k != main})
    except (ValueError, UnicodeEncodeError):
        raise HttpError(400, "request body is not valid JSON") from None


def _signal_payload(body: dict[str, Any] | None) -> bytes:
    data = (body or {}).get("data")
    if data is None:
        raise HttpError(400, 'event data is required: send {"data": {...}}')
    if not isinstance(data, dict):
        raise HttpError(400, "'data' must be a JSON object")
    try:
        return encode_data(data)
    except (ValueError, UnicodeEncodeError):
        raise HttpError(400, "request body is not valid JSON") from None


def _not_found(path: str) -> HttpError:
    return HttpError(
        404,
        f"no such endpoint {path!r}; use POST /v1/events/{{event_name}} "
        "or POST /v1/events/{event_name}/wait (event names cannot contain '/')",
    )


def route(path: str) -> tuple[str, str] | None:
    """``("signal"|"wait", event)`` for a decoded path, None when it is no endpoint."""
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            kind = "signal"
            if rest.endswith(WAIT_SUFFIX):
                rest, kind = rest[: -len(WAIT_SUFFIX)], "wait"
            if rest and "/" not in rest:
                return kind, rest
            return None
    return None


class EventsApp:
    """The ASGI app. ``keys`` maps each accepted API key to its user id."""

    def __init__(
        self,
        store: EventStore,
        keys: Mapping[str, str],
        *,
        max_timeout_ms: int = 600_000,
        max_body_bytes: int = MAX_BODY_BYTES,
        retry_after: int = 1,
        faults: Faults | None = None,
    ) -> None:
        if max_timeout_ms < 0 or max_body_bytes < 1:
            raise ConfigurationError(
                f"max_timeout_ms must be >= 0 and max_body_bytes >= 1, got {max_timeout_ms!r} "
                f"and {max_body_bytes!r}"
            )
        self.store = store
        self.retry_after = retry_after
        self._retry_after = [("retry-after", str(retry_after))]
        self.faults = faults or Faults()
        self._keys = [(key.encode(), user) for key, user in keys.items()]
        self.max_timeout_ms = max_timeout_ms
        self.max_body_bytes = max_body_bytes
        self.closing = False
        self.sessions: SessionsApi | None = None
        """Anchor's sessions routes and CDP endpoint, when the server plays them too."""
        self._guarded = guard(self._dispatch, _log, "fake event server")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.sessions is not None and not self.closing:
                await self.sessions.websocket(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self._guarded(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.sessions is not None and self.sessions.owns(scope["path"]):
            if self.closing:
                raise HttpError(503, "the fake event server is shutting down")
            user = self._authenticate(scope)
            key = single_header(scope, _KEY_HEADER) or ""
            await self.sessions.http(scope, receive, send, user, key)
            return
        found = route(scope["path"])
        if found is None:
            raise _not_found(scope["path"])
        if scope["method"] != "POST":
            raise HttpError(
                405,
                f"method {scope['method']} is not allowed here; use POST",
                headers=_ALLOW_POST,
            )
        kind, event = found
        if self.closing:
            raise HttpError(503, "the fake event server is shutting down")
        user = self._authenticate(scope)
        self._check_name(scope, event)
        body = parse_json_object(await read_body(receive, scope, self.max_body_bytes))
        _check_other_fields(body, "data" if kind == "signal" else "timeoutMs")
        timeout_ms = self._timeout_ms(body) if kind == "wait" else 0
        if self.faults.active and (drawn := self.faults.take(kind, event)):
            injected = await inject(
                drawn, receive, send, lambda d: self._later(user, event, body, d)
            )
            if injected.answered:
                return
            send = injected.send
            if injected.max_wait_ms is not None:
                timeout_ms = min(timeout_ms, injected.max_wait_ms)
        if kind == "signal":
            delivered = await self.store.signal(user, event, _signal_payload(body))
            await send_bytes(send, 200, _DELIVERED if delivered else _QUEUED)
            return
        body = None  # not kept alive by a parked wait
        # Parked here, not in a helper: a long poll keeps its whole stack alive while it waits.
        # With the body read, the next ASGI message can only be the client's disconnect.
        try:
            result = await self.store.wait(user, event, timeout_ms / 1000, receive)
        except Overloaded:
            raise HttpError(
                503,
                "too many waits are pending on this server; retry shortly",
                headers=self._retry_after,
            ) from None
        if isinstance(result, bytes):
            await send_bytes(send, 200, b'{"data":' + result + b"}")
        elif isinstance(result, Closed):  # stopping, reset, or the store went away: retry
            await send_error(send, 503, result.reason, headers=self._retry_after)
        else:
            await send_error(send, 408, f"event {event!r} was not signaled within {timeout_ms} ms")

    def _authenticate(self, scope: Scope) -> str:
        given = single_header(scope, _KEY_HEADER)
        if not given:
            raise HttpError(401, "missing API key: send it in the 'anchor-api-key' header")
        user = self.user_of(given)
        if user is None:
            raise HttpError(401, "invalid API key")
        return user

    def user_of(self, key: str) -> str | None:
        """The user whose API key ``key`` is, None if no key matches."""
        given_bytes = key.encode("latin-1", "replace")
        user = None
        for known, owner in self._keys:
            # Compare against every key, without stopping early, so timing tells nothing.
            if hmac.compare_digest(known, given_bytes):
                user = owner
        return user

    @staticmethod
    def _check_name(scope: Scope, event: str) -> None:
        # The path was decoded, so "%2F" already became "/": "a%2Fwait" would be routed as a
        # wait on "a". A name cannot hold "/", encoded or not.
        if b"%2f" in bytes(scope.get("raw_path") or b"").lower():
            raise HttpError(404, "event names cannot contain '/' (encoded as %2F or not)")
        if len(event) > MAX_EVENT_NAME_LENGTH:
            raise HttpError(400, f"event name must be 1 to {MAX_EVENT_NAME_LENGTH} characters long")

    def _later(self, user: str, event: str, body: dict[str, Any] | None, delay: float) -> None:
        """A signal accepted now and delivered ``delay`` seconds later (a fault)."""
        payload = _signal_payload(body)
        loop = asyncio.get_running_loop()
        signal = self.store.signal
        loop.call_later(delay, lambda: loop.create_task(signal(user, event, payload)))

    def _timeout_ms(self, body: dict[str, Any] | None) -> int:
        if body is None or TIMEOUT_FIELD not in body:
            return min(DEFAULT_TIMEOUT_MS, self.max_timeout_ms)
        value = body[TIMEOUT_FIELD]
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "a boolean" if isinstance(value, bool) else type(value).__name__
            raise HttpError(
                400,
                f"'timeoutMs' must be an integer from 0 to {self.max_timeout_ms}, got {kind}",
            )
        if not 0 <= value <= self.max_timeout_ms:
            raise HttpError(
                400, f"'timeoutMs' must be from 0 to {self.max_timeout_ms}, got {value}"
            )
        return value
