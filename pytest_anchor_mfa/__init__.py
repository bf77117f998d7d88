"""pytest-anchor-mfa: MFA codes for Playwright login tests, via Anchor Browser's events API.

The public names below import lazily: ``import pytest_anchor_mfa`` costs almost nothing, and
``pytest_anchor_mfa.EventsClient`` loads only the events client (httpx, pydantic), not the fake
server or the webhook tooling. ``__all__`` holds what a test annotates with: the type of every
fixture, the messages they record, the code API and the errors (README: Architecture lists
the subpackages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .errors import (
    AnchorMfaError,
    AnchorTimeoutError,
    AuthenticationError,
    BrowserLaunchError,
    CodeValidationError,
    ConfigurationError,
    EventsApiError,
    EventTimeoutError,
    InvalidArgumentError,
    InvalidRequestError,
    LinkNotFoundError,
    MessageTimeoutError,
    PromptTimeoutError,
    RateLimitedError,
    ServerError,
    SessionError,
    SignatureVerificationError,
    SignInError,
    TotpTimeoutError,
    TransportError,
    UnsupportedBrowserError,
    WaitersTimeoutError,
    WebAuthnError,
    WebhookTimeoutError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from .codes import CodeCandidate, CodeRule, best_code, extract_codes, extract_from_message
    from .codes.links import LinkCandidate, LinkRule, best_link, extract_links
    from .events import AsyncEventsClient, EventsClient
    from .inbound.mail import InboxMessage
    from .inbound.sms import SmsGateway, SmsMessage
    from .inbound.smtp import SmtpInbox
    from .plugin.connection import Connection
    from .plugin.inbound import AnchorInbox
    from .plugin.links import MfaLink
    from .plugin.mfa import MfaCode, MfaSettings
    from .plugin.options import Settings
    from .plugin.sms import AnchorSms
    from .plugin.types import (
        AsyncMfaCode,
        AsyncMfaLink,
        AsyncSignalEvent,
        AsyncWaitForEvent,
        SignalEvent,
        UniqueEventName,
        WaitForEvent,
    )
    from .plugin.webauthn import AnchorWebAuthn
    from .retry import RetryPolicy
    from .server import FakeEventServer, MemoryStore
    from .sessions.client import AnchorSession, SessionsClient
    from .webauthn import AsyncVirtualAuthenticator, Credential, VirtualAuthenticator
    from .webhooks import WebhookEvent, WebhookReceiver

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "AsyncEventsClient": ".events",
    "EventsClient": ".events",
    "RetryPolicy": ".retry",
    "FakeEventServer": ".server",
    "MemoryStore": ".server",
    "CodeRule": ".codes",
    "AnchorInbox": ".plugin.inbound",
    "AnchorSms": ".plugin.sms",
    "SmtpInbox": ".inbound.smtp",
    "InboxMessage": ".inbound.mail",
    "SmsGateway": ".inbound.sms",
    "SmsMessage": ".inbound.sms",
    "WebhookEvent": ".webhooks",
    "WebhookReceiver": ".webhooks",
    "AnchorSession": ".sessions.client",
    "SessionsClient": ".sessions.client",
    # Deprecated names (see errors.py), not in __all__: a DeprecationWarning on first use.
    "AnchorMFAError": ".errors",
    "EventsAPIError": ".errors",
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
    "LinkCandidate": ".codes.links",
    "LinkRule": ".codes.links",
    "best_link": ".codes.links",
    "extract_links": ".codes.links",
    "MfaLink": ".plugin.links",
    "AsyncMfaLink": ".plugin.types",
    "AnchorWebAuthn": ".plugin.webauthn",
    "AsyncVirtualAuthenticator": ".webauthn",
    "Credential": ".webauthn",
    "VirtualAuthenticator": ".webauthn",
}

__all__ = [
    "AnchorInbox",
    "AnchorMfaError",
    "AnchorSession",
    "AnchorSms",
    "AnchorTimeoutError",
    "AnchorWebAuthn",
    "AsyncEventsClient",
    "AsyncMfaCode",
    "AsyncMfaLink",
    "AsyncSignalEvent",
    "AsyncVirtualAuthenticator",
    "AsyncWaitForEvent",
    "AuthenticationError",
    "BrowserLaunchError",
    "CodeCandidate",
    "CodeRule",
    "CodeValidationError",
    "ConfigurationError",
    "Connection",
    "Credential",
    "EventTimeoutError",
    "EventsApiError",
    "EventsClient",
    "FakeEventServer",
    "InboxMessage",
    "InvalidArgumentError",
    "InvalidRequestError",
    "LinkCandidate",
    "LinkNotFoundError",
    "LinkRule",
    "MemoryStore",
    "MessageTimeoutError",
    "MfaCode",
    "MfaLink",
    "MfaSettings",
    "PromptTimeoutError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "SessionError",
    "SessionsClient",
    "Settings",
    "SignInError",
    "SignalEvent",
    "SignatureVerificationError",
    "SmsGateway",
    "SmsMessage",
    "SmtpInbox",
    "TotpTimeoutError",
    "TransportError",
    "UniqueEventName",
    "UnsupportedBrowserError",
    "VirtualAuthenticator",
    "WaitForEvent",
    "WaitersTimeoutError",
    "WebAuthnError",
    "WebhookEvent",
    "WebhookReceiver",
    "WebhookTimeoutError",
    "WebhookVerificationError",
    "__version__",
    "best_code",
    "best_link",
    "extract_codes",
    "extract_from_message",
    "extract_links",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
