"""Saved signed-in states, shared by every process of a run through one directory.

A state is what Playwright's ``context.storage_state()`` returns (cookies and local storage):
session secrets, so every file is created 0600 in a 0700 directory of the run. Per user there
is one state file, one lock file (``filelock``: the first process that needs the user signs in,
the others wait) and, after a failed sign-in, one failure file that later callers read instead
of signing in again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..errors import SignInError

__all__ = ["StateStore", "state_secrets"]

Clock = Callable[[], float]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MIN_SECRET = 8
"""Cookie and storage values shorter than this are not scrubbed (``1``, ``true``, ``en``)."""


def _file_stem(user: str) -> str:
    # Readable when it can be, unique always: users are e-mail addresses, names, ids.
    digest = hashlib.sha256(user.encode()).hexdigest()[:12]
    return f"{_SAFE.sub('_', user)[:40]}-{digest}"


class StateStore:
    """The states of one run in ``directory``; a state older than ``max_age`` s is stale.

    ``clock`` is the wall clock the ages are measured with (file times are wall-clock times).
    """

    def __init__(self, directory: Path, *, max_age: float, clock: Clock = time.time) -> None:
        self.directory = directory
        self.max_age = max_age
        self._clock = clock

    def _path(self, user: str, suffix: str) -> Path:
        return self.directory / f"{_file_stem(user)}{suffix}"

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def fresh(self, user: str, *, newer_than: float | None = None) -> Path | None:
        """``user``'s state file if it is younger than ``max_age`` (and, when given, written
        after ``newer_than``, a file time), else None."""
        path = self._path(user, ".json")
        try:
            written = path.stat().st_mtime
        except FileNotFoundError:
            return None
        if self._clock() - written >= self.max_age:
            return None
        if newer_than is not None and written <= newer_than:
            return None
        return path

    def written(self, path: Path) -> float:
        """When ``path`` was written (the ``newer_than`` of a later renewal)."""
        return path.stat().st_mtime

    @contextmanager
    def lock(self, user: str, timeout: float) -> Iterator[None]:
        """Hold ``user``'s lock (across processes); SignInError after ``timeout`` s."""
        self._ensure_directory()
        lock = FileLock(self._path(user, ".lock"), mode=0o600)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise SignInError(
                f"waited {timeout:g} s for another process signing in {user!r}; "
                "raise --anchor-timeout if signing in takes longer"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def save(self, user: str, state: Mapping[str, Any]) -> Path:
        """Write ``state`` for ``user`` (0600, atomically) and return its path."""
        self._ensure_directory()
        path = self._path(user, ".json")
        return self._write(path, json.dumps(state).encode())

    def save_private(self, user: str, state: Mapping[str, Any], tag: str) -> Path:
        """Write a state only the caller uses (``--anchor-fresh-sign-in``): a file of its own."""
        self._ensure_directory()
        path = self._path(user, f".{_SAFE.sub('_', tag)}.json")
        return self._write(path, json.dumps(state).encode())

    def _write(self, path: Path, data: bytes) -> Path:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)  # readers see the old state or the new one, never half
        return path

    def failure(self, user: str) -> str | None:
        """The one-line failure of ``user``'s sign-in in this run, if it failed."""
        try:
            return self._path(user, ".failed").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def record_failure(self, user: str, message: str) -> None:
        """Keep ``message``: later callers fail with it instead of signing in again."""
        self._ensure_directory()
        self._write(self._path(user, ".failed"), message.encode())

    def remove(self) -> None:
        """Delete every state of the run (at its end)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def state_secrets(path: Path) -> list[str]:
    """The cookie values and stored values of a state file that are long enough to be
    secrets (session ids, tokens): what the leak guard scrubs from reports."""
    state = json.loads(path.read_text(encoding="utf-8"))
    values = [str(cookie.get("value", "")) for cookie in state.get("cookies", [])]
    for origin in state.get("origins", []):
        values += [str(item.get("value", "")) for item in origin.get("localStorage", [])]
    return [value for value in values if len(value) >= _MIN_SECRET]
