"""Anchor Browser webhooks: event models, signing and verification.

The contract is ``shared/spec/webhooks.md``. Deliveries are signed with
``HMAC_SHA256(secret, "v0:" + timestamp + ":" + raw_body)`` and carried in the headers
``Anchor-Timestamp: <unix seconds>`` and ``Anchor-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>]``.

- :func:`verify` runs the stateless checks in the contract's order (headers present, timestamp
  within the tolerance, signature); :class:`Deduplicator` adds the stateful one (event id not
  seen before).
- :func:`parse_event` turns a body into the model of its ``type`` (``TaskCompleted``, ...),
  or a :class:`GenericWebhookEvent` for a type this package does not know.
- :func:`sign`, :func:`make_event` and :func:`example_data` build deliveries for the fake sender.

Every failure is a :class:`~pytest_anchor_mfa.errors.WebhookVerificationError` whose ``reason``
names the check; no message ever contains a secret or an expected signature.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigurationError, WebhookVerificationError

__all__ = [
    "CATALOG",
    "DEFAULT_TOLERANCE",
    "DELIVERY_ID_HEADER",
    "EVENT_HEADER",
    "EVENT_MODELS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "USER_AGENT",
    "Artifact",
    "BatchCompleted",
    "BatchData",
    "BatchFailed",
    "Cost",
    "Deduplicator",
    "GenericWebhookEvent",
    "IdentityAuthenticated",
    "IdentityAuthenticatedData",
    "IdentityAuthenticationFailed",
    "IdentityAuthenticationFailedData",
    "InterventionRequested",
    "InterventionRequestedData",
    "InterventionResolved",
    "InterventionResolvedData",
    "SecretsArg",
    "SessionCompleted",
    "SessionCompletedData",
    "SessionFailed",
    "SessionFailedData",
    "SessionRecordingReady",
    "SessionRecordingReadyData",
    "TaskCancelled",
    "TaskCancelledData",
    "TaskCompleted",
    "TaskCompletedData",
    "TaskError",
    "TaskFailed",
    "TaskFailedData",
    "TaskHealed",
    "TaskHealedData",
    "TaskOutput",
    "WebhookEvent",
    "build_text",
    "compute_signature",
    "example_data",
    "make_event",
    "normalize_secrets",
    "parse_event",
    "sign",
    "verify",
]

TIMESTAMP_HEADER = "Anchor-Timestamp"
SIGNATURE_HEADER = "Anchor-Signature"
EVENT_HEADER = "Anchor-Event"
DELIVERY_ID_HEADER = "Anchor-Delivery-Id"
USER_AGENT = "Anchor-Webhooks/1.0"

DEFAULT_TOLERANCE = 120.0

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


class _Open(BaseModel):
    """A model that keeps the fields it does not declare: the service adds fields over time."""

    model_config = ConfigDict(extra="allow")


class Cost(_Open):
    amount: float
    currency: str


class TaskOutput(_Open):
    value: Any = None


class Artifact(_Open):
    name: str
    url: str
    size: int | None = None
    content_type: str | None = None


TaskErrorType = Literal[
    "automation_failure", "invalid_credentials", "timeout", "agent_error", "system_error"
]
IdentityFailureType = Literal["invalid_credentials", "automation_failure"]


class TaskError(_Open):
    # The documented values, but any string: a value the service adds later must not make a
    # receiver refuse (and the service retry) a genuine delivery.
    type: TaskErrorType | str
    message: str | None = None


class _TaskExecutionData(_Open):
    """Fields shared by ``task.completed``, ``task.failed`` and ``task.cancelled``.

    The results (duration, cost, output) are required only on ``task.completed``: an execution
    that failed or was cancelled may not have them.
    """

    task_id: str
    task_version_id: str
    execution_id: str
    session_id: str
    execution_mode: str
    duration_ms: int | None = None
    cost: Cost | None = None
    output: TaskOutput | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    recording_url: str | None = None
    session_dashboard_url: str | None = None


class TaskCompletedData(_TaskExecutionData):
    duration_ms: int
    cost: Cost
    output: TaskOutput


class TaskFailedData(_TaskExecutionData):
    error: TaskError


class TaskCancelledData(_TaskExecutionData):
    pass


class TaskHealedData(_Open):
    healed_task_version_id: str


class SessionCompletedData(_Open):
    session_id: str
    duration_ms: int
    proxy_bytes: int
    network_bytes_total: int
    # The docs do not say whether ``steps`` is a count or a list of steps.
    steps: int | list[Any] | None = None
    domains: list[str]
    session_dashboard_url: str
    screenshots: list[Any] | None = None


class SessionFailedData(_Open):
    session_id: str


class SessionRecordingReadyData(_Open):
    """The docs name "recording duration, size, dashboard URL" without field names."""

    session_id: str | None = None
    recording_url: str | None = None
    duration_ms: int | None = None
    size_bytes: int | None = None
    session_dashboard_url: str | None = None


class InterventionRequestedData(_Open):
    live_view_url: str
    session_id: str | None = None


class InterventionResolvedData(_Open):
    session_id: str | None = None


class BatchData(_Open):
    batch_id: str
    total_requests: int
    completed_requests: int
    failed_requests: int
    status: str


class _BatchCompletedData(BatchData):
    status: Literal["completed"]


class _BatchFailedData(BatchData):
    status: Literal["failed"]


class IdentityAuthenticatedData(_Open):
    identity_id: str
    application_id: str
    session_id: str
    execution_id: str


class IdentityAuthenticationFailedData(_Open):
    failure_type: IdentityFailureType | str
    identity_id: str | None = None


class WebhookEvent(_Open):
    """The envelope every delivery carries; the base class of every event model.

    Only ``id``, ``type`` and ``data`` are required (the contract rejects a delivery without
    them); the subclasses narrow ``type`` and give ``data`` a model.
    """

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    created: datetime | None = None
    project_id: str | None = None
    text: str | None = None
    data: Any


class GenericWebhookEvent(WebhookEvent):
    """An event of a type this package does not know; ``data`` is left as a dict."""

    data: dict[str, Any]


class TaskCompleted(WebhookEvent):
    type: Literal["task.completed"]
    data: TaskCompletedData


class TaskFailed(WebhookEvent):
    type: Literal["task.failed"]
    data: TaskFailedData


class TaskCancelled(WebhookEvent):
    type: Literal["task.cancelled"]
    data: TaskCancelledData


class TaskHealed(WebhookEvent):
    type: Literal["task.healed"]
    data: TaskHealedData


class SessionCompleted(WebhookEvent):
    type: Literal["session.completed"]
    data: SessionCompletedData


class SessionFailed(WebhookEvent):
    type: Literal["session.failed"]
    data: SessionFailedData


class SessionRecordingReady(WebhookEvent):
    type: Literal["session.recording.ready"]
    data: SessionRecordingReadyData


class InterventionRequested(WebhookEvent):
    type: Literal["intervention.requested"]
    data: InterventionRequestedData


class InterventionResolved(WebhookEvent):
    type: Literal["intervention.resolved"]
    data: InterventionResolvedData


class BatchCompleted(WebhookEvent):
    type: Literal["batch.completed"]
    data: _BatchCompletedData


class BatchFailed(WebhookEvent):
    type: Literal["batch.failed"]
    data: _BatchFailedData


class IdentityAuthenticated(WebhookEvent):
    type: Literal["identity.authenticated"]
    data: IdentityAuthenticatedData


class IdentityAuthenticationFailed(WebhookEvent):
    type: Literal["identity.authentication_failed"]
    data: IdentityAuthenticationFailedData


def _type_of(model: type[WebhookEvent]) -> str:
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


EVENT_MODELS: Mapping[str, type[WebhookEvent]] = MappingProxyType(
    {
        _type_of(model): model
        for model in (
            TaskCompleted,
            TaskFailed,
            TaskCancelled,
            TaskHealed,
            SessionCompleted,
            SessionFailed,
            SessionRecordingReady,
            InterventionRequested,
            InterventionResolved,
            BatchCompleted,
            BatchFailed,
            IdentityAuthenticated,
            IdentityAuthenticationFailed,
        )
    }
)
"""The model of each catalog event type; any other type parses as ``GenericWebhookEvent``."""

CATALOG: tuple[str, ...] = tuple(EVENT_MODELS)
"""The event types of the contract's catalog."""


def _invalid(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason="invalid_payload")


def _preview(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_event(raw: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse a delivery body into the model of its ``type``.

    Raises ``WebhookVerificationError(reason="invalid_payload")`` naming the missing or bad
    field; never anything else.
    """
    if isinstance(raw, Mapping):
        obj: object = dict(raw)
    else:
        try:
            obj = json.loads(raw)
        # RecursionError: deeply nested arrays; ValueError: bad JSON, bad UTF-8, huge integers.
        except (ValueError, RecursionError) as exc:
            raise _invalid(f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise _invalid(f"body must be a JSON object, got {type(obj).__name__}")
    for name in ("id", "type"):
        if name not in obj:
            raise _invalid(f"missing required field {name!r}")
        if not isinstance(obj[name], str) or not obj[name]:
            got = "an empty string" if obj[name] == "" else type(obj[name]).__name__
            raise _invalid(f"field {name!r} must be a non-empty string, got {got}")
    if "data" not in obj:
        raise _invalid("missing required field 'data'")
    if not isinstance(obj["data"], dict):
        raise _invalid(f"field 'data' must be a JSON object, got {type(obj['data']).__name__}")
    event_type: str = obj["type"]
    model = EVENT_MODELS.get(event_type, GenericWebhookEvent)
    try:
        return model.model_validate(obj)
    except (ValidationError, RecursionError) as exc:
        detail = _describe(exc) if isinstance(exc, ValidationError) else "too deeply nested"
        raise _invalid(f"invalid {_preview(event_type)} event: {detail}") from None


# ---------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------

SecretsArg = str | bytes | Sequence[str | bytes]

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def normalize_secrets(secrets: SecretsArg) -> tuple[bytes, ...]:
    """One secret or a list (rotation: new and old) as UTF-8 bytes; refuses empty ones."""
    items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys = tuple(item.encode() if isinstance(item, str) else bytes(item) for item in items)
    if not keys or not all(keys):
        raise ConfigurationError(
            "a webhook secret is empty; pass the signing secret returned when the webhook "
            "was created (usually kept in ANCHOR_WEBHOOK_SECRET)"
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


def _malformed(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason="malformed_header")


def _parse_signature_header(value: str) -> tuple[str, list[str]]:
    """``(t, [v1, ...])`` from ``t=<ts>,v1=<hex>[,v1=<hex>...]``; other schemes are ignored."""
    stamps: list[str] = []
    signatures: list[str] = []
    for item in value.split(","):
        key, sep, item_value = item.strip().partition("=")
        if not sep or not key:
            raise _malformed(f"{SIGNATURE_HEADER} item {_preview(item)} is not key=value")
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


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secrets: SecretsArg,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a delivery's headers and signature; return ``None`` or raise.

    Checks, in the contract's order, each failure raising ``WebhookVerificationError`` with
    ``reason``: both headers present (``missing_header``); ``Anchor-Timestamp`` is unix seconds
    and ``Anchor-Signature`` is ``t=<same timestamp>,v1=<hex>[,v1=...]`` (``malformed_header``);
    the timestamp is at most ``tolerance`` seconds from ``now`` either way
    (``timestamp_out_of_range``); some ``v1`` equals the HMAC of ``raw_body`` under some secret,
    compared in constant time (``signature_mismatch``). Header names are case-insensitive.
    """
    keys = normalize_secrets(secrets)
    if not tolerance >= 0:
        raise ConfigurationError(f"webhook timestamp tolerance must be >= 0 s, got {tolerance!r}")
    found: dict[str, str] = {}
    for name, value in headers.items():
        found.setdefault(str(name).lower(), str(value).strip())
    missing = [name for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER) if not found.get(name.lower())]
    if missing:
        raise WebhookVerificationError(
            f"missing or empty header(s): {', '.join(missing)}", reason="missing_header"
        )

    stamp = found[TIMESTAMP_HEADER.lower()]
    if not _TIMESTAMP.fullmatch(stamp):
        raise _malformed(f"{TIMESTAMP_HEADER} must be unix seconds, got {_preview(stamp)}")
    signed_stamp, signatures = _parse_signature_header(found[SIGNATURE_HEADER.lower()])
    if signed_stamp != stamp:
        raise _malformed(
            f"{SIGNATURE_HEADER} t={_preview(signed_stamp)} does not match "
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
    matched = False
    for candidate in expected:
        for given in signatures:
            matched |= hmac.compare_digest(candidate, given.lower())
    if not matched:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER}: none of {len(signatures)} v1 value(s) matches the body under "
            f"any of {len(keys)} secret(s); the body was altered or the secret is wrong",
            reason="signature_mismatch",
        )


class Deduplicator:
    """Remembers the most recent ``max_ids`` event ids to refuse redeliveries; thread-safe."""

    def __init__(self, max_ids: int = 100_000) -> None:
        self._max_ids = max_ids
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, event_id: str) -> None:
        """Remember ``event_id``, or raise ``WebhookVerificationError(reason="duplicate")``."""
        with self._lock:
            if event_id in self._seen:
                raise WebhookVerificationError(
                    f"event {_preview(event_id)} was already received; a redelivery must not "
                    "be processed twice",
                    reason="duplicate",
                )
            self._seen[event_id] = None
            if len(self._seen) > self._max_ids:
                self._seen.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            return event_id in self._seen

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


# ---------------------------------------------------------------------------------------------
# Building events
# ---------------------------------------------------------------------------------------------

_TEXT_LIMIT = 300
_VALUE_LIMIT = 100


def _clean(value: object, limit: int = _VALUE_LIMIT) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _get(data: Mapping[str, Any], path: str) -> str | None:
    """The cleaned value at a dotted ``path``, or ``None`` when absent or empty."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            return None
        value = value[part]
    return _clean(value) or None


def _seconds(data: Mapping[str, Any]) -> str | None:
    ms = data.get("duration_ms")
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        return None
    return f"{ms / 1000:.1f} s"


def _line(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _opt(template: str, *values: str | None) -> str | None:
    """``template`` filled with ``values``, or ``None`` when one is missing."""
    if any(value is None for value in values):
        return None
    return template.format(*values)


def _task_text(verb: str) -> Callable[[Mapping[str, Any]], str]:
    def text(d: Mapping[str, Any]) -> str:
        return _line(
            f"Task {_get(d, 'task_id') or '?'} {verb}",
            _opt("({}{})", _get(d, "error.type"), _opt(": {}", _get(d, "error.message")) or ""),
            _opt("in {}", _seconds(d)),
            _opt("- execution {}", _get(d, "execution_id")),
            _opt("- cost {} {}", _get(d, "cost.amount"), _get(d, "cost.currency")),
        )

    return text


def _batch_text(verb: str) -> Callable[[Mapping[str, Any]], str]:
    def text(d: Mapping[str, Any]) -> str:
        return _line(
            f"Batch {_get(d, 'batch_id') or '?'} {verb}:",
            _opt(
                "{}/{} succeeded, {} failed",
                *(
                    _get(d, key)
                    for key in ("completed_requests", "total_requests", "failed_requests")
                ),
            )
            or "no counts",
        )

    return text


_TEXTS: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "task.completed": _task_text("completed"),
    "task.failed": _task_text("failed"),
    "task.cancelled": _task_text("cancelled"),
    "task.healed": lambda d: _line(
        f"Task {_get(d, 'task_id') or '?'} self-healed:",
        f"new version {_get(d, 'healed_task_version_id') or '?'}",
    ),
    "session.completed": lambda d: _line(
        f"Session {_get(d, 'session_id') or '?'} completed",
        _opt("in {}", _seconds(d)),
        _opt("- {} steps", _get(d, "steps") if isinstance(d.get("steps"), int) else None),
        _opt(
            "- {} domain(s)", str(len(d["domains"])) if isinstance(d.get("domains"), list) else None
        ),
    ),
    "session.failed": lambda d: _line(
        f"Session {_get(d, 'session_id') or '?'} failed",
        _opt("({})", _get(d, "error.type") or _get(d, "reason")),
    ),
    "session.recording.ready": lambda d: _line(
        f"Recording of session {_get(d, 'session_id') or '?'} is ready",
        _opt("({})", _seconds(d)),
        _opt("- {}", _get(d, "recording_url") or _get(d, "session_dashboard_url")),
    ),
    "intervention.requested": lambda d: _line(
        "Human intervention requested",
        _opt("for session {}", _get(d, "session_id")),
        _opt("- live view {}", _get(d, "live_view_url")),
    ),
    "intervention.resolved": lambda d: _line(
        "Intervention resolved", _opt("for session {}", _get(d, "session_id"))
    ),
    "batch.completed": _batch_text("completed"),
    "batch.failed": _batch_text("failed"),
    "identity.authenticated": lambda d: _line(
        f"Identity {_get(d, 'identity_id') or '?'} authenticated",
        _opt("for application {}", _get(d, "application_id")),
        _opt("in session {}", _get(d, "session_id")),
    ),
    "identity.authentication_failed": lambda d: _line(
        "Identity",
        _get(d, "identity_id"),
        "authentication failed",
        _opt("({})", _get(d, "failure_type")),
    ),
}


def build_text(event_type: str, data: Mapping[str, Any]) -> str:
    """A one-line human summary of an event, as Slack shows a top-level ``text``."""
    if not isinstance(data, Mapping):
        data = {}
    summary = _TEXTS.get(event_type)
    if summary is not None:
        text = summary(data)
    else:
        ids = [
            f"{_clean(key, 40)}={_get(data, key)}"
            for key in list(data)[:50]
            if isinstance(key, str) and key.endswith("_id") and _get(data, key) is not None
        ][:3]
        text = _line(
            f"{_clean(event_type, 60) or 'Unknown'} event", _opt("({})", ", ".join(ids) or None)
        )
    return _clean(text, _TEXT_LIMIT)


def make_event(
    event_type: str,
    data: Mapping[str, Any],
    *,
    project_id: str = "proj_test",
    id: str | None = None,
    created: datetime | str | None = None,
    text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A well-formed envelope: id ``evt_<uuid hex>``, ``created`` now, ``text`` from ``data``.

    ``extra`` adds top-level fields (the service adds fields over time). ``data`` is not
    validated, so a test can build a malformed event on purpose.
    """
    when = created if created is not None else datetime.now(UTC)
    return {
        "id": id if id is not None else f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "created": when.isoformat() if isinstance(when, datetime) else when,
        "project_id": project_id,
        "text": text if text is not None else build_text(event_type, data),
        "data": dict(data),
        **extra,
    }


_TASK_EXAMPLE: dict[str, Any] = {
    "task_id": "task_123",
    "task_version_id": "tv_7",
    "execution_id": "exec_456",
    "session_id": "sess_789",
    "execution_mode": "sync",
    "duration_ms": 12345,
    "cost": {"amount": 0.05, "currency": "USD"},
    "output": {"value": {"title": "Example Domain"}},
    "artifacts": [
        {
            "name": "report.pdf",
            "url": "https://files.example.com/report.pdf",
            "size": 2048,
            "content_type": "application/pdf",
        }
    ],
    "recording_url": "https://recordings.example.com/sess_789.mp4",
    "session_dashboard_url": "https://app.anchorbrowser.io/sessions/sess_789",
}
_BATCH_EXAMPLE: dict[str, Any] = {
    "batch_id": "batch_1",
    "total_requests": 4,
    "completed_requests": 3,
    "failed_requests": 1,
    "status": "completed",
}
_EXAMPLES: Mapping[str, dict[str, Any]] = {
    "task.completed": _TASK_EXAMPLE,
    "task.failed": {
        **{k: v for k, v in _TASK_EXAMPLE.items() if k not in ("output", "recording_url")},
        "error": {"type": "automation_failure", "message": "login button not found"},
    },
    "task.cancelled": {k: v for k, v in _TASK_EXAMPLE.items() if k != "output"},
    "task.healed": {"task_id": "task_123", "healed_task_version_id": "tv_8"},
    "session.completed": {
        "session_id": "sess_789",
        "duration_ms": 60000,
        "proxy_bytes": 1024,
        "network_bytes_total": 4096,
        "steps": 12,
        "domains": ["example.com"],
        "session_dashboard_url": "https://app.anchorbrowser.io/sessions/sess_789",
    },
    "session.failed": {"session_id": "sess_789"},
    "session.recording.ready": {
        "session_id": "sess_789",
        "recording_url": "https://recordings.example.com/sess_789.mp4",
        "duration_ms": 60000,
        "size_bytes": 1048576,
        "session_dashboard_url": "https://app.anchorbrowser.io/sessions/sess_789",
    },
    "intervention.requested": {
        "session_id": "sess_789",
        "live_view_url": "https://live.anchorbrowser.io/sess_789",
    },
    "intervention.resolved": {"session_id": "sess_789"},
    "batch.completed": _BATCH_EXAMPLE,
    "batch.failed": {
        **_BATCH_EXAMPLE,
        "completed_requests": 0,
        "failed_requests": 4,
        "status": "failed",
    },
    "identity.authenticated": {
        "identity_id": "ident_1",
        "application_id": "app_1",
        "session_id": "sess_789",
        "execution_id": "exec_456",
    },
    "identity.authentication_failed": {
        "identity_id": "ident_1",
        "failure_type": "invalid_credentials",
    },
}


def example_data(event_type: str) -> dict[str, Any]:
    """Realistic ``data`` for a catalog event type (a fresh copy), for tests and demos."""
    try:
        return copy.deepcopy(_EXAMPLES[event_type])
    except KeyError:
        raise ConfigurationError(
            f"no example data for event type {event_type!r}; known types: {', '.join(CATALOG)}"
        ) from None
