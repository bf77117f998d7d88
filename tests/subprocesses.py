"""Our command line in real subprocesses, for every test that starts one (test_cli.py,
test_relay.py, test_store_redis_instances.py).

``run_cli`` runs ``python -m pytest_anchor_mfa.cli ...`` to its end. ``CliProcess`` starts one in
the background: threads read its stdout (line by line, each line waited for with a deadline) and
its stderr, ``banner`` reads the lines it prints on start, ``stop`` sends a signal and returns the
exit status, how long the exit took and everything printed, ``close`` ends it whatever state it is
in. Every wait is bounded. ``CliProcesses`` (the ``cli_processes`` fixture of conftest.py) closes
what a test started, whatever the test did.

The environment is this process's without any of our settings (every ``ANCHOR*`` variable and the
relay's SMS secrets), with this checkout first on ``PYTHONPATH`` (its code, whatever is installed).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "CLI",
    "LINE_TIMEOUT",
    "ROOT",
    "RUN_TIMEOUT",
    "CliProcess",
    "CliProcesses",
    "Exited",
    "cli_env",
    "run_cli",
    "serve_banner",
    "served_url",
]

ROOT = Path(__file__).resolve().parent.parent
CLI = (sys.executable, "-m", "pytest_anchor_mfa.cli")
RUN_TIMEOUT = 30.0
"""Seconds for a whole run, for an exit after a signal, and for a start."""
LINE_TIMEOUT = 15.0
"""Seconds to wait for one line of output."""
_SECRETS = ("TWILIO_AUTH_TOKEN", "VONAGE_SIGNATURE_SECRET")


def cli_env(**settings: str) -> dict[str, str]:
    """This process's environment without our settings, this checkout first, plus ``settings``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ANCHOR") and name not in _SECRETS
    }
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(settings)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``anchor-mfa *args`` to its end (bounded by ``timeout``), its output captured."""
    return subprocess.run(
        [*CLI, *args],
        env=cli_env() if env is None else env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def served_url(line: str) -> str:
    """The URL of a banner line that ends in ``... on http://host:port``."""
    match = re.search(r" on (http://\S+)$", line)
    assert match, f"no URL at the end of {line!r}"
    return match.group(1)


def serve_banner(process: CliProcess) -> tuple[list[str], str]:
    """``anchor-mfa serve``'s banner, through its "Ctrl+C to stop" line, and the URL it serves."""
    banner = process.banner(lambda line: "Ctrl+C" in line)
    return banner, served_url(banner[0])


@dataclass(frozen=True)
class Exited:
    """How a ``CliProcess`` ended (``stop`` or ``finish``)."""

    code: int
    took: float
    """Seconds from the signal (or from ``finish``) to the exit."""
    later: str
    """The stdout lines not read before the stop (after the banner, say)."""
    stdout: str
    """All of stdout."""
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr, everything the process printed."""
        return f"{self.stdout}\n{self.stderr}"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class CliProcess:
    """``anchor-mfa *args`` running in the background (see the module docstring)."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, sigint_ignored: bool = False
    ) -> None:
        self.name = f"anchor-mfa {args[0] if args else ''}".strip()
        self.proc = subprocess.Popen(
            [*CLI, *args],
            env=cli_env() if env is None else env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # As a background job of a non-interactive shell (a CI script's "cmd &") starts.
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )
        self.read: list[str] = []
        """The stdout lines read so far (``next_line``, ``banner``)."""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def __repr__(self) -> str:
        return f"<CliProcess {self.name!r} pid={self.proc.pid} status={self.proc.poll()}>"

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _drain(self, stream: IO[str]) -> None:
        self._stderr.extend(line.rstrip("\n") for line in stream)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def next_line(self, timeout: float = LINE_TIMEOUT) -> str:
        """The next stdout line; fails if none comes within ``timeout`` or the process ended."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from {self.name!r} within {timeout:g} s") from None
        if line is None:
            self._lines.put(None)  # the end stays visible to later reads
            code = self.proc.wait(5.0)
            raise AssertionError(f"{self.name!r} exited early ({code}): {self.stderr_lines()}")
        self.read.append(line)
        return line

    def banner(self, last: Callable[[str], bool]) -> list[str]:
        """The stdout lines up to and including the first one for which ``last`` is true."""
        lines = [self.next_line()]
        while not last(lines[-1]):
            lines.append(self.next_line())
        return lines

    def stderr_lines(self) -> list[str]:
        return list(self._stderr)

    def stop(self, how: signal.Signals = signal.SIGTERM, timeout: float = RUN_TIMEOUT) -> Exited:
        """Send ``how`` and wait (bounded) for the exit and the end of both streams."""
        return self._exit(how, timeout)

    def finish(self, timeout: float = RUN_TIMEOUT) -> Exited:
        """Wait (bounded) for it to exit by itself and for the end of both streams."""
        return self._exit(None, timeout)

    def _exit(self, how: signal.Signals | None, timeout: float) -> Exited:
        started = time.monotonic()
        if how is not None:
            self.proc.send_signal(how)
        code = self.proc.wait(timeout)
        took = time.monotonic() - started
        later = []
        while (line := self._next_or_end(timeout)) is not None:
            later.append(line)
        self._join(timeout)
        return Exited(
            code, took, "\n".join(later), "\n".join(self.read), "\n".join(self.stderr_lines())
        )

    def _next_or_end(self, timeout: float) -> str | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.name!r} exited but its stdout stayed open") from None
        if line is not None:
            self.read.append(line)
        return line

    def kill(self) -> int:
        """SIGKILL, and wait (bounded) until it is gone."""
        if self.running:
            self.proc.kill()
        return self.proc.wait(RUN_TIMEOUT)

    def close(self, timeout: float = 10.0) -> None:
        """End it whatever its state: SIGTERM, SIGKILL after ``timeout``; close its streams."""
        if self.running:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._join(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(deadline - time.monotonic(), 0.0))


class CliProcesses:
    """Starts ``CliProcess``es and closes every one of them at the end (thread-safe)."""

    def __init__(self) -> None:
        self._started: list[CliProcess] = []
        self._lock = threading.Lock()

    def start(
        self, *args: str, env: dict[str, str] | None = None, sigint_ignored: bool = False
    ) -> CliProcess:
        process = CliProcess(*args, env=env, sigint_ignored=sigint_ignored)
        with self._lock:
            self._started.append(process)
        return process

    def close(self) -> None:
        with self._lock:
            started, self._started = self._started, []
        for process in started:
            process.close()
