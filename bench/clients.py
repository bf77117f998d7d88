"""The three kinds of client the bench drives, behind one small async interface.

* ``package``: the package's own :class:`~pytest_anchor_mfa.client.AsyncEventsClient` (httpx
  underneath, pydantic models, retry logic): what a user of the plugin gets;
* ``httpx``: a bare ``httpx.AsyncClient`` with keep-alive, no models;
* ``raw``: :class:`~bench.rawhttp.RawConnection`, the thinnest client possible, to show what the
  server alone costs.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import httpx

from pytest_anchor_mfa.events import AsyncEventsClient, RetryPolicy

from .rawhttp import RawConnection, event_path

__all__ = ["CLIENT_KINDS", "BenchClient", "ClientKind", "open_client"]

ClientKind = Literal["package", "httpx", "raw"]
CLIENT_KINDS: tuple[ClientKind, ...] = ("package", "httpx", "raw")
_CONNECT_TIMEOUT = 10.0


class BenchClient(Protocol):
    async def signal(self, event: str, data: dict[str, Any]) -> str: ...
    async def wait(self, event: str, timeout: float) -> dict[str, Any]: ...
    async def aclose(self) -> None: ...


def _wait_body(timeout: float) -> dict[str, int]:
    return {"timeoutMs": int(timeout * 1000)}


def _check(status: int, body: Any, what: str) -> Any:
    if status != 200 or not isinstance(body, dict) or "data" not in body:
        raise RuntimeError(f"{what}: HTTP {status} {body!r}")
    return body["data"]


class _PackageClient:
    def __init__(self, url: str, api_key: str) -> None:
        # No retries: a failure must show up in the bench, not be smoothed over.
        self._client = AsyncEventsClient(
            api_key, url, retry=RetryPolicy(max_attempts=1), connect_timeout=_CONNECT_TIMEOUT
        )

    async def signal(self, event: str, data: dict[str, Any]) -> str:
        return await self._client.signal(event, data)

    async def wait(self, event: str, timeout: float) -> dict[str, Any]:
        return await self._client.wait(event, timeout)

    async def aclose(self) -> None:
        await self._client.aclose()


class _HttpxClient:
    def __init__(self, url: str, api_key: str, connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=url,
            headers={"anchor-api-key": api_key},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=httpx.Timeout(120.0, connect=_CONNECT_TIMEOUT),
        )

    async def signal(self, event: str, data: dict[str, Any]) -> str:
        response = await self._client.post(event_path(event, wait=False), json={"data": data})
        return str(_check(response.status_code, response.json(), "signal")["status"])

    async def wait(self, event: str, timeout: float) -> dict[str, Any]:
        response = await self._client.post(event_path(event, wait=True), json=_wait_body(timeout))
        data: dict[str, Any] = _check(response.status_code, response.json(), "wait")
        return data

    async def aclose(self) -> None:
        await self._client.aclose()


class _RawClient:
    """One raw connection; concurrent calls on one instance are not allowed."""

    def __init__(self, host: str, port: int, api_key: str) -> None:
        self._address = (host, port, api_key)
        self._conn: RawConnection | None = None

    async def _connection(self) -> RawConnection:
        if self._conn is None:
            host, port, key = self._address
            self._conn = await RawConnection.open(host, port, key, _CONNECT_TIMEOUT)
        return self._conn

    async def signal(self, event: str, data: dict[str, Any]) -> str:
        conn = await self._connection()
        status, body = await conn.request(event_path(event, wait=False), {"data": data})
        return str(_check(status, body, "signal")["status"])

    async def wait(self, event: str, timeout: float) -> dict[str, Any]:
        conn = await self._connection()
        status, body = await conn.request(event_path(event, wait=True), _wait_body(timeout))
        data: dict[str, Any] = _check(status, body, "wait")
        return data

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def open_client(kind: ClientKind, url: str, api_key: str, *, connections: int = 4) -> BenchClient:
    """A client of ``kind``; ``connections`` sizes the httpx pool (the others ignore it)."""
    if kind == "package":
        return _PackageClient(url, api_key)
    if kind == "httpx":
        return _HttpxClient(url, api_key, connections)
    host, _, port = url.split("://", 1)[1].rpartition(":")
    return _RawClient(host.strip("[]"), int(port), api_key)
