"""Whether an Anchor webhook delivery can be trusted: signing, verification, replay and dedupe.

Deliveries are signed with ``HMAC_SHA256(secret, "v0:" + timestamp + ":" + raw_body)`` and
carried in the headers ``Anchor-Timestamp: <unix seconds>`` and
``Anchor-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>]`` (the Standard Webhooks style).

- :func:`sign` makes the headers of a delivery (the fake sender's side);
- :func:`verify` runs the stateless checks in the contract's order (headers present and sent
  once, timestamp within the tolerance, signature); :class:`AnchorVerifier` is the same check
  as a ``Verifier`` with its secrets and clock; :class:`Deduplicator` adds the stateful one
  (event id not seen before).

Every failure is a :class:`~pytest_anchor_mfa.errors.WebhookVerificationError` whose ``reason``
names the check; no message ever contains a secret or an expected signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

from ..errors import (
    AnchorMfaError,
    ConfigurationError,
    InvalidArgumentError,
    WebhookVerificationError,
)
from ..redact import shorten
from .request import Clock, HeadersArg, SeenIds, SignedRequest, first_match, header_values

__all__ = [
    "DEFAULT_TOLERANCE",
    "DELIVERY_ID_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "USER_AGENT",
    "AnchorVerifier",
    "Deduplicator",
    "HeadersArg",
    "SecretsArg",
    "compute_signature",
    "normalize_secrets",
    "sign",
    "verify",
]

TIMESTAMP_HEADER = "Anchor-Timestamp"
SIGNATURE_HEADER = "Anchor-Signature"
EVENT_HEADER = "Anchor-Event"
DELIVERY_ID_HEADER = "Anchor-Delivery-Id"
USER_AGENT = "Anchor-Webhooks/1.0"

DEFAULT_TOLERANCE = 120.0
"""The replay window of the contract: a timestamp at most 2 minutes from now, either way."""

SecretsArg = str | bytes | Sequence[str | bytes]
"""One signing secret, or several (during a rotation the new and the old one are valid)."""

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_CHECKED = (TIMESTAMP_HEADER, SIGNATURE_HEADER)


def normalize_secrets(secrets: SecretsArg) -> tuple[bytes, ...]:
    """One secret or a list (rotation: new and old) as UTF-8 bytes; refuses empty ones."""
    items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys = tuple(item.encode() if isinstance(item, str) else bytes(item) for item in items)
    if not keys or not all(keys):
        raise ConfigurationError(
            "a webhook secret is empty; pass the signing secret returned when the webhook "
            "was created (usually kept in ANCHOR_MFA_WEBHOOK_SECRET)"
        )
    return keys


def compute_signature(secret: str | bytes, timestamp: int | str, raw_body: bytes) -> str:
    """The ``v1`` value: lowercase hex HMAC-SHA256 of ``"v0:<timestamp>:" + raw_body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + bytes(raw_body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(
    secret: SecretsArg,
    raw_body: bytes,
    timestamp: int | None = None,
    *,
    event_type: str | None = None,
    delivery_id: str | None = None,
) -> dict[str, str]:
    """The headers of a delivery of ``raw_body`` signed at ``timestamp`` (default: now).

    Several secrets give several ``v1=`` values, as the service sends during a rotation.
    ``Anchor-Event`` and ``Anchor-Delivery-Id`` are added when given.
    """
    stamp = str(int(time.time()) if timestamp is None else int(timestamp))
    signatures = ",".join(
        f"v1={compute_signature(key, stamp, raw_body)}" for key in normalize_secrets(secret)
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: f"t={stamp},{signatures}",
    }
    if event_type is not None:
        headers[EVENT_HEADER] = event_type
    if delivery_id is not None:
        headers[DELIVERY_ID_HEADER] = delivery_id
    return headers


# -- header parsing -------------------------------------------------------------------------------


def _malformed(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason="malformed_header")


def _signed_headers(headers: HeadersArg) -> tuple[str, str]:
    """``(Anchor-Timestamp, Anchor-Signature)``, each present, non-empty and sent once."""
    found = {name: header_values(headers, name) for name in _CHECKED}
    missing = [name for name in _CHECKED if not any(found[name])]
    if missing:
        raise WebhookVerificationError(
            f"missing or empty header(s): {', '.join(missing)}", reason="missing_header"
        )
    for name in _CHECKED:
        if len(found[name]) > 1:
            raise _malformed(
                f"{name} was sent {len(found[name])} times; a delivery carries it once "
                "(several signatures go in one header as several v1= values)"
            )
    return found[TIMESTAMP_HEADER][0], found[SIGNATURE_HEADER][0]


def _parse_signature_header(value: str) -> tuple[str, list[str]]:
    """``(t, [v1, ...])`` from ``t=<ts>,v1=<hex>[,v1=<hex>...]``; other schemes are ignored."""
    stamps: list[str] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, sep, item_value = item.strip().partition("=")
        if not sep or not key:
            shown = shorten(item, 60, quote=True)
            raise _malformed(f"{SIGNATURE_HEADER} item {shown} is not key=value")
        if key == "t":
            stamps.append(item_value.strip())
        elif key == "v1":
            signatures.append(item_value.strip())
    if len(stamps) != 1:
        raise _malformed(f"{SIGNATURE_HEADER} must carry exactly one t=, found {len(stamps)}")
    if not signatures:
        raise _malformed(f"{SIGNATURE_HEADER} carries no v1= signature")
    for signature in signatures:
        if not _HEX_SIGNATURE.fullmatch(signature):
            raise _malformed(f"{SIGNATURE_HEADER} v1= value is not 64 hex digits")
    return stamps[0], signatures


# -- verification ---------------------------------------------------------------------------------


def verify(
    raw_body: bytes,
    headers: HeadersArg,
    secrets: SecretsArg,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a delivery's headers and signature; return ``None`` or raise.

    Checks, in the contract's order, each failure raising ``WebhookVerificationError`` with
    ``reason``: both headers present (``missing_header``); each sent once, ``Anchor-Timestamp``
    is unix seconds and ``Anchor-Signature`` is ``t=<same timestamp>,v1=<hex>[,v1=...]``
    (``malformed_header``); the timestamp is at most ``tolerance`` seconds from ``now`` either
    way (``timestamp_out_of_range``); some ``v1`` equals the HMAC of ``raw_body`` under some
    secret, compared in constant time (``signature_mismatch``). Header names are
    case-insensitive; ``headers`` is a mapping or ``(name, value)`` pairs (see ``HeadersArg``).
    """
    keys = normalize_secrets(secrets)
    _check_tolerance(tolerance, InvalidArgumentError)
    stamp, signature_header = _signed_headers(headers)
    if not _TIMESTAMP.fullmatch(stamp):
        shown = shorten(stamp, 60, quote=True)
        raise _malformed(f"{TIMESTAMP_HEADER} must be unix seconds, got {shown}")
    signed_stamp, signatures = _parse_signature_header(signature_header)
    if signed_stamp != stamp:
        raise _malformed(
            f"{SIGNATURE_HEADER} t={shorten(signed_stamp, 60, quote=True)} does not match "
            f"{TIMESTAMP_HEADER} {stamp}"
        )

    age = (time.time() if now is None else now) - int(stamp)
    if not abs(age) <= tolerance:  # written so that a NaN clock fails too
        direction = "old" if age > 0 else "in the future"
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} {stamp} is {abs(age):.0f} s {direction}; "
            f"tolerance is {tolerance:g} s (replay protection, or a clock is off)",
            reason="timestamp_out_of_range",
        )

    expected = [compute_signature(key, stamp, raw_body) for key in keys]
    if first_match(expected, [given.lower() for given in signatures]) is None:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER}: none of {len(signatures)} v1 value(s) matches the body under "
            f"any of {len(keys)} secret(s); the body was altered or the secret is wrong",
            reason="signature_mismatch",
        )


def _check_tolerance(tolerance: float, error: type[AnchorMfaError] = ConfigurationError) -> None:
    # A setting of a verifier (ConfigurationError), or an argument of one verify() call.
    if not tolerance >= 0:
        raise error(f"webhook timestamp tolerance must be >= 0 s, got {tolerance!r}")


class AnchorVerifier:
    """``verify`` as a ``Verifier``: the secrets (one, or several during a rotation), the
    replay window in seconds and the clock are set once."""

    def __init__(
        self, secrets: SecretsArg, *, tolerance: float = DEFAULT_TOLERANCE, clock: Clock = time.time
    ) -> None:
        self._keys = normalize_secrets(secrets)
        _check_tolerance(tolerance)
        self._tolerance = tolerance
        self._clock = clock

    def verify(self, request: SignedRequest) -> None:
        """Check ``request``'s body and headers; raise ``WebhookVerificationError`` if refused."""
        verify(
            request.body, request.headers, self._keys, tolerance=self._tolerance, now=self._clock()
        )


class Deduplicator(SeenIds):
    """Remembers the most recent ``max_ids`` event ids to refuse redeliveries; thread-safe."""

    def check(self, event_id: str) -> None:
        """Remember ``event_id``, or raise ``WebhookVerificationError(reason="duplicate")``."""
        if not self.add(event_id):
            shown = shorten(event_id, 60, quote=True)
            raise WebhookVerificationError(
                f"event {shown} was already received; a redelivery must not be processed twice",
                reason="duplicate",
            )
