"""The one-line ``text`` of an event: what Slack shows and what a log line says.

Owns :func:`build_text`, the envelope's ``text`` field (a one-line summary built from
``data``): a template per catalog type, a generic line naming a few ``*_id``
fields for any other type. Values are cleaned (no control characters, no newlines) and cut, so a
summary is always one short printable line, whatever ``data`` holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..redact import shorten

__all__ = ["build_text"]

_TEXT_LIMIT = 300
_VALUE_LIMIT = 100


def _get(data: Mapping[str, Any], path: str) -> str | None:
    """The cleaned value at a dotted ``path``, or ``None`` when absent or empty."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or value.get(part) is None:
            return None
        value = value[part]
    return shorten(value, _VALUE_LIMIT) or None


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
            f"{shorten(key, 40)}={_get(data, key)}"
            for key in list(data)[:50]
            if isinstance(key, str) and key.endswith("_id") and _get(data, key) is not None
        ][:3]
        text = _line(
            f"{shorten(event_type, 60) or 'Unknown'} event", _opt("({})", ", ".join(ids) or None)
        )
    return shorten(text, _TEXT_LIMIT)
