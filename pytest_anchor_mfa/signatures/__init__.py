"""Signed requests: signing them, and checking them one way whatever the scheme.

A ``Verifier`` checks one ``SignedRequest`` (method, URL, headers, raw body, parameters) and
returns ``None``, or raises ``SignatureVerificationError`` whose ``reason`` names the failed
check (``request``). The schemes, each with its signing side for the senders:

- ``anchor``: Anchor's webhooks (``sign``, ``verify``, ``AnchorVerifier``, ``Deduplicator``);
  their refusals are ``WebhookVerificationError``, a subclass;
- ``twilio``: ``X-Twilio-Signature`` (``twilio_signature``, ``TwilioVerifier``);
- ``vonage``: Vonage's ``sig`` parameter (``vonage_signature``, ``VonageVerifier``);
- ``sms_hmac``: the generic SMS form's HMAC with a replay guard (``sms_hmac_headers``,
  ``SmsHmacVerifier``).

No I/O and nothing beyond the standard library: the servers pass what they received.
"""

from __future__ import annotations

from ..errors import SignatureVerificationError, WebhookVerificationError
from .anchor import AnchorVerifier, Deduplicator
from .request import Clock, HeadersArg, SignedRequest, Verifier
from .sms_hmac import SmsHmacVerifier
from .twilio import TwilioVerifier
from .vonage import VonageVerifier

__all__ = [
    "AnchorVerifier",
    "Clock",
    "Deduplicator",
    "HeadersArg",
    "SignatureVerificationError",
    "SignedRequest",
    "SmsHmacVerifier",
    "TwilioVerifier",
    "Verifier",
    "VonageVerifier",
    "WebhookVerificationError",
]
