"""A local Chromium with remote debugging on a loopback port: what one fake session runs.

``launch_chromium(executable)`` starts the browser headless in a new temporary user-data-dir
with ``--remote-debugging-port=0`` (Chromium picks a free port) on 127.0.0.1, and reads the
port and the browser's DevTools path from the ``DevToolsActivePort`` file Chromium writes into
that directory. The browser is the leader of a process group of its own, so ``close()`` ends
it and every helper process it started (renderers, GPU, zygote) with one ``killpg``, then
removes the directory. On Linux the browser also gets ``PR_SET_PDEATHSIG``: if the process
that launched it dies, even by SIGKILL, the kernel kills the browser, whose helpers then exit
(their IPC channel to it is gone). No orphan keeps running, or billing, after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import BrowserLaunchError

__all__ = [
    "BROWSER_FLAGS",
    "SYSTEM_CHROMIUM_FLAGS",
    "ChromiumProcess",
    "launch_chromium",
]

SYSTEM_CHROMIUM_FLAGS = (
    "--disable-gpu",
    # A CI box has no network beyond loopback: no update, sync or field-trial traffic to wait on.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
"""Flags a system Chromium needs on a CI machine (``plugin.playwright`` adds them too)."""

BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--no-default-browser-check",
    *SYSTEM_CHROMIUM_FLAGS,
)
"""Every session's browser: headless, debugging on a free loopback port, quiet on the network."""

_PR_SET_PDEATHSIG = 1
_PORT_FILE = "DevToolsActivePort"
_POLL = 0.02


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """``preexec_fn``: the kernel sends SIGKILL to this process when its parent dies."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _preexec() -> Callable[[], None] | None:
    return _die_with_parent if sys.platform.startswith("linux") else None


@dataclass
class ChromiumProcess:
    """A running browser: its process, its user-data-dir and its DevTools WebSocket URL."""

    process: subprocess.Popen[bytes]
    user_data_dir: str
    ws_url: str = ""
    closed: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """End the browser and its helpers at once (the whole process group); idempotent."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        shutil.rmtree(self.user_data_dir, ignore_errors=True)

    async def close(self) -> None:
        """``kill()`` without blocking the loop while the process is reaped."""
        if not self.closed:
            await asyncio.to_thread(self.kill)


def _read_port_file(user_data_dir: str) -> tuple[int, str] | None:
    try:
        with open(os.path.join(user_data_dir, _PORT_FILE), encoding="ascii") as file:
            lines = file.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) < 2 or not lines[0].strip().isdigit() or not lines[1].startswith("/"):
        return None  # not written in full yet
    return int(lines[0]), lines[1].strip()


async def launch_chromium(
    executable: str, *, extra_flags: tuple[str, ...] = (), timeout: float = 30.0
) -> ChromiumProcess:
    """Start ``executable`` for a session; ``BrowserLaunchError`` if it is not up in time."""
    user_data_dir = tempfile.mkdtemp(prefix="anchor-sess-")
    argv = [executable, *BROWSER_FLAGS, *extra_flags, f"--user-data-dir={user_data_dir}"]
    argv.append("about:blank")
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_preexec(),  # only prctl: safe with threads
        )
    except OSError as exc:
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise BrowserLaunchError(
            f"cannot start Chromium {executable!r}: {exc.strerror or exc}"
        ) from None
    browser = ChromiumProcess(process, user_data_dir)
    deadline = time.monotonic() + timeout
    # Chromium writes the file once its debugging port listens; nothing to be told of it, so
    # look for it (every 20 ms: a launch takes a few hundred).
    while (found := _read_port_file(user_data_dir)) is None:
        if not browser.alive or time.monotonic() > deadline:
            code = process.poll()
            await browser.close()
            why = f"exited with status {code}" if code is not None else f"no port in {timeout:g} s"
            raise BrowserLaunchError(
                f"Chromium {executable!r} did not open its debugging port ({why}); check that it "
                "runs here (e.g. chromium --headless --no-sandbox --dump-dom about:blank)"
            )
        await asyncio.sleep(_POLL)
    port, path = found
    browser.ws_url = f"ws://127.0.0.1:{port}{path}"
    return browser
