"""Typed clients for the events API: ``EventsClient`` (sync) and ``AsyncEventsClient``.

Both share one I/O-free core (``_Call``) that decides, for every attempt, what to send and what an
answer means: the long-poll read timeout always exceeds ``timeoutMs``, 408 is a normal outcome,
401/400 are never retried, connection errors and 429/502/503/504 are retried with exponential
backoff and full jitter, and a retried wait asks only for what is left of the caller's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar, overload

import anyio
import httpx

from ..retry import RetryPolicy
from .core import DEFAULT_WAIT_TIMEOUT, _Call, _Core, _Done
from .models import DEFAULT_TIMEOUT_MS

__all__ = ["AsyncEventsClient", "EventsClient", "RetryPolicy"]

_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_TransportT = TypeVar("_TransportT")
_HttpT = TypeVar("_HttpT")


class _ClientBase(Generic[_TransportT, _HttpT]):
    """Settings and representation shared by the sync and async clients."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        signal_timeout: float = 30.0,
        read_margin: float = 10.0,
        max_poll: float = 600.0,
        connect_timeout: float = 10.0,
        transport: _TransportT | None = None,
    ) -> None:
        """``api_key``/``base_url`` default to the environment (see ``settings``).

        ``signal_timeout`` is a signal's whole budget; a wait's read timeout is its poll plus
        ``read_margin``; a longer wait is split into polls of at most ``max_poll`` seconds.
        """
        self._core = _Core(
            api_key,
            base_url,
            retry or RetryPolicy(),
            signal_timeout,
            read_margin,
            max_poll,
            connect_timeout,
        )
        self._http: _HttpT = self._open(transport)

    def _open(self, transport: _TransportT | None) -> _HttpT:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._core.repr(type(self).__name__)

    @property
    def base_url(self) -> str:
        return self._core.base_url


class EventsClient(_ClientBase[httpx.BaseTransport, httpx.Client]):
    """Synchronous client for ``signal`` and ``wait``.

    >>> with EventsClient() as events:                  # key from ANCHOR_API_KEY
    ...     events.signal("mfa_code", {"code": "123456"})
    ...     events.wait("mfa_code", timeout=30)         # -> {"code": "123456"}

    ``timeout`` is in seconds and is the whole budget of the call, retries included.
    """

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(headers=self._core.headers, timeout=_HTTP_TIMEOUT, transport=transport)

    def _run(self, call: _Call) -> Any:
        while True:
            send = call.next_send()
            try:
                response = self._http.post(send.url, json=send.body, timeout=send.timeout)
            except httpx.TransportError as exc:
                step = call.on_transport_error(exc)
            else:
                step = call.on_response(response)
            if isinstance(step, _Done):
                return step.value
            time.sleep(step.seconds)  # backoff between attempts, bounded by the deadline

    def signal(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Signal ``name`` with ``data`` (a JSON object); returns the server's status string."""
        status: str = self._run(self._core.signal_call(name, data))
        return status

    @overload
    def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[False] = ...
    ) -> dict[str, Any]: ...
    @overload
    def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[True]
    ) -> dict[str, Any] | None: ...
    def wait(
        self, name: str, timeout: float = DEFAULT_WAIT_TIMEOUT, *, none_on_timeout: bool = False
    ) -> dict[str, Any] | None:
        """Block until ``name`` is signaled and return its data.

        Raises ``EventTimeoutError`` after ``timeout`` seconds, or returns None with
        ``none_on_timeout=True`` (the docs' "408 means no event").
        """
        result: dict[str, Any] | None = self._run(
            self._core.wait_call(name, timeout, none_on_timeout)
        )
        return result

    # Names used by the official ``anchorbrowser`` SDK.
    def signal_event(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Alias of :meth:`signal`, named like the official SDK's call."""
        return self.signal(name, data)

    def wait_for_event(self, name: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict[str, Any]:
        """Like :meth:`wait` with the timeout in milliseconds, as the official SDK takes it."""
        return self.wait(name, timeout_ms / 1000)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EventsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncEventsClient(_ClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """Asynchronous twin of :class:`EventsClient` (asyncio or trio, via anyio)."""

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=self._core.headers, timeout=_HTTP_TIMEOUT, transport=transport
        )

    async def _run(self, call: _Call) -> Any:
        while True:
            send = call.next_send()
            try:
                response = await self._http.post(send.url, json=send.body, timeout=send.timeout)
            except httpx.TransportError as exc:
                step = call.on_transport_error(exc)
            else:
                step = call.on_response(response)
            if isinstance(step, _Done):
                return step.value
            await anyio.sleep(step.seconds)

    async def signal(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Signal ``name`` with ``data``; returns the server's status string."""
        status: str = await self._run(self._core.signal_call(name, data))
        return status

    @overload
    async def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[False] = ...
    ) -> dict[str, Any]: ...
    @overload
    async def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[True]
    ) -> dict[str, Any] | None: ...
    async def wait(
        self, name: str, timeout: float = DEFAULT_WAIT_TIMEOUT, *, none_on_timeout: bool = False
    ) -> dict[str, Any] | None:
        """Wait until ``name`` is signaled and return its data (see :meth:`EventsClient.wait`)."""
        result: dict[str, Any] | None = await self._run(
            self._core.wait_call(name, timeout, none_on_timeout)
        )
        return result

    async def signal_event(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Alias of :meth:`signal`, named like the official SDK's call."""
        return await self.signal(name, data)

    async def wait_for_event(
        self, name: str, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> dict[str, Any]:
        """Like :meth:`wait` with the timeout in milliseconds, as the official SDK takes it."""
        return await self.wait(name, timeout_ms / 1000)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEventsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
