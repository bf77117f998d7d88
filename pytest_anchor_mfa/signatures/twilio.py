"""Twilio's request signature (``X-Twilio-Signature``), computed and checked as Twilio does.

Twilio signs each webhook with the account's auth token: base64 of HMAC-SHA1 over the full URL
it requested (query string included) followed by every POST field's name and value, names
sorted, and a name's values sorted (each distinct value once, as Twilio's own
``RequestValidator`` does). Twilio's servers are inconsistent about the port, so a signature
is accepted for the URL with its port and without it (``url_variants``). Comparison is in
constant time. No HTTP here: the SMS endpoints use ``TwilioVerifier``; the gateway's
``send`` calls ``twilio_signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from .request import SignedRequest, first_match, header_values, refuse

__all__ = ["TWILIO_SIGNATURE_HEADER", "TwilioVerifier", "twilio_signature", "url_variants"]

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _signed_text(url: str, fields: Iterable[tuple[str, str]]) -> str:
    values: dict[str, set[str]] = {}
    for name, value in fields:
        values.setdefault(name, set()).add(value)
    return url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))


def twilio_signature(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` of a POST of ``fields`` (name, value pairs) to ``url``."""
    mac = hmac.new(auth_token.encode(), _signed_text(url, fields).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def url_variants(url: str) -> list[str]:
    """``url`` as given, with its port removed and with the scheme's default port added.

    A URL that does not parse (a bad ``Host`` header) is tried as given only.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "Invalid IPv6 URL", a port out of range or not a number
        return [url]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    without = urlunsplit(parts._replace(netloc=prefix + host))
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    variants = [url, without]
    if port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    return list(dict.fromkeys(variants))


class TwilioVerifier:
    """Checks ``X-Twilio-Signature`` with the account's auth token.

    ``request.url`` is the URL Twilio requested (as it sees it: behind a proxy, the public
    one); ``request.params`` are the POST fields, signed only on a POST.
    """

    def __init__(self, auth_token: str) -> None:
        self._token = auth_token

    def verify(self, request: SignedRequest) -> None:
        """Return if the one ``X-Twilio-Signature`` signs the URL and the fields; else raise."""
        signatures = header_values(request.headers, TWILIO_SIGNATURE_HEADER)
        if not signatures:
            raise refuse("missing_header", f"the {TWILIO_SIGNATURE_HEADER} header is missing")
        if len(signatures) > 1:
            raise refuse(
                "malformed_header", f"the {TWILIO_SIGNATURE_HEADER} header is sent more than once"
            )
        fields = list(request.params) if request.method.upper() == "POST" else []
        expected = [
            twilio_signature(self._token, variant, fields) for variant in url_variants(request.url)
        ]
        if first_match(expected, signatures) is None:
            raise refuse(
                "signature_mismatch",
                f"the {TWILIO_SIGNATURE_HEADER} does not match the URL and the fields",
            )
