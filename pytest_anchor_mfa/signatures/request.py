"""What a verifier checks, the one way it refuses, and the checks every scheme shares.

A ``Verifier`` looks at one ``SignedRequest`` and returns ``None`` when it is validly signed;
otherwise it raises ``SignatureVerificationError`` (``refuse``), whose ``reason`` names the
failed check and whose message is one line without a secret or an expected signature. Shared
here: reading a header that may have been sent twice (``header_values``), comparing in
constant time against several candidates (``first_match``), the timestamp window
(``check_window``) and a bounded, thread-safe memory of ids already seen (``SeenIds``).
"""

from __future__ import annotations

import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import SignatureVerificationError

__all__ = [
    "Clock",
    "HeadersArg",
    "SeenIds",
    "SignedRequest",
    "Verifier",
    "check_window",
    "first_match",
    "header_values",
    "refuse",
]

HeadersArg = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]
"""A request's headers: a mapping (``dict``, ``httpx.Headers``, Starlette's ``Headers``),
``(name, value)`` pairs, or an ASGI scope's raw byte pairs. Multi-valued mappings and pairs
keep every copy of a header."""

Clock = Callable[[], float]
"""Unix seconds now (``time.time``); tests pass their own to check the timestamp window."""


@dataclass(frozen=True)
class SignedRequest:
    """One request as it arrived; each scheme reads the parts it signs.

    ``params`` are the request's parameters, decoded: a form's fields, a query string's or a
    JSON object's (Twilio signs the form, Vonage the parameters wherever they came from).
    """

    body: bytes = b""
    headers: HeadersArg = ()
    method: str = "POST"
    url: str = ""
    params: Sequence[tuple[str, str]] = ()


class Verifier(Protocol):
    """A signature scheme with its secrets: checks a request, refuses it by raising."""

    def verify(self, request: SignedRequest) -> None:
        """Return if ``request`` is validly signed, else raise ``SignatureVerificationError``."""


def refuse(reason: str, message: str) -> SignatureVerificationError:
    """The refusal of a request: ``reason`` names the check, ``message`` says what was wrong."""
    return SignatureVerificationError(message, reason=reason)


def _pairs(headers: HeadersArg) -> Iterable[tuple[Any, Any]]:
    """Every ``(name, value)`` of ``headers``, a header sent twice included twice."""
    source: Any = headers
    multi_items = getattr(source, "multi_items", None)
    if callable(multi_items):  # httpx.Headers: its items() joins repeated values with ", "
        source = multi_items()
    elif callable(getattr(source, "items", None)):  # dict, Starlette's Headers (keep repeats)
        source = source.items()
    pairs: Iterable[tuple[Any, Any]] = source  # else (name, value) pairs already
    return pairs


def _text(value: str | bytes) -> str:
    # Header bytes are latin-1 in HTTP/1.1: every byte decodes, nothing is lost.
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def header_values(headers: HeadersArg, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), stripped, each copy of it kept."""
    wanted = name.lower()
    return [_text(value).strip() for key, value in _pairs(headers) if _text(key).lower() == wanted]


def first_match(expected: Iterable[str], given: Sequence[str]) -> str | None:
    """The first of ``given`` equal to one of ``expected``, or ``None``.

    Every pair is compared, in constant time, so the time taken does not tell which one
    matched or how much of it did.
    """
    wanted = [candidate.encode("latin-1", "replace") for candidate in expected]
    found = None
    for value in given:
        encoded = value.encode("latin-1", "replace")
        for candidate in wanted:
            if hmac.compare_digest(candidate, encoded) and found is None:
                found = value
    return found


def check_window(label: str, stamp: int, now: float, tolerance: float) -> None:
    """Refuse a timestamp more than ``tolerance`` seconds away from ``now``, either way."""
    skew = abs(now - stamp)
    if not skew <= tolerance:  # written so that a NaN clock fails too
        raise refuse(
            "timestamp_out_of_range",
            f"{label} is {skew:.0f} s away from now (allowed: {tolerance:g} s)",
        )


class SeenIds:
    """The most recent ``max_ids`` ids (event ids, signatures), to refuse one seen before.

    Thread-safe. ``add`` can also forget ids noted before a given time (a replay window).
    """

    def __init__(self, max_ids: int = 100_000) -> None:
        self._max_ids = max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, now: float = 0.0, *, forget_before: float | None = None) -> bool:
        """Note ``key``; False (and nothing changes) if it is already noted."""
        with self._lock:
            if forget_before is not None:
                while self._seen and next(iter(self._seen.values())) < forget_before:
                    self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            if len(self._seen) > self._max_ids:
                self._seen.popitem(last=False)
            return True

    def discard(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._seen

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
