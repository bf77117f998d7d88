"""Passkeys and security keys: Chromium's WebAuthn virtual authenticator, over DevTools.

Owns ``Credential`` (``credential``: a credential as the protocol carries it, the private key
masked in its repr), the I/O-free commands and answers of the ``WebAuthn`` domain (``core``:
``AuthenticatorOptions``, what Firefox and WebKit are told) and the two authenticators
(``authenticator``: ``attach`` / ``VirtualAuthenticator`` and ``async_attach`` /
``AsyncVirtualAuthenticator``, over Playwright's CDP session). The plugin's ``anchor_webauthn``
fixture (``plugin/webauthn.py``) wires them to the leak guard and detaches at test end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .core import PROTOCOLS, TRANSPORTS, AttachOptions, AuthenticatorOptions
from .credential import Credential

if TYPE_CHECKING:
    from .authenticator import (
        AsyncVirtualAuthenticator,
        OnSecret,
        VirtualAuthenticator,
        async_attach,
        attach,
    )

__all__ = [
    "PROTOCOLS",
    "TRANSPORTS",
    "AsyncVirtualAuthenticator",
    "AttachOptions",
    "AuthenticatorOptions",
    "Credential",
    "OnSecret",
    "VirtualAuthenticator",
    "async_attach",
    "attach",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        name: ".authenticator"
        for name in (
            "AsyncVirtualAuthenticator",
            "OnSecret",
            "VirtualAuthenticator",
            "async_attach",
            "attach",
        )
    },
    __all__,
)
