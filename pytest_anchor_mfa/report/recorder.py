"""``TimingRecorder``: a process's MFA waits, sign-ins and tests served, recorded as they happen.

Thread-safe (``mfa_code()`` may be called from worker threads). Its clocks are injectable:
``clock`` (monotonic seconds: durations) and ``wall`` (epoch seconds: where things sit on the
picture's time axis). The current test (``start_test``/``end_test``) names the records made
without a ``nodeid``; the span of every test that waited for a code is kept for the picture.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .records import OK, TIMEOUT, Records, ServedRecord, SignInRecord, TestSpan, WaitRecord

__all__ = ["TimingRecorder", "outcome_of"]

Clock = Callable[[], float]


def outcome_of(exc: BaseException | None) -> str:
    """``ok``, ``timeout`` (every timeout of ours is a ``TimeoutError``) or the class name."""
    if exc is None:
        return OK
    return TIMEOUT if isinstance(exc, TimeoutError) else type(exc).__name__


class TimingRecorder:
    """Records of one process; ``records()`` is a snapshot, ``merge`` adds another process's."""

    def __init__(
        self, clock: Clock = time.monotonic, wall: Clock = time.time, worker: str = ""
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.worker = worker
        self._lock = threading.Lock()
        self._records = Records()
        self._test: tuple[str, float, float] | None = None  # nodeid, monotonic, wall
        self._test_waited = False

    # -- the public interface: mfa_code and the sign-in code call these -----------------------

    def record_wait(
        self,
        *,
        source: str,
        event: str,
        timeout: float,
        started: float,
        ended: float,
        outcome: str,
        nodeid: str | None = None,
        wall_started: float | None = None,
    ) -> WaitRecord:
        """Keep one wait (``started``/``ended`` on ``clock``); never pass the code itself."""
        if wall_started is None:  # where ``started`` was on the wall clock
            now = self.clock()
            wall_started = self.wall() - (now - started)
        with self._lock:
            record = WaitRecord(
                nodeid=self._nodeid(nodeid),
                source=source,
                event=event,
                timeout=float(timeout),
                started=started,
                ended=ended,
                wall_started=wall_started,
                outcome=outcome,
                worker=self.worker,
            )
            self._records.waits.append(record)
            if self._test is not None and record.nodeid == self._test[0]:
                self._test_waited = True
        return record

    @contextmanager
    def timed_wait(
        self, *, source: str, event: str, timeout: float, nodeid: str | None = None
    ) -> Iterator[None]:
        """Time the block as one wait; its outcome is how the block ended (re-raised)."""
        started = self.clock()
        wall_started = self.wall()
        error: BaseException | None = None
        try:
            yield
        except BaseException as exc:  # recorded, then re-raised as it was
            error = exc
            raise
        finally:
            self.record_wait(
                source=source,
                event=event,
                timeout=timeout,
                started=started,
                ended=self.clock(),
                outcome=outcome_of(error),
                nodeid=nodeid,
                wall_started=wall_started,
            )

    def record_sign_in(self, user: str, seconds: float, ok: bool) -> None:
        """A sign-in was made (``ok``) or failed, in the current test, taking ``seconds``."""
        with self._lock:
            record = SignInRecord(user, float(seconds), bool(ok), self._nodeid(None), self.worker)
            self._records.sign_ins.append(record)

    def record_served(self, user: str) -> None:
        """The current test got ``user``'s saved signed-in state (no sign-in of its own)."""
        with self._lock:
            self._records.served.append(ServedRecord(user, self._nodeid(None), self.worker))

    # -- the plugin's side ---------------------------------------------------------------------

    def start_test(self, nodeid: str) -> None:
        with self._lock:
            self._test = (nodeid, self.clock(), self.wall())
            self._test_waited = False

    def end_test(self) -> None:
        """Keep the span of the test that just ended if it waited for a code."""
        with self._lock:
            if self._test is not None and self._test_waited:
                nodeid, started, wall_started = self._test
                seconds = max(self.clock() - started, 0.0)
                self._records.spans.append(TestSpan(nodeid, wall_started, seconds, self.worker))
            self._test = None
            self._test_waited = False

    def records(self) -> Records:
        """A copy of everything recorded so far (merged records included)."""
        with self._lock:
            copy = Records()
            copy.extend(self._records)
            return copy

    def merge(self, records: Records) -> None:
        """Add another process's records (an xdist worker's, on the controller)."""
        with self._lock:
            self._records.extend(records)

    def _nodeid(self, nodeid: str | None) -> str:
        if nodeid is not None:
            return nodeid
        return self._test[0] if self._test is not None else ""
