"""How a long-running command (``serve``, ``relay``) learns it should stop: SIGTERM or SIGINT."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs; the old handlers come back after.

    Both are handled explicitly: a process started in the background by a non-interactive
    shell (CI scripts, ``cmd &``) inherits SIGINT *ignored*, and Python then installs no
    KeyboardInterrupt for it, so relying on that would leave such a server running.
    """
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, old)
