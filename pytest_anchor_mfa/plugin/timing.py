"""The MFA timing report's pytest side: one recorder per run, reached from the config stash.

``timing(config)`` is the run's ``TimingRecorder`` (``report.recorder``): ``mfa_code`` records
each wait through it (``timed_wait``), the sign-in code calls ``record_sign_in`` and
``record_served``. The hooks here only wire: the current test's span; under pytest-xdist each
worker hands its records to the controller (``workeroutput``, read in ``pytest_testnodedown``);
the controller (or the only process) adds the figures to ``--junitxml`` and writes
``--anchor-report`` at session finish, and prints the terminal section. Nothing is shown or
written by a run that recorded nothing (but an asked-for HTML page is written all the same).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from ..report import Records, TimingRecorder, summarize, terminal_lines
from .options import SETTINGS

__all__ = [
    "TIMING",
    "junit_property_writer",
    "pytest_configure",
    "pytest_runtest_protocol",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_testnodedown",
    "timing",
]

TIMING = pytest.StashKey[TimingRecorder]()
"""The run's recorder (``config.stash[TIMING]``); use ``timing(config)``."""
WORKER_OUTPUT = "anchor_mfa_timing"
"""The key of a worker's records in xdist's ``workeroutput``."""
REPORT_WRITTEN = pytest.StashKey[str]()
"""What the terminal says about the HTML page: its path, or why it could not be written."""
TITLE = "anchor-mfa: MFA timing"


def timing(config: pytest.Config) -> TimingRecorder:
    """This run's ``TimingRecorder`` (one per process; the controller's gets the workers')."""
    return config.stash[TIMING]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    worker = str(workerinput.get("workerid", "")) if isinstance(workerinput, dict) else ""
    config.stash[TIMING] = TimingRecorder(worker=worker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    recorder = timing(item.config)
    recorder.start_test(item.nodeid)
    try:
        return (yield)
    finally:
        recorder.end_test()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # The controller: a worker's records arrive with its workeroutput (absent if it crashed).
    data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if data:
        timing(node.config).merge(Records.from_dict(data))


def junit_property_writer(config: pytest.Config) -> Callable[[str, object], None] | None:
    """``--junitxml``'s writer of testsuite properties, or None without ``--junitxml``.

    pytest's public ``record_testsuite_property`` is a fixture: it needs a running test and
    does nothing on xdist's controller, where the XML is written once every worker is done.
    So this reads pytest's private stash key, here only; a test fails naming this function if
    pytest moves it.
    """
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    writer = getattr(config.stash.get(xml_key, None), "add_global_property", None)
    return writer if callable(writer) else None


def _add_junit_properties(config: pytest.Config, records: Records) -> None:
    if not records or not config.getoption("xmlpath", None):
        return
    writer = junit_property_writer(config)
    if writer is None:
        warnings.warn(
            pytest.PytestWarning(
                "pytest-anchor-mfa: the MFA timing is not in the JUnit XML (this pytest keeps "
                "its JUnit writer where the plugin does not look)"
            ),
            stacklevel=1,
        )
        return
    for name, value in summarize(records).properties():
        writer(name, value)


def _write_report(config: pytest.Config, records: Records, path: str) -> None:
    from ..report.html import render_html

    target = Path(path).expanduser()
    if not target.is_absolute():
        target = config.invocation_params.dir / target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_html(records), encoding="utf-8")
    except OSError as exc:
        config.stash[REPORT_WRITTEN] = f"could not write the HTML report {target}: {exc}"
    else:
        config.stash[REPORT_WRITTEN] = f"HTML report: {target}"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # tryfirst: before --junitxml's writer writes its file in its own pytest_sessionfinish.
    config = session.config
    records = timing(config).records()
    if _is_worker(config):
        config.workeroutput[WORKER_OUTPUT] = records.to_dict()  # type: ignore[attr-defined]
        return
    _add_junit_properties(config, records)
    path = config.stash[SETTINGS].report
    if path:
        _write_report(config, records, path)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    records = timing(config).records()
    written = config.stash.get(REPORT_WRITTEN, None)
    if records:
        terminalreporter.section(TITLE)
        for line in terminal_lines(summarize(records)):
            terminalreporter.line(line, yellow=line.startswith("WARNING"))
        if written:
            terminalreporter.line(written)
    elif written:
        terminalreporter.write_sep("-", f"anchor-mfa: {written}")
