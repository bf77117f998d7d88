"""Small statistics helpers: percentiles and a distribution summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_anchor_mfa.report.summary import percentile as quantile

__all__ = ["Dist", "percentile"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, linearly interpolated."""
    # The package's own (the MFA timing report's), which takes a quantile 0..1.
    return quantile(sorted_values, q / 100.0)


@dataclass(frozen=True)
class Dist:
    """Summary of a sample of durations (any unit; the bench uses milliseconds)."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Dist:
        ordered = sorted(samples)
        mean = sum(ordered) / len(ordered) if ordered else math.nan
        return cls(
            n=len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=ordered[-1] if ordered else math.nan,
            mean=mean,
        )
