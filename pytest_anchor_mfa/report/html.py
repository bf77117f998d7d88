"""The MFA timing report as one self-contained HTML page (``--anchor-report PATH.html``).

Inline CSS and SVG, no script, no external resource (a Content-Security-Policy says so to the
browser too); every piece of user text (event names, test ids, users) is escaped. It shows the
figures of ``Summary`` and the picture of ``picture.svg_timeline``; no code is ever recorded, so
none can appear.
"""

from __future__ import annotations

import time
from html import escape

from .picture import COLOURS, FAILED, OTHER, svg_timeline
from .records import Records, WaitRecord
from .summary import LATE_SHARE, Summary, source_order, summarize
from .text import late_warning, problems, seconds

__all__ = ["render_html"]

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827;
       margin: 24px auto; max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #4b5563; margin: 0 0 16px; }
table { border-collapse: collapse; } th, td { padding: 4px 12px 4px 0; text-align: left; }
th { border-bottom: 1px solid #d1d5db; font-weight: 600; } td.n { text-align: right; }
td.id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.warning { background: #fef3c7; border-left: 4px solid #d97706; padding: 8px 12px; }
.legend { list-style: none; padding: 0; margin: 0 0 8px; display: flex; gap: 18px;
          flex-wrap: wrap; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 22px; height: 12px; border-radius: 2px; }
svg.timeline { max-width: 100%; height: auto; font-size: 12px; }
svg .grid { stroke: #e5e7eb; } svg .tick { fill: #6b7280; }
svg .label { fill: #1f2937; font-family: ui-monospace, Menlo, Consolas, monospace;
             font-size: 11px; }
svg .span { fill: #e5e7eb; } svg .window { fill: none; stroke-dasharray: 3 3; opacity: .55; }
svg .timeout-marker { stroke: #b91c1c; stroke-width: 2; fill: #b91c1c; }
footer { color: #6b7280; margin-top: 24px; font-size: 12px; }
"""

CAPTION = (
    '<p class="meta">A row per test that waited for a code, in grey while it ran; a bar per '
    "wait, as long as it waited; the red mark is where its timeout would have ended it (the "
    "dashed box: the time it had left). Seconds from the run's start.</p>"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _table(head: list[str], rows: list[list[tuple[str, str]]], ident: str) -> str:
    """A table; each cell is (css class, text), the text escaped here."""
    heads = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="{c}">{escape(t)}</td>' for c, t in row) + "</tr>"
        for row in rows
    )
    return f'<table id="{ident}"><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>'


def _sources(summary: Summary) -> str:
    rows = [
        [
            ("", s.source),
            ("n", str(s.waits)),
            ("n", str(s.codes)),
            ("n", seconds(s.median)),
            ("n", seconds(s.p95)),
            ("n", seconds(s.max)),
            ("", problems(s) or "-"),
        ]
        for s in summary.sources
    ]
    head = ["source", "waits", "codes", "median", "p95", "max", "no code"]
    return "<h2>Waits per source</h2>" + _table(head, rows, "sources")


def _slowest(waits: tuple[WaitRecord, ...]) -> str:
    rows = [
        [
            ("n", seconds(w.seconds)),
            ("n", f"{w.timeout:g} s"),
            ("n", f"{w.share:.0%}"),
            ("", w.source),
            ("id", w.event),
            ("id", w.nodeid),
            ("", w.outcome),
        ]
        for w in waits
    ]
    head = ["waited", "timeout", "share", "source", "event", "test", "outcome"]
    return "<h2>Slowest waits</h2>" + _table(head, rows, "slowest")


def _sign_ins(summary: Summary) -> str:
    if not (summary.sign_ins or summary.failed_sign_ins or summary.served):
        return ""
    failed = f", {summary.failed_sign_ins} failed" if summary.failed_sign_ins else ""
    return (
        f'<p id="sign-ins">Sign-ins made: <b>{summary.sign_ins}</b>{failed} '
        f"({escape(seconds(summary.sign_in_seconds))}); tests served a saved signed-in state: "
        f"<b>{summary.served}</b></p>"
    )


def _legend(records: Records) -> str:
    present = sorted({w.source for w in records.waits}, key=source_order)
    items = [
        f'<li data-source="{escape(s)}"><span class="swatch" '
        f'style="background:{COLOURS.get(s, OTHER)}"></span>{escape(s)}</li>'
        for s in present
    ]
    items += [
        '<li><span class="swatch" style="background:#e5e7eb"></span>test</li>',
        f'<li><span class="swatch" style="border:2px solid {FAILED}"></span>no code</li>',
        f'<li class="timeout-key"><span class="swatch" style="width:3px;background:{FAILED}">'
        "</span>timeout</li>",
    ]
    return f'<ul class="legend">{"".join(items)}</ul>'


def render_html(records: Records) -> str:
    """The whole page for a run's ``records`` (a page saying so when nothing was recorded)."""
    summary = summarize(records)
    starts = [w.wall_started for w in records.waits] + [s.wall_started for s in records.spans]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(min(starts))) if starts else ""
    tests = len({(w.worker, w.nodeid) for w in records.waits})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        "<title>MFA timing report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>MFA timing</h1>",
        f'<p class="meta">{summary.waits} waits for a code in {tests} tests'
        + (f", run started {escape(when)}" if when else "")
        + "</p>",
        _sign_ins(summary),
    ]
    if summary.late:
        parts.append(f'<p class="warning" role="alert">{escape(late_warning(summary.late))}</p>')
    if summary.sources:
        parts += [_sources(summary), _slowest(summary.slowest)]
        parts += ["<h2>Waits over time</h2>", CAPTION, _legend(records), svg_timeline(records)]
    else:
        parts.append("<p>No MFA code was asked for in this run.</p>")
    parts.append(
        f"<footer>pytest-anchor-mfa. A wait that took more than {LATE_SHARE:.0%} of its timeout "
        "is warned about. Codes are never recorded.</footer></body></html>"
    )
    return "\n".join(p for p in parts if p) + "\n"
