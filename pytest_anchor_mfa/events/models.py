"""Request and response bodies of the events API (paths and limits: ``contract``).

Requests are strict (what we send, and what the fake server accepts); responses tolerate extra
fields, since the real service adds fields over time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = [
    "ErrorBody",
    "ErrorEnvelope",
    "SignalRequest",
    "SignalResponse",
    "SignalStatus",
    "WaitRequest",
    "WaitResponse",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class SignalRequest(_Request):
    """Body of ``POST /v1/events/{name}``: ``data`` is required and must be a JSON object."""

    data: dict[str, Any]


class WaitRequest(_Request):
    """Body of ``POST /v1/events/{name}/wait``; ``timeoutMs`` defaults to 60000 server-side."""

    timeout_ms: StrictInt | None = Field(default=None, alias="timeoutMs", ge=0)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class SignalStatus(_Response):
    status: str


class SignalResponse(_Response):
    """``{"data": {"status": "..."}}``."""

    data: SignalStatus


class WaitResponse(_Response):
    """``{"data": {...the signaled data...}}``."""

    data: dict[str, Any]


class ErrorBody(_Response):
    code: int
    message: str


class ErrorEnvelope(_Response):
    """``{"error": {"code": <HTTP status>, "message": "..."}}``."""

    error: ErrorBody

    @classmethod
    def of(cls, code: int, message: str) -> ErrorEnvelope:
        return cls(error=ErrorBody(code=code, message=message))
