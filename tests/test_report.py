"""The timing report's pure side: records, the recorder's clocks, the figures, the text, the page.

No pytest run inside: records are made by hand or by a ``TimingRecorder`` on a fake clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pytest_anchor_mfa.report import (
    Records,
    ServedRecord,
    SignInRecord,
    TestSpan,
    TimingRecorder,
    WaitRecord,
    outcome_of,
    percentile,
    summarize,
    terminal_lines,
)
from pytest_anchor_mfa.report.html import render_html
from pytest_anchor_mfa.report.picture import svg_timeline
from pytest_anchor_mfa.report.text import seconds


class Ticking:
    """A clock that moves on by ``step`` each time it is read; ``wall`` reads it, no tick."""

    def __init__(self, now: float = 1000.0, step: float = 1.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


def wait(
    seconds: float,
    *,
    source: str = "events",
    timeout: float = 10.0,
    outcome: str = "ok",
    event: str = "mfa_code",
    nodeid: str = "t.py::test",
    at: float = 0.0,
) -> WaitRecord:
    return WaitRecord(nodeid, source, event, timeout, at, at + seconds, 1e9 + at, outcome)


# -- percentiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(101)), 0.5, 50.0),
        (list(range(101)), 0.95, 95.0),
        (list(range(101)), 1.0, 100.0),
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.5),  # an even count: the mean of the middle two
        ([1.0, 2.0, 4.0], 0.95, 3.8),  # between the last two ranks: 2 + 0.9 * (4 - 2)
        ([7.0], 0.5, 7.0),
        ([7.0], 0.95, 7.0),
        ([2.0, 2.0, 2.0], 0.95, 2.0),
    ],
)
def test_percentile_is_exact_on_known_inputs(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected, abs=1e-12)


def test_percentile_of_nothing_is_nan() -> None:
    assert percentile([], 0.5) != percentile([], 0.5)


# -- the recorder --------------------------------------------------------------------------------


def test_the_recorder_times_a_wait_on_its_clock_and_keeps_the_test_span() -> None:
    clock = Ticking(step=2.0)
    recorder = TimingRecorder(clock=clock, wall=clock.wall, worker="gw1")
    recorder.start_test("t.py::test_a")  # reads 1002
    with recorder.timed_wait(source="totp", event="otp", timeout=30):  # 1004 .. 1006
        pass
    recorder.end_test()  # 1008
    records = recorder.records()
    assert records.waits == [
        WaitRecord(
            "t.py::test_a", "totp", "otp", 30.0, 1004.0, 1006.0, 1_700_001_004.0, "ok", "gw1"
        )
    ]
    assert records.spans == [TestSpan("t.py::test_a", 1_700_001_002.0, 6.0, "gw1")]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (TimeoutError("late"), "timeout"),
        (ValueError("bad"), "ValueError"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
    ],
)
def test_a_failed_wait_is_recorded_with_its_outcome_and_re_raised(
    error: BaseException, outcome: str
) -> None:
    recorder = TimingRecorder(clock=Ticking())
    with pytest.raises(type(error)), recorder.timed_wait(source="events", event="e", timeout=5):
        raise error
    assert [w.outcome for w in recorder.records().waits] == [outcome]
    assert outcome_of(None) == "ok"


def test_a_test_without_a_wait_keeps_no_span() -> None:
    recorder = TimingRecorder(clock=Ticking())
    recorder.start_test("t.py::test_quiet")
    recorder.record_served("alice")
    recorder.end_test()
    records = recorder.records()
    assert records.spans == []
    assert records.served == [ServedRecord("alice", "t.py::test_quiet")]


def test_sign_ins_and_served_tests_name_the_current_test() -> None:
    recorder = TimingRecorder(clock=Ticking(), worker="gw0")
    recorder.start_test("t.py::test_first")
    recorder.record_sign_in("alice@example.com", 4.5, True)
    recorder.record_sign_in("bob@example.com", 2.0, False)
    recorder.end_test()
    recorder.record_served("alice@example.com")  # outside any test: no test id
    records = recorder.records()
    assert records.sign_ins == [
        SignInRecord("alice@example.com", 4.5, True, "t.py::test_first", "gw0"),
        SignInRecord("bob@example.com", 2.0, False, "t.py::test_first", "gw0"),
    ]
    assert records.served == [ServedRecord("alice@example.com", "", "gw0")]


def test_record_wait_without_a_wall_time_places_it_from_the_clock() -> None:
    clock = Ticking(step=1.0)
    recorder = TimingRecorder(clock=clock, wall=clock.wall)
    record = recorder.record_wait(
        source="events", event="e", timeout=5, started=990.0, ended=995.0, outcome="ok"
    )
    # At the call the clock read 1001 and the wall 1_700_001_001: 990 was 11 s before.
    assert record.wall_started == 1_700_000_990.0
    assert record.nodeid == ""


def test_records_travel_as_plain_data_and_merge() -> None:
    records = Records(
        waits=[wait(1.5, outcome="timeout")],
        sign_ins=[SignInRecord("alice", 3.0, True, "t.py::a", "gw0")],
        served=[ServedRecord("alice", "t.py::b", "gw1")],
        spans=[TestSpan("t.py::a", 1e9, 4.0, "gw0")],
    )
    data = records.to_dict()
    assert re.fullmatch(r"[\[\]{}\"':,.\w\s-]*", repr(data))  # no object, just plain values
    assert Records.from_dict(data) == records
    recorder = TimingRecorder()
    recorder.merge(Records.from_dict({**data, "from_a_newer_worker": []}))
    recorder.merge(Records.from_dict(data))
    assert len(recorder.records().waits) == 2


# -- the figures -----------------------------------------------------------------------------------


@pytest.fixture
def mixed() -> Records:
    """Events: 1, 2, 4 s (one timed out); TOTP: 0.5 s; a prompt that failed; a late code."""
    return Records(
        waits=[
            wait(2.0, timeout=10.0, at=0.0),
            wait(4.0, timeout=5.0, at=10.0, event="late one", nodeid="t.py::test_late"),
            wait(1.0, timeout=1.0, outcome="timeout", at=20.0),
            wait(0.5, source="totp", timeout=30.0, at=30.0),
            wait(0.0, source="prompt", outcome="ConfigurationError", at=40.0),
            wait(7.0, timeout=10.0, at=50.0),  # exactly 70 %: not late
        ],
        sign_ins=[SignInRecord("alice", 3.0, True), SignInRecord("bob", 1.0, False)],
        served=[ServedRecord("alice")] * 7,
    )


def test_figures_per_source(mixed: Records) -> None:
    summary = summarize(mixed)
    events, totp, prompt = summary.sources
    assert (events.source, events.waits, events.codes) == ("events", 4, 3)
    assert (events.median, events.p95, events.max) == (3.0, pytest.approx(6.55), 7.0)
    assert events.problems == (("timeout", 1),)
    assert (totp.waits, totp.codes, totp.median, totp.max) == (1, 1, 0.5, 0.5)
    assert prompt.problems == (("ConfigurationError", 1),)
    assert [w.seconds for w in summary.slowest] == [7.0, 4.0, 2.0]
    assert [w.event for w in summary.late] == ["late one"]
    assert (summary.sign_ins, summary.failed_sign_ins, summary.served) == (1, 1, 7)


def test_the_terminal_lines_are_aligned_and_warn_about_late_codes(mixed: Records) -> None:
    lines = terminal_lines(summarize(mixed))
    assert lines[0] == "sign-ins: 1 made, 1 failed in 4.00 s; tests served a saved state: 7"
    assert lines[1:5] == [
        "source  waits  codes  median     p95     max  no code",
        "events      4      3  3.00 s  6.55 s  7.00 s  1 timeout",
        "totp        1      1  0.50 s  0.50 s  0.50 s",
        "prompt      1      0  0.00 s  0.00 s  0.00 s  1 ConfigurationError",
    ]
    assert lines[5] == "slowest waits:"
    assert lines[6:9] == [
        "  7.00 s  of 10 s  70%  events  'mfa_code'  t.py::test       ok",
        "  4.00 s  of 5 s   80%  events  'late one'  t.py::test_late  ok",
        "  2.00 s  of 10 s  20%  events  'mfa_code'  t.py::test       ok",
    ]
    assert lines[9].startswith("WARNING: 1 code arrived after more than 70% of the timeout")
    assert "(latest: 4.00 s of 5 s, 'late one' in t.py::test_late)" in lines[9]
    assert len(lines) == 10


def test_no_late_code_no_warning_and_no_sign_in_line() -> None:
    lines = terminal_lines(summarize(Records(waits=[wait(7.0, timeout=10.0)])))
    assert not any(line.startswith(("WARNING", "sign-ins")) for line in lines)


@pytest.mark.parametrize(
    ("value", "text"), [(0.004, "0.00 s"), (3.6, "3.60 s"), (12.34, "12.3 s"), (125.2, "125 s")]
)
def test_seconds_are_short(value: float, text: str) -> None:
    assert seconds(value) == text


def test_properties_carry_the_same_figures(mixed: Records) -> None:
    properties = dict(summarize(mixed).properties())
    assert properties["anchor_mfa_sign_ins"] == "1"
    assert properties["anchor_mfa_sign_ins_failed"] == "1"
    assert properties["anchor_mfa_tests_served"] == "7"
    assert properties["anchor_mfa_events_waits"] == "4"
    assert properties["anchor_mfa_events_median_s"] == "3.000"
    assert properties["anchor_mfa_events_p95_s"] == "6.550"
    assert properties["anchor_mfa_events_timeout"] == "1"
    assert properties["anchor_mfa_prompt_ConfigurationError"] == "1"
    assert properties["anchor_mfa_late_waits"] == "1"
    assert (
        properties["anchor_mfa_slowest_2"]
        == "4.000 s of 5 s (80%) events 'late one' t.py::test_late ok"
    )


# -- the page --------------------------------------------------------------------------------------

HOSTILE = "<img src=x onerror=alert(1)>\"'&"


@pytest.fixture
def hostile() -> Records:
    """A test id and an event name, of user text, made to break out of HTML."""
    nodeid = "t.py::test_x[</title><script>alert(2)</script>]"
    return Records(
        waits=[wait(1.0, event=HOSTILE, nodeid=nodeid, at=0.5)],
        spans=[TestSpan(nodeid, 1e9, 3.0)],
    )


def test_the_page_escapes_user_text(hostile: Records) -> None:
    page = render_html(hostile)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;" in page
    assert "&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_the_page_is_self_contained(mixed: Records) -> None:
    page = render_html(mixed)
    assert page.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in page  # the browser itself refuses anything external
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<script|<link""", page, re.I)


def test_an_empty_run_gives_a_page_that_says_so() -> None:
    page = render_html(Records())
    assert "No MFA code was asked for in this run." in page
    assert "<svg" not in page


def _bars(svg: str) -> Iterator[dict[str, str]]:
    for tag in re.findall(r'<rect class="bar"[^>]*>', svg):
        yield dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def test_one_bar_per_wait_inside_its_test_with_its_timeout() -> None:
    span = TestSpan("t.py::test", 1e9, 10.0)
    records = Records(
        waits=[
            wait(2.0, timeout=4.0, at=1.0),
            wait(3.0, source="totp", timeout=3.0, outcome="timeout", at=5.0),
        ],
        spans=[span],
    )
    svg = svg_timeline(records)
    bars = list(_bars(svg))
    assert [b["data-source"] for b in bars] == ["events", "totp"]
    assert bars[1]["data-outcome"] == "timeout" and bars[1]["stroke"] == "#b91c1c"
    span_rect = dict(
        re.findall(r'([\w-]+)="([^"]*)"', re.search(r'<rect class="span"[^>]*>', svg)[0])
    )
    left, right = float(span_rect["x"]), float(span_rect["x"]) + float(span_rect["width"])
    for bar in bars:
        assert left <= float(bar["x"]) and float(bar["x"]) + float(bar["width"]) <= right + 0.1
    # Both timeouts are within the run: a marker line each, where each wait would have ended.
    markers = re.findall(r'<rect class="timeout-marker" x="([\d.]+)"', svg)
    assert len(markers) == 2
    second = float(bars[1]["x"]) + float(bars[1]["width"])
    assert float(markers[1]) + 1 == pytest.approx(second, abs=0.11)  # a 2 px mark, centred


def test_a_timeout_far_past_the_run_is_an_arrow_on_the_edge() -> None:
    records = Records(waits=[wait(2.0, timeout=120.0)], spans=[TestSpan("t.py::test", 1e9, 3.0)])
    svg = svg_timeline(records)
    assert '<path class="timeout-marker beyond"' in svg
    assert "timeout 120 s, past the right edge" in svg
