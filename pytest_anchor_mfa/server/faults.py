"""Fault injection: make the fake misbehave the way a real service does, on purpose.

A login test should survive what the real events API does on a bad day. ``Faults`` (the
``faults`` of a ``FakeEventServer``, ``anchor_fake.faults`` in a test) holds rules that the app
applies to the next matching requests:

* ``delay(ms)`` - answer late;
* ``fail(status=503, count=1, fraction=None, retry_after=None)`` - answer 503, 429 or 502;
* ``drop(count=1)`` - cut the connection in the middle of the response;
* ``end_waits_early(after_ms=0)`` - a wait ends with 408 after ``after_ms`` whatever it asked;
* ``delay_signals(ms)`` - a signal is accepted at once and delivered ``ms`` later;
* ``FakeEventServer.restart()`` - the server goes away and comes back on the same port; parked
  waits see their connection dropped (events kept in the store survive, as in a real service).

Each rule applies to ``on`` = ``"signal"``, ``"wait"`` or ``"any"`` request, optionally to one
``event`` only, for ``count`` requests (``None``: until cleared) or to a ``fraction`` of them
(a seeded random choice: runs are reproducible). ``applied`` lists what was injected. The plugin
clears the rules after every test. Rules are thread-safe: a test adds them from its own thread.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

from ..errors import ConfigurationError, InvalidArgumentError

__all__ = ["Fault", "Faults", "parse_fault"]

Target = Literal["signal", "wait", "any"]
Kind = Literal["delay", "fail", "drop", "early_408", "late_signal"]
_FAIL_STATUSES = (429, 502, 503)


@dataclass(frozen=True)
class Fault:
    """One rule (see the module docstring); ``ms`` is the delay or the early end."""

    kind: Kind
    on: Target = "any"
    event: str | None = None
    count: int | None = 1
    fraction: float | None = None
    status: int = 503
    retry_after: float | None = None
    ms: int = 0

    def __post_init__(self) -> None:
        if self.on not in ("signal", "wait", "any"):
            raise InvalidArgumentError(f"fault 'on' must be signal, wait or any, not {self.on!r}")
        if self.count is not None and self.count < 1:
            raise InvalidArgumentError(f"fault count must be >= 1 or None, not {self.count!r}")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise InvalidArgumentError(f"fault fraction must be in (0, 1], not {self.fraction!r}")
        if self.kind == "fail" and self.status not in _FAIL_STATUSES:
            raise InvalidArgumentError(
                f"a failure fault answers 429, 502 or 503, not {self.status}"
            )
        if self.ms < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise InvalidArgumentError("fault delays and Retry-After must be >= 0")

    def matches(self, kind: str, event: str) -> bool:
        return self.on in ("any", kind) and self.event in (None, event)


@dataclass
class _Rule:
    fault: Fault
    left: int | None = field(default=None)


class Faults:
    """The fault rules of one server; see the module docstring."""

    def __init__(self, seed: int | None = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)
        self.applied: list[tuple[str, str, str]] = []
        """``(fault kind, request kind, event)`` of every injection, oldest first."""
        self.active = False  # read without the lock on every request: a plain bool

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(_Rule(fault, fault.count))
            self.active = True
        return fault

    def delay(self, ms: int, *, on: Target = "any", count: int | None = None) -> Fault:
        return self.add(Fault("delay", on=on, count=count, ms=ms))

    def fail(
        self,
        status: int = 503,
        *,
        count: int | None = 1,
        fraction: float | None = None,
        retry_after: float | None = None,
        on: Target = "any",
        event: str | None = None,
    ) -> Fault:
        fault = Fault("fail", on, event, count, fraction, status, retry_after)
        return self.add(fault)

    def drop(self, *, count: int | None = 1, on: Target = "any", event: str | None = None) -> Fault:
        return self.add(Fault("drop", on=on, event=event, count=count))

    def end_waits_early(
        self, after_ms: int = 0, *, count: int | None = 1, event: str | None = None
    ) -> Fault:
        return self.add(Fault("early_408", on="wait", event=event, count=count, ms=after_ms))

    def delay_signals(self, ms: int, *, count: int | None = 1, event: str | None = None) -> Fault:
        return self.add(Fault("late_signal", on="signal", event=event, count=count, ms=ms))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.applied.clear()
            self.active = False

    def take(self, kind: str, event: str) -> list[Fault]:
        """The faults to inject into this request (each rule at most once), counting them."""
        with self._lock:
            chosen = list(self._choose(kind, event))
            self._rules = [r for r in self._rules if r.left is None or r.left > 0]
            self.active = bool(self._rules)
            self.applied.extend((f.kind, kind, event) for f in chosen)
        return chosen

    def _choose(self, kind: str, event: str) -> Iterator[Fault]:
        for rule in self._rules:
            fault = rule.fault
            if not fault.matches(kind, event) or (rule.left is not None and rule.left <= 0):
                continue
            if fault.fraction is not None and self._random.random() >= fault.fraction:
                continue
            if rule.left is not None:
                rule.left -= 1
            yield fault


_NEEDS_MS = ("delay", "late-signal")
"""Kinds of ``--fault`` whose lateness has no sensible default: ``ms=`` must be given."""


def parse_fault(spec: str) -> Fault:
    """``anchor-mfa serve --fault`` syntax: ``KIND[:key=value[,key=value...]]``.

    KIND is ``503``, ``429`` or ``502`` (failures), ``delay``, ``drop``, ``early-408`` or
    ``late-signal``; keys are ``on``, ``event``, ``count`` (a number or ``all``), ``fraction``,
    ``retry_after`` and ``ms``. Example: ``503:count=3,retry_after=1``, ``delay:ms=200,count=all``.
    """
    head, _, rest = spec.partition(":")
    kinds = {
        "delay": "delay",
        "drop": "drop",
        "early-408": "early_408",
        "late-signal": "late_signal",
    }
    if head in {str(s) for s in _FAIL_STATUSES}:
        fault = Fault("fail", status=int(head))
    elif head in kinds:
        fault = Fault(kinds[head])  # type: ignore[arg-type]
    else:
        raise ConfigurationError(
            f"unknown fault {head!r} in {spec!r}: use 503, 429, 502, delay, drop, early-408 "
            "or late-signal"
        )
    changes: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigurationError(f"fault option {item!r} in {spec!r} is not key=value")
        changes[key] = _option(key, value, spec)
    if head in _NEEDS_MS and "ms" not in changes:
        raise ConfigurationError(
            f"fault {head!r} needs ms=MILLISECONDS (how late), e.g. {head}:ms=200; got {spec!r}"
        )
    if fault.kind == "early_408":
        changes["on"] = "wait"
    elif fault.kind == "late_signal":
        changes["on"] = "signal"
    try:
        return replace(fault, **changes)  # type: ignore[arg-type]
    except InvalidArgumentError as exc:  # in a --fault flag the same value is a bad setting
        raise ConfigurationError(str(exc)) from None


def _option(key: str, value: str, spec: str) -> object:
    try:
        if key in ("on", "event"):
            return value
        if key == "count":
            return None if value == "all" else int(value)
        if key in ("fraction", "retry_after"):
            return float(value)
        if key == "ms":
            return int(value)
    except ValueError:
        raise ConfigurationError(
            f"fault option {key}={value!r} in {spec!r} is not a number"
        ) from None
    raise ConfigurationError(
        f"unknown fault option {key!r} in {spec!r}: use on, event, count, fraction, "
        "retry_after or ms"
    )
