"""pytest-anchor-mfa: MFA codes for Playwright login tests, via Anchor Browser's events API.

The public names below import lazily: ``import pytest_anchor_mfa`` costs almost nothing, and
``pytest_anchor_mfa.EventsClient`` loads only the events client (httpx, pydantic), not the fake
server or the webhook tooling. Subpackages: ``events`` (the client), ``server`` (the fake and
self-hosted events API), ``webhooks``, ``plugin`` (the pytest plugin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .errors import (
    AnchorMFAError,
    AuthenticationError,
    CodeValidationError,
    ConfigurationError,
    EventsAPIError,
    EventTimeoutError,
    InvalidArgumentError,
    InvalidRequestError,
    MessageTimeoutError,
    RateLimitedError,
    ServerError,
    SignatureVerificationError,
    TransportError,
    WebhookTimeoutError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from .codes import CodeCandidate, best_code, extract_codes, extract_from_message
    from .events import AsyncEventsClient, EventsClient
    from .plugin.connection import Connection
    from .plugin.mfa import MfaCode, MfaSettings
    from .plugin.options import Settings
    from .plugin.types import (
        AsyncMfaCode,
        AsyncSignalEvent,
        AsyncWaitForEvent,
        SignalEvent,
        UniqueEventName,
        WaitForEvent,
    )
    from .retry import RetryPolicy
    from .server import FakeEventServer

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "AsyncEventsClient": ".events",
    "EventsClient": ".events",
    "RetryPolicy": ".retry",
    "FakeEventServer": ".server",
    "Settings": ".plugin.options",
    "Connection": ".plugin.connection",
    "MfaCode": ".plugin.mfa",
    "MfaSettings": ".plugin.mfa",
    "AsyncMfaCode": ".plugin.types",
    "AsyncSignalEvent": ".plugin.types",
    "AsyncWaitForEvent": ".plugin.types",
    "SignalEvent": ".plugin.types",
    "UniqueEventName": ".plugin.types",
    "WaitForEvent": ".plugin.types",
    "CodeCandidate": ".codes",
    "best_code": ".codes",
    "extract_codes": ".codes",
    "extract_from_message": ".codes",
}

__all__ = [
    "AnchorMFAError",
    "AsyncEventsClient",
    "AsyncMfaCode",
    "AsyncSignalEvent",
    "AsyncWaitForEvent",
    "AuthenticationError",
    "CodeCandidate",
    "CodeValidationError",
    "ConfigurationError",
    "Connection",
    "EventTimeoutError",
    "EventsAPIError",
    "EventsClient",
    "FakeEventServer",
    "InvalidArgumentError",
    "InvalidRequestError",
    "MessageTimeoutError",
    "MfaCode",
    "MfaSettings",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "SignalEvent",
    "SignatureVerificationError",
    "TransportError",
    "UniqueEventName",
    "WaitForEvent",
    "WebhookTimeoutError",
    "WebhookVerificationError",
    "__version__",
    "best_code",
    "extract_codes",
    "extract_from_message",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
