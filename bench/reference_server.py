"""The reference for ``python -m bench compare``: the fake events API a user writes in an afternoon.

Starlette + uvicorn, futures in a dict, no bounds, no validation beyond the minimum, no kept
signals' expiry: what the package's own server is measured against. ``on_change`` is the one
addition, so the bench can tell when a wait is parked (the package's server has the same hook).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

waiters: defaultdict[str, set[asyncio.Future[Any]]] = defaultdict(set)
kept: defaultdict[str, deque[Any]] = defaultdict(deque)
on_change: Callable[[], None] = lambda: None  # noqa: E731


async def signal(request: Request) -> JSONResponse:
    data = (await request.json())["data"]
    woken = [f for f in waiters.pop(request.path_params["event"], ()) if not f.done()]
    for future in woken:
        future.set_result(data)
    if not woken:
        kept[request.path_params["event"]].append(data)
    return JSONResponse({"data": {"status": "delivered" if woken else "queued"}})


async def wait(request: Request) -> JSONResponse:
    event, body = request.path_params["event"], await request.json()
    if kept[event]:
        return JSONResponse({"data": kept[event].popleft()})
    future = asyncio.get_running_loop().create_future()
    waiters[event].add(future)
    on_change()
    try:
        data = await asyncio.wait_for(future, body.get("timeoutMs", 60_000) / 1000)
    except TimeoutError:
        return JSONResponse({"error": {"code": 408, "message": "timeout"}}, status_code=408)
    finally:
        waiters[event].discard(future)
    return JSONResponse({"data": data})


app = Starlette(
    routes=[
        Route("/v1/events/{event}", signal, methods=["POST"]),
        Route("/v1/events/{event}/wait", wait, methods=["POST"]),
    ]
)


def pending(event: str) -> int:
    return sum(not f.done() for f in waiters.get(event, ()))
