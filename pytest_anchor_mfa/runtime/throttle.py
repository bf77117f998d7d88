"""One throttle for repeated log lines: a message once per interval, with a count of the rest.

A client sending garbage in a loop, or a flood of connections past the file-descriptor limit,
makes the same line again and again; logged each time, it would fill a disk. ``Throttle``
lets a key through at most once per ``every`` seconds and says, the next time it lets it
through, how many it held back meanwhile. Used by uvicorn's per-request warnings
(``limits.ThrottledWarnings``) and by the runtime loop's exception handler (``loop``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Throttle"]


class Throttle:
    """Let each key through once per ``every`` seconds of ``clock``; thread-safe."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> str | None:
        """None when ``key`` was let through less than ``every`` seconds ago (it is counted);
        else the suffix for the line: ``""``, or ``" (and N more like it in the last minute)"``.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._every:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            held = self._held.pop(key, 0)
        if not held:
            return ""
        span = "minute" if self._every == 60 else f"{self._every:g} s"
        return f" (and {held} more like it in the last {span})"
