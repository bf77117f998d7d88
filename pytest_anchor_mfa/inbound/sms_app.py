"""The SMS webhook endpoints: one plain ASGI app (on ``runtime.asgi``), a path per
provider, each SMS turned into a signal of the event its destination number is routed to.

* ``POST /sms/twilio``: Twilio's form; ``X-Twilio-Signature`` checked; answered with empty
  TwiML; deduplicated on ``MessageSid``.
* ``GET`` or ``POST /sms/vonage``: Vonage's parameters (query, form or JSON); multipart
  messages reassembled (``concat``); ``sig`` checked when a signature secret is set;
  deduplicated on ``messageId``.
* ``POST /sms/generic``: ``{"from", "to", "text"}`` signed with ``X-Anchor-SMS-Signature``;
  an optional ``"id"`` deduplicates.

Signatures are checked by the verifiers of ``pytest_anchor_mfa.signatures``; any refusal of
theirs is a 403 with its message.

Then, for every provider: the destination number is routed (the gateway's routes, a
``routes.RoutedMessages``; an unrouted one is 404), the code is extracted with the event's
rule, the event is signaled with ``message_data("sms", ...)`` (without a code too) and the
message is recorded in the gateway. A failed signal is 503 and nothing is recorded, so the
provider's retry can succeed. Refusals are the error envelope, logged in one line each: 400
malformed, 403 unsigned or forged, 404 unknown path or number, 405, 413.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..codes.extract import extract_codes
from ..codes.rule import CodeRule
from ..errors import SignatureVerificationError
from ..redact import MaskedCode, MaskedText, mask_code, shorten
from ..runtime.asgi import (
    HttpError,
    Receive,
    Scope,
    Send,
    guard,
    read_body,
    send_bytes,
    send_json,
)
from ..runtime.workers import Workers
from ..signatures.request import SignedRequest, Verifier
from ..signatures.sms_hmac import SIGNATURE_HEADER, SmsHmacVerifier
from ..signatures.twilio import TwilioVerifier
from ..signatures.vonage import VonageVerifier
from .concat import MAX_PARTS, Reassembler
from .routes import RoutedMessages
from .signals import Signaler, message_data

__all__ = ["HEALTH_PATH", "PATHS", "SmsApp", "SmsConfig", "SmsMessage"]

_log = logging.getLogger("pytest_anchor_mfa.inbound.sms")

PATHS = {"twilio": "/sms/twilio", "vonage": "/sms/vonage", "generic": "/sms/generic"}
_METHODS = {"twilio": ("POST",), "vonage": ("GET", "POST"), "generic": ("POST",)}
HEALTH_PATH = "/healthz"
_PROVIDER_OF = {path: provider for provider, path in PATHS.items()}
DEFAULT_RULE = CodeRule.digits(6)
MAX_SMS_BODY = 64 * 1024
MAX_FIELDS = 200
MAX_MESSAGES = 10_000
"""Accepted SMS the gateway keeps (the oldest go first)."""
MAX_IDS = 100_000
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
_XML = [(b"content-type", b"text/xml")]


@dataclass(frozen=True)
class SmsMessage:
    """One accepted SMS (whole, for a multipart one): its code and text are masked in repr."""

    provider: str
    sender: str
    recipient: str
    text: MaskedText
    event: str
    code: MaskedCode | None
    message_id: str
    received_at: float

    def __repr__(self) -> str:
        code = mask_code(self.code) if self.code is not None else None
        return (
            f"SmsMessage(provider={self.provider!r}, sender={self.sender!r}, "
            f"recipient={self.recipient!r}, event={self.event!r}, code={code!r}, "
            f"text={self.text!r}, message_id={self.message_id!r})"
        )


@dataclass
class SmsConfig:
    """Secrets and limits of the endpoints (the gateway owns and documents them)."""

    twilio_auth_token: str
    generic_secret: str
    public_url: str | None = None
    vonage_secret: str | None = None
    vonage_method: str = "sha256"
    tolerance: float = 300.0
    max_body_bytes: int = MAX_SMS_BODY


@dataclass(frozen=True)
class _Inbound:
    provider: str
    sender: str
    recipient: str
    text: str
    ids: tuple[str, ...]


def _refuse(status: int, message: str) -> HttpError:
    return HttpError(status, message)


def _verify(verifier: Verifier, request: SignedRequest) -> None:
    try:
        verifier.verify(request)
    except SignatureVerificationError as exc:  # unsigned, forged, stale or replayed: all 403
        raise _refuse(403, str(exc)) from None


def _pairs(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(400, f"the {what} is not UTF-8") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise _refuse(400, f"the {what} has more than {MAX_FIELDS} fields") from None


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise _refuse(400, "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _refuse(400, "the body must be a JSON object")
    pairs = []
    for name, value in payload.items():
        if isinstance(value, dict | list):
            shown = shorten(name, 60, quote=True)
            raise _refuse(400, f"field {shown} must be a string, number or boolean")
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        pairs.append((name, str(text)))
    return pairs


def _one(fields: Sequence[tuple[str, str]], name: str, *, required: bool = True) -> str:
    values = {value for key, value in fields if key == name}
    if len(values) > 1:
        raise _refuse(400, f"field {name!r} was sent more than once with different values")
    if not values:
        if required:
            raise _refuse(400, f"field {name!r} is required")
        return ""
    return values.pop()


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def _content_type(scope: Scope) -> str:
    values = _header_values(scope, b"content-type")
    return values[0].partition(";")[0].strip().lower() if values else ""


def _part_number(fields: Sequence[tuple[str, str]], name: str) -> int:
    """A ``concat-*`` count: ASCII digits, leading zeros allowed (``00015`` is 15); the value
    checked is the value used, so no length of digits can slip past the range check."""
    text = _one(fields, name)
    if not (text.isascii() and text.isdigit()):
        raise _refuse(400, f"{name!r} must be a whole number, got {shorten(text, 20, quote=True)}")
    significant = text.lstrip("0") or "0"
    return int(significant) if len(significant) <= 3 else MAX_PARTS + 1


def _concat_numbers(fields: Sequence[tuple[str, str]]) -> tuple[str, int, int]:
    reference = _one(fields, "concat-ref")
    total, part = _part_number(fields, "concat-total"), _part_number(fields, "concat-part")
    if not 1 <= part <= total <= MAX_PARTS:
        raise _refuse(
            400,
            f"a multipart SMS has 1 to {MAX_PARTS} parts, numbered from 1: 'concat-part' must "
            f"be from 1 to 'concat-total', and 'concat-total' at most {MAX_PARTS}",
        )
    return reference, total, part


class SmsApp:
    """The ASGI app (see the module docstring); thread-safe for the gateway's test thread."""

    def __init__(
        self,
        config: SmsConfig,
        routing: RoutedMessages[SmsMessage],
        signaler: Signaler,
        health: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self.config = config
        self.health = health
        self.routing = routing  # routes, rules and the accepted messages (the gateway)
        self._signaler = signaler
        self._lock = threading.Lock()  # seen ids and multipart parts
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._parts = Reassembler()
        self._guard = SmsHmacVerifier(config.generic_secret, config.tolerance)
        self._workers: Workers | None = None
        self._guarded = guard(self._logged, _log, "SMS gateway")

    # -- state, from any thread ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget seen ids, incomplete multipart messages and accepted signatures."""
        with self._lock:
            self._seen.clear()
            self._parts.clear()
        self._guard.clear()

    def close(self) -> None:
        """Drop the signal calls not started; a hung one is abandoned (daemon workers)."""
        if self._workers is not None:
            self._workers.shutdown()
            self._workers = None

    # -- requests ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._guarded(scope, receive, send)

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._handle(scope, receive, send)
        except HttpError as exc:  # answered by guard(); one log line says who was refused
            _log.info(
                "SMS webhook %s %s refused (%d): %s",
                shorten(scope.get("method"), 10),
                shorten(scope.get("path"), 80, quote=True),
                exc.status,
                exc.message,
            )
            raise

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == HEALTH_PATH and self.health is not None:
            if scope["method"] not in ("GET", "HEAD"):
                raise HttpError(405, f"use GET on {HEALTH_PATH}", headers=[("Allow", "GET")])
            await send_json(send, 200, self.health())
            return
        provider = _PROVIDER_OF.get(scope["path"])
        if provider is None:
            paths, where = ", ".join(PATHS.values()), shorten(scope["path"], 60, quote=True)
            raise _refuse(404, f"no endpoint at {where}; SMS go to {paths}")
        if scope["method"] not in _METHODS[provider]:
            allowed = ", ".join(_METHODS[provider])
            method = shorten(scope["method"], 60, quote=True)
            raise HttpError(
                405,
                f"{method} is not allowed on {scope['path']}; use {allowed}",
                headers=[("Allow", allowed)],
            )
        body = await read_body(receive, scope, self.config.max_body_bytes)
        if provider == "twilio":
            await self._accept(self._twilio(scope, body))
            await send_bytes(send, 200, TWIML, _XML)
            return
        if provider == "vonage":
            inbound = self._vonage(scope, body)
            signaled = inbound is not None and await self._accept(inbound)
        else:
            inbound = self._generic(scope, body)
            try:
                signaled = await self._accept(inbound)
            except HttpError:  # not handled: the same signed request may be sent again
                self._guard.forget(_header_values(scope, SIGNATURE_HEADER.lower().encode())[0])
                raise
        await send_json(send, 200, {"received": True, "signaled": signaled})

    # -- providers ---------------------------------------------------------------------------------

    def _twilio_url(self, scope: Scope) -> str:
        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string", b"")
        target: str = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        if self.config.public_url:
            return self.config.public_url.rstrip("/") + target
        hosts = _header_values(scope, b"host")
        if len(hosts) == 1 and hosts[0]:
            return f"http://{hosts[0]}{target}"
        host, port = scope.get("server") or ("127.0.0.1", 80)
        return f"http://{host}:{port}{target}"

    def _twilio(self, scope: Scope, body: bytes) -> _Inbound:
        fields = _pairs(body, "form body")
        request = SignedRequest(body, scope["headers"], "POST", self._twilio_url(scope), fields)
        _verify(TwilioVerifier(self.config.twilio_auth_token), request)
        return _Inbound(
            "twilio",
            _one(fields, "From"),
            _one(fields, "To"),
            _one(fields, "Body", required=False),
            (_one(fields, "MessageSid"),),
        )

    def _vonage_fields(self, scope: Scope, body: bytes) -> list[tuple[str, str]]:
        if scope["method"] == "GET":
            fields = _pairs(scope.get("query_string", b""), "query string")
        elif _content_type(scope) == "application/json":
            fields = _json_pairs(body)
        else:
            fields = _pairs(body, "form body")
        secret = self.config.vonage_secret
        if secret is not None:
            verifier = VonageVerifier(
                secret, self.config.vonage_method, tolerance=self.config.tolerance
            )
            _verify(verifier, SignedRequest(body, scope["headers"], scope["method"], params=fields))
        return fields

    def _vonage(self, scope: Scope, body: bytes) -> _Inbound | None:
        fields = self._vonage_fields(scope, body)
        sender, recipient = _one(fields, "msisdn"), _one(fields, "to")
        text, message_id = _one(fields, "text", required=False), _one(fields, "messageId")
        if not any(name == "concat-ref" for name, _ in fields):
            return _Inbound("vonage", sender, recipient, text, (message_id,))
        reference, total, part = _concat_numbers(fields)
        self._event_for(recipient)  # an unrouted number is refused at its first part
        with self._lock:
            if f"vonage:{message_id}" in self._seen:
                return None  # a part of a message already signaled, sent again
            whole = self._parts.add((sender, recipient, reference), total, part, text, message_id)
        if whole is None:
            return None
        return _Inbound("vonage", sender, recipient, whole[0], tuple(whole[1]))

    def _generic(self, scope: Scope, body: bytes) -> _Inbound:
        _verify(self._guard, SignedRequest(body, scope["headers"]))
        signatures = _header_values(scope, SIGNATURE_HEADER.lower().encode())
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        fields = ("from", "to", "text")
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(name), str) for name in fields
        ):
            self._guard.forget(signatures[0])
            raise _refuse(400, 'the body must be a JSON object {"from", "to", "text"} of strings')
        message_id = payload.get("id")
        ids = (message_id,) if isinstance(message_id, str) and message_id else ()
        return _Inbound("generic", payload["from"], payload["to"], payload["text"], ids)

    # -- routing, signaling, recording -----------------------------------------------------------

    def _event_for(self, recipient: str) -> str:
        event = self.routing.resolve(recipient)
        if event is None and not recipient.strip().startswith("+"):
            event = self.routing.resolve("+" + recipient.strip())  # Vonage sends no "+"
        if event is None:
            number = shorten(recipient, 60, quote=True)
            raise _refuse(404, f"no route for the number {number}; add one")
        return event

    async def _accept(self, inbound: _Inbound) -> bool:
        """Signal and record ``inbound``; False when it is a duplicate (nothing done)."""
        event = self._event_for(inbound.recipient)
        keys = [f"{inbound.provider}:{message_id}" for message_id in inbound.ids]
        with self._lock:
            if any(key in self._seen for key in keys):
                _log.info("SMS %s already received: not signaled again", keys[0])
                return False
            self._seen.update(dict.fromkeys(keys))
            while len(self._seen) > MAX_IDS:
                self._seen.popitem(last=False)
        try:
            rule = self.routing.rule_for(event)
            candidates = extract_codes(text=inbound.text, rule=rule)
            data = message_data(
                "sms", candidates, sender=inbound.sender, recipient=inbound.recipient,
                text=inbound.text, rule=rule,
            )  # fmt: skip
            await self._signal(event, data)
        except BaseException:
            with self._lock:
                for key in keys:
                    self._seen.pop(key, None)
            raise
        code = data.get("code")
        message = SmsMessage(
            inbound.provider,
            inbound.sender,
            inbound.recipient,
            MaskedText(inbound.text, [c.value for c in candidates]),
            event,
            MaskedCode(code) if code is not None else None,
            inbound.ids[0] if inbound.ids else "",
            time.time(),
        )
        self.routing.record(message)
        return True

    async def _signal(self, event: str, data: dict[str, object]) -> None:
        if self._workers is None:
            self._workers = Workers(4, "sms-signal")
        try:
            await asyncio.wrap_future(self._workers.submit(self._signaler, event, data))
        except Exception as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise HttpError(
                503, f"could not signal event {event!r}: {reason}", headers=[("Retry-After", "1")]
            ) from None
