"""What the MFA timing report is made of: waits, sign-ins, tests served, test spans.

Plain frozen dataclasses, and ``Records`` that holds a run's (or a process's) lists of them and
turns them into JSON-able dicts and back: under pytest-xdist a worker's records travel to the
controller that way. No code value is ever part of a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

__all__ = ["Records", "ServedRecord", "SignInRecord", "TestSpan", "WaitRecord"]

OK = "ok"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class WaitRecord:
    """One ``mfa_code()`` wait: where and how long it waited, and how it ended.

    ``started``/``ended`` are seconds on a monotonic clock (durations); ``wall_started`` is the
    wall time it started at (the picture's time axis, comparable between processes).
    ``outcome`` is ``ok``, ``timeout`` or the error's class name.
    """

    nodeid: str
    source: str
    event: str
    timeout: float
    started: float
    ended: float
    wall_started: float
    outcome: str
    worker: str = ""

    @property
    def seconds(self) -> float:
        return max(self.ended - self.started, 0.0)

    @property
    def share(self) -> float:
        """The part of its timeout the wait took (0 when it had no timeout)."""
        return self.seconds / self.timeout if self.timeout > 0 else 0.0


@dataclass(frozen=True)
class SignInRecord:
    """One sign-in made (``ok``) or failed, by the test ``nodeid``."""

    user: str
    seconds: float
    ok: bool
    nodeid: str = ""
    worker: str = ""


@dataclass(frozen=True)
class ServedRecord:
    """One test that started with a saved signed-in state of ``user``."""

    user: str
    nodeid: str = ""
    worker: str = ""


@dataclass(frozen=True)
class TestSpan:
    """When a test that waited for a code ran: wall start, and its length (monotonic)."""

    __test__ = False  # not a test class, whatever pytest's name rule says

    nodeid: str
    wall_started: float
    seconds: float
    worker: str = ""

    @property
    def wall_ended(self) -> float:
        return self.wall_started + self.seconds


_R = TypeVar("_R")


def _load(kind: type[_R], rows: Any) -> list[_R]:
    names = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    return [kind(**{k: v for k, v in row.items() if k in names}) for row in rows or ()]


@dataclass
class Records:
    """A run's records, in the order they were made (mutable: the recorder appends)."""

    waits: list[WaitRecord] = field(default_factory=list)
    sign_ins: list[SignInRecord] = field(default_factory=list)
    served: list[ServedRecord] = field(default_factory=list)
    spans: list[TestSpan] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.waits or self.sign_ins or self.served)

    def extend(self, other: Records) -> None:
        """Add ``other``'s records after these (an xdist worker's, on the controller)."""
        self.waits.extend(other.waits)
        self.sign_ins.extend(other.sign_ins)
        self.served.extend(other.served)
        self.spans.extend(other.spans)

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        """Plain lists of plain dicts: what execnet carries from a worker."""
        return {
            "waits": [asdict(r) for r in self.waits],
            "sign_ins": [asdict(r) for r in self.sign_ins],
            "served": [asdict(r) for r in self.served],
            "spans": [asdict(r) for r in self.spans],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Records:
        """``to_dict``'s inverse; unknown keys are ignored (a worker of another version)."""
        return cls(
            waits=_load(WaitRecord, data.get("waits")),
            sign_ins=_load(SignInRecord, data.get("sign_ins")),
            served=_load(ServedRecord, data.get("served")),
            spans=_load(TestSpan, data.get("spans")),
        )
