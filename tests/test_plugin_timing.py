"""The MFA timing report in pytest runs: every wait recorded, the terminal section, JUnit
properties, ``--anchor-report`` (its page checked in real Chromium), xdist.

The inner suites run on a fake clock that moves on by ``clock.step`` seconds each time the
recorder reads it (a wait reads it at its start and at its end): every figure is exact.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_anchor_mfa.plugin.timing import TITLE, junit_property_writer

pytest_plugins = ["pytester"]

# The outer environment must never change what an inner run resolves.
pytestmark = pytest.mark.usefixtures("clean_anchor_env")

IN_PROCESS = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest")
SUBPROCESS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--anchor-timeout", "5")
HOSTILE = "<img src=x onerror=alert(1)>"
"""An event name (user text) made to break out of HTML."""

CONFTEST = """
import pathlib

import pytest

from pytest_anchor_mfa.plugin.timing import timing


class Ticking:
    def __init__(self):
        self.now = 1000.0
        self.step = 1.0

    def __call__(self):
        self.now += self.step
        return self.now

    def wall(self):
        return 1_700_000_000.0 + self.now


CLOCK = Ticking()
CODES = pathlib.Path(__file__).parent / "codes.txt"


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    recorder = timing(config)
    recorder.clock, recorder.wall = CLOCK, CLOCK.wall


@pytest.fixture
def clock():
    return CLOCK


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def keep():
    def keep(code):
        with CODES.open("a") as file:
            file.write(str(code) + "\\n")
        return code
    return keep
"""

SUITE = f"""
import pytest


def test_events_ok(anchor_fake, mfa_event_name, mfa_code, clock, keep):
    clock.step = 2.0
    anchor_fake.signal_when_waiting(mfa_event_name, {{"code": "918273"}}, timeout=5)
    assert keep(mfa_code()) == "918273"


def test_events_late(anchor_fake, mfa_event_name, mfa_code, clock, keep):
    clock.step = 4.0
    anchor_fake.signal_when_waiting(mfa_event_name, {{"code": "564738"}}, timeout=5)
    assert keep(mfa_code(timeout=5)) == "564738"


@pytest.mark.mfa(event={HOSTILE!r})
def test_events_timeout(mfa_code, clock):
    clock.step = 0.125
    mfa_code(timeout=0.125)


@pytest.mark.anyio
async def test_async_bad_code(anchor_fake, mfa_event_name, async_mfa_code, clock):
    clock.step = 1.5
    anchor_fake.signal_when_waiting(mfa_event_name, {{"code": "12"}}, timeout=5)
    await async_mfa_code()


@pytest.mark.mfa(source="totp")
def test_totp(mfa_code, clock, keep):
    clock.step = 0.5
    keep(mfa_code())


@pytest.mark.mfa(source="prompt")
def test_prompt_without_a_terminal(mfa_code, clock):
    clock.step = 0.25
    mfa_code()


def test_no_mfa(signal_event, wait_for_event):
    signal_event("other", code="135791")
    assert wait_for_event("other")["code"] == "135791"
"""


def totp_secret() -> str:
    """A secret of this run alone: no other run's TOTP ledger makes this one wait a step."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def section(output: str) -> list[str]:
    """The lines of the timing section (it runs until the next ``===`` line)."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if TITLE in line]
    assert len(starts) == 1, output
    end = next(i for i in range(starts[0] + 1, len(lines)) if lines[i].startswith("==="))
    return lines[starts[0] + 1 : end]


def properties(junit: Path) -> dict[str, str]:
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    return {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}


@pytest.fixture
def suite_run(pytester: pytest.Pytester) -> pytest.RunResult:
    """The suite above in a subprocess (its stdin closed: no terminal for the prompt)."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_mfa=SUITE)
    result = pytester.runpytest_subprocess(
        *SUBPROCESS,
        "--anchor-totp-secret",
        totp_secret(),
        "--junitxml",
        "out/junit.xml",
        "--anchor-report",
        "out/timing.html",
        timeout=120,
    )
    result.assert_outcomes(passed=4, failed=3)
    return result


def test_every_wait_is_recorded_per_source_and_summed_up(suite_run: pytest.RunResult) -> None:
    lines = section(suite_run.stdout.str())
    table = [re.sub(r"\s+", " ", line) for line in lines[:4]]
    assert table == [
        "source waits codes median p95 max no code",
        # 0.125, 1.5, 2 and 4 s: the median between 1.5 and 2; p95 at rank 2.85: 2 + 0.85 * 2
        "events 4 2 1.75 s 3.70 s 4.00 s 1 timeout, 1 CodeValidationError",
        "totp 1 1 0.50 s 0.50 s 0.50 s",
        "prompt 1 0 0.25 s 0.25 s 0.25 s 1 ConfigurationError",
    ]
    assert lines[4] == "slowest waits:"
    slowest = [re.sub(r"\s+", " ", line.strip()) for line in lines[5:8]]
    assert slowest == [
        "4.00 s of 5 s 80% events 'mfa_code' test_mfa.py::test_events_late ok",
        "2.00 s of 5 s 40% events 'mfa_code' test_mfa.py::test_events_ok ok",
        "1.50 s of 5 s 30% events 'mfa_code' test_mfa.py::test_async_bad_code CodeValidationError",
    ]
    assert lines[8].startswith("WARNING: 1 code arrived after more than 70% of the timeout")
    assert "(latest: 4.00 s of 5 s, 'mfa_code' in test_mfa.py::test_events_late)" in lines[8]
    assert re.fullmatch(r"HTML report: .*out/timing\.html", lines[9])
    assert len(lines) == 10


def test_the_figures_are_junit_testsuite_properties(
    suite_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    found = properties(pytester.path / "out" / "junit.xml")
    assert {name: found[name] for name in found if name.startswith("anchor_mfa_events")} == {
        "anchor_mfa_events_waits": "4",
        "anchor_mfa_events_codes": "2",
        "anchor_mfa_events_median_s": "1.750",
        "anchor_mfa_events_p95_s": "3.700",
        "anchor_mfa_events_max_s": "4.000",
        "anchor_mfa_events_timeout": "1",
        "anchor_mfa_events_CodeValidationError": "1",
    }
    assert found["anchor_mfa_totp_codes"] == "1"
    assert found["anchor_mfa_prompt_ConfigurationError"] == "1"
    assert found["anchor_mfa_late_waits"] == "1"
    assert found["anchor_mfa_waits"] == "6"
    assert found["anchor_mfa_slowest_1"] == (
        "4.000 s of 5 s (80%) events 'mfa_code' test_mfa.py::test_events_late ok"
    )


def test_the_page_escapes_the_event_name_and_no_code_appears_anywhere(
    suite_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    page = (pytester.path / "out" / "timing.html").read_text(encoding="utf-8")
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    codes = (pytester.path / "codes.txt").read_text().split()
    assert len(codes) == 3  # two from events, one from TOTP
    junit = (pytester.path / "out" / "junit.xml").read_text(encoding="utf-8")
    for code in codes:
        assert code not in suite_run.stdout.str()
        assert code not in junit
        assert code not in page


def test_no_section_when_no_mfa_fixture_was_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_events(signal_event, wait_for_event):
            signal_event("order", code="246801")
            assert wait_for_event("order")["code"] == "246801"

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest(*IN_PROCESS, "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2)
    assert "MFA timing" not in result.stdout.str()
    assert not [name for name in properties(pytester.path / "junit.xml") if "anchor" in name]


def test_an_asked_for_page_is_written_even_with_no_wait(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANCHOR_MFA_REPORT", "reports/timing.html")
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest(*IN_PROCESS)
    result.assert_outcomes(passed=1)
    page = pytester.path / "reports" / "timing.html"
    assert "No MFA code was asked for in this run." in page.read_text(encoding="utf-8")
    assert TITLE not in result.stdout.str()
    result.stdout.fnmatch_lines([f"*anchor-mfa: HTML report: {page}*"])


def test_pytest_keeps_its_junit_writer_where_the_plugin_looks(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--junitxml", str(pytester.path / "junit.xml"))
    assert junit_property_writer(config) is not None, (
        "pytest moved the --junitxml writer: pytest_anchor_mfa.plugin.timing."
        "junit_property_writer must find it elsewhere (the MFA timing is missing from JUnit XML)"
    )
    assert junit_property_writer(pytester.parseconfigure()) is None


XDIST_SUITE = """
import pytest


@pytest.mark.parametrize("n", range(8))
def test_code(n, anchor_fake, mfa_event_name, mfa_code, clock):
    clock.step = 0.5 * (n % 2 + 1)
    anchor_fake.signal_when_waiting(mfa_event_name, {"code": f"{n}{n}{n}{n}{n}{n}"}, timeout=5)
    assert mfa_code() == f"{n}{n}{n}{n}{n}{n}"
"""


def test_xdist_workers_give_one_combined_section(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_parallel=XDIST_SUITE)
    result = pytester.runpytest_subprocess(
        *SUBPROCESS, "-n", "2", "--junitxml", "junit.xml", "--anchor-report", "t.html"
    )
    result.assert_outcomes(passed=8)
    lines = section(result.stdout.str())  # exactly one section
    # Four waits of 0.5 s and four of 1 s, from both workers.
    assert re.sub(r"\s+", " ", lines[1]) == "events 8 8 0.75 s 1.00 s 1.00 s"
    assert properties(pytester.path / "junit.xml")["anchor_mfa_events_codes"] == "8"
    page = (pytester.path / "t.html").read_text(encoding="utf-8")
    assert page.count('<rect class="bar"') == 8
    assert page.count('<rect class="span"') == 8
    assert {"gw0", "gw1"} <= set(re.findall(r"<title>(gw\d) test_parallel", page))


# -- the page in real Chromium --------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="no system Chromium (apt-get install -y chromium)",
)


@needs_chromium
def test_the_page_in_chromium(
    suite_run: pytest.RunResult, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a process of its own: pytest-playwright's sync session would otherwise stay in this
    # worker and mark an event loop as running in its main thread for the tests after it.
    report = pytester.path / "out" / "timing.html"
    checks = pytester.path / "checks"
    checks.mkdir()
    (checks / "test_page.py").write_text(PAGE_CHECKS)
    shot = Path(os.environ.get("ANCHOR_MFA_SCREENSHOT", pytester.path / "timing.png"))
    monkeypatch.setenv("TIMING_REPORT", str(report))  # for the check's process
    monkeypatch.setenv("TIMING_CODES", str(pytester.path / "codes.txt"))
    monkeypatch.setenv("TIMING_SHOT", str(shot))
    result = pytester.runpytest_subprocess(
        str(checks / "test_page.py"),
        "-p",
        "no:cacheprovider",
        f"--rootdir={checks}",
    )
    result.assert_outcomes(passed=1)
    assert shot.exists()


PAGE_CHECKS = """
import os
from pathlib import Path

from playwright.sync_api import expect

REPORT = Path(os.environ["TIMING_REPORT"])
CODES = Path(os.environ["TIMING_CODES"]).read_text().split()


def test_page(page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(REPORT.as_uri())
    page.screenshot(path=os.environ["TIMING_SHOT"], full_page=True)
    assert requested == [REPORT.as_uri()]  # nothing but the file itself

    expect(page.locator("h1")).to_have_text("MFA timing")
    bars = page.locator("svg.timeline rect.bar")
    expect(bars).to_have_count(6)
    for i in range(6):
        expect(bars.nth(i)).to_be_visible()
    legend = page.locator("ul.legend")
    for source in ("events", "totp", "prompt", "timeout"):
        expect(legend).to_contain_text(source)
    # Each wait's timeout is a mark where it would have ended (all within this run's axis).
    markers = page.locator("svg.timeline .timeout-marker")
    expect(markers).to_have_count(6)
    expect(markers.first).to_be_visible()
    expect(page.locator(".warning")).to_contain_text("1 code arrived after more than 70%")
    expect(page.locator("#slowest")).to_contain_text("test_events_late")
    expect(page.locator("#sources")).to_contain_text("1 timeout, 1 CodeValidationError")
    text = page.inner_text("body")
    for code in CODES:
        assert code not in text
    assert page.locator("img, script").count() == 0
"""


def test_link_waits_are_a_row_of_their_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_link(anchor_fake, mfa_event_name, mfa_link):
            url = "https://app.example.com/verify?token=Zq83kLmN20xx"
            anchor_fake.signal_when_waiting(mfa_event_name, {"link": url}, timeout=5)
            assert mfa_link() == url

        def test_code(anchor_fake, mfa_event_name, mfa_code):
            anchor_fake.signal_when_waiting(mfa_event_name, {"code": "246810"}, timeout=5)
            assert mfa_code() == "246810"
        """
    )
    result = pytester.runpytest_subprocess(*SUBPROCESS)
    result.assert_outcomes(passed=2)
    rows = [re.sub(r"\s+", " ", line).split(" ")[:3] for line in section(result.stdout.str())]
    assert ["events", "1", "1"] in rows and ["link", "1", "1"] in rows
