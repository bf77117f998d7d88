"""``MemoryStore`` against a model: a hypothesis state machine of waits, signals and time.

The machine owns one asyncio event loop and drives the real store on it: every rule runs its
coroutine as a task on that loop, parked waits stay there as tasks between rules, and the loop is
stepped only by ``run_until_complete(asyncio.sleep(0))``, a bounded number of times (``_step``,
``_drive``). Nothing sleeps for real and nothing can hang: a coroutine that does not finish within
the bound fails the example.

Time is the model's: one fake clock (``_ManualLoop.now``, mirrored by ``Model.now``) is the
store's ``clock`` and ``wall_clock`` *and* the loop's ``time()``. Parked waits time out through
the loop's timers (``call_later``), so the "time passes" rule moves both expiry (``keep_for``)
and the wait timeouts at once, and a timer fires exactly when the model says its deadline came.
This is sound because the loop never blocks in ``select``: while ``run_until_complete(sleep(0))``
runs, a ready callback (the ``sleep(0)`` task's step, then the loop's stop) is always queued, so
``select`` is polled with timeout 0 and a far-away fake deadline never becomes a real wait. Time
moves in whole seconds, often exactly ``KEEP_FOR`` or 1, so that "expired" (``expires <= now``)
and "timed out" (``deadline <= now``) are hit on the boundary and have no rounding edge.

The model knows, per (user, event), the signals kept (sequence number and expiry, oldest first,
within the per-event, per-store-events and byte bounds, the oldest dropped first), the waits
parked with their deadline, and the history. Each signal's payload carries a unique sequence
number, so the outcome of every wait is checked exactly (a payload, None, or ``Closed``), and a
ledger of what the waits really returned shows that no payload is taken twice. Signals and resets
can find some of their parked clients gone in the same loop turn (``leave()`` and the signal in
one task step, before any wait resumes): those waits end with None, and a signal that reached
only such clients must be kept.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)
from store_support import Client

from pytest_anchor_mfa.server.store import Closed, MemoryStore, Overloaded, SignalRecord

T = TypeVar("T")

USERS = ("alice", "bob")
EVENTS = ("mfa", "otp")
KEYS = [(user, event) for user in USERS for event in EVENTS]
KEEP_FOR = 10  # seconds a kept signal lives
# Small bounds, so that each of them drops the oldest kept signal now and then:
QUEUE_LIMIT = 2  # kept signals per (user, event)
MAX_KEPT_EVENTS = 3  # (user, event) pairs holding kept signals
MAX_KEPT_BYTES = 200  # payload bytes kept in all (a payload is 40-50 bytes)
MAX_WAITS = 5  # parked waits in all; past it a wait raises Overloaded
STEP_BOUND = 50  # loop steps a rule may take before it counts as stuck
START = 1000  # the fake clock's first reading


class _ManualLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is the state machine's fake clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = float(START)

    def time(self) -> float:
        return self.now


def _few(count: int) -> str:
    return str(count) if count < 2 else "2+"


def payload(seq: int, user: str, event: str) -> bytes:
    return json.dumps({"seq": seq, "user": user, "event": event}).encode()


def seq_of(result: object) -> int | None:
    """The sequence number of a payload a wait returned (None for anything else)."""
    if isinstance(result, bytes):
        seq = json.loads(result)["seq"]
        assert isinstance(seq, int)
        return seq
    return None


# Strategies made once: building one per draw costs more than running the step.
_ANY_KEY = st.sampled_from(KEYS)
_COIN = st.booleans()
# Whole seconds; KEEP_FOR and 1 often, so that a deadline or an expiry falls on "now" exactly.
_SECONDS = st.sampled_from((1, KEEP_FOR)) | st.integers(min_value=1, max_value=2 * KEEP_FOR)
_TIMEOUTS = st.sampled_from((1, KEEP_FOR)) | st.integers(min_value=1, max_value=6 * KEEP_FOR)


@functools.cache
def _below(count: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=count - 1)


def some_of(data: st.DataObject, waits: list[Wait], what: str) -> list[Wait]:
    """Some of ``waits``: a coin for each, so that mixes of staying and leaving are common."""
    chosen = [wait for wait in waits if data.draw(_COIN)]
    note(f"{what}: {chosen}")
    return chosen


@dataclass
class Kept:
    seq: int
    expires: int


@dataclass(eq=False)
class Wait:
    """A wait the machine started; ``expected`` is set once the model says it ended."""

    ident: int
    user: str
    event: str
    deadline: int
    client: Client
    task: asyncio.Task[Any]
    expected: int | Closed | None = None  # a sequence number, Closed, or None
    ended: bool = False

    def __repr__(self) -> str:
        return f"<wait {self.ident} on {self.user}/{self.event}>"


@dataclass
class StoreState:
    """What the store says, read in one go."""

    pending: dict[tuple[str, str], int]
    kept: dict[tuple[str, str], list[bytes]]
    active: dict[str, list[str]]
    history: list[SignalRecord]


@dataclass
class HistoryEntry:
    user: str
    event: str
    seq: int
    delivered: int
    at: int


_CLOSED = Closed("reset")  # the model's "answered with Closed"


@dataclass
class Model:
    now: int = START
    kept: dict[tuple[str, str], deque[Kept]] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)

    def live_kept(self, key: tuple[str, str]) -> deque[Kept]:
        queue = self.kept.setdefault(key, deque())
        while queue and queue[0].expires <= self.now:
            queue.popleft()
        return queue

    def keep(self, key: tuple[str, str], seq: int) -> None:
        queue = self.live_kept(key)
        queue.append(Kept(seq, self.now + KEEP_FOR))
        if len(queue) > QUEUE_LIMIT:
            queue.popleft()
        # The global bounds count only live signals: the oldest of all goes first.
        while True:
            live = {k: self.live_kept(k) for k in KEYS}
            held = [k for k in KEYS if live[k]]
            size = sum(len(payload(e.seq, *k)) for k in held for e in live[k])
            if size <= MAX_KEPT_BYTES and len(held) <= MAX_KEPT_EVENTS:
                break
            oldest = min(held, key=lambda k: live[k][0].seq)
            live[oldest].popleft()

    def take(self, key: tuple[str, str]) -> int | None:
        queue = self.live_kept(key)
        return queue.popleft().seq if queue else None


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = _ManualLoop()
        self.store = MemoryStore(
            keep_for=KEEP_FOR,
            queue_limit=QUEUE_LIMIT,
            max_kept_events=MAX_KEPT_EVENTS,
            max_kept_bytes=MAX_KEPT_BYTES,
            max_waits=MAX_WAITS,
            clock=self.loop.time,
            wall_clock=self.loop.time,
        )
        self.model = Model()
        self.waits: list[Wait] = []  # every wait started, in order
        self.seq = 0
        self.payloads: dict[int, tuple[str, str]] = {}  # seq -> its (user, event)
        # What really happened, from the store's answers (not from the model):
        self.received: dict[int, list[int]] = {}  # seq -> idents of the waits that got it

    # -- driving the loop ---------------------------------------------------------------------

    def _step(self, times: int = 3) -> None:
        for _ in range(times):
            self.loop.run_until_complete(asyncio.sleep(0))

    def _drive(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` as a task on the machine's loop; fail if it is not done in time."""
        task = self.loop.create_task(coro)
        for _ in range(STEP_BOUND):
            if task.done():
                return task.result()
            self._step(1)
        task.cancel()
        self._step()
        raise AssertionError(f"{coro!r} did not finish within {STEP_BOUND} loop steps")

    def _key(self, data: st.DataObject) -> tuple[str, str]:
        """Any (user, event), but half the time one with parked waits: without that bias,
        waits spread over the keys and few signals would reach more than one."""
        waited_on = sorted({(w.user, w.event) for w in self._parked()})
        wanted = bool(waited_on) and data.draw(_COIN)
        return waited_on[data.draw(_below(len(waited_on)))] if wanted else data.draw(_ANY_KEY)

    def _parked(self, key: tuple[str, str] | None = None) -> list[Wait]:
        return [w for w in self.waits if not w.ended and (key is None or (w.user, w.event) == key)]

    def _end(self, wait: Wait, expected: int | Closed | None) -> None:
        wait.ended = True
        wait.expected = expected

    def _next_payload(self, user: str, event: str) -> tuple[int, bytes]:
        self.seq += 1
        self.payloads[self.seq] = (user, event)
        return self.seq, payload(self.seq, user, event)

    def _check_ended(self, wait: Wait) -> None:
        """A wait the model ended must be done with the outcome the model expects."""
        assert wait.task.done(), f"wait {wait.ident} should have ended"
        result = wait.task.result()
        if isinstance(wait.expected, Closed):
            assert isinstance(result, Closed) and result.reason == wait.expected.reason, result
        elif wait.expected is None:
            assert result is None, (wait.ident, result)
        else:
            assert result == payload(wait.expected, wait.user, wait.event), (wait.ident, result)

    def _record(self, wait: Wait) -> None:
        seq = seq_of(wait.task.result())
        if seq is not None:
            self.received.setdefault(seq, []).append(wait.ident)

    def _settle(self, ended: list[Wait]) -> None:
        """Step a little, then check the waits the model just ended, and record what they got."""
        self._step()
        for wait in ended:
            self._check_ended(wait)
            self._record(wait)

    # -- rules ----------------------------------------------------------------------------------

    @rule(timeouts=st.lists(_TIMEOUTS, min_size=1, max_size=3), data=st.data())
    def start_waits(self, timeouts: list[int], data: st.DataObject) -> None:
        """One to three waits on one (user, event), one after the other."""
        key = self._key(data)
        for timeout in timeouts:
            self._start_a_wait(key, timeout)

    def _start_a_wait(self, key: tuple[str, str], timeout: int) -> None:
        user, event = key
        client = Client()
        parked_before = len(self._parked(key))
        task = self.loop.create_task(self.store.wait(user, event, timeout, client.hang_up))
        taken = self.model.take(key)
        if taken is None and len(self._parked()) >= MAX_WAITS:  # refused, nothing changes
            self._step()
            assert task.done() and isinstance(task.exception(), Overloaded), task
            note_event("a wait refused: too many parked")
            return
        wait = Wait(len(self.waits), user, event, self.model.now + timeout, client, task)
        self.waits.append(wait)
        if taken is not None:  # a kept signal is returned at once, without parking
            self._end(wait, taken)
            self._settle([wait])
        else:
            self._step()
            assert not task.done(), f"the wait returned {task.result()!r} instead of parking"
            assert self._drive(self.store.pending_waiters(user, event)) == parked_before + 1

    @rule(data=st.data())
    def signal(self, data: st.DataObject) -> None:
        """Signal (user, event); some of its parked clients hang up in the same loop turn."""
        key = self._key(data)
        user, event = key
        parked = self._parked(key)
        leaving = some_of(data, parked, "hang up as it is signaled")
        seq, body = self._next_payload(user, event)

        async def hang_ups_then_signal() -> int:
            for wait in leaving:  # gone, but none of these waits has run since
                wait.client.leave()
            return await self.store.signal(user, event, body)

        delivered = self._drive(hang_ups_then_signal())
        live = [w for w in parked if w not in leaving]
        note_event(f"signal: {_few(len(live))} live waiter(s), {_few(len(leaving))} gone")
        assert delivered == len(live), (delivered, len(live), len(leaving))
        for wait in parked:
            self._end(wait, seq if wait in live else None)
        if not live:  # nobody waiting, or only clients already gone: kept, not lost
            self.model.keep(key, seq)
        self.model.history.append(HistoryEntry(user, event, seq, len(live), self.model.now))
        self._settle(parked)

    @precondition(lambda self: bool(self._parked()))
    @rule(data=st.data())
    def a_parked_client_hangs_up(self, data: st.DataObject) -> None:
        wait = data.draw(st.sampled_from(self._parked()), label="hangs up")
        wait.client.leave()
        self._end(wait, None)
        self._settle([wait])

    @rule(seconds=_SECONDS)
    def time_passes(self, seconds: int) -> None:
        self.model.now += seconds
        self.loop.now = float(self.model.now)
        timed_out = [w for w in self._parked() if w.deadline <= self.model.now]
        note_event(f"time passes: {_few(len(timed_out))} wait(s) timed out")
        for wait in timed_out:
            self._end(wait, None)
        self._settle(timed_out)

    @rule(now=st.sampled_from((False, False, False, True)), data=st.data())
    def reset(self, now: bool, data: st.DataObject) -> None:
        """Reset; some parked clients hang up in the same loop turn (they get None, not 503).

        Only one draw in four resets (``now``): a reset ends everything, and as often as the
        other rules it would keep the states small.
        """
        if not now:
            return
        parked = self._parked()
        leaving = some_of(data, parked, "hang up as the store is reset")

        async def hang_ups_then_reset() -> None:
            for wait in leaving:
                wait.client.leave()
            await self.store.reset(_CLOSED.reason)

        self._drive(hang_ups_then_reset())
        for wait in parked:
            self._end(wait, None if wait in leaving else _CLOSED)
        self.model.kept.clear()
        self.model.history.clear()
        self.received.clear()
        self._settle(parked)

    @rule(user=st.sampled_from(USERS), event=st.sampled_from(EVENTS))
    def take_with_timeout_zero(self, user: str, event: str) -> None:
        got = self._drive(self.store.wait(user, event, 0))
        expected = self.model.take((user, event))
        assert seq_of(got) == expected, (got, expected)
        if expected is not None:
            assert got == payload(expected, user, event)
            self.received.setdefault(expected, []).append(-1)  # -1: a timeout=0 take
        else:
            assert got is None

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def waits_are_where_the_model_says(self) -> None:
        for wait in self.waits:
            if wait.ended:
                self._check_ended(wait)
            else:
                assert not wait.task.done(), (wait.ident, wait.task)

    @invariant()
    def store_matches_the_model(self) -> None:
        # One task reads everything (one loop run per step rather than one per question).
        state = self._drive(self._read_store())
        self._pending_waiters_match(state)
        self._kept_signals_match_in_fifo_order(state)
        self._active_events_match(state)
        self._history_records_every_signal(state)

    async def _read_store(self) -> StoreState:
        store = self.store
        return StoreState(
            pending={key: await store.pending_waiters(*key) for key in KEYS},
            kept={key: await store.kept_payloads(*key) for key in KEYS},
            active={user: await store.active_events(user) for user in USERS},
            history=await store.history(),
        )

    def _pending_waiters_match(self, state: StoreState) -> None:
        for key in KEYS:
            assert state.pending[key] == len(self._parked(key)), ("pending_waiters", key)

    def _kept_signals_match_in_fifo_order(self, state: StoreState) -> None:
        # Per (user, event): exactly the model's unexpired, undropped signals, oldest first;
        # each payload names its own user and event, so nothing crossed between users.
        for key in KEYS:
            expected = [payload(k.seq, *key) for k in self.model.live_kept(key)]
            assert state.kept[key] == expected, ("kept_payloads", key)

    def _active_events_match(self, state: StoreState) -> None:
        for user in USERS:
            expected = {
                event
                for event in EVENTS
                if self._parked((user, event)) or self.model.live_kept((user, event))
            }
            active = state.active[user]
            assert active == sorted(active), ("active_events", active)
            assert set(active) == expected, ("active_events", user, expected, active)

    def _history_records_every_signal(self, state: StoreState) -> None:
        got = [(r.user, r.event, r.delivered_to, r.at, r.size) for r in state.history]
        expected = [
            (h.user, h.event, h.delivered, h.at, len(payload(h.seq, h.user, h.event)))
            for h in self.model.history
        ]
        assert got == expected, "history"
        for record, entry in zip(state.history, self.model.history, strict=True):
            assert record.matches(json.loads(payload(entry.seq, entry.user, entry.event)))

    @invariant()
    def nothing_is_delivered_twice(self) -> None:
        # From what the waits really returned: a signal delivered to n live waiters reached
        # exactly those n (each once); a kept one was taken by at most one wait, and only by a
        # wait on its own (user, event).
        delivered = {h.seq: h.delivered for h in self.model.history}
        for seq, takers in self.received.items():
            if delivered.get(seq, 0) == 0:
                assert len(takers) <= 1, (seq, takers)
            else:
                assert len(takers) == delivered[seq], (seq, takers)
            for ident in takers:
                if ident >= 0:
                    wait = self.waits[ident]
                    assert (wait.user, wait.event) == self.payloads[seq], (seq, ident)

    # -- teardown -------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            # Hypothesis calls teardown from a ``finally``: after a failed step, draining
            # would only hide the first error behind a second one.
            if sys.exc_info()[0] is None:
                self._drain_kept()
        finally:
            for wait in self._parked():
                wait.task.cancel()
            self._step()
            self.loop.close()

    def _drain_kept(self) -> None:
        # Nothing kept is lost: every kept, unexpired, undropped signal comes out, in order,
        # to waits with timeout 0, and then nothing more.
        for key in KEYS:
            expected = [k.seq for k in self.model.live_kept(key)]
            taken: list[int | None] = []
            while True:
                got = seq_of(self._drive(self.store.wait(*key, 0)))
                if got is None:
                    break
                taken.append(got)
                assert len(taken) <= len(expected), (key, taken, expected)
            assert taken == expected, (key, taken, expected)


StoreMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryStoreAgainstTheModel = StoreMachine.TestCase


def test_a_signal_kept_after_the_earlier_ones_expired_is_not_lost() -> None:
    async def body() -> None:
        now = [1000.0]
        store = MemoryStore(keep_for=60, clock=lambda: now[0])
        await store.signal("u", "e", b'{"n": 1}')
        now[0] += 60  # the first one expires...
        assert await store.signal("u", "e", b'{"n": 2}') == 0  # ...and the second is kept
        assert await store.kept_payloads("u", "e") == [b'{"n": 2}']
        assert await store.active_events("u") == ["e"]
        assert await store.wait("u", "e", 0) == b'{"n": 2}'

    asyncio.run(body())


def test_active_events_forgets_expired_signals() -> None:
    async def body() -> None:
        now = [1000.0]
        store = MemoryStore(keep_for=60, clock=lambda: now[0])
        await store.signal("u", "e", b"{}")
        assert await store.active_events("u") == ["e"]
        now[0] += 60
        assert await store.kept_payloads("u", "e") == []
        assert await store.active_events("u") == []

    asyncio.run(body())
