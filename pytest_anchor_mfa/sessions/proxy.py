"""The CDP WebSocket proxy: one ASGI WebSocket from a client, one to the session's browser.

The server side is uvicorn's WebSocket protocol (the ``websockets`` library underneath), the
browser side the ``websockets`` client: no framing of our own. A refused connection is answered
with an HTTP status and our error envelope *before* the handshake completes (the ASGI
``websocket.http.response`` extension; a plain close, which clients see as 403, where the
server lacks it), so not one CDP byte passes for a bad key or an unknown session. Messages are
passed through unchanged, text as text and binary as binary, until either side closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from ..runtime.asgi import Receive, Scope, Send, error_body

__all__ = ["MAX_MESSAGE_BYTES", "refuse", "relay"]

_log = logging.getLogger("pytest_anchor_mfa.sessions")

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
"""Largest CDP message passed (a full-page screenshot of a big page is tens of MiB)."""

_JSON = [(b"content-type", b"application/json")]


async def refuse(
    scope: Scope, send: Send, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Refuse the handshake with ``status`` and the error envelope (no WebSocket opened)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = error_body(status, message)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [*_JSON, *headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # pragma: no cover - uvicorn's WebSocket protocols all have the extension
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})


async def _to_browser(
    receive: Receive, upstream: ClientConnection, count: Callable[[int], None]
) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.disconnect":
            return
        if kind != "websocket.receive":
            continue
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        count(len(data))
        await upstream.send(data)


async def _to_client(upstream: ClientConnection, send: Send, count: Callable[[int], None]) -> None:
    async for data in upstream:
        count(len(data))
        if isinstance(data, str):
            await send({"type": "websocket.send", "text": data})
        else:
            await send({"type": "websocket.send", "bytes": data})


async def relay(
    scope: Scope,
    receive: Receive,
    send: Send,
    browser_url: str,
    count: Callable[[int], None] = lambda _: None,
) -> None:
    """Open ``browser_url``, accept the client, and pass messages both ways until one side
    closes, then close the other. ``count(n)`` is told the size of every message passed."""
    try:
        upstream = await connect(
            browser_url,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,  # loopback to a local browser: nothing to keep alive
            compression=None,
            open_timeout=10,
        )
    except (OSError, WebSocketException, TimeoutError) as exc:
        _log.warning("cannot reach the session's browser: %s", exc)
        await refuse(scope, send, 502, "the session's browser is not reachable; create a new one")
        return
    await send({"type": "websocket.accept"})
    async with upstream:
        tasks = [
            asyncio.ensure_future(_to_browser(receive, upstream, count)),
            asyncio.ensure_future(_to_client(upstream, send, count)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None and not isinstance(error, ConnectionClosed | OSError):
                    _log.warning("CDP proxy: %r", error)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(Exception):  # the client may have gone already
        await send({"type": "websocket.close", "code": 1000})
