"""The signature of the generic SMS form (``POST /sms/generic``), for relays of your own.

Scheme (documented in the README, "Codes from SMS")::

    X-Anchor-SMS-Timestamp: <Unix seconds, an integer>
    X-Anchor-SMS-Signature: sha256=<lower-case hex of HMAC-SHA256(secret, timestamp + "." + body)>

``body`` is the raw request body, byte for byte. A request is refused when a header is missing
or sent twice, when the timestamp is more than ``tolerance`` seconds away from now (either
way), when the signature does not match (compared in constant time), or when the same signature
was already accepted within the window (a replay). Several ``sha256=`` values separated by
commas are accepted (one per secret during a rotation); any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ReplayGuard",
    "sms_hmac_headers",
    "sms_hmac_signature",
]

SIGNATURE_HEADER = "X-Anchor-SMS-Signature"
TIMESTAMP_HEADER = "X-Anchor-SMS-Timestamp"
DEFAULT_TOLERANCE = 300.0
_MAX_REMEMBERED = 100_000


def sms_hmac_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sms_hmac_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers a generic SMS post needs (timestamp: now unless given)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sms_hmac_signature(secret, stamp, body)}


class ReplayGuard:
    """Checks generic SMS signatures and remembers the accepted ones for the replay window."""

    def __init__(self, secret: str, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def forget(self, signature: str) -> None:
        """Accept these signatures again (the request they signed could not be handled)."""
        with self._lock:
            for value in signature.split(","):
                self._seen.pop(value.strip(), None)

    def problem(
        self, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
    ) -> str | None:
        """Why this request must be refused, or None (and it is remembered) when it is valid."""
        if timestamp is None or signature is None:
            return f"the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required"
        stamp = timestamp.strip()
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return f"the {TIMESTAMP_HEADER} header must be Unix seconds, an integer"
        current = time.time() if now is None else now
        if abs(current - int(stamp)) > self.tolerance:
            return (
                f"the {TIMESTAMP_HEADER} is {abs(current - int(stamp)):.0f} s away from now "
                f"(allowed: {self.tolerance:g} s)"
            )
        expected = sms_hmac_signature(self.secret, stamp, body).encode()
        given = [part.strip() for part in signature.split(",")]
        match = None
        for value in given:
            if hmac.compare_digest(expected, value.encode("latin-1", "replace")):
                match = value
        if match is None:
            return f"the {SIGNATURE_HEADER} does not match the body and timestamp"
        return self._remember(match, current)

    def _remember(self, signature: str, now: float) -> str | None:
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - 2 * self.tolerance:
                self._seen.popitem(last=False)
            if signature in self._seen:
                return "this signed request was already accepted (a replay)"
            self._seen[signature] = now
            if len(self._seen) > _MAX_REMEMBERED:
                self._seen.popitem(last=False)
        return None
