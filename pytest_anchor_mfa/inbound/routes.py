"""Which event a message belongs to: routes from a recipient (address or number) to an event.

Both inbound adapters use it: the SMTP inbox routes e-mail recipients, the SMS endpoints route
destination numbers. A route maps an exact recipient or a glob (``ci+*@example.com``,
``+1555*``) to an event name; the first route added that matches wins. Addresses compare
case-insensitively; numbers compare digits only (``+1 (555) 123-4567`` is ``+15551234567``).
``plus_addressing`` adds the e-mail rule: ``<anything>+<event>@<any domain>`` goes to
``<event>`` when no explicit route matched. A recipient nothing matches resolves to ``None``:
the adapter refuses it (SMTP 550, HTTP 404), never drops it silently.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass

from ..errors import ConfigurationError, InvalidArgumentError

__all__ = ["Route", "Routes", "normalize_number"]

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
