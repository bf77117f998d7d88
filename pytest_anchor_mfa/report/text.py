"""The MFA timing report as terminal lines: short, aligned, no code values (none is recorded)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .records import WaitRecord
from .summary import LATE_SHARE, SourceFigures, Summary

__all__ = ["late_warning", "seconds", "table", "terminal_lines"]


def seconds(value: float) -> str:
    """``0.42 s``, ``3.60 s``, ``12.3 s``, ``125 s``; ``-`` for no value."""
    if math.isnan(value):
        return "-"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Rows as aligned lines: columns padded to their widest cell, ``right`` ones right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def problems(figures: SourceFigures) -> str:
    """``1 timeout, 2 ConfigurationError``: the waits of a source that got no code."""
    return ", ".join(f"{n} {outcome}" for outcome, n in figures.problems)


def _sign_in_line(summary: Summary) -> str:
    failed = f", {summary.failed_sign_ins} failed" if summary.failed_sign_ins else ""
    made = summary.sign_ins + summary.failed_sign_ins
    return (
        f"sign-ins: {summary.sign_ins} made{failed} in {seconds(summary.sign_in_seconds)}; "
        f"tests served a saved state: {summary.served}"
        if made
        else f"sign-ins: none made; tests served a saved state: {summary.served}"
    )


def _wait_row(wait: WaitRecord) -> list[str]:
    return [
        seconds(wait.seconds),
        f"of {wait.timeout:g} s",
        f"{wait.share:.0%}",
        wait.source,
        repr(wait.event),
        wait.nodeid,
        wait.outcome,
    ]


def late_warning(late: Sequence[WaitRecord]) -> str:
    """One line: how many codes came after ``LATE_SHARE`` of their timeout, and the latest."""
    worst = max(late, key=lambda w: w.share)
    n = len(late)
    return (
        f"WARNING: {n} {'code' if n == 1 else 'codes'} arrived after more than {LATE_SHARE:.0%} "
        f"of the timeout (latest: {seconds(worst.seconds)} of {worst.timeout:g} s, "
        f"{worst.event!r} in {worst.nodeid}); raise the timeout or look at what sends the code"
    )


def terminal_lines(summary: Summary) -> list[str]:
    """The section's lines (the caller writes its title)."""
    lines = []
    if summary.sign_ins or summary.failed_sign_ins or summary.served:
        lines.append(_sign_in_line(summary))
    if summary.sources:
        rows = [["source", "waits", "codes", "median", "p95", "max", "no code"]]
        rows += [
            [
                s.source,
                str(s.waits),
                str(s.codes),
                *map(seconds, (s.median, s.p95, s.max)),
                problems(s),
            ]
            for s in summary.sources
        ]
        lines += table(rows, right=(1, 2, 3, 4, 5))
    if summary.slowest:
        lines.append("slowest waits:")
        lines += ["  " + line for line in table([_wait_row(w) for w in summary.slowest], (0, 2))]
    if summary.late:
        lines.append(late_warning(summary.late))
    return lines
