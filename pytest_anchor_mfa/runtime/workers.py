"""Daemon worker threads for blocking work an asyncio server hands off (parsing, signal calls).

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so
one hung job (a signal call to an events API that never answers, a long parse) keeps a
stopped process alive for as long as the job runs. ``Workers`` has the same ``submit`` but
daemon threads: ``shutdown()`` cancels the jobs not started yet and returns at once, and a job
still running is abandoned when the process exits. Jobs must therefore not hold anything that
has to be released at exit (ours hold parsed mail and HTTP calls).
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Workers"]

_T = TypeVar("_T")
_Job = tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]]


class Workers:
    """At most ``count`` daemon threads named ``name-N``, started as jobs arrive."""

    def __init__(self, count: int, name: str) -> None:
        self._count = count
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., _T], *args: Any) -> concurrent.futures.Future[_T]:
        """Run ``fn(*args)`` on a worker; its future (cancelled if ``shutdown`` comes first)."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} is shut down")
            self._jobs.put((future, fn, args))
            if self._idle == 0 and len(self._threads) < self._count:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to whoever awaits the future
                    future.set_exception(exc)
            del job, future, fn, args  # nothing of a finished job stays referenced
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Cancel the jobs not started yet; return at once (running jobs are abandoned)."""
        with self._lock:
            self._closed = True
            threads = len(self._threads)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in range(threads):
            self._jobs.put(None)
