"""Repository-level pytest configuration (the plugin itself loads through its entry point)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

XDIST_WORKER_VARIABLES = (
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)


@pytest.fixture(autouse=True)
def _inner_runs_are_not_workers(request: pytest.FixtureRequest) -> None:
    """A pytester run stands for a user's own run, not one of this suite's xdist workers: the
    worker's variables would make other plugins act as if in a worker (pytest-benchmark warns,
    which ``-W error`` turns into a failure)."""
    if "pytester" in request.fixturenames:
        monkeypatch = request.getfixturevalue("monkeypatch")
        for name in XDIST_WORKER_VARIABLES:
            monkeypatch.delenv(name, raising=False)
