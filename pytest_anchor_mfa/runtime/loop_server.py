"""Serve any asyncio protocol on a loopback port from a background thread with its own loop.

The uvicorn-free twin of ``serving.BackgroundServer`` (which it borrows ``bind_socket`` and the
rate-limited loop error handler from): the socket is bound before the thread starts, so
``port=0`` gives a free port known at once; ``start()`` returns when the server accepts
connections; ``stop()`` closes the listener, lets the owner close its open connections
(``on_close``, on the loop), cancels what is left and joins the thread in milliseconds.
aiosmtpd's own ``Controller`` cannot do this: it connects to its port to check that it
started, which needs the port up front.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .serve import _RateLimitedErrors, bind_socket

__all__ = ["LoopThread"]

_T = TypeVar("_T")
_log = logging.getLogger("pytest_anchor_mfa.inbound")

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class LoopThread:
    """Serve ``factory`` (an asyncio protocol factory) on ``host:port`` in a daemon thread."""

    def __init__(
        self,
        factory: Callable[[], asyncio.BaseProtocol],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "loop-server",
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._factory = factory
        self._host = host
        self._requested_port = port
        self._name = name
        self._on_close = on_close
        self._port: int | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        """Bind, start serving, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._socket = bind_socket(self._host, self._requested_port)
        self._port = int(self._socket.getsockname()[1])
        self._ready.clear()
        self._error = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._error is not None:
            error = self._error
            self.stop()
            raise RuntimeError(f"{self._name} did not start within {_START_TIMEOUT} s") from error

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_RateLimitedErrors())
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            _log.exception("%s crashed", self._name)
        finally:
            self._ready.set()  # never leave start() waiting on a crashed thread
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        assert self._socket is not None
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await loop.create_server(self._factory, sock=self._socket)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            if self._on_close is not None:
                self._on_close()
            await _cancel_the_rest()

    def stop(self) -> None:
        """Stop accepting, close open connections (``on_close``) and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and not loop.is_closed():

            def request_stop() -> None:
                if self._stopping is not None:
                    self._stopping.set()

            with contextlib.suppress(RuntimeError):  # loop closed meanwhile
                loop.call_soon_threadsafe(request_stop)
        thread.join(_STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()  # the server closed it already, unless it never started
            self._socket = None
        self._thread = None
        self._stopping = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None or not self.running:
            raise RuntimeError(f"{self._name} is not running (never started, or stopped)")
        return self._port

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self.running:
            raise RuntimeError(f"{self._name} is not running (never started, or stopped)")
        return self._loop

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = _STOP_TIMEOUT) -> _T:
        """Run ``coro`` on the server's loop from another thread and return its result."""
        if not self.running:
            coro.close()
            raise RuntimeError(f"{self._name} is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


async def _cancel_the_rest(grace: float = 1.0) -> None:
    """Let closed connections wind down for a moment, then cancel every task still running."""
    current = asyncio.current_task()
    await asyncio.sleep(0)  # connection_lost callbacks run; they cancel their handlers
    tasks = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)
