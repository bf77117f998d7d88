"""The fake event server in a process of its own, steered over a ``multiprocessing`` pipe.

The server runs in a child process so that its CPU time and RSS are its own and it does not
share a GIL with the benchmark's clients. The pipe (not HTTP: the events API has no endpoint for
it) carries the few controls the bench needs: wait until N waiters are pending on an event
(``FakeEventServer.wait_for_waiters``), read the pending count, and stop. Every wait on the pipe
is bounded; the child stops by itself when its parent goes away or stays silent too long.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import logging
import multiprocessing
import pstats
import resource
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

__all__ = ["ServerProcess"]

_USER = "bench-user"


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass(frozen=True)
class _ChildOptions:
    api_key: str
    idle_timeout: float
    profile: bool
    profile_top: int
    kind: str = "fake"
    server_kwargs: tuple[tuple[str, Any], ...] = ()
    """Keyword arguments of ``FakeEventServer`` (``limits`` as a dict of ``ServerLimits``'s)."""
    capture_logs: bool = False


class _LogCounter(logging.Handler):
    """Counts the server's log records (WARNING and up) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[tuple[str, str, str], int] = {}
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.levelname, record.name, str(record.msg)[:200])
        with self._lock_counts:
            self.counts[key] = self.counts.get(key, 0) + 1

    def take(self) -> list[tuple[str, str, str, int]]:
        with self._lock_counts:
            counts, self.counts = self.counts, {}
        return [(*key, n) for key, n in sorted(counts.items())]


def _capture_logs() -> _LogCounter:
    """Route every logger to one counting handler (uvicorn's own stderr handlers removed)."""
    counter = _LogCounter()
    root = logging.getLogger()
    root.handlers = [counter]
    root.setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name == "uvicorn" or name.startswith("uvicorn."):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True
    return counter


def _fake_server(options: _ChildOptions) -> Any:
    """A started ``FakeEventServer`` built from ``options`` (in the child, after the fd limit
    was raised: ``ServerLimits``' default ``max_connections`` depends on it)."""
    from pytest_anchor_mfa.runtime.limits import ServerLimits
    from pytest_anchor_mfa.server import FakeEventServer

    kwargs = dict(options.server_kwargs)
    if isinstance(kwargs.get("limits"), dict):
        kwargs["limits"] = ServerLimits(**kwargs["limits"])
    return FakeEventServer({options.api_key: _USER}, **kwargs).start()


class _Reference:
    """``bench/reference_server.py`` served like the package's server, with the same controls."""

    def __init__(self) -> None:
        from pytest_anchor_mfa.runtime.serve import AsgiServer

        from . import reference_server

        self._module = reference_server
        self._changed = threading.Condition()
        reference_server.on_change = self._notify
        self._server = AsgiServer(reference_server.app, name="reference-events")
        self._server.start()
        self.url = self._server.url

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def pending_waiters(self, event: str) -> int:
        return int(self._server.run(_call(self._module.pending, event)))

    def wait_for_waiters(self, event: str, count: int, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.pending_waiters(event) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"fewer than {count} waits pending on {event!r}")
            with self._changed:
                self._changed.wait(min(remaining, 0.05))  # woken by on_change; 50 ms at most

    def stop(self) -> None:
        self._server.stop()


async def _call(function: Any, *args: Any) -> Any:
    return function(*args)


def _start_profiling_new_threads(profiler: cProfile.Profile) -> None:
    """Profile with ``profiler`` every thread started from now on (the runtime's loop thread,
    which the server runs on).

    ``threading.setprofile`` installs a hook in each new thread; its first call hands the
    thread over to cProfile, which then records that thread only.
    """

    def hook(frame: FrameType, event: str, arg: object) -> None:
        sys.setprofile(None)
        profiler.enable()

    threading.setprofile(hook)


def _profile_text(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    out.write("\n")
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _child_main(conn: Connection, options: _ChildOptions) -> None:
    """Entry point of the server process."""
    _raise_fd_limit()
    profiler = cProfile.Profile() if options.profile else None
    if profiler is not None:
        _start_profiling_new_threads(profiler)
    server: Any = _Reference() if options.kind == "reference" else _fake_server(options)
    threading.setprofile(None)
    counter = _capture_logs() if options.capture_logs else None
    conn.send(("ready", server.url))
    try:
        while conn.poll(options.idle_timeout):
            try:
                message: tuple[Any, ...] = conn.recv()
            except EOFError:
                break
            op = message[0]
            if op == "stop":
                break
            try:
                if op == "wait_for_waiters":
                    _, event, count, timeout = message
                    server.wait_for_waiters(event, count, timeout=timeout)
                    reply: tuple[str, Any] = ("ok", None)
                elif op == "pending":
                    reply = ("ok", server.pending_waiters(message[1]))
                elif op == "logs" and counter is not None:
                    reply = ("ok", counter.take())
                else:
                    reply = ("error", f"unknown operation {op!r}")
            except Exception as exc:
                reply = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    finally:
        server.stop()
        text = _profile_text(profiler, options.profile_top) if profiler is not None else None
        with contextlib.suppress(OSError):  # the parent may be gone
            conn.send(("stopped", text))


class ServerProcess:
    """Parent-side handle of the server process; a context manager.

    ``url``, ``api_key`` and ``pid`` are known once :meth:`start` returns.
    """

    def __init__(
        self,
        *,
        start_timeout: float = 30.0,
        idle_timeout: float = 300.0,
        profile: bool = False,
        profile_top: int = 25,
        kind: str = "fake",
        server_kwargs: dict[str, Any] | None = None,
        capture_logs: bool = False,
    ) -> None:
        """``kind`` is ``"fake"`` (the package's server) or ``"reference"`` (the naive one).

        ``server_kwargs`` are keyword arguments of ``FakeEventServer`` (``kind="fake"`` only),
        e.g. ``{"max_timeout_ms": 50, "limits": {"request_timeout": 3.0}}``; ``limits`` may be a
        dict of ``ServerLimits`` fields, built in the child so that defaults which depend on
        the process (``max_connections`` follows its open-files limit) are the child's.
        ``capture_logs``: the server's log records (WARNING and up) are counted, not printed;
        :meth:`logs` takes the counts.
        """
        if server_kwargs and kind != "fake":
            raise ValueError("server_kwargs apply to kind='fake' only")
        self.api_key = f"sk-bench-{secrets.token_hex(12)}"
        self.kind = kind
        self.url = ""
        self.pid = 0
        self.profile_text: str | None = None
        self._start_timeout = start_timeout
        self._options = _ChildOptions(
            self.api_key,
            idle_timeout,
            profile,
            profile_top,
            kind,
            tuple(sorted((server_kwargs or {}).items())),
            capture_logs,
        )
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._process: BaseProcess | None = None

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self) -> ServerProcess:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process that has threads
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_child_main, args=(child, self._options), name="bench-server", daemon=True
        )
        process.start()
        child.close()
        self._conn, self._process = parent, process
        if not parent.poll(self._start_timeout):
            self.stop()
            raise RuntimeError(f"the server process did not start within {self._start_timeout} s")
        try:
            tag, url = parent.recv()
        except EOFError:
            self.stop()
            raise RuntimeError(
                f"the server process died while starting (exit code {process.exitcode})"
            ) from None
        if tag != "ready":
            self.stop()
            raise RuntimeError(f"unexpected message from the server process: {tag!r}")
        self.url = str(url)
        assert process.pid is not None
        self.pid = process.pid
        return self

    def _call(self, message: tuple[Any, ...], timeout: float) -> Any:
        conn = self._conn
        if conn is None:
            raise RuntimeError("the server process is not running")
        with self._lock:
            conn.send(message)
            if not conn.poll(timeout):
                raise TimeoutError(f"server process did not answer {message[0]!r} in {timeout} s")
            tag, value = conn.recv()
        if tag != "ok":
            raise RuntimeError(f"server process: {value}")
        return value

    def wait_for_waiters(self, event: str, count: int, timeout: float) -> None:
        """Block until ``count`` waits are pending on ``event`` (bounded by ``timeout``)."""
        self._call(("wait_for_waiters", event, count, timeout), timeout + 5.0)

    def pending(self, event: str) -> int:
        return int(self._call(("pending", event), 10.0))

    def logs(self) -> list[tuple[str, str, str, int]]:
        """(level, logger, message, count) of the records logged since the last call
        (``capture_logs=True`` only)."""
        return [tuple(entry) for entry in self._call(("logs",), 10.0)]

    def stop(self, timeout: float = 15.0) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            try:
                conn.send(("stop",))
                deadline = time.monotonic() + timeout
                while conn.poll(max(deadline - time.monotonic(), 0.0)):
                    tag, value = conn.recv()
                    if tag == "stopped":
                        self.profile_text = value
                        break
            except (OSError, EOFError):
                pass
            conn.close()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(5.0)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
