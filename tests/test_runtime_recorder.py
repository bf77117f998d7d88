"""``Recorder`` (record, reset, wait with a deadline) and ``RoutedMessages`` (routes, rules and
messages shared by the SMTP inbox and the SMS gateway), without servers where none is needed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from pytest_anchor_mfa.codes.rule import CodeRule
from pytest_anchor_mfa.inbound.routes import RoutedMessages, Routes
from pytest_anchor_mfa.inbound.sms import SmsGateway
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.runtime.recorder import Recorder

WAIT = 10.0  # seconds; only reached when something is broken


def jumping_clock(*values: float) -> Callable[[], float]:
    """A clock reading ``values`` in turn, then the last one for ever."""
    readings: Iterator[float] = iter(values)
    last = [values[-1]]

    def clock() -> float:
        last[0] = next(readings, last[0])
        return last[0]

    return clock


def test_items_are_kept_in_order_the_latest_keep_of_them() -> None:
    recorder: Recorder[int] = Recorder(keep=3)
    for n in range(5):
        recorder.record(n)
    assert recorder.items() == [2, 3, 4] and len(recorder) == 3
    recorder.reset()
    assert recorder.items() == [] and len(recorder) == 0
    with pytest.raises(ValueError, match="keep"):
        Recorder(keep=0)


def test_wait_for_returns_the_first_kept_match_at_once() -> None:
    recorder: Recorder[str] = Recorder(clock=jumping_clock(0.0))  # time never moves
    for word in ("alpha", "beta", "bravo"):
        recorder.record(word)
    assert recorder.wait_for(lambda word: word.startswith("b"), timeout=WAIT) == "beta"
    assert recorder.wait_for(timeout=WAIT) == "alpha"  # no match: any


def test_wait_for_times_out_on_its_clock_without_waiting_for_real() -> None:
    recorder: Recorder[str] = Recorder(clock=jumping_clock(0.0, 1000.0))
    recorder.record("other")
    assert recorder.wait_for(lambda word: word == "wanted", timeout=600.0) is None


def test_a_waiter_is_woken_by_a_record_from_another_thread() -> None:
    waiting = threading.Event()
    readings = [0]

    def clock() -> float:
        readings[0] += 1
        if readings[0] == 2:  # the waiter's second reading comes just before it waits
            waiting.set()
        return 0.0

    recorder: Recorder[str] = Recorder(clock=clock)
    found: list[str | None] = []
    waiter = threading.Thread(target=lambda: found.append(recorder.wait_for(timeout=WAIT)))
    waiter.start()
    assert waiting.wait(WAIT)
    recorder.record("late")  # takes the lock only once the waiter waits on it
    waiter.join(WAIT)
    assert found == ["late"]


def test_a_mark_hides_what_was_recorded_before_it() -> None:
    recorder: Recorder[str] = Recorder(keep=1, clock=jumping_clock(0.0, 1000.0))
    recorder.record("before")
    mark = recorder.mark()
    assert recorder.wait_for(timeout=5.0, since=mark) is None
    recorder.record("after")
    assert recorder.wait_for(timeout=WAIT, since=mark) == "after"


def test_after_a_reset_only_what_came_after_it_is_found() -> None:
    recorder: Recorder[str] = Recorder()
    recorder.record("old")
    recorder.reset()
    recorder.record("new")
    assert recorder.wait_for(timeout=WAIT) == "new"


def test_records_from_many_threads_are_all_kept() -> None:
    recorder: Recorder[int] = Recorder()
    threads = [
        threading.Thread(target=lambda base=base: [recorder.record(base + n) for n in range(500)])
        for base in range(0, 4000, 500)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(recorder.items()) == list(range(4000))


# -- RoutedMessages: one implementation for the inbox and the gateway ---------------------------


@pytest.mark.parametrize("adapter", [SmtpInbox, SmsGateway])
def test_the_inbox_and_the_gateway_share_the_routed_messages_api(adapter: type) -> None:
    assert issubclass(adapter, RoutedMessages)
    for name in ("set_rule", "rule_for", "resolve", "record", "messages"):
        assert getattr(adapter, name) is getattr(RoutedMessages, name), name


def test_routes_rules_and_messages_reset_together() -> None:
    routed: RoutedMessages[str] = RoutedMessages(Routes(kind="number"), CodeRule.digits(6), 2)
    eight = CodeRule.digits(8)
    routed.route("+1555*", "sms_code", rule=eight)
    assert routed.resolve("+1 555 000 1111") == "sms_code"
    assert routed.rule_for("sms_code") is eight
    assert routed.rule_for("other").description == "6 digits"
    for text in ("a", "b", "c"):
        routed.record(text)
    assert routed.messages == ["b", "c"]
    routed.reset()
    assert routed.messages == [] and routed.resolve("+15550001111") is None
    assert routed.rule_for("sms_code").description == "6 digits"
