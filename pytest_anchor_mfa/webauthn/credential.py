"""A WebAuthn credential as Chromium's virtual authenticator holds it (``WebAuthn.Credential``).

The binary fields are base64 strings exactly as the DevTools protocol carries them (standard
alphabet, with padding): what ``getCredentials`` returns can be given back to ``addCredential``
on another authenticator unchanged. The private key is a secret: ``repr`` masks it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError
from ..redact import mask_code, shorten

__all__ = ["Credential"]


def _base64(value: object, name: str, *, required: bool = True) -> str | None:
    """``value`` if it is base64 text (a field of a credential), else InvalidArgumentError."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidArgumentError(
            f"a WebAuthn credential's {name} must be a base64 string, not "
            f"{type(value).__name__}; pass what VirtualAuthenticator.credentials() returned"
        )
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(
            f"a WebAuthn credential's {name} is not valid base64 (standard alphabet, with "
            "padding, as the DevTools protocol gives it); base64-encode the bytes first"
        ) from None
    return value


@dataclass(frozen=True, repr=False)
class Credential:
    """One credential of a virtual authenticator.

    ``credential_id``, ``user_handle`` and ``private_key`` (PKCS#8, an ECDSA P-256 key for
    the usual ES256) are base64; ``user_handle`` is None for a credential that is not
    resident (a server-side credential, not discoverable). ``sign_count`` is the counter the
    authenticator sends with its next assertion.
    """

    credential_id: str
    rp_id: str
    user_handle: str | None
    private_key: str
    sign_count: int = 0
    is_resident_credential: bool = True

    def __post_init__(self) -> None:
        _base64(self.credential_id, "credential_id")
        _base64(self.private_key, "private_key")
        _base64(self.user_handle, "user_handle", required=False)
        if not isinstance(self.rp_id, str) or not self.rp_id:
            raise InvalidArgumentError(
                "a WebAuthn credential's rp_id must be the site's domain (for instance "
                f"'localhost'), not {shorten(repr(self.rp_id), 40)}"
            )
        if isinstance(self.sign_count, bool) or not isinstance(self.sign_count, int):
            raise InvalidArgumentError(
                f"a WebAuthn credential's sign_count must be an int, not "
                f"{type(self.sign_count).__name__}"
            )
        if self.sign_count < 0:
            raise InvalidArgumentError("a WebAuthn credential's sign_count must be 0 or more")
        if self.is_resident_credential and self.user_handle is None:
            raise InvalidArgumentError(
                "a resident WebAuthn credential needs a user_handle (base64); pass "
                "is_resident_credential=False for a credential that is not discoverable"
            )

    def __repr__(self) -> str:
        handle = "None" if self.user_handle is None else repr(self.user_handle)
        return (
            f"Credential(credential_id={self.credential_id!r}, rp_id={self.rp_id!r}, "
            f"user_handle={handle}, private_key={mask_code(self.private_key)[:8]!r}, "
            f"sign_count={self.sign_count}, is_resident_credential={self.is_resident_credential})"
        )

    def to_cdp(self) -> dict[str, Any]:
        """The ``WebAuthn.Credential`` object of the DevTools protocol (``addCredential``)."""
        cdp: dict[str, Any] = {
            "credentialId": self.credential_id,
            "isResidentCredential": self.is_resident_credential,
            "rpId": self.rp_id,
            "privateKey": self.private_key,
            "signCount": self.sign_count,
        }
        if self.user_handle is not None:
            cdp["userHandle"] = self.user_handle
        return cdp

    @classmethod
    def from_cdp(cls, cdp: Mapping[str, Any], rp_id: str | None = None) -> Credential:
        """A credential from the protocol's object (``getCredentials``); ``rp_id`` fills in
        a missing ``rpId`` (Chromium leaves it out for credentials that are not resident)."""
        if not isinstance(cdp, Mapping):
            raise InvalidArgumentError(
                f"a WebAuthn credential from the DevTools protocol must be an object, not "
                f"{type(cdp).__name__}"
            )
        return cls(
            credential_id=cdp.get("credentialId"),  # type: ignore[arg-type]  # checked
            rp_id=cdp.get("rpId") or rp_id,  # type: ignore[arg-type]
            user_handle=cdp.get("userHandle") or None,
            private_key=cdp.get("privateKey"),  # type: ignore[arg-type]
            sign_count=cdp.get("signCount", 0),
            is_resident_credential=bool(cdp.get("isResidentCredential", False)),
        )
