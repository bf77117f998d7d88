"""Shared fixtures: for the events-API tests one fake server per session (per xdist worker),
reset after every test that uses it, and a raw ``httpx`` client for hand-made requests; a real
redis-server per session; ``anchor-mfa`` subprocesses ended after each test."""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import settings
from redis_server import REDIS_BINARY, RedisServer
from subprocesses import CliProcesses

from pytest_anchor_mfa.plugin.options import OPTIONS
from pytest_anchor_mfa.server import FakeEventServer

# No hypothesis example has a deadline (200 ms by default): on a loaded machine any sub-second
# bound fails now and then. Speed is measured by the bench (python -m bench ...).
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

# Two keys of one user, and a key of another user. Long enough that mask_key shows only the
# last four characters, so "the key leaked" checks are meaningful.
ALICE_KEY = "sk-test-alice-0123456789abcdef"
ALICE_KEY_2 = "sk-test-alice-second-9876543210"
BOB_KEY = "sk-test-bob-fedcba9876543210"
TEST_KEYS = {ALICE_KEY: "alice", ALICE_KEY_2: "alice", BOB_KEY: "bob"}


@pytest.fixture(scope="session")
def events_server_session() -> Iterator[FakeEventServer]:
    with FakeEventServer(TEST_KEYS) as server:
        yield server


@pytest.fixture
def events_server(events_server_session: FakeEventServer) -> Iterator[FakeEventServer]:
    """The session's fake server, reset after the test (kept signals, history, waits)."""
    events_server_session.reset()
    yield events_server_session
    events_server_session.reset()


@pytest.fixture
def raw(events_server: FakeEventServer) -> Iterator[httpx.Client]:
    """A plain httpx client on the fake server, sending Alice's key by default."""
    with httpx.Client(
        base_url=events_server.url,
        headers={"anchor-api-key": ALICE_KEY},
        timeout=10.0,
        verify=False,  # plain HTTP on loopback; skips loading the CA bundle
    ) as client:
        yield client


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """Threads for calls that block (long polls) while the test drives the server."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    yield executor
    # A failed test may leave a long poll behind; the server reset ends it, don't block here.
    executor.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def clean_anchor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ANCHOR_* setting and no xdist worker variable from the outer run leaks inward."""
    for option in OPTIONS:
        for name in option.env:
            monkeypatch.delenv(name, raising=False)
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server of this session (per xdist worker); skipped without the binary."""
    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_namespace() -> str:
    """A namespace of this test alone: parallel tests on one Redis never see each other."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cli_processes() -> Iterator[CliProcesses]:
    """Starts ``anchor-mfa`` subprocesses (tests/subprocesses.py); ends them after the test."""
    processes = CliProcesses()
    yield processes
    processes.close()
