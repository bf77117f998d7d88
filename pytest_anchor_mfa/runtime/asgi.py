"""The one HTTP layer of our servers: raw ASGI requests and responses, errors in one envelope.

Used by the fake events API, the webhook receiver, the inbound adapters and the demo app, so
that all of them read bodies, refuse bad requests and report errors the same way:

* ``read_body`` reads at most ``limit`` bytes; past it, the rest is still read and dropped (up to
  ``drain_limit``) so that a client that writes its whole body before reading gets the 413
  rather than a broken pipe;
* ``single_header`` returns a header's value and refuses one that is sent twice (two API keys
  or two signatures must never be resolved silently to one of them);
* ``HttpError`` carries a status, a message and extra envelope fields;
  ``error_body`` renders ``{"error": {"code": <status>, "message": ..., ...}}``;
* ``guard`` wraps an ASGI app: an ``HttpError`` becomes its envelope, a client that hangs up is
  logged at INFO in one line, anything else is logged with its traceback and answered 500.

No framework objects on the hot path: a request is the ASGI ``scope`` and its two callables.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

__all__ = [
    "MAX_BODY_BYTES",
    "AsgiApp",
    "ClientGone",
    "HttpError",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "answer_error",
    "error_body",
    "guard",
    "parse_json_object",
    "read_body",
    "send_bytes",
    "send_error",
    "send_json",
    "single_header",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
"""The default body limit of every server in the package (1 MiB)."""
DRAIN_FACTOR = 16
"""An oversized body is read and dropped up to this many times the limit, then cut off."""

_JSON = [(b"content-type", b"application/json")]


class HttpError(Exception):
    """A request refused with ``status``; ``extra`` goes into the error envelope beside
    ``code`` and ``message`` (the webhook receiver adds ``reason``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        **extra: Any,
    ) -> None:
        self.status = status
        self.message = message
        self.headers = list(headers)
        self.extra = extra
        super().__init__(f"HTTP {status}: {message}")


class ClientGone(Exception):
    """The client hung up before its request was read in full; nobody is left to answer."""


def error_body(status: int, message: str, **extra: Any) -> bytes:
    """``{"error": {"code": status, "message": message, **extra}}`` as JSON bytes."""
    return json.dumps({"error": {"code": status, "message": message, **extra}}).encode()


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: Iterable[tuple[bytes, bytes]] = _JSON,
) -> None:
    """One complete response: status line, headers (content-length added), body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: Any) -> None:
    await send_bytes(send, status, json.dumps(payload, ensure_ascii=False).encode())


async def send_error(
    send: Send,
    status: int,
    message: str,
    *,
    headers: Iterable[tuple[str, str]] = (),
    **extra: Any,
) -> None:
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send_bytes(send, status, error_body(status, message, **extra), [*_JSON, *encoded])


def single_header(scope: Scope, name: bytes, **extra: Any) -> str | None:
    """The value of header ``name`` (lower-case bytes), None if absent; 400 if sent twice.

    ``extra`` goes into the 400's envelope (the webhook receiver adds its ``reason``).
    """
    found: bytes | None = None
    for key, value in scope["headers"]:
        if key == name:
            if found is not None:
                raise HttpError(
                    400,
                    f"the {name.decode()!r} header was sent more than once; send it once",
                    **extra,
                )
            found = value
    return None if found is None else found.decode("latin-1")


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared, when it is a plain number."""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit():
            return int(value)
    return None


def _too_big(limit: int) -> HttpError:
    # Made only when needed: read_body is on every request's path.
    return HttpError(413, f"request body is over {limit} bytes; send at most {limit}")


async def read_body(receive: Receive, scope: Scope, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; ``HttpError(413)`` past ``limit`` (the rest drained first),
    ``ClientGone`` if the client hung up before the end."""
    declared = declared_length(scope)
    if declared is not None and declared > limit * DRAIN_FACTOR:
        raise _too_big(limit)  # not worth draining: the connection closes after the answer
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > limit * DRAIN_FACTOR:
            raise _too_big(limit)
        if not message.get("more_body", False):
            break
    if size > limit:
        raise _too_big(limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """A request body as a JSON object, ``None`` when empty; ``HttpError(400)`` otherwise."""
    if not raw.strip():
        return None
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise HttpError(400, "request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise HttpError(400, "request body must be a JSON object")
    return parsed


async def answer_error(exc: BaseException, send: Send, log: logging.Logger, what: str) -> None:
    """Answer ``exc`` the way every server of ours does (see the module docstring).

    Called from an app's own ``except`` block, so that no wrapper coroutine stays on the stack
    of every request (a parked long poll keeps its whole stack alive).
    """
    if isinstance(exc, HttpError):
        await send_error(send, exc.status, exc.message, headers=exc.headers, **exc.extra)
    elif isinstance(exc, ClientGone):
        log.info("%s: client hung up before its request was complete", what)
    else:
        log.error("%s: unexpected error", what, exc_info=exc)
        # If the response had started, the server refuses a second start: nothing more to do.
        with contextlib.suppress(RuntimeError):
            await send_error(send, 500, f"internal error in the {what}: {type(exc).__name__}")


def guard(app: AsgiApp, log: logging.Logger, what: str) -> AsgiApp:
    """``app`` with our error handling (see the module docstring); lifespan is ignored."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            await app(scope, receive, send)
        except Exception as exc:
            await answer_error(exc, send, log, what)

    return guarded
