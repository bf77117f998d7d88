"""One refusal per run, not one per xdist worker: the first create is shared across processes.

``SessionsClient`` remembers a refused create within its process. Under pytest-xdist each
worker has a client of its own, so N workers would each ask Anchor once and fail alike (a
402 "no credits" N times). ``FirstCreate`` holds a lock file in the run's directory around
creates until one succeeds: the first refusal is written there, and every later create, in
any process of the run, raises it without asking Anchor. After a success the lock is no longer
taken, so the workers' sessions start in parallel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..errors import SessionError
from .client import AnchorSession, SessionsClient

__all__ = ["FirstCreate"]


class FirstCreate:
    """Creates through ``client``, sharing the first outcome through ``directory``."""

    def __init__(self, client: SessionsClient, directory: Path) -> None:
        self.client = client
        self._ok = directory / "anchor-sessions.ok"
        self._refused = directory / "anchor-sessions.refused.json"
        self._lock = directory / "anchor-sessions.lock"
        self._directory = directory

    def create(self, config: dict[str, Any] | None = None) -> AnchorSession:
        """A new session; ``SessionError`` if this run's first create was refused."""
        if self._ok.exists():
            return self.client.create(config)
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(self._lock, mode=0o600):
            self._raise_if_refused()
            try:
                session = self.client.create(config)
            except SessionError as exc:
                if exc.status_code is not None:  # an answer, not a network blip
                    record = {"message": str(exc), "status_code": exc.status_code}
                    self._refused.write_text(json.dumps(record), encoding="utf-8")
                raise
            self._ok.touch(mode=0o600)
            return session

    def _raise_if_refused(self) -> None:
        if not self._refused.exists():
            return
        record = json.loads(self._refused.read_text(encoding="utf-8"))
        raise SessionError(str(record["message"]), status_code=int(record["status_code"]))
