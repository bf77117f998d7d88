"""A webhook receiver for tests: verifies signed deliveries over real HTTP and records them.

``WebhookReceiver`` serves a plain ASGI app (on ``runtime.asgi``) on a loopback port via
``AsgiServer``, on the process's runtime loop. Each ``POST`` to its path is read (at most 1 MiB,
the rest drained), verified (headers present and sent once, timestamp, signature), parsed into
its event model, deduplicated by event id and recorded (``runtime.recorder``); a test then
waits for an event with ``wait_for``. Refusals are answered with the error envelope
``{"error": {"code": <status>, "reason": <check>, "message": ...}}`` and recorded in
``rejections``; no input yields a 500.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from ..errors import SignatureVerificationError, WebhookTimeoutError
from ..redact import shorten
from ..runtime.asgi import (
    MAX_BODY_BYTES,
    HttpError,
    Receive,
    Scope,
    Send,
    guard,
    read_body,
    send_json,
)
from ..runtime.recorder import Recorder
from ..runtime.serve import AsgiServer
from ..signatures.anchor import DEFAULT_TOLERANCE, AnchorVerifier, Deduplicator, SecretsArg
from ..signatures.request import SignedRequest
from .models import WebhookEvent, parse_event

__all__ = ["WebhookReceiver"]

_log = logging.getLogger("pytest_anchor_mfa.webhook_receiver")

# Malformed requests are 400; deliveries that fail authentication (stale or forged) are 401.
# A duplicate is acknowledged (2xx) so that the sender stops retrying, but not recorded again.
_STATUS_BY_REASON = {
    "missing_header": 400,
    "malformed_header": 400,
    "invalid_payload": 400,
    "timestamp_out_of_range": 401,
    "signature_mismatch": 401,
    "duplicate": 200,
}


class WebhookReceiver:
    """Receive, verify and record signed webhook deliveries on ``url``; a context manager.

    ``secrets`` is the signing secret or a list of them (during a rotation both the new and
    the old one are valid). ``tolerance`` is the replay window in seconds.
    """

    def __init__(
        self,
        secrets: SecretsArg,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tolerance: float = DEFAULT_TOLERANCE,
        path: str = "/webhooks",
    ) -> None:
        self._verifier = AnchorVerifier(secrets, tolerance=tolerance)
        self._path = path if path.startswith("/") else f"/{path}"
        self._events: Recorder[WebhookEvent] = Recorder()
        self._rejections: Recorder[tuple[str, str]] = Recorder()
        self._seen = Deduplicator()
        # Seen ids and events change together: a reset never leaves an id seen but unrecorded.
        self._lock = threading.Lock()
        app = guard(self._app, _log, "webhook receiver")
        self._server = AsgiServer(app, host=host, port=port, name="webhook-receiver")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving; returns once deliveries are accepted."""
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The full delivery URL, e.g. ``http://127.0.0.1:PORT/webhooks``."""
        return self._server.url + self._path

    def __repr__(self) -> str:
        where = self.url if self._server.running else "not started"
        return f"WebhookReceiver({where}, events={len(self.events)})"

    # -- what was received -------------------------------------------------------------------

    @property
    def events(self) -> list[WebhookEvent]:
        """The accepted events, in arrival order (a copy)."""
        return self._events.items()

    @property
    def rejections(self) -> list[tuple[str, str]]:
        """``(reason, message)`` of each refused delivery, duplicates included (a copy)."""
        return self._rejections.items()

    def reset(self) -> None:
        """Forget the events, rejections and seen event ids."""
        with self._lock:
            self._events.reset()
            self._rejections.reset()
            self._seen.clear()

    def wait_for(
        self,
        event_type: str,
        timeout: float = 10.0,
        predicate: Callable[[WebhookEvent], bool] | None = None,
    ) -> WebhookEvent:
        """The first event of ``event_type`` (and matching ``predicate``) since the last reset.

        Returns at once if it already arrived, else waits at most ``timeout`` seconds and
        raises ``WebhookTimeoutError`` (a ``TimeoutError``) naming what did arrive and what
        was refused.
        """

        def match(event: WebhookEvent) -> bool:
            return event.type == event_type and (predicate is None or predicate(event))

        found = self._events.wait_for(match, timeout)
        if found is None:
            raise WebhookTimeoutError(self._timeout_message(event_type, timeout, predicate))
        return found

    def _timeout_message(
        self, event_type: str, timeout: float, predicate: Callable[[WebhookEvent], bool] | None
    ) -> str:
        matching = " matching the predicate" if predicate is not None else ""
        events, rejections = self.events, self.rejections
        counts = collections.Counter(event.type for event in events)
        received = ", ".join(f"{name} x{count}" for name, count in counts.items()) or "none"
        message = (
            f"no {event_type!r} webhook event{matching} arrived at {self._path} within "
            f"{timeout:g} s; received {len(events)} event(s): {received}"
        )
        if rejections:
            latest = "; ".join(f"{reason}: {text}" for reason, text in rejections[-3:])
            message += f"; refused {len(rejections)} delivery(ies), latest: {latest}"
        return message

    # -- the endpoint --------------------------------------------------------------------------

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST <path>`` only; refusals are raised as ``HttpError`` and answered by ``guard``."""
        if scope["path"] != self._path:
            where = shorten(scope["path"], 60, quote=True)
            raise HttpError(
                404,
                f"no endpoint at {where}; deliveries go to POST {self._path}",
                reason="not_found",
            )
        if scope["method"] != "POST":
            method = shorten(scope["method"], 60, quote=True)
            raise HttpError(
                405,
                f"{method} is not allowed on {self._path}; deliveries are POSTs",
                headers=[("Allow", "POST")],
                reason="method_not_allowed",
            )
        try:
            body = await read_body(receive, scope, MAX_BODY_BYTES)
        except HttpError as exc:  # 413: refused like any other delivery, and recorded
            self._record_refusal("invalid_payload", exc.message)
            raise HttpError(
                exc.status, exc.message, headers=exc.headers, reason="invalid_payload"
            ) from None
        try:
            # Raw pairs, not a dict: a header sent twice must be refused, not resolved to one.
            self._verifier.verify(SignedRequest(body=body, headers=scope["headers"]))
            event = parse_event(body)
            with self._lock:
                self._seen.check(event.id)
                self._events.record(event)
        except SignatureVerificationError as exc:
            self._record_refusal(exc.reason, str(exc))
            status = _STATUS_BY_REASON.get(exc.reason, 400)
            if status >= 300:
                raise HttpError(status, str(exc), reason=exc.reason) from None
            await send_json(send, status, {"received": True, "duplicate": True})
            return
        await send_json(send, 200, {"received": True, "id": event.id})

    def _record_refusal(self, reason: str, message: str) -> None:
        self._rejections.record((reason, message))
        _log.info("webhook delivery refused (%s): %s", reason, message)
