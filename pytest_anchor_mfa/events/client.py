"""Typed clients for the events API: ``EventsClient`` (sync) and ``AsyncEventsClient``.

Both share one I/O-free core (``_Call``) that decides, for every attempt, what to send and what an
answer means: the long-poll read timeout always exceeds ``timeoutMs``, 408 is a normal outcome,
401/400 are never retried, connection errors and 429/502/503/504 are retried with exponential
backoff and full jitter, and a retried wait asks only for what is left of the caller's deadline.

The clients keep every call within its budget plus ``core.DEADLINE_GRACE``, whatever the server
does: each attempt runs under its ``_Send.limit`` as a whole (httpx's timeouts are per operation,
so a server trickling one byte at a time would outlive them). The async client runs the request in
a cancel scope; the sync client runs it on a worker thread and stops waiting at the limit (see
``_SyncAttempt``).
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar, overload

import anyio
import httpx

from ..contract import DEFAULT_TIMEOUT_MS
from ..retry import RetryPolicy
from .core import DEFAULT_WAIT_TIMEOUT, _Call, _Core, _Cut, _Done, _Send

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
        ``read_margin``; a longer wait is split into polls of at most ``max_poll`` seconds. No
        attempt outlives the call's deadline by more than ``core.DEADLINE_GRACE`` (0.25 s).
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


_Outcome = httpx.Response | httpx.TransportError | _Cut


class _Abandoned(Exception):
    """Raised on the worker thread of an attempt the caller stopped waiting for."""


class _Probe:
    """The httpcore ``trace`` extension of one attempt: has the request started going out?"""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.traced = False
        self.sending = False
        self.abandoned = False
        self.sock: socket.socket | None = None

    def on_event(self, name: str, info: dict[str, Any]) -> None:
        with self.lock:
            self.traced = True
            if self.abandoned and name.endswith(".started"):
                raise _Abandoned(name)  # nothing more goes out for an abandoned attempt
            if name.endswith(".send_request_headers.started"):
                self.sending = True
            elif name.endswith((".connect_tcp.complete", ".start_tls.complete")):
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                self.sock = sock if isinstance(sock, socket.socket) else None

    async def aon_event(self, name: str, info: dict[str, Any]) -> None:
        self.on_event(name, info)

    def maybe_sent(self) -> bool:
        # Without a single trace event we know nothing (a transport without trace support, or
        # still waiting for a pooled connection): then say the request may have gone out.
        return self.sending or not self.traced

    def abandon(self) -> bool:
        """Stop the attempt where it can be stopped; returns ``maybe_sent`` at that moment."""
        with self.lock:
            self.abandoned = True
            maybe_sent = self.maybe_sent()
            sock = self.sock
        if sock is not None:
            # Wakes a worker blocked reading a connection it opened (a server trickling its
            # headers); shutdown, not close, so the descriptor cannot be reused under it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        return maybe_sent


class _SyncAttempt:
    """One request on a worker thread, so the caller waits for it at most ``send.limit``.

    httpx's sync timeouts bound each socket operation, not the request: a server that sends one
    byte of its answer every 0.2 s would hold the caller forever. The caller waits on an event
    with the limit; past it, the attempt is abandoned: the trace probe refuses to start anything
    more (so a signal not yet sent is never sent late), the body loop stops at its next chunk, a
    connection the attempt opened is shut down, and whatever the worker ends with is dropped.
    """

    def __init__(self, http: httpx.Client, send: _Send) -> None:
        self.http = http
        self.send = send
        self.probe = _Probe()
        self.done = threading.Event()
        self.outcome: _Outcome | None = None
        self.error: BaseException | None = None

    def run(self) -> _Outcome:
        context = contextvars.copy_context()
        worker = threading.Thread(
            target=context.run, args=(self._work,), name="anchor-events-request", daemon=True
        )
        worker.start()
        finished = False
        try:
            finished = self.done.wait(self.send.limit)
        finally:
            if not finished:  # past the limit, or the caller was interrupted (Ctrl-C)
                maybe_sent = self.probe.abandon()
        if not finished:
            # An answer that made it just after the limit still counts; anything else the
            # worker ends with may be the abandonment's doing.
            if self.done.is_set() and isinstance(self.outcome, httpx.Response):
                return self.outcome
            return _Cut(maybe_sent)
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def _work(self) -> None:
        send, probe = self.send, self.probe
        try:
            with self.http.stream(
                "POST",
                send.url,
                json=send.body,
                timeout=send.timeout,
                extensions={"trace": probe.on_event},
            ) as streamed:
                chunks = []
                for chunk in streamed.iter_raw():
                    if probe.abandoned:
                        raise _Abandoned("response body")
                    chunks.append(chunk)
            # A plain response over the raw bytes (it decodes any content-encoding itself).
            self.outcome = httpx.Response(
                streamed.status_code,
                headers=streamed.headers,
                content=b"".join(chunks),
                request=streamed.request,
            )
        except httpx.TransportError as exc:
            self.outcome = exc
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self.done.set()


class EventsClient(_ClientBase[httpx.BaseTransport, httpx.Client]):
    """Synchronous client for ``signal`` and ``wait``.

    >>> with EventsClient() as events:                  # key from ANCHOR_API_KEY
    ...     events.signal("mfa_code", {"code": "123456"})
    ...     events.wait("mfa_code", timeout=30)         # -> {"code": "123456"}

    ``timeout`` is in seconds and is the whole budget of the call, retries included: the call
    returns or raises within it plus 0.25 s, whatever the server does.
    """

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(headers=self._core.headers, timeout=_HTTP_TIMEOUT, transport=transport)

    def _run(self, call: _Call) -> Any:
        while True:
            step = call.on_outcome(_SyncAttempt(self._http, call.next_send()).run())
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

    async def _attempt(self, send: _Send) -> _Outcome:
        probe = _Probe()
        with anyio.move_on_after(send.limit):
            try:
                return await self._http.post(
                    send.url,
                    json=send.body,
                    timeout=send.timeout,
                    extensions={"trace": probe.aon_event},
                )
            except httpx.TransportError as exc:
                return exc
        # Cancelled at the limit: httpx closed the connection, nothing more goes out.
        return _Cut(probe.maybe_sent())

    async def _run(self, call: _Call) -> Any:
        while True:
            step = call.on_outcome(await self._attempt(call.next_send()))
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
