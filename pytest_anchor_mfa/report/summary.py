"""The figures of the MFA timing report, computed from a run's ``Records``.

Per source: the waits, the codes they got, the time waited (median, p95, max) and what went
wrong; the slowest waits next to their timeouts; the waits that got their code only after more
than ``LATE_SHARE`` of their timeout (the next slow code times out); sign-ins made against tests
served a saved state. ``properties()`` gives the same figures as JUnit testsuite properties.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .records import OK, TIMEOUT, Records, WaitRecord

__all__ = [
    "LATE_SHARE",
    "SOURCES",
    "SourceFigures",
    "Summary",
    "percentile",
    "source_order",
    "summarize",
]

LATE_SHARE = 0.7
"""A code that took more than this part of its timeout arrived late: warned about."""

SLOWEST = 3
"""How many of the slowest waits the report lists."""

SOURCES = ("events", "totp", "prompt")
"""The known sources, in the order the report lists them (any other comes after, by name)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by linear interpolation between closest ranks.

    Numpy's default ("inclusive"): the median of an even count is the mean of the middle two,
    and p95 of 0, 1, ..., 100 is 95. ``nan`` for no values.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class SourceFigures:
    """The waits of one source."""

    source: str
    waits: int
    codes: int
    median: float
    p95: float
    max: float
    problems: tuple[tuple[str, int], ...]
    """(outcome, count) of the waits that got no code: ``timeout`` first, then by name."""

    @classmethod
    def of(cls, source: str, waits: Sequence[WaitRecord]) -> SourceFigures:
        seconds = [w.seconds for w in waits]
        failed = Counter(w.outcome for w in waits if w.outcome != OK)
        return cls(
            source=source,
            waits=len(waits),
            codes=sum(1 for w in waits if w.outcome == OK),
            median=percentile(seconds, 0.5),
            p95=percentile(seconds, 0.95),
            max=max(seconds),
            problems=tuple(sorted(failed.items(), key=lambda p: (p[0] != TIMEOUT, p[0]))),
        )


@dataclass(frozen=True)
class Summary:
    """Everything the terminal section, the JUnit properties and the HTML page show."""

    sign_ins: int
    failed_sign_ins: int
    sign_in_seconds: float
    served: int
    sources: tuple[SourceFigures, ...]
    slowest: tuple[WaitRecord, ...]
    late: tuple[WaitRecord, ...]

    @property
    def waits(self) -> int:
        return sum(s.waits for s in self.sources)

    def properties(self) -> list[tuple[str, str]]:
        """The figures as (name, value) pairs, names ``anchor_mfa_*``; seconds with 3 decimals."""
        pairs = [
            ("anchor_mfa_sign_ins", str(self.sign_ins)),
            ("anchor_mfa_sign_ins_failed", str(self.failed_sign_ins)),
            ("anchor_mfa_tests_served", str(self.served)),
            ("anchor_mfa_waits", str(self.waits)),
            ("anchor_mfa_late_waits", str(len(self.late))),
        ]
        for s in self.sources:
            prefix = f"anchor_mfa_{s.source}"
            pairs += [
                (f"{prefix}_waits", str(s.waits)),
                (f"{prefix}_codes", str(s.codes)),
                (f"{prefix}_median_s", f"{s.median:.3f}"),
                (f"{prefix}_p95_s", f"{s.p95:.3f}"),
                (f"{prefix}_max_s", f"{s.max:.3f}"),
            ]
            pairs += [(f"{prefix}_{outcome}", str(n)) for outcome, n in s.problems]
        for rank, wait in enumerate(self.slowest, 1):
            pairs.append((f"anchor_mfa_slowest_{rank}", describe_wait(wait)))
        return pairs


def describe_wait(wait: WaitRecord) -> str:
    """One wait in a line: seconds of timeout, source, event, test, outcome."""
    return (
        f"{wait.seconds:.3f} s of {wait.timeout:g} s ({wait.share:.0%}) {wait.source} "
        f"{wait.event!r} {wait.nodeid} {wait.outcome}"
    )


def source_order(source: str) -> tuple[int, str]:
    """Sort key: the known sources in ``SOURCES`` order, then any other by name."""
    return (SOURCES.index(source) if source in SOURCES else len(SOURCES), source)


def summarize(
    records: Records, *, slowest: int = SLOWEST, late_share: float = LATE_SHARE
) -> Summary:
    """The report's figures; the slowest waits first, late waits in the order they were made."""
    by_source: dict[str, list[WaitRecord]] = {}
    for wait in records.waits:
        by_source.setdefault(wait.source, []).append(wait)
    ordered = sorted(records.waits, key=lambda w: w.seconds, reverse=True)
    return Summary(
        sign_ins=sum(1 for s in records.sign_ins if s.ok),
        failed_sign_ins=sum(1 for s in records.sign_ins if not s.ok),
        sign_in_seconds=sum(s.seconds for s in records.sign_ins),
        served=len(records.served),
        sources=tuple(
            SourceFigures.of(name, by_source[name]) for name in sorted(by_source, key=source_order)
        ),
        slowest=tuple(ordered[:slowest]),
        late=tuple(w for w in records.waits if w.outcome == OK and w.share > late_share),
    )
