"""One backoff policy for everything that retries: the events client and the webhook sender."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import ConfigurationError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how fast to retry a call that failed for a transient reason.

    ``max_attempts`` counts the first try. The delay before retry *n* (1-based) is drawn
    uniformly from ``[0, min(backoff_max, backoff_initial * 2 ** (n - 1))]`` ("full jitter"),
    or taken from a ``Retry-After`` header when the server sends one; no retry is started that
    could not finish before the call's deadline.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    retry_statuses: frozenset[int] = field(default=frozenset({429, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy.max_attempts must be >= 1, not {self.max_attempts}"
            )
        if self.backoff_initial < 0 or self.backoff_max < 0:
            raise ConfigurationError("RetryPolicy backoff values must be >= 0")

    def delay(self, retry_number: int, rng: random.Random) -> float:
        cap = min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1))
        return rng.uniform(0, cap)
