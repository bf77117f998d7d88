"""The events API client: signal and wait, sync and async, over httpx.

Owns the request/response models of the events API (``models``; paths and limits are in
``contract``, shared with the server), where the API
key and base URL come from (``settings``), the I/O-free decisions of one call across its
attempts (``core``: timeouts, retries, what an answer means) and the two clients (``client``).
The clients import lazily, so ``events.settings`` alone costs no httpx (the pytest plugin reads
it at start-up); the clients load httpx and pydantic, never pytest or uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..retry import RetryPolicy

if TYPE_CHECKING:
    from .client import AsyncEventsClient, EventsClient

__all__ = ["AsyncEventsClient", "EventsClient", "RetryPolicy"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"AsyncEventsClient": ".client", "EventsClient": ".client"}, __all__
)
