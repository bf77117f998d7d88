"""One sign-in per user per run: the decisions, with the signing in itself left to a callback.

``SignIns.state(user)`` returns the path of a saved state that is fresh enough, signing in (once,
under the user's lock) when there is none; ``renew(user, refused)`` replaces a state the app
no longer accepts, once, however many processes noticed; a sign-in that failed is not tried
again in the run: its one-line message is what every later caller gets.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SignInError
from .states import StateStore

__all__ = ["MakeState", "SignIns"]

MakeState = Callable[[str], Mapping[str, Any]]
"""Sign ``user`` in and return the browser's storage state (raise if that failed)."""


def _ignore(*_: object) -> None:
    return None


class SignIns:
    """The run's signed-in states (see the module docstring).

    ``describe_failure`` turns a failed ``make_state`` into the one line that names the user
    and the step; ``fresh`` (``--anchor-fresh-sign-in``) signs in on every call, sharing
    nothing. ``on_sign_in(user, seconds, ok)`` and ``on_served(user)`` are told what happened.
    """

    def __init__(
        self,
        store: StateStore,
        make_state: MakeState,
        *,
        lock_timeout: float,
        describe_failure: Callable[[str, BaseException], str],
        fresh: bool = False,
        clock: Callable[[], float] = time.monotonic,
        on_sign_in: Callable[[str, float, bool], None] = _ignore,
        on_served: Callable[[str], None] = _ignore,
    ) -> None:
        self.store = store
        self._make_state = make_state
        self._lock_timeout = lock_timeout
        self._describe = describe_failure
        self._fresh = fresh
        self._clock = clock
        self._on_sign_in = on_sign_in
        self._on_served = on_served

    def state(self, user: str) -> Path:
        """A state file of ``user``, signed in at most once per run (and per ``max_age``)."""
        if self._fresh:
            return self._sign_in(user, tag=secrets.token_hex(8))
        return self._shared(user, newer_than=None)

    def renew(self, user: str, refused: float) -> Path:
        """A state written after ``refused`` (the file time of the state the app refused, from
        ``StateStore.written``): signs in again unless another caller already did since."""
        if self._fresh:
            return self.state(user)
        return self._shared(user, newer_than=refused)

    def _shared(self, user: str, *, newer_than: float | None) -> Path:
        self._raise_if_failed(user)
        path = self.store.fresh(user, newer_than=newer_than)
        if path is not None:
            self._on_served(user)
            return path
        with self.store.lock(user, self._lock_timeout):
            self._raise_if_failed(user)  # another process failed while this one waited
            path = self.store.fresh(user, newer_than=newer_than)
            if path is not None:
                self._on_served(user)
                return path
            path = self._sign_in(user, tag=None)
        self._on_served(user)
        return path

    def _raise_if_failed(self, user: str) -> None:
        failure = self.store.failure(user)
        if failure is not None:
            raise SignInError(failure)

    def _sign_in(self, user: str, *, tag: str | None) -> Path:
        started = self._clock()
        try:
            state = self._make_state(user)
        except Exception as exc:
            self._on_sign_in(user, self._clock() - started, False)
            message = self._describe(user, exc)
            if tag is None:
                self.store.record_failure(user, message)
            raise SignInError(message) from None
        self._on_sign_in(user, self._clock() - started, True)
        if tag is None:
            return self.store.save(user, state)
        return self.store.save_private(user, state, tag)
