"""Section 4 of ``python -m bench reliability``: the events client against misbehaving servers.

For every mode of ``tests/misbehaving_server.py`` (hangs, a listener that never accepts,
trickled answers, answers cut mid-body, 503/429 for ever, instant 408s), ``EventsClient.wait``
and ``AsyncEventsClient.wait`` are given ``timeout`` seconds, with retries that never run out
first (the deadline is what must end the call), and their elapsed time is compared with it.
Each call runs in a thread of its own, joined with a bound, so a client that broke its deadline
for good would be reported rather than hang the bench.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pytest_anchor_mfa import AsyncEventsClient, EventsClient, RetryPolicy

__all__ = ["CallResult", "load_misbehaving", "run_clients"]

TESTS = Path(__file__).resolve().parent.parent / "tests"
MANY = RetryPolicy(max_attempts=1000, backoff_initial=0.05, backoff_max=0.2)
_KEY = "sk-bench-misbehaving-0123456789"


@dataclass(frozen=True)
class CallResult:
    mode: str
    client: str
    requested_s: float
    elapsed_s: float
    outcome: str
    """The exception's type name, or what the call returned."""
    finished: bool
    requests_seen: int

    @property
    def ratio(self) -> float:
        return self.elapsed_s / self.requested_s


def load_misbehaving() -> ModuleType | None:
    """``tests/misbehaving_server.py`` as a module, None when the file is missing."""
    if not (TESTS / "misbehaving_server.py").is_file():
        return None
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    return importlib.import_module("misbehaving_server")


def _sync_wait(url: str, timeout: float, box: dict[str, Any]) -> None:
    """Only the ``wait`` call is timed (not making or closing the client)."""
    with EventsClient(_KEY, url, retry=MANY) as events:
        box["start"] = time.monotonic()
        try:
            box["outcome"] = f"returned {events.wait('bench-e', timeout)!r:.40}"
        except Exception as exc:
            box["outcome"] = type(exc).__name__
        box["end"] = time.monotonic()


def _async_wait(url: str, timeout: float, box: dict[str, Any]) -> None:
    async def run() -> None:
        async with AsyncEventsClient(_KEY, url, retry=MANY) as events:
            box["start"] = time.monotonic()
            try:
                box["outcome"] = f"returned {await events.wait('bench-e', timeout)!r:.40}"
            except Exception as exc:
                box["outcome"] = type(exc).__name__
            box["end"] = time.monotonic()

    asyncio.run(run())


def _timed_call(client: str, url: str, timeout: float, bound: float) -> tuple[float, str, bool]:
    """(elapsed, outcome, finished) of one wait, run in a daemon thread joined within
    ``bound`` seconds."""
    box: dict[str, Any] = {}
    call = _sync_wait if client == "EventsClient" else _async_wait
    thread = threading.Thread(
        target=call, args=(url, timeout, box), name=f"bench-{client}", daemon=True
    )
    started = time.monotonic()
    thread.start()
    thread.join(bound)
    if thread.is_alive():
        elapsed = time.monotonic() - box.get("start", started)
        return elapsed, f"still running after {elapsed:.1f} s", False
    if "end" not in box:
        return time.monotonic() - started, "the client could not be made or closed", False
    return float(box["end"] - box["start"]), str(box["outcome"]), True


def run_clients(
    module: ModuleType, timeout: float, modes: list[str] | None = None
) -> list[CallResult]:
    """Every mode (or ``modes``) by both clients; each against a fresh misbehaving server."""
    results: list[CallResult] = []
    bound = timeout * 4 + 5.0
    for mode in modes or list(module.MODES):
        for client in ("EventsClient", "AsyncEventsClient"):
            server = module.MisbehavingServer(mode).start()
            try:
                elapsed, outcome, finished = _timed_call(client, server.url, timeout, bound)
                seen = len(server.requests)
            finally:
                server.stop()
            results.append(CallResult(mode, client, timeout, elapsed, outcome, finished, seen))
    return results
