"""The events API's contract: paths, header, fields and limits, shared by client and server.

The client (``events``) builds its requests from these and the fake server (``server``)
answers by them, so neither imports the other.
"""

from __future__ import annotations

__all__ = [
    "API_KEY_HEADER",
    "DEFAULT_TIMEOUT_MS",
    "EVENTS_PATH",
    "MAX_BODY_BYTES",
    "MAX_EVENT_NAME_LENGTH",
    "TIMEOUT_FIELD",
    "WAIT_SUFFIX",
]

EVENTS_PATH = "/v1/events/"
"""Prefix of both calls: ``POST /v1/events/{name}`` signals, ``.../{name}/wait`` waits."""

WAIT_SUFFIX = "/wait"

API_KEY_HEADER = "anchor-api-key"
"""The header both calls authenticate with; events are scoped to the key's user."""

TIMEOUT_FIELD = "timeoutMs"
"""The wait body's field: milliseconds before the service answers 408."""

DEFAULT_TIMEOUT_MS = 60_000
"""The wait timeout the service applies when ``timeoutMs`` is absent."""

MAX_EVENT_NAME_LENGTH = 256

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body the service accepts (413 past it)."""
