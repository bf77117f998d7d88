"""What each SMS provider posts to a webhook, built for tests (``SmsGateway.send``).

* ``twilio_fields``: the form Twilio posts for an inbound SMS (every field it sends, ids in
  Twilio's ``SM``/``AC`` + 32 hex form) and its ``X-Twilio-Signature``;
* ``vonage_requests``: the parameters Vonage sends, one set per part: a text over 160
  characters is split into 153-character parts with ``concat-ref``/``concat-total``/
  ``concat-part``, as the network delivers it; signed (``timestamp``, ``nonce``, ``sig``) when
  a signature secret is given;
* ``generic_request``: the JSON body and headers of the generic form (``signatures.sms_hmac``).

No I/O: the gateway posts them with httpx.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime

from ..signatures.sms_hmac import sms_hmac_headers
from ..signatures.twilio import TWILIO_SIGNATURE_HEADER, twilio_signature
from ..signatures.vonage import vonage_signature
from .routes import normalize_number

__all__ = [
    "DEFAULT_SENDER",
    "generic_request",
    "twilio_fields",
    "vonage_requests",
]

DEFAULT_SENDER = "+15005550006"
"""The sender ``send`` uses unless told: one of Twilio's magic test numbers."""
SINGLE_SMS = 160
PART_SIZE = 153
"""Characters per part of a concatenated SMS (GSM-7: 160 less the 7 of the part header)."""


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def twilio_fields(
    auth_token: str, signed_url: str, to: str, body: str, sender: str
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The form fields of Twilio's inbound SMS webhook and the headers that sign them."""
    message_sid = _sid("SM")
    fields = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": str(len(_parts(body))),
        "MessageSid": message_sid,
        "AccountSid": _sid("AC"),
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    pairs = list(fields.items())
    headers = {
        TWILIO_SIGNATURE_HEADER: twilio_signature(auth_token, signed_url, pairs),
        "User-Agent": "TwilioProxy/1.1",
    }
    return pairs, headers


def _parts(text: str) -> list[str]:
    if len(text) <= SINGLE_SMS:
        return [text]
    return [text[i : i + PART_SIZE] for i in range(0, len(text), PART_SIZE)]


def vonage_requests(
    to: str,
    text: str,
    sender: str,
    *,
    secret: str | None = None,
    method: str = "sha256",
    now: float | None = None,
) -> list[list[tuple[str, str]]]:
    """The parameters of each request Vonage makes to deliver ``text`` (parts in order)."""
    stamp = int(time.time() if now is None else now)
    parts = _parts(text)
    reference = str(secrets.randbelow(256))
    requests = []
    for number, part in enumerate(parts, 1):
        params = {
            "msisdn": normalize_number(sender).lstrip("+"),
            "to": normalize_number(to).lstrip("+"),
            "messageId": secrets.token_hex(8).upper(),
            "text": part,
            "type": "text" if part.isascii() else "unicode",
            "keyword": (part.split() or [""])[0].upper(),
            "api-key": "abcd1234",
            "message-timestamp": datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if len(parts) > 1:
            params |= {
                "concat": "true",
                "concat-ref": reference,
                "concat-total": str(len(parts)),
                "concat-part": str(number),
            }
        if secret is not None:
            params |= {"timestamp": str(stamp), "nonce": secrets.token_hex(8)}
            params["sig"] = vonage_signature(secret, params.items(), method)
        requests.append(list(params.items()))
    return requests


def generic_request(
    to: str, text: str, sender: str, secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and the headers (content type, timestamp, signature) of a generic post."""
    body = json.dumps({"from": sender, "to": to, "text": text}).encode()
    headers = {"Content-Type": "application/json", **sms_hmac_headers(secret, body, timestamp)}
    return body, headers
