"""One asyncio loop per process, in one daemon thread: the loop every server of ours runs on.

``shared_runtime()`` is the process's ``Runtime``: a loop started on first use in a daemon
thread named ``anchor-mfa-runtime``, with one exception handler (``LoopErrors``: each kind of
error logged once a minute at most). The fake events API, the webhook receiver, the SMS
gateway, the SMTP inbox and the examples' demo app all serve from it (``serve``), so a test
run holds one loop thread however many servers it starts. Other threads use it through
``run(coro, timeout)`` (the result, or the coroutine's exception) and ``call_soon``; ``run``
called from the loop's own thread raises ``RuntimeError`` instead of waiting for itself.

After ``os.fork`` the child's copy of the loop belongs to a thread that does not exist there:
a runtime notices the new process id and starts a fresh loop on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .throttle import Throttle

__all__ = ["LoopErrors", "Runtime", "shared_runtime"]

_T = TypeVar("_T")
_log = logging.getLogger("pytest_anchor_mfa.serving")

RUN_TIMEOUT = 10.0
_CANCEL_GRACE = 1.0
"""Seconds the tasks left on a closing loop get to finish once cancelled."""


class LoopErrors:
    """A loop's exception handler: each kind of error logged once a minute at most.

    asyncio reports an accept() that fails for lack of file descriptors on every retry, with a
    traceback; under a connection flood that would fill a disk with the same lines.
    """

    def __init__(self, throttle: Throttle | None = None) -> None:
        self._throttle = throttle or Throttle()

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = context.get("message") or "event loop error"
        more = self._throttle.admit(f"{message}: {type(exc).__name__ if exc else ''}")
        if more is not None:
            _log.error("%s%s%s", message, f": {exc}" if exc else "", more)


class Runtime:
    """An asyncio loop in a daemon thread of its own, started on first use; thread-safe."""

    def __init__(self, name: str = "anchor-mfa-runtime") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __repr__(self) -> str:
        state = "running" if self._current() is not None else "not started"
        return f"<Runtime {self.name!r} {state}>"

    def _current(self) -> asyncio.AbstractEventLoop | None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._pid != os.getpid() or not thread.is_alive():
            return None
        return loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, running in its thread (started here if needed)."""
        loop = self._current()
        if loop is not None:
            return loop
        with self._lock:
            loop = self._current()
            if loop is None:
                loop = self._start()
            return loop

    def _start(self) -> asyncio.AbstractEventLoop:
        # A loop inherited through fork is dropped, not closed: it still looks "running" (its
        # thread did not survive the fork), and closing a running loop raises.
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(LoopErrors())
        thread = threading.Thread(target=self._main, args=(loop,), name=self.name, daemon=True)
        self._loop, self._thread, self._pid = loop, thread, os.getpid()
        thread.start()
        return loop

    def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            while True:
                try:
                    loop.run_forever()
                except (SystemExit, KeyboardInterrupt):  # from one callback: the others go on
                    _log.exception("%s: a callback stopped the loop; it runs on", self.name)
                    continue
                break  # stop() from close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=_CANCEL_GRACE))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def in_loop_thread(self) -> bool:
        """True in the loop's own thread (where blocking on the loop would wait for ever)."""
        thread = self._thread
        same = thread is not None and thread.ident == threading.get_ident()
        return same and self._pid == os.getpid()

    def ensure_outside(self, what: str) -> None:
        """Raise ``RuntimeError`` when called from the loop's thread, where ``what`` would
        block the loop it waits for."""
        if self.in_loop_thread():
            raise RuntimeError(
                f"{what} was called from the {self.name} loop's own thread, where it would wait "
                "for itself for ever; await the coroutine (or hand the call to another thread)"
            )

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = RUN_TIMEOUT) -> _T:
        """Run ``coro`` on the loop from another thread and return its result; after
        ``timeout`` seconds it is cancelled and ``TimeoutError`` raised."""
        try:
            self.ensure_outside(f"{self.name}.run()")
        except RuntimeError:
            coro.close()
            raise
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Start ``coro`` on the loop (from any thread) and return at once."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Schedule ``callback`` on the loop (from any thread, returns at once)."""
        self.loop.call_soon_threadsafe(callback)

    def close(self, timeout: float = RUN_TIMEOUT) -> None:
        """Stop the loop, cancel what still runs on it and join its thread (a later use starts
        a new loop). The shared runtime is never closed: other servers may be on it."""
        self.ensure_outside(f"{self.name}.close()")
        with self._lock:
            loop, thread = self._current(), self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


_SHARED = Runtime()


def shared_runtime() -> Runtime:
    """The process's runtime, shared by every server the plugin starts."""
    return _SHARED


def _after_fork_in_child() -> None:
    # A lock held by another thread at the fork stays held in the child, where that thread
    # does not exist; the pid check then replaces the loop.
    _SHARED._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
