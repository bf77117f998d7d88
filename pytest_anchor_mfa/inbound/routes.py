"""Which event a message belongs to: routes from a recipient (address or number) to an event.

Both inbound adapters use it: the SMTP inbox routes e-mail recipients, the SMS endpoints route
destination numbers. A route maps an exact recipient or a glob (``ci+*@example.com``,
``+1555*``) to an event name; the first route added that matches wins. Addresses compare
case-insensitively; numbers compare digits only (``+1 (555) 123-4567`` is ``+15551234567``).
``plus_addressing`` adds the e-mail rule: ``<anything>+<event>@<any domain>`` goes to
``<event>`` when no explicit route matched. A recipient nothing matches resolves to ``None``:
the adapter refuses it (SMTP 550, HTTP 404), never drops it silently.

``RoutedMessages`` is what both adapters expose on top: routes, a code rule per event and the
accepted messages (``route``, ``set_rule``, ``rule_for``, ``messages``, ``reset``), in one
thread-safe implementation, so the inbox and the gateway cannot drift apart.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..codes.rule import CodeRule
from ..errors import ConfigurationError, InvalidArgumentError
from ..runtime.recorder import Recorder

__all__ = ["Route", "RoutedMessages", "Routes", "normalize_number"]

_M = TypeVar("_M")

_NOT_DIGITS = re.compile(r"[^\d]")


def normalize_number(number: str) -> str:
    """``+1 (555) 123-4567`` -> ``+15551234567``: a leading ``+`` and the digits."""
    digits = _NOT_DIGITS.sub("", number)
    return ("+" if number.strip().startswith("+") else "") + digits


@dataclass(frozen=True)
class Route:
    pattern: str
    event: str


class Routes:
    """Thread-safe routes (tests add them from their own thread while a server reads them)."""

    def __init__(self, *, kind: str = "address", plus_addressing: bool = False) -> None:
        if kind not in ("address", "number"):
            raise ConfigurationError(f"routes are for an 'address' or a 'number', not {kind!r}")
        self.kind = kind
        self.plus_addressing = plus_addressing
        self._routes: list[Route] = []
        self._lock = threading.Lock()

    def _key(self, recipient: str) -> str:
        text = recipient.strip()
        return normalize_number(text) if self.kind == "number" else text.lower()

    def add(self, pattern: str, event: str) -> Route:
        """Route recipients matching ``pattern`` (exact, or a ``*``/``?`` glob) to ``event``."""
        if not pattern.strip() or not event:
            raise InvalidArgumentError(
                f"a route needs a pattern and an event, got {pattern!r}={event!r}"
            )
        route = Route(self._key(pattern) if "*" not in pattern else pattern.strip().lower(), event)
        with self._lock:
            self._routes.append(route)
        return route

    def remove(self, route: Route) -> None:
        with self._lock:
            if route in self._routes:
                self._routes.remove(route)

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()

    def resolve(self, recipient: str) -> str | None:
        """The event for ``recipient``, or None when nothing routes it."""
        key = self._key(recipient)
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            if key == route.pattern or fnmatch.fnmatchcase(key, route.pattern):
                return route.event
        # Lower case, like the matching: apps under test often lower-case the addresses they
        # are given, so a plus-addressed event name is one without capitals (the inbox gives
        # other names a routed address of their own).
        return self._plus_event(key) if self.plus_addressing else None

    @staticmethod
    def _plus_event(address: str) -> str | None:
        local, at, _domain = address.rpartition("@")
        if not at:
            return None
        _, plus, tag = local.partition("+")
        return tag if plus and tag else None

    @staticmethod
    def parse(spec: str) -> tuple[str, str | None]:
        """``--route`` syntax: ``PATTERN=EVENT``, or ``PATTERN`` alone (plus addressing decides)."""
        pattern, sep, event = spec.rpartition("=") if "=" in spec else (spec, "", "")
        if sep and not event:
            raise ConfigurationError(f"route {spec!r}: write PATTERN=EVENT or PATTERN")
        return (pattern, event) if sep else (spec, None)


class RoutedMessages(Generic[_M]):
    """Routes, the code rule of each event and the accepted messages of an inbound adapter.

    The tests' thread adds routes and rules and waits for messages while the server's loop
    (or its delivery threads) resolves, reads rules and records; every part is thread-safe.
    ``rule`` is the code rule of events with none of their own; the last ``keep`` messages
    are kept.
    """

    def __init__(self, routes: Routes, rule: CodeRule, keep: int) -> None:
        self.routes = routes
        self.rule = rule
        self._rules: dict[str, CodeRule] = {}
        self._rules_lock = threading.Lock()
        self._received: Recorder[_M] = Recorder(keep=keep)

    def route(self, pattern: str, event: str, *, rule: CodeRule | None = None) -> Route:
        """Route recipients matching ``pattern`` (exact or glob) to ``event``; ``rule`` is what
        a code looks like for that event (default: ``rule``)."""
        added = self.routes.add(pattern, event)
        if rule is not None:
            self.set_rule(event, rule)
        return added

    def set_rule(self, event: str, rule: CodeRule | None) -> None:
        """The code rule of ``event`` (None: the default ``rule`` again)."""
        with self._rules_lock:
            if rule is None:
                self._rules.pop(event, None)
            else:
                self._rules[event] = rule

    def rule_for(self, event: str) -> CodeRule:
        with self._rules_lock:
            return self._rules.get(event, self.rule)

    def resolve(self, recipient: str) -> str | None:
        """The event ``recipient`` routes to, or None (the adapter refuses it)."""
        return self.routes.resolve(recipient)

    def record(self, message: _M) -> None:
        """Keep an accepted message and wake whoever waits for one (the adapter calls it)."""
        self._received.record(message)

    @property
    def messages(self) -> list[_M]:
        """The accepted messages since the last reset (the latest ``keep``), oldest first."""
        return self._received.items()

    def reset(self) -> None:
        """Forget the messages, routes and per-event rules."""
        self._received.reset()
        with self._rules_lock:
            self._rules.clear()
        self.routes.clear()

    def _wait_for_message(self, match: Callable[[_M], bool], timeout: float) -> _M | None:
        return self._received.wait_for(match, timeout)
