"""What a webhook delivery's body is: the envelope and event models, the catalog, parsing.

Owns the data side of Anchor's webhooks: a pydantic model per catalog event type
(``TaskCompleted``, ...), all of them keeping fields they do not declare; ``EVENT_MODELS`` and
``CATALOG``; and :func:`parse_event`, which turns a body into the model of its ``type`` (a
:class:`GenericWebhookEvent` for a type this package does not know). Signatures live in
``signatures.anchor``, the one-line ``text`` in ``summaries``, envelope building in ``builders``.

Every parsing failure is a :class:`~pytest_anchor_mfa.errors.WebhookVerificationError` with
``reason="invalid_payload"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import WebhookVerificationError
from ..redact import shorten

__all__ = [
    "CATALOG",
    "EVENT_MODELS",
    "Artifact",
    "BatchCompleted",
    "BatchData",
    "BatchFailed",
    "Cost",
    "GenericWebhookEvent",
    "IdentityAuthenticated",
    "IdentityAuthenticatedData",
    "IdentityAuthenticationFailed",
    "IdentityAuthenticationFailedData",
    "InterventionRequested",
    "InterventionRequestedData",
    "InterventionResolved",
    "InterventionResolvedData",
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
    "parse_event",
]


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
        raise _invalid(f"invalid {shorten(event_type, 60, quote=True)} event: {detail}") from None
