"""The events API client: signal and wait, sync and async, over httpx.

Owns the request/response models of ``shared/spec/events-api.md`` (``models``), where the API
key and base URL come from (``settings``), the I/O-free decisions of one call across its
attempts (``core``: timeouts, retries, what an answer means) and the two clients (``client``).
Importing it loads httpx and pydantic, never pytest, Starlette or uvicorn.
"""

from __future__ import annotations

from ..retry import RetryPolicy
from .client import AsyncEventsClient, EventsClient

__all__ = ["AsyncEventsClient", "EventsClient", "RetryPolicy"]
