"""Serve an ASGI app over real HTTP on a loopback port, from a background thread.

One small piece shared by the fake event server, the webhook receiver and the demo app:
the socket is bound before the thread starts (so ``port=0`` gives a free port that is known at
once and parallel runs never collide), uvicorn runs the app on its own asyncio loop, and
``stop()`` returns in a few milliseconds instead of uvicorn's polling interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

from ..errors import ConfigurationError
from .limits import LimitedProtocol, ServerLimits, protocol_for

__all__ = ["BackgroundServer"]

_T = TypeVar("_T")
_log = logging.getLogger("pytest_anchor_mfa.serving")

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_GRACE = 0.5
"""Seconds a response still being written may take once the server is asked to stop."""
_LOG_EVERY = 60.0
"""Seconds between two log lines about the same loop-level error (a flood of EMFILE...)."""


class _Server(uvicorn.Server):
    """uvicorn's server, woken by an event rather than a 100 ms poll when asked to stop."""

    def __init__(
        self, config: uvicorn.Config, on_stop: Callable[[], Awaitable[None]] | None
    ) -> None:
        super().__init__(config)
        self.stop_requested: asyncio.Event | None = None
        self.ready = threading.Event()
        self._on_stop = on_stop

    async def main_loop(self) -> None:
        self.stop_requested = asyncio.Event()
        self.ready.set()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header every 10th count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), timeout=1.0)
            if self.stop_requested.is_set():
                self.should_exit = True
        if self._on_stop is not None:
            await self._on_stop()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn sleeps 100 ms after asking connections to close; idle keep-alive connections
        # close at once, so only wait while some connection is still busy.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
            if isinstance(connection, LimitedProtocol):
                connection.abort_incomplete()  # a half-sent request will never be answered
        deadline = asyncio.get_running_loop().time() + (self.config.timeout_graceful_shutdown or 0)
        while self.server_state.connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


class _RateLimitedErrors:
    """The loop's exception handler: each kind of error logged once per minute at most.

    asyncio reports an accept() that fails for lack of file descriptors on every retry, with a
    traceback; under a connection flood that would fill a disk with the same lines.
    """

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        kind = f"{context.get('message', '')}: {type(exc).__name__ if exc else ''}"
        now = loop.time()
        if now - self._last.get(kind, -_LOG_EVERY) < _LOG_EVERY:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        repeats = self._suppressed.pop(kind, 0)
        more = f" (and {repeats} more like it in the last minute)" if repeats else ""
        _log.error(
            "%s%s%s", context.get("message", "event loop error"), f": {exc}" if exc else "", more
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on (host, port); ``port=0`` picks a free port."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(f"cannot resolve host {host!r}: {exc}") from None
    family, socktype, proto, _, address = infos[0]
    # Pass proto through: asyncio sets TCP_NODELAY on accepted connections only when the
    # listener's proto is TCP; with 0, Nagle adds ~40 ms to every keep-alive request.
    sock = socket.socket(family, socktype, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another port, or port 0 for any free port"
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class BackgroundServer:
    """Run ``app`` on ``host:port`` in a daemon thread; a context manager.

    ``on_stop`` is awaited on the server's loop before the listener closes, so an app can
    answer requests that are still pending (long polls) instead of leaving them hanging.
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "asgi-server",
        on_stop: Callable[[], Awaitable[None]] | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self._app = app
        self.limits = limits or ServerLimits()
        self._host = host
        self._requested_port = port
        self._name = name
        self._on_stop = on_stop
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Bind, start serving, and return once the server accepts requests."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._socket = bind_socket(self._host, self._requested_port)
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            # No dictConfig of the whole process's logging (it is the user's, in a test run):
            # uvicorn's records go to the root logger like everyone else's (pytest's capture,
            # the leak guard); only uvicorn's own loggers get the level.
            log_config=None,
            log_level="warning",
            access_log=False,
            # uvicorn types these as int; it only hands them to loop timers, floats work.
            timeout_graceful_shutdown=_GRACE,  # type: ignore[arg-type]
            timeout_keep_alive=self.limits.keep_alive,  # type: ignore[arg-type]
            http=protocol_for(self.limits),
            ws="none",
            # Loopback servers behind no proxy: the middleware would cost a frame per request.
            proxy_headers=False,
        )
        self._server = _Server(config, self._on_stop)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        ready = self._server.ready
        if not ready.wait(_START_TIMEOUT) or self._error is not None:
            self.stop()
            raise RuntimeError(f"{self._name} did not start within {_START_TIMEOUT} s") from (
                self._error
            )

    def _run(self) -> None:
        assert self._loop is not None and self._server is not None and self._socket is not None
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(_RateLimitedErrors())
        try:
            self._loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported to start()/stop() callers
            self._error = exc
            _log.exception("%s crashed", self._name)
        finally:
            self._server.ready.set()  # never leave start() waiting on a crashed thread
            self._loop.close()

    def stop(self) -> None:
        """Answer pending requests (``on_stop``), close the listener and join the thread."""
        thread, loop, server = self._thread, self._loop, self._server
        if thread is None or loop is None or server is None:
            return
        if thread.is_alive() and not loop.is_closed():

            def request_stop() -> None:
                if server.stop_requested is not None:
                    server.stop_requested.set()
                server.should_exit = True

            with contextlib.suppress(RuntimeError):  # loop closed meanwhile
                loop.call_soon_threadsafe(request_stop)
        thread.join(_STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._thread = None

    def restart(self) -> None:
        """Go away and come back on the same port, as a crashed service does: open connections
        are cut (not answered), then the server stops and starts again."""
        port = self.port
        self.run(self._cut_connections())
        self.stop()
        self._requested_port = port
        self.start()

    async def _cut_connections(self) -> None:
        assert self._server is not None
        for connection in list(self._server.server_state.connections):
            connection.transport.abort()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- access from other threads ------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError(f"{self._name} is not running (never started, or stopped)")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (IPv6 hosts in brackets), without a trailing slash."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self._name} is not running (never started, or stopped)")
        return self._loop

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = _STOP_TIMEOUT) -> _T:
        """Run ``coro`` on the server's loop from another thread and return its result."""
        if not self.running:
            coro.close()
            raise RuntimeError(f"{self._name} is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Schedule ``callback`` on the server's loop (thread-safe, returns at once)."""
        self.loop.call_soon_threadsafe(callback)
