"""Saved signed-in states and the one-sign-in-per-user flow, without a browser.

The sign-in itself is a callback here (the plugin's drives Chromium; tests/test_plugin_signin.py
covers that); ages run on an injected clock.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_anchor_mfa.errors import SignInError
from pytest_anchor_mfa.signin import SignIns, StateStore, state_secrets

STATE = {
    "cookies": [{"name": "session", "value": "s3ss10n-t0ken-abcdef", "domain": "localhost"}],
    "origins": [
        {"origin": "http://localhost", "localStorage": [{"name": "t", "value": "tok-123456789"}]}
    ],
}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_flow(
    tmp_path: Path, make_state: Any, *, max_age: float = 1800.0, fresh: bool = False
) -> SignIns:
    store = StateStore(tmp_path / "run", max_age=max_age)
    return SignIns(
        store,
        make_state,
        lock_timeout=10.0,
        describe_failure=lambda user, exc: f"sign-in of {user!r} failed: {exc}",
        fresh=fresh,
    )


class Counting:
    """A sign-in that counts its calls (and can be told to fail)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def __call__(self, user: str) -> dict[str, Any]:
        self.calls.append(user)
        if self.error is not None:
            raise self.error
        return {**STATE, "user": user, "call": len(self.calls)}


def test_a_state_file_is_private_and_holds_the_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "run", max_age=60)
    path = store.save("alice@example.com", STATE)
    assert json.loads(path.read_text()) == STATE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.save("bob", STATE) != path  # one file per user
    store.remove()
    assert not path.parent.exists()


def test_a_state_older_than_max_age_is_stale(tmp_path: Path) -> None:
    clock = Clock(0.0)
    store = StateStore(tmp_path / "run", max_age=1800, clock=clock)
    path = store.save("alice", STATE)
    written = path.stat().st_mtime
    clock.now = written + 1799
    assert store.fresh("alice") == path
    clock.now = written + 1800
    assert store.fresh("alice") is None
    assert store.fresh("nobody") is None


def test_max_age_renews_on_an_injected_clock(tmp_path: Path) -> None:
    sign_in = Counting()
    clock = Clock(0.0)
    flow = SignIns(
        StateStore(tmp_path / "run", max_age=1800, clock=clock),
        sign_in,
        lock_timeout=10,
        describe_failure=lambda user, exc: str(exc),
    )
    clock.now = os.stat(tmp_path).st_mtime
    first = flow.state("alice")
    assert flow.state("alice") == first and sign_in.calls == ["alice"]
    clock.now = first.stat().st_mtime + 1801
    flow.state("alice")
    assert sign_in.calls == ["alice", "alice"]


def test_one_sign_in_per_user_however_many_callers(tmp_path: Path) -> None:
    release = threading.Event()
    calls: list[str] = []

    def slow_sign_in(user: str) -> dict[str, Any]:
        calls.append(user)
        assert release.wait(10)
        return STATE

    flow = make_flow(tmp_path, slow_sign_in)
    paths: list[Path] = []
    callers = [threading.Thread(target=lambda: paths.append(flow.state("alice"))) for _ in range(4)]
    for caller in callers:
        caller.start()
    release.set()
    for caller in callers:
        caller.join(10)
    assert calls == ["alice"]
    assert len(paths) == 4 and len(set(paths)) == 1


def test_a_refused_state_is_renewed_once(tmp_path: Path) -> None:
    sign_in = Counting()
    flow = make_flow(tmp_path, sign_in)
    refused = flow.store.written(flow.state("alice"))
    renewed = flow.renew("alice", refused)
    assert sign_in.calls == ["alice", "alice"]
    assert json.loads(renewed.read_text())["call"] == 2
    # Another process that had seen the same state refused gets the renewed one.
    assert flow.renew("alice", refused) == renewed
    assert len(sign_in.calls) == 2


def test_a_failed_sign_in_is_not_tried_again(tmp_path: Path) -> None:
    sign_in = Counting(RuntimeError("page.fill: Timeout 5000ms exceeded"))
    flow = make_flow(tmp_path, sign_in)
    for _ in range(3):
        with pytest.raises(SignInError, match=r"sign-in of 'alice' failed: page.fill: Timeout"):
            flow.state("alice")
    assert sign_in.calls == ["alice"]
    other = make_flow(tmp_path, Counting())  # another process of the run
    with pytest.raises(SignInError, match=r"page\.fill"):
        other.state("alice")


def test_fresh_sign_in_signs_in_every_time(tmp_path: Path) -> None:
    sign_in = Counting()
    flow = make_flow(tmp_path, sign_in, fresh=True)
    paths = {flow.state("alice") for _ in range(3)}
    assert sign_in.calls == ["alice"] * 3 and len(paths) == 3


def test_the_lock_has_a_bound(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "run", max_age=60)
    with store.lock("alice", 1), pytest.raises(SignInError, match=r"waited 1 s for another"):
        threading_result: list[BaseException] = []

        def other() -> None:
            try:
                with store.lock("alice", 1):
                    pass
            except BaseException as exc:
                threading_result.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        raise threading_result[0]


def test_state_secrets_are_the_long_values(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "run", max_age=60)
    state = {**STATE, "cookies": [*STATE["cookies"], {"name": "lang", "value": "en"}]}
    assert state_secrets(store.save("alice", state)) == ["s3ss10n-t0ken-abcdef", "tok-123456789"]
