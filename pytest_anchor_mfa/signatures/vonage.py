"""Vonage's signed SMS webhooks: the ``sig`` parameter, computed and checked as Vonage does.

Vonage's documented scheme (developer.vonage.com, "Signing Messages", and its SDKs): take every
parameter but ``sig``, sort by name, and concatenate ``&name=value`` for each, with ``&`` and
``=`` inside values replaced by ``_``. The signature is then, by the method chosen in the
dashboard:

* ``md5hash`` (Vonage's default): hex MD5 of that text followed by the signature secret;
* ``md5``, ``sha1``, ``sha256``, ``sha512``: hex HMAC of that text keyed by the secret.

Vonage sends hex in upper or lower case; both are accepted. A signed request carries
``timestamp`` (Unix seconds), and the signature guards against replay only if that timestamp
is checked: ``VonageVerifier`` refuses one outside ``tolerance`` seconds of now.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

from ..errors import InvalidArgumentError
from .request import Clock, SignedRequest, check_window, first_match, refuse

__all__ = ["VONAGE_METHODS", "VonageVerifier", "vonage_signature"]

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


def _one(params: Iterable[tuple[str, str]], name: str, what: str, *, digits: bool = False) -> str:
    """The one non-empty value (all digits if ``digits``) of parameter ``name``, or the
    refusal saying what it must be."""
    values = [value for key, value in params if key == name]
    value = values[0] if len(values) == 1 else ""
    if value and (not digits or (value.isascii() and value.isdigit())):
        return value
    reason = "malformed_parameter" if any(values) or len(values) > 1 else "missing_parameter"
    raise refuse(reason, f"Vonage signature: a signed request needs exactly one {what}")


class VonageVerifier:
    """Checks the ``sig`` of a Vonage request (in ``request.params``) and its ``timestamp``.

    ``method`` is the one chosen in Vonage's dashboard (``VONAGE_METHODS``); ``tolerance`` is
    how many seconds ``timestamp`` may be away from the ``clock``'s now.
    """

    def __init__(
        self,
        secret: str,
        method: str = "sha256",
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Clock = time.time,
    ) -> None:
        self._secret, self._method = secret, method
        self._tolerance, self._clock = tolerance, clock

    def verify(self, request: SignedRequest) -> None:
        """Return if ``sig`` signs the parameters and ``timestamp`` is recent; else raise."""
        params = request.params
        sig = _one(params, "sig", "'sig' parameter")
        stamp = _one(params, "timestamp", "'timestamp' parameter (Unix seconds)", digits=True)
        expected = vonage_signature(self._secret, params, self._method)
        if first_match([expected], [sig.lower()]) is None:
            raise refuse(
                "signature_mismatch",
                "Vonage signature: the 'sig' parameter does not match the parameters",
            )
        label = "Vonage signature: the 'timestamp'"
        check_window(label, int(stamp[:12]), self._clock(), self._tolerance)
