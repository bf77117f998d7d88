"""Twilio's request signature (``X-Twilio-Signature``), computed and checked as Twilio does.

Twilio signs each webhook with the account's auth token: base64 of HMAC-SHA1 over the full URL
it requested (query string included) followed by every POST field's name and value, names
sorted, and a name's values sorted (each distinct value once, as Twilio's own
``RequestValidator`` does). Twilio's servers are inconsistent about the port, so a signature
is accepted for the URL with its port and without it (``url_variants``). Comparison is in
constant time. No HTTP here: the SMS endpoints call ``twilio_signature_ok``; the gateway's
``send`` calls ``twilio_signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["TWILIO_SIGNATURE_HEADER", "twilio_signature", "twilio_signature_ok", "url_variants"]

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


def twilio_signature_ok(
    auth_token: str, urls: Iterable[str], fields: list[tuple[str, str]], signature: str
) -> bool:
    """Whether ``signature`` signs ``fields`` for one of ``urls`` (each with and without its
    port); every candidate is computed and compared in constant time."""
    given = signature.encode("latin-1", "replace")
    valid = False
    for url in urls:
        for variant in url_variants(url):
            expected = twilio_signature(auth_token, variant, fields).encode()
            valid |= hmac.compare_digest(expected, given)
    return valid
