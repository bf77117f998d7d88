"""Anchor's sessions API over HTTP, and the CDP endpoint on the server's root path.

``SessionsApi`` answers what the official ``anchorbrowser`` SDK calls (``sessions.py`` of
that SDK): ``POST /v1/sessions`` (create), ``GET /v1/sessions`` (the history page),
``GET /v1/sessions/all/status`` (the running ones), ``GET``/``DELETE /v1/sessions/{id}``
and ``DELETE /v1/sessions/all``, in the events API's JSON shapes and error envelope. The
HTTP request is authenticated by the server that mounts it (``http`` gets the user); the
WebSocket on ``/?apiKey=...&sessionId=...`` (what the SDK's ``browser.connect(session_id)``
builds from the base URL) is authenticated here, before any CDP byte passes: 401 for a
missing or unknown key, 403 for a session of another user, 404 for an unknown session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote

from ..errors import BrowserLaunchError
from ..runtime.asgi import (
    HttpError,
    Receive,
    Scope,
    Send,
    parse_json_object,
    read_body,
    send_json,
)
from .proxy import refuse, relay
from .store import Session, SessionsFull, SessionStore

__all__ = ["SESSIONS_PATH", "SessionsApi", "completed_data"]

_log = logging.getLogger("pytest_anchor_mfa.sessions")

SESSIONS_PATH = "/v1/sessions"
_OBJECT_FIELDS = ("session", "browser")
_LIST_FIELDS = ("identities", "integrations")
_SUCCESS = {"data": {"status": "success"}}
_SWEEP_EVERY = 1.0


def completed_data(session: Session, base_url: str, now: float) -> dict[str, Any]:
    """The ``session.completed`` webhook's data: the catalog's fields the fake can know."""
    return {
        "session_id": session.id,
        "duration_ms": round(session.duration(now) * 1000),
        "proxy_bytes": 0,  # the fake's browser uses no proxy
        # The fake does not meter its browser's own traffic: reported as none.
        "network_bytes_total": 0,
        "domains": [],
        "steps": 0,  # no AI agent either
        "end_reason": session.status,
        "session_dashboard_url": _live_view(base_url, session.id),
    }


def _live_view(base_url: str, session_id: str) -> str:
    return f"{base_url}/live/{session_id}"


def _idle_timeout(config: dict[str, Any]) -> float | None:
    """``session.timeout.idle_timeout`` (Anchor's: minutes, -1 for none) in seconds."""
    timeout = (config.get("session") or {}).get("timeout")
    if not isinstance(timeout, dict) or timeout.get("idle_timeout") is None:
        return None
    minutes = timeout["idle_timeout"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < -1:
        raise HttpError(400, "'session.timeout.idle_timeout' must be whole minutes, or -1 for none")
    return math.inf if minutes == -1 else minutes * 60.0


def _check_create_body(body: dict[str, Any] | None) -> dict[str, Any]:
    body = body or {}
    for name in _OBJECT_FIELDS:
        if name in body and not isinstance(body[name], dict):
            raise HttpError(400, f"'{name}' must be a JSON object")
    for name in _LIST_FIELDS:
        if name in body and not isinstance(body[name], list):
            raise HttpError(400, f"'{name}' must be a JSON array")
    return body


class SessionsApi:
    """The sessions routes over ``store``. ``user_of(key)`` maps an API key to its user (None:
    unknown); ``base_url()`` is the server's URL once it runs."""

    def __init__(
        self,
        store: SessionStore,
        user_of: Callable[[str], str | None],
        base_url: Callable[[], str],
        *,
        retry_after: int = 1,
        max_body_bytes: int = 1024 * 1024,
    ) -> None:
        self.store = store
        self._user_of = user_of
        self._base_url = base_url
        self._retry_after = [("retry-after", str(retry_after))]
        self._max_body_bytes = max_body_bytes
        self._sweeper: asyncio.Task[None] | None = None
        self._ended: dict[str, Session] = {}  # the latest ended sessions, for get and list
        store.add_listener(self._remember)

    @staticmethod
    def owns(path: str) -> bool:
        return path == SESSIONS_PATH or path.startswith(SESSIONS_PATH + "/")

    # -- HTTP ---------------------------------------------------------------------------------

    async def http(self, scope: Scope, receive: Receive, send: Send, user: str, key: str) -> None:
        """Answer one request under ``/v1/sessions`` for ``user``, authenticated by ``key``."""
        rest = scope["path"][len(SESSIONS_PATH) :].strip("/")
        method = scope["method"]
        if not rest and method == "POST":
            body = parse_json_object(await read_body(receive, scope, self._max_body_bytes))
            await send_json(send, 200, await self._create(user, key, _check_create_body(body)))
        elif not rest and method == "GET":
            await send_json(send, 200, self._history(user))
        elif rest == "all/status" and method == "GET":
            await send_json(send, 200, self._running(user))
        elif rest == "all" and method == "DELETE":
            for session in self.store.of_user(user):
                await self.store.end(session)
            await send_json(send, 200, _SUCCESS)
        elif rest and "/" not in rest and method in ("GET", "DELETE"):
            session = self._find(rest, user)
            if method == "GET":
                await send_json(send, 200, {"data": self._details(session)})
            else:
                if session.ended is None:
                    await self.store.end(session)
                await send_json(send, 200, _SUCCESS)
        else:
            raise HttpError(
                404,
                f"no such sessions endpoint: {method} {scope['path']}; use POST or GET "
                f"{SESSIONS_PATH}, GET or DELETE {SESSIONS_PATH}/{{id}}",
            )

    async def _create(self, user: str, key: str, config: dict[str, Any]) -> dict[str, Any]:
        self._start_sweeper()
        try:
            session = await self.store.create(user, config, _idle_timeout(config))
        except BrowserLaunchError as exc:
            raise HttpError(500, f"the fake could not start the session's browser: {exc}") from None
        except SessionsFull:
            raise HttpError(
                503,
                f"the fake runs at most {self.store.max_sessions} sessions at once; end one "
                "(DELETE /v1/sessions/{id}) or retry shortly",
                headers=self._retry_after,
            ) from None
        return {
            "data": {
                "id": session.id,
                "cdp_url": self.cdp_url(key, session.id),
                "live_view_url": _live_view(self._base_url(), session.id),
            }
        }

    def cdp_url(self, key: str, session_id: str) -> str:
        """Where a client connects Playwright: the server's root path, like Anchor's."""
        base = self._base_url().replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{base}?apiKey={quote(key, safe='')}&sessionId={session_id}"

    def _find(self, session_id: str, user: str) -> Session:
        session = self.store.get(session_id) or self._ended.get(session_id)
        if session is None or session.user != user:
            raise HttpError(404, f"no session {session_id!r} for this API key")
        return session

    def _details(self, session: Session) -> dict[str, Any]:
        return {
            "session_id": session.id,
            "status": session.status,
            "duration": math.floor(session.duration(self.store.now())),
            "created_at": session.created_at.isoformat(),
            "configuration": session.config,
            "credits_used": 0,
            "proxy_bytes": 0,
            "steps": 0,
            "playground": False,
        }

    def _history_item(self, session: Session) -> dict[str, Any]:
        return {
            "id": session.id,
            "status": session.status,
            "headless": True,
            "recording": False,
            "used_credits": "N/A" if session.ended is None else 0,
            "duration": math.floor(session.duration(self.store.now())),
            "created_at": session.created_at.isoformat(),
            "user_configuration": session.config,
            "task_initiated": False,
            "task_executions_count": 0,
            "api_key_name": "fake",
            "browser_ip": "127.0.0.1",
        }

    def _history(self, user: str) -> dict[str, Any]:
        mine = [*self.store.of_user(user), *(s for s in self._ended.values() if s.user == user)]
        mine.sort(key=lambda s: s.created_at, reverse=True)
        items = [self._history_item(s) for s in mine]
        return {"data": {"sessions": items, "total": len(items), "page": 1, "total_pages": 1}}

    def _running(self, user: str) -> dict[str, Any]:
        items = [
            {
                "session_id": s.id,
                "status": s.status,
                "tags": [],
                "created_at": s.created_at.isoformat(),
            }
            for s in self.store.of_user(user)
        ]
        return {"data": {"count": len(items), "items": items}}

    def _remember(self, session: Session) -> None:
        self._ended[session.id] = session
        while len(self._ended) > 256:
            del self._ended[next(iter(self._ended))]

    # -- the CDP WebSocket --------------------------------------------------------------------

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The CDP endpoint: authenticate from the query, then relay to the browser."""
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        refused = self._refusal(scope)
        if isinstance(refused, tuple):
            await refuse(scope, send, *refused)
            return
        session = refused
        self.store.connected(session)
        try:
            await relay(scope, receive, send, session.browser.ws_url, self._counter(session))
        finally:
            self.store.disconnected(session)

    @staticmethod
    def _counter(session: Session) -> Callable[[int], None]:
        def count(size: int) -> None:
            session.cdp_bytes += size

        return count

    def _refusal(self, scope: Scope) -> Session | tuple[int, str]:
        if scope.get("path", "/") not in ("/", ""):
            return 404, "no such WebSocket endpoint; connect to /?apiKey=...&sessionId=..."
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        keys, ids = query.get("apiKey", []), query.get("sessionId", [])
        if len(keys) > 1 or len(ids) > 1:
            return 400, "send apiKey and sessionId once each"
        user = self._user_of(keys[0]) if keys else None
        if user is None:
            what = "invalid" if keys else "missing"
            return 401, f"{what} API key: connect with ?apiKey=<your key>&sessionId=<id>"
        session = self.store.get(ids[0]) if ids else None
        if session is None:
            return 404, "no running session with that sessionId; create one (POST /v1/sessions)"
        if session.user != user:
            return 403, "that session belongs to another API key's user"
        return session

    # -- lifecycle ----------------------------------------------------------------------------

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            every = min(_SWEEP_EVERY, self.store.idle_timeout / 4)
            self._sweeper = asyncio.get_running_loop().create_task(self.store.run_sweeper(every))

    async def stop(self) -> None:
        """End every session and stop sweeping (the server is stopping)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.store.stop()
