"""The MFA timing report: what a run's MFA waits cost, recorded, summed up and drawn.

Pure code (the stdlib only, no pytest): ``TimingRecorder`` records a process's waits, sign-ins
and tests served (``recorder``) as ``Records`` (``records``: JSON-able, for xdist workers);
``summarize`` computes the figures (``summary``: per source median, p95, max; the slowest
waits; the late ones); ``terminal_lines`` writes them for the terminal (``text``) and
``render_html`` as a self-contained page with a picture of the waits over time (``html``,
``picture``). The plugin's ``timing`` module wires them into pytest.
"""

from __future__ import annotations

from .recorder import TimingRecorder, outcome_of
from .records import Records, ServedRecord, SignInRecord, TestSpan, WaitRecord
from .summary import LATE_SHARE, SourceFigures, Summary, percentile, summarize
from .text import terminal_lines

__all__ = [
    "LATE_SHARE",
    "Records",
    "ServedRecord",
    "SignInRecord",
    "SourceFigures",
    "Summary",
    "TestSpan",
    "TimingRecorder",
    "WaitRecord",
    "outcome_of",
    "percentile",
    "summarize",
    "terminal_lines",
]
