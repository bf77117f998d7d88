"""Well-formed deliveries to send: envelopes and realistic ``data`` for every catalog type.

Owns the building side used by the fake sender and by tests: :func:`make_event` wraps ``data``
in the envelope the service sends (``id``, ``type``, ``created``, ``project_id``, ``text``),
and :func:`example_data` gives realistic ``data`` for a catalog type. Kept apart from
``summaries`` (which only describes events) and ``models`` (which only parses them): nothing
that receives deliveries needs this module.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidArgumentError
from .models import CATALOG
from .summaries import build_text

__all__ = ["example_data", "make_event"]


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
        raise InvalidArgumentError(
            f"no example data for event type {event_type!r}; known types: {', '.join(CATALOG)}"
        ) from None
