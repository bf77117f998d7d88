"""Serve on a loopback port from the process's runtime loop: one base, two thin flavours.

``BackgroundServer`` is the one way our servers run in the background. The socket is bound
before anything starts (``port=0`` gives a free port that is known at once, and parallel runs
never collide); the server then runs as one task, named after it, on the shared runtime loop
(``loop.shared_runtime``, or a ``Runtime`` given to it); ``start()`` returns once connections
are accepted; ``stop()`` awaits the owner's ``on_stop`` (pending long polls answered, open
connections closed), closes the listener and returns in milliseconds, leaving the other
servers on the loop serving; ``restart()`` cuts the open connections and comes back on the
same port. The flavours:

* ``AsgiServer``: an ASGI app served by uvicorn with our connection limits (``limits``);
* ``ProtocolServer``: a plain asyncio protocol factory (aiosmtpd's SMTP). aiosmtpd's own
  ``Controller`` cannot do this: it connects to its port to check that it started, which
  needs the port up front.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

from ..errors import ConfigurationError
from .limits import LimitedProtocol, ServerLimits, protocol_for
from .loop import Runtime, shared_runtime

__all__ = ["AsgiServer", "BackgroundServer", "ProtocolServer", "bind_socket"]

_T = TypeVar("_T")
_log = logging.getLogger("pytest_anchor_mfa.serving")

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_GRACE = 0.5
"""Seconds a response still being written may take once the server is asked to stop."""

OnStop = Callable[[], Awaitable[None]]


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


class BackgroundServer(abc.ABC):
    """A server on ``host:port`` running on a runtime loop; a context manager.

    ``on_stop`` is awaited on the loop when the server is asked to stop, so its owner can
    answer what is still pending (long polls) and close what is still open. ``runtime`` is the
    loop to serve on: the process's shared one unless given.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "server",
        on_stop: OnStop | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._name = name
        self._on_stop = on_stop
        self._runtime = runtime or shared_runtime()
        self._socket: socket.socket | None = None
        self._life: concurrent.futures.Future[None] | None = None
        self._stop_requested: asyncio.Event | None = None
        self._pid = 0

    @abc.abstractmethod
    async def _serve(
        self, sock: socket.socket, accepting: Callable[[], None], stop: asyncio.Event
    ) -> None:
        """Serve on ``sock`` until ``stop`` is set, calling ``accepting()`` once connections
        are accepted; await ``on_stop`` and close the listener before returning."""

    @abc.abstractmethod
    async def _cut_connections(self) -> None:
        """Abort the open connections without an answer (``restart``)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Bind, start serving, and return once the server accepts connections."""
        if self._life is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._runtime.ensure_outside(f"{self._name}.start()")
        sock = bind_socket(self._host, self._requested_port)
        accepting: concurrent.futures.Future[None] = concurrent.futures.Future()
        # Made here, set on the loop by stop(): a stop right after start is never lost.
        self._stop_requested = asyncio.Event()
        self._socket, self._pid = sock, os.getpid()
        self._life = self._runtime.submit(self._live(sock, accepting, self._stop_requested))
        done, _ = concurrent.futures.wait(
            [accepting, self._life], _START_TIMEOUT, concurrent.futures.FIRST_COMPLETED
        )
        if accepting not in done:
            life = self._life
            error = life.exception(0) if life.done() and not life.cancelled() else None
            self.stop()
            raise RuntimeError(f"{self._name} did not start within {_START_TIMEOUT} s") from error

    async def _live(
        self, sock: socket.socket, accepting: concurrent.futures.Future[None], stop: asyncio.Event
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.set_name(self._name)  # the loop is shared: a task per server tells them apart

        def accept() -> None:
            if not accepting.done():
                accepting.set_result(None)

        try:
            await self._serve(sock, accept, stop)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            _log.exception("%s crashed", self._name)
            if isinstance(exc, Exception):
                raise
            # Escaping a task, a SystemExit (uvicorn's on a failed start-up) stops the loop
            # of every server on it.
            raise RuntimeError(f"{self._name} exited: {exc!r}") from exc

    def stop(self) -> None:
        """Ask the server to stop (``on_stop``, then the listener closes) and wait for it."""
        life, stop = self._life, self._stop_requested
        if life is None or stop is None:
            return
        if self._pid == os.getpid():  # in a forked child, the loop it ran on is gone
            self._runtime.ensure_outside(f"{self._name}.stop()")
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
                self._runtime.call_soon(stop.set)
            try:
                life.result(_STOP_TIMEOUT)
            except concurrent.futures.TimeoutError:
                life.cancel()
                _log.warning("%s did not stop within %s s; cancelled", self._name, _STOP_TIMEOUT)
            except (Exception, concurrent.futures.CancelledError):
                pass  # a crash was logged where it happened
        if self._socket is not None:
            self._socket.close()  # the listener closed it already, unless it never started
            self._socket = None
        self._life = self._stop_requested = None

    def restart(self) -> None:
        """Go away and come back on the same port, as a crashed service does: open connections
        are cut (not answered), then the server stops and starts again."""
        port = self.port
        self.run(self._cut_connections())
        self.stop()
        self._requested_port = port
        self.start()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- access from other threads ------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def running(self) -> bool:
        return self._life is not None and not self._life.done()

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
        if not self.running:
            raise RuntimeError(f"{self._name} is not running (never started, or stopped)")
        return self._runtime.loop

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = _STOP_TIMEOUT) -> _T:
        """Run ``coro`` on the server's loop from another thread and return its result."""
        if not self.running:
            coro.close()
            raise RuntimeError(f"{self._name} is not running")
        return self._runtime.run(coro, timeout)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Schedule ``callback`` on the server's loop (thread-safe, returns at once)."""
        self.loop.call_soon_threadsafe(callback)


_WS_MAX_BYTES = 256 * 1024 * 1024
"""Largest WebSocket message a server takes (CDP screenshots of a big page run to tens of MiB)."""


def _ws_protocol() -> str:
    """uvicorn's WebSocket protocol on the ``websockets`` library: the sans-I/O one where this
    uvicorn has it (0.35+), the older one before."""
    from uvicorn.config import WS_PROTOCOLS

    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "websockets"


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, woken by an event rather than a 100 ms poll when asked to stop."""

    def __init__(
        self,
        config: uvicorn.Config,
        accepting: Callable[[], None],
        stop: asyncio.Event,
        on_stop: OnStop | None,
    ) -> None:
        super().__init__(config)
        self._accepting = accepting
        self._stop = stop
        self._on_stop = on_stop

    async def main_loop(self) -> None:
        self._accepting()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # on_tick refreshes the Date header every 10th count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1.0)
            if self._stop.is_set():
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


class AsgiServer(BackgroundServer):
    """Serve the ASGI ``app`` with uvicorn, within ``limits`` (``ServerLimits``); with
    ``websockets``, WebSocket requests reach the app too (the ``websockets`` library's
    protocol, through uvicorn).

    ``on_stop`` runs before the listener closes, so the app can still answer the requests it
    holds (long polls) instead of leaving them hanging.
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "asgi-server",
        on_stop: OnStop | None = None,
        limits: ServerLimits | None = None,
        runtime: Runtime | None = None,
        websockets: bool = False,
    ) -> None:
        super().__init__(host=host, port=port, name=name, on_stop=on_stop, runtime=runtime)
        self._app = app
        self.limits = limits or ServerLimits()
        self._ws = _ws_protocol() if websockets else "none"
        self._server: _Uvicorn | None = None

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
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
            ws=self._ws,
            ws_max_size=_WS_MAX_BYTES,
            # Loopback servers behind no proxy: the middleware would cost a frame per request.
            proxy_headers=False,
        )

    async def _serve(
        self, sock: socket.socket, accepting: Callable[[], None], stop: asyncio.Event
    ) -> None:
        self._server = _Uvicorn(self._config(), accepting, stop, self._on_stop)
        await self._server.serve(sockets=[sock])

    async def _cut_connections(self) -> None:
        if self._server is not None:
            for connection in list(self._server.server_state.connections):
                connection.transport.abort()


class ProtocolServer(BackgroundServer):
    """Serve ``factory`` (an asyncio protocol factory, called on the loop).

    ``on_stop`` runs once the listener is closed: the owner closes its open connections there.
    """

    def __init__(
        self,
        factory: Callable[[], asyncio.BaseProtocol],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "protocol-server",
        on_stop: OnStop | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(host=host, port=port, name=name, on_stop=on_stop, runtime=runtime)
        self._factory = factory

    async def _cut_connections(self) -> None:
        """Nothing to do: the owner closes its connections in ``on_stop``, which the restart's
        stop awaits, and a protocol has no pending answers to skip."""

    async def _serve(
        self, sock: socket.socket, accepting: Callable[[], None], stop: asyncio.Event
    ) -> None:
        server = await asyncio.get_running_loop().create_server(self._factory, sock=sock)
        accepting()
        try:
            await stop.wait()
        finally:
            server.close()
            if self._on_stop is not None:
                await self._on_stop()
