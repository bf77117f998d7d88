"""The signature of the generic SMS form (``POST /sms/generic``), for relays of your own.

Scheme (documented in docs/sms.md, "Codes from SMS")::

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
import time

from .request import Clock, SeenIds, SignedRequest, check_window, first_match, header_values, refuse

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SmsHmacVerifier",
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


class SmsHmacVerifier:
    """Checks generic SMS signatures and remembers the accepted ones for the replay window."""

    def __init__(
        self, secret: str, tolerance: float = DEFAULT_TOLERANCE, *, clock: Clock = time.time
    ) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self._clock = clock
        self._accepted = SeenIds(_MAX_REMEMBERED)

    def clear(self) -> None:
        self._accepted.clear()

    def forget(self, signature: str) -> None:
        """Accept these signatures again (the request they signed could not be handled)."""
        for value in signature.split(","):
            self._accepted.discard(value.strip())

    def verify(self, request: SignedRequest) -> None:
        """Return if validly signed and not seen before (it is then remembered); else raise."""
        stamp, signature = _signed_headers(request)
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise refuse(
                "malformed_header",
                f"the {TIMESTAMP_HEADER} header must be Unix seconds, an integer",
            )
        now = self._clock()
        check_window(f"the {TIMESTAMP_HEADER}", int(stamp), now, self.tolerance)
        expected = sms_hmac_signature(self.secret, stamp, request.body)
        match = first_match([expected], [part.strip() for part in signature.split(",")])
        if match is None:
            raise refuse(
                "signature_mismatch",
                f"the {SIGNATURE_HEADER} does not match the body and timestamp",
            )
        if not self._accepted.add(match, now, forget_before=now - 2 * self.tolerance):
            raise refuse("replay", "this signed request was already accepted (a replay)")


def _signed_headers(request: SignedRequest) -> tuple[str, str]:
    """The timestamp and the signature header, each sent once."""
    stamps = header_values(request.headers, TIMESTAMP_HEADER)
    signatures = header_values(request.headers, SIGNATURE_HEADER)
    if len(stamps) > 1 or len(signatures) > 1:
        raise refuse(
            "malformed_header", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} must be sent once"
        )
    if not stamps or not signatures:
        raise refuse(
            "missing_header", f"the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required"
        )
    return stamps[0], signatures[0]
