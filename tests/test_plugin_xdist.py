"""The plugin under pytest-xdist: each worker has its own fake server and its own event names.

The inner run is a real ``pytest -n 2`` subprocess; its tests write what they saw to files that
the outer test reads back.
"""

from __future__ import annotations

import json
import re

import pytest

pytest_plugins = ["pytester"]

pytest.importorskip("xdist")

INNER = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-n",
    "2",
    "--anchor-timeout",
    "5",
)

SUITE = """
import json
import os
import pathlib

import pytest

RECORDS = pathlib.Path(__file__).parent / "records"


def record(name, **fields):
    RECORDS.mkdir(exist_ok=True)
    fields["worker"] = os.environ.get("PYTEST_XDIST_WORKER")
    (RECORDS / f"{name}.json").write_text(json.dumps(fields))


@pytest.mark.parametrize("n", range(8))
def test_same_event_name(n, anchor_fake, anchor_connection, mfa_code, signal_event,
                         wait_for_event):
    expected = f"{n}{n}{n}{n}{n}{n}"
    # Signal first (kept by the server), then wait: on a server shared between workers a
    # concurrent test could take it. Then wait first, signal later, on the same name again.
    signal_event("shared_event", code=expected, n=n)
    kept = wait_for_event("shared_event")
    # The run uses --anchor-unique-events (for test_unique_names): name the shared event here.
    anchor_fake.signal_when_waiting("mfa_code", {"code": expected}, timeout=5)
    code = mfa_code("mfa_code")
    record(f"same-{n}", url=anchor_connection.base_url, expected=expected,
           got=str(code), kept_n=kept["n"], kept_code=str(kept["code"]))
    assert code == expected
    assert kept["n"] == n


@pytest.mark.parametrize("n", range(4))
def test_unique_names(n, unique_event_name, mfa_event_name, anchor_fake, mfa_code):
    names = [unique_event_name("mfa_code") for _ in range(3)]
    anchor_fake.signal_when_waiting(mfa_event_name, {"code": "123456"}, timeout=5)
    assert mfa_code() == "123456"
    record(f"unique-{n}", names=names, mfa_event_name=mfa_event_name)
"""


# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")


def test_each_worker_has_its_own_fake_server_and_unique_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parallel=SUITE)
    result = pytester.runpytest_subprocess(*INNER, "--anchor-unique-events", timeout=120)
    result.assert_outcomes(passed=12)
    records = {
        path.stem: json.loads(path.read_text()) for path in (pytester.path / "records").iterdir()
    }
    assert len(records) == 12

    same = [records[f"same-{n}"] for n in range(8)]
    for entry in same:
        assert entry["got"] == entry["expected"]
        assert entry["kept_code"] == entry["expected"]
    workers = {entry["worker"] for entry in same}
    assert workers == {"gw0", "gw1"}, "the tests did not run on both workers"
    url_of = {}
    for entry in same:
        assert url_of.setdefault(entry["worker"], entry["url"]) == entry["url"]
    assert url_of["gw0"] != url_of["gw1"], "workers shared one fake server"

    names: list[str] = []
    for n in range(4):
        entry = records[f"unique-{n}"]
        worker = entry["worker"]
        assert worker in ("gw0", "gw1")
        for name in [*entry["names"], entry["mfa_event_name"]]:
            assert re.fullmatch(rf"mfa_code-{worker}-[0-9a-f]{{10}}", name), name
        names += [*entry["names"], entry["mfa_event_name"]]
    assert len(names) == len(set(names)) == 16
