"""How the app carries out the faults a request drew (``faults``): the HTTP side of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from ..runtime.asgi import HttpError, Message, Receive, Send, send_bytes
from .faults import Fault

__all__ = ["Injected", "inject"]

_ACCEPTED = b'{"data":{"status":"accepted"}}'
_ORDER = {"delay": 0, "fail": 1}  # a delayed failure is slow first; the rest after both


@dataclass(frozen=True)
class Injected:
    """What is left for the app to do: answer through ``send``, with a wait cut at
    ``max_wait_ms``; nothing at all when ``answered``."""

    send: Send
    max_wait_ms: int | None = None
    answered: bool = False


def _dropping(send: Send, receive: Receive) -> Send:
    """A ``send`` that writes the status line and half the body, then cuts the connection.

    ASGI has no way to cut a connection; uvicorn's ``send`` is a method of the request's cycle,
    which holds the transport (looked up only when this fault is injected).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    abort = getattr(transport, "abort", None)

    async def dropping_send(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        if abort is None:
            raise RuntimeError("cannot drop this connection: not served by uvicorn")
        abort()
        await receive()  # returns once the server has seen the connection go

    return dropping_send


async def inject(
    faults: list[Fault],
    receive: Receive,
    send: Send,
    deliver_later: Callable[[float], None],
) -> Injected:
    """Apply ``faults`` in a sensible order: delay, failure, then the rest."""
    max_wait_ms = None
    for fault in sorted(faults, key=lambda f: _ORDER.get(f.kind, 2)):
        if fault.kind == "delay":
            await asyncio.sleep(fault.ms / 1000)
        elif fault.kind == "fail":
            after = fault.retry_after
            headers = [] if after is None else [("retry-after", f"{after:g}")]
            raise HttpError(fault.status, f"injected fault: HTTP {fault.status}", headers=headers)
        elif fault.kind == "early_408":
            max_wait_ms = fault.ms if max_wait_ms is None else min(max_wait_ms, fault.ms)
        elif fault.kind == "late_signal":
            deliver_later(fault.ms / 1000)
            await send_bytes(send, 200, _ACCEPTED)
            return Injected(send, answered=True)
        elif fault.kind == "drop":
            send = _dropping(send, receive)
    return Injected(send, max_wait_ms)
