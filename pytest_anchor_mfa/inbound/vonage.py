"""Vonage's signed SMS webhooks: the ``sig`` parameter, computed and checked as Vonage does.

Vonage's documented scheme (developer.vonage.com, "Signing Messages", and its SDKs): take every
parameter but ``sig``, sort by name, and concatenate ``&name=value`` for each, with ``&`` and
``=`` inside values replaced by ``_``. The signature is then, by the method chosen in the
dashboard:

* ``md5hash`` (Vonage's default): hex MD5 of that text followed by the signature secret;
* ``md5``, ``sha1``, ``sha256``, ``sha512``: hex HMAC of that text keyed by the secret.

Vonage sends hex in upper or lower case; both are accepted. A signed request carries
``timestamp`` (Unix seconds), and the signature guards against replay only if that timestamp
is checked: ``vonage_signature_ok`` refuses one outside ``tolerance`` seconds of now.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

from ..errors import InvalidArgumentError

__all__ = ["VONAGE_METHODS", "vonage_problem", "vonage_signature"]

VONAGE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
DEFAULT_TOLERANCE = 300.0
"""Seconds a signed request's ``timestamp`` may be away from now (either way)."""


def _signed_text(params: Iterable[tuple[str, str]]) -> str:
    fields = {name: value for name, value in params if name != "sig"}
    return "".join(
        f"&{name}={fields[name].replace('&', '_').replace('=', '_')}" for name in sorted(fields)
    )


def vonage_signature(secret: str, params: Iterable[tuple[str, str]], method: str) -> str:
    """The lower-case hex ``sig`` of ``params`` (``sig`` itself, if present, is left out)."""
    text = _signed_text(params)
    if method == "md5hash":
        return hashlib.md5((text + secret).encode()).hexdigest()
    if method not in VONAGE_METHODS:
        raise InvalidArgumentError(
            f"Vonage signature method must be one of {', '.join(VONAGE_METHODS)}; got {method!r}"
        )
    return hmac.new(secret.encode(), text.encode(), method).hexdigest()


def vonage_problem(
    secret: str,
    params: list[tuple[str, str]],
    method: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str | None:
    """Why ``params`` are not a validly signed Vonage request now, or None when they are."""
    sigs = [value for name, value in params if name == "sig"]
    stamps = [value for name, value in params if name == "timestamp"]
    if len(sigs) != 1 or not sigs[0]:
        return "a signed request needs exactly one 'sig' parameter"
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
        return "a signed request needs exactly one 'timestamp' parameter (Unix seconds)"
    expected = vonage_signature(secret, params, method).encode()
    if not hmac.compare_digest(expected, sigs[0].lower().encode("latin-1", "replace")):
        return "the 'sig' parameter does not match the parameters"
    skew = abs((time.time() if now is None else now) - int(stamps[0][:12]))
    if skew > tolerance:
        return f"the 'timestamp' is {skew:.0f} s away from now (allowed: {tolerance:g} s)"
    return None
