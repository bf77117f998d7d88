"""pytest-anchor-mfa: MFA codes for Playwright login tests, via Anchor Browser's events API."""

from __future__ import annotations

__version__ = "0.1.0"

from .client import AsyncEventsClient, EventsClient, RetryPolicy
from .errors import (
    AnchorMFAError,
    AuthenticationError,
    CodeValidationError,
    ConfigurationError,
    EventsAPIError,
    EventTimeoutError,
    InvalidRequestError,
    RateLimitedError,
    ServerError,
    TransportError,
    WebhookTimeoutError,
    WebhookVerificationError,
)
from .fake_server import FakeEventServer
from .options import Settings
from .plugin import Connection, MfaCode, MfaSettings

__all__ = [
    "AnchorMFAError",
    "AsyncEventsClient",
    "AuthenticationError",
    "CodeValidationError",
    "ConfigurationError",
    "Connection",
    "EventTimeoutError",
    "EventsAPIError",
    "EventsClient",
    "FakeEventServer",
    "InvalidRequestError",
    "MfaCode",
    "MfaSettings",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "TransportError",
    "WebhookTimeoutError",
    "WebhookVerificationError",
    "__version__",
]
