"""The picture of a run's MFA waits over time: one SVG, inline, no script, text escaped.

One row per test that waited: its span in grey, a bar per wait placed at its wall time and as
long as it waited, coloured by source (outlined in red when it got no code), the timeout drawn
as a red mark where the wait would have ended (an arrow on the right edge when that is far past
the run). The time axis covers the run, stretched up to twice its length to show timeouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from .records import OK, Records, TestSpan, WaitRecord

__all__ = ["COLOURS", "MAX_ROWS", "colour", "svg_timeline"]

COLOURS = {"events": "#2563eb", "totp": "#059669", "prompt": "#d97706"}
"""A colour per known source; any other source is grey (``OTHER``)."""
OTHER = "#6b7280"
FAILED = "#b91c1c"
MAX_ROWS = 300
"""Rows drawn at most (the tables above the picture count every wait)."""

WIDTH, LABELS, PLOT_LEFT, PLOT_RIGHT = 1000, 290, 300, 985
TOP, ROW = 34, 28


def colour(source: str) -> str:
    return COLOURS.get(source, OTHER)


@dataclass(frozen=True)
class Row:
    """A test (or the waits outside any test's span) and its waits."""

    label: str
    worker: str
    span: TestSpan | None
    waits: tuple[WaitRecord, ...]


def _rows(records: Records) -> list[Row]:
    """One row per test span with its waits, then the waits no span holds, by test."""
    left = list(records.waits)
    rows = []
    for span in sorted(records.spans, key=lambda s: s.wall_started):
        mine = [
            w
            for w in left
            if w.nodeid == span.nodeid
            and w.worker == span.worker
            and span.wall_started - 1 <= w.wall_started <= span.wall_ended + 1
        ]
        left = [w for w in left if w not in mine]
        rows.append(Row(span.nodeid, span.worker, span, tuple(mine)))
    loose: dict[tuple[str, str], list[WaitRecord]] = {}
    for wait in left:
        loose.setdefault((wait.nodeid, wait.worker), []).append(wait)
    rows += [
        Row(nodeid or "(outside a test)", worker, None, tuple(waits))
        for (nodeid, worker), waits in loose.items()
    ]
    return rows


@dataclass(frozen=True)
class Axis:
    """Wall time ``start``..``end`` onto x ``PLOT_LEFT``..``PLOT_RIGHT``."""

    start: float
    end: float

    @classmethod
    def of(cls, records: Records) -> Axis:
        starts = [s.wall_started for s in records.spans] + [w.wall_started for w in records.waits]
        ends = [s.wall_ended for s in records.spans]
        ends += [w.wall_started + w.seconds for w in records.waits]
        start, end = min(starts), max(ends)
        length = max(end - start, 1e-3)
        # Timeouts within twice the run's length stretch the axis; farther ones get an arrow.
        reach = [w.wall_started + w.timeout for w in records.waits]
        end = max([end, *(t for t in reach if t <= start + 2 * length)])
        return cls(start, start + max(end - start, 1e-3) * 1.02)

    def x(self, wall: float) -> float:
        share = (wall - self.start) / (self.end - self.start)
        return PLOT_LEFT + min(max(share, 0.0), 1.0) * (PLOT_RIGHT - PLOT_LEFT)

    def ticks(self) -> list[float]:
        """Seconds from the start at a 1/2/5 step, at most 8 of them."""
        length = self.end - self.start
        step = 10 ** math.floor(math.log10(length / 8)) if length > 0 else 1.0
        for factor in (1, 2, 5, 10):
            if length / (step * factor) <= 8:
                step *= factor
                break
        return [i * step for i in range(int(length / step) + 1)]


def _grid(axis: Axis, height: float) -> list[str]:
    parts = []
    for tick in axis.ticks():
        x = axis.x(axis.start + tick)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 4}"/>'
            f'<text class="tick" x="{x:.1f}" y="{TOP - 12}" text-anchor="middle">{tick:g} s</text>'
        )
    return parts


def _label(row: Row, y: float) -> str:
    text = row.label if len(row.label) <= 44 else "…" + row.label[-43:]
    worker = f"{row.worker} " if row.worker else ""
    full = escape(f"{worker}{row.label}")
    return (
        f'<text class="label" x="{LABELS}" y="{y + 18}" text-anchor="end">'
        f"<title>{full}</title>{escape(worker + text)}</text>"
    )


def _wait(wait: WaitRecord, axis: Axis, y: float) -> str:
    """A wait's timeout window and mark, and its bar, with a tooltip."""
    x0 = axis.x(wait.wall_started)
    x1 = max(axis.x(wait.wall_started + wait.seconds), x0 + 2)  # never thinner than 2 px
    reach = wait.wall_started + wait.timeout
    xt = axis.x(reach)
    title = escape(
        f"{wait.source} {wait.event!r}: {wait.seconds:.2f} s of {wait.timeout:g} s "
        f"({wait.share:.0%}), {wait.outcome}"
    )
    stroke = f' stroke="{FAILED}" stroke-width="2"' if wait.outcome != OK else ""
    if reach <= axis.end:
        mark = (  # a thin rect, not a line: a line has no area, browsers call it hidden
            f'<rect class="timeout-marker" x="{xt - 1:.1f}" y="{y + 3}" width="2" height="22">'
            f"<title>timeout {wait.timeout:g} s</title></rect>"
        )
    else:  # far past the run: an arrow on the edge, pointing on
        mark = (
            f'<path class="timeout-marker beyond" d="M{PLOT_RIGHT - 7},{y + 8} '
            f'l7,6 l-7,6 z"><title>timeout {wait.timeout:g} s, past the right edge</title></path>'
        )
    return (
        f'<rect class="window" x="{x0:.1f}" y="{y + 7}" width="{max(xt - x0, 0):.1f}" '
        f'height="14" stroke="{colour(wait.source)}"/>{mark}'
        f'<rect class="bar" data-source="{escape(wait.source)}" '
        f'data-outcome="{escape(wait.outcome)}" '
        f'x="{x0:.1f}" y="{y + 7}" width="{x1 - x0:.1f}" height="14" '
        f'fill="{colour(wait.source)}"{stroke}><title>{title}</title></rect>'
    )


def svg_timeline(records: Records) -> str:
    """The picture as one ``<svg>`` element (empty string with no wait)."""
    if not records.waits:
        return ""
    axis = Axis.of(records)
    rows = _rows(records)[:MAX_ROWS]
    height = TOP + ROW * len(rows) + 8
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="MFA waits over time">',
        *_grid(axis, height),
    ]
    for i, row in enumerate(rows):
        y = TOP + ROW * i
        parts.append(_label(row, y))
        if row.span is not None:
            x0, x1 = axis.x(row.span.wall_started), axis.x(row.span.wall_ended)
            parts.append(
                f'<rect class="span" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" '
                f'height="20"><title>{escape(row.label)}: {row.span.seconds:.2f} s</title></rect>'
            )
        parts += [_wait(w, axis, y) for w in row.waits]
    parts.append("</svg>")
    return "\n".join(parts)
