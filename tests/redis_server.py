"""A real ``redis-server`` for the Redis store's tests: a free loopback port, a temporary
directory, no persistence (``--save "" --appendonly no``; ``persistent``: an append-only file
fsynced on every write), started and stopped (or killed) by the tests.

The tests need the binary (Debian's ``redis-server``; ``.ci/run`` installs it): without it they
are skipped with that reason. fakeredis is not used: the Lua scripts, ``TIME``, streams and
blocking reads must be Redis's own.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["REDIS_BINARY", "RedisServer", "free_port"]

REDIS_BINARY = shutil.which("redis-server")
_START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process; ``stop()`` then ``start()`` keeps the port (and loses the
    data)."""

    def __init__(
        self, directory: Path, port: int | None = None, *, persistent: bool = False
    ) -> None:
        if REDIS_BINARY is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = REDIS_BINARY
        self.directory = directory
        self.port = port or free_port()
        self.persistent = persistent
        """With an append-only file fsynced on every write: a ``kill()`` loses nothing."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.directory), "--save", ""]
        aof = ["yes", "--appendfsync", "always"] if self.persistent else ["no"]
        command += ["--appendonly", *aof]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _pong(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind (only an append-only file keeps the data)."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(5)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self.stop()
