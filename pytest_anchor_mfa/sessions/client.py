"""Create and end Anchor browser sessions: on Anchor (``https://api.anchorbrowser.io``) or a fake.

``SessionsClient.create(config)`` posts ``config`` (Anchor's create body: ``session``,
``browser``, ``identities``...) to ``POST /v1/sessions`` and returns an ``AnchorSession``;
``end(id)`` deletes it. A refusal is a ``SessionError`` of one line naming the status and what
to do (401 key, 402 credits, 429 quota, 5xx service). Only a 502/503/504 is retried, a few
times within seconds, honouring ``Retry-After`` (the fake's "too many sessions" is one). A
refused create is remembered: the next ``create`` raises the same error without asking again,
so a run of N tests does not start N creates that fail alike. The client keeps the sessions
it started and did not end: ``end_all()`` ends them (a run that stops, Ctrl-C included).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from ..contract import API_KEY_HEADER
from ..errors import SessionError
from ..redact import mask_key, shorten
from ..retry import RetryPolicy

__all__ = ["AnchorSession", "SessionsClient", "mask_cdp_url"]

_API_KEY_PARAM = re.compile(r"(?i)([?&]apiKey=)([^&#]*)")
_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.5, backoff_max=3.0)
_STATUS_HINTS = {
    401: "Anchor refused the API key: check ANCHOR_API_KEY (or --anchor-api-key)",
    402: "the Anchor account has no credits left for a session: top up, or run with "
    "--anchor-browser local",
    403: "the API key may not create sessions: check its permissions in Anchor's dashboard",
    429: "Anchor's limit of concurrent sessions or requests is reached: end running sessions, "
    "run fewer workers (-n), or use --anchor-session-scope worker",
}


def mask_cdp_url(url: str) -> str:
    """``url`` with its ``apiKey`` query parameter masked (``apiKey=sk-…1234``)."""
    return _API_KEY_PARAM.sub(lambda m: m[1] + mask_key(unquote(m[2])), url)


@dataclass(frozen=True)
class AnchorSession:
    """A running browser session. ``cdp_url`` carries the API key: masked in the repr."""

    id: str
    cdp_url: str = field(repr=False)
    live_view_url: str

    def __repr__(self) -> str:
        return (
            f"AnchorSession(id={self.id!r}, live_view_url={self.live_view_url!r}, "
            f"cdp_url={mask_cdp_url(self.cdp_url)!r})"
        )


def _message(status: int, body: str) -> str:
    hint = _STATUS_HINTS.get(status)
    if hint is None:
        hint = (
            "Anchor's sessions API failed; retry later, or run with --anchor-browser local"
            if status >= 500
            else "the create body (anchor_session_config) was refused; fix it"
        )
    return f"HTTP {status}: {hint} ({shorten(body, 160)})"


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("message") or response.text)
    except (ValueError, AttributeError):
        return response.text


class SessionsClient:
    """Anchor's sessions API at ``base_url`` with ``api_key``; a context manager."""

    def __init__(self, api_key: str, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers={API_KEY_HEADER: api_key}, timeout=timeout
        )
        self._masked = mask_key(api_key)
        self._rng = random.Random()
        self.refused: SessionError | None = None
        """The first refused create, raised again by every later ``create``."""
        self.running: dict[str, AnchorSession] = {}

    def __repr__(self) -> str:
        return f"<SessionsClient {self.base_url} key {self._masked}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SessionsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        for attempt in range(1, _RETRY.max_attempts + 1):
            try:
                response = self._http.request(method, path, json=body)
            except httpx.HTTPError as exc:
                raise SessionError(
                    f"no answer from Anchor's sessions API at {self.base_url} "
                    f"({type(exc).__name__}); check the base URL and the network"
                ) from None
            retryable = response.status_code in _RETRY.retry_statuses - {429}
            if not retryable or attempt == _RETRY.max_attempts:
                return response
            after = response.headers.get("retry-after", "")
            pause = float(after) if after.isdigit() else _RETRY.delay(attempt, self._rng)
            time.sleep(min(pause, _RETRY.backoff_max))
        raise AssertionError("unreachable")  # pragma: no cover

    def create(self, config: dict[str, Any] | None = None) -> AnchorSession:
        """Start a session with ``config`` as the create body; ``SessionError`` if refused."""
        if self.refused is not None:
            raise self.refused
        response = self._send("POST", "/v1/sessions", config or {})
        if response.status_code != 200:
            self.refused = SessionError(
                f"creating an Anchor session failed: "
                f"{_message(response.status_code, _error_text(response))}",
                status_code=response.status_code,
            )
            raise self.refused
        data = response.json().get("data") or {}
        if not all(isinstance(data.get(k), str) for k in ("id", "cdp_url")):
            raise SessionError(
                f"Anchor's create answer has no session id or cdp_url: {shorten(data, 120)}",
                status_code=200,
            )
        session = AnchorSession(data["id"], data["cdp_url"], str(data.get("live_view_url") or ""))
        self.running[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        """End the session (a session already gone is fine); ``SessionError`` if refused."""
        response = self._send("DELETE", f"/v1/sessions/{session_id}")
        self.running.pop(session_id, None)
        if response.status_code not in (200, 404):
            raise SessionError(
                f"ending Anchor session {session_id} failed: "
                f"{_message(response.status_code, _error_text(response))}",
                status_code=response.status_code,
            )

    def end_all(self) -> list[SessionError]:
        """End every session this client started and did not end; the failures, if any."""
        failures = []
        for session_id in list(self.running):
            try:
                self.end(session_id)
            except SessionError as exc:
                failures.append(exc)
        return failures
