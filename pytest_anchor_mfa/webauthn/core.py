"""The I/O-free half of the virtual authenticator, shared by the sync and the async one.

Every operation is a list of DevTools ``Command``s built here and, for those that answer, a
parser of the answer: the two authenticators (``authenticator``) only send them over their
CDP session (Playwright's sync or async ``CDPSession.send``) and turn a refusal into
``WebAuthnError`` with ``refused``. Nothing here touches a browser, so it is tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from ..errors import InvalidArgumentError, UnsupportedBrowserError, WebAuthnError
from ..redact import shorten
from .credential import Credential

__all__ = [
    "PROTOCOLS",
    "TRANSPORTS",
    "AttachOptions",
    "AuthenticatorOptions",
    "Command",
    "browser_name",
    "check_browser",
    "parse_authenticator_id",
    "parse_credentials",
    "refused",
]

PROTOCOLS = ("ctap2", "u2f")
"""``WebAuthn.AuthenticatorProtocol``."""
TRANSPORTS = ("usb", "nfc", "ble", "cable", "internal")
"""``WebAuthn.AuthenticatorTransport``: ``internal`` is a platform authenticator (a passkey
on the device), the others a roaming security key."""

CHROMIUM = "chromium"
BROWSER_OPTION = "--browser chromium"
"""pytest-playwright's option that selects Chromium."""


class AttachOptions(TypedDict, total=False):
    """The keyword arguments of every ``attach`` (library and fixtures, sync and async); the
    defaults are ``AuthenticatorOptions``' and no credentials."""

    protocol: str
    transport: str
    resident_key: bool
    user_verification: bool
    user_verified: bool
    credentials: Iterable[Credential]


@dataclass(frozen=True)
class Command:
    """One DevTools command: ``session.send(method, params)``."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(
            f"anchor_webauthn.attach: {name} must be True or False, not {shorten(repr(value), 40)}"
        )
    return value


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidArgumentError(
            f"anchor_webauthn.attach: {name} must be one of {', '.join(choices)}, not "
            f"{shorten(repr(value), 40)}"
        )
    return str(value)


@dataclass(frozen=True)
class AuthenticatorOptions:
    """What ``attach`` was asked for, checked, as ``WebAuthn.VirtualAuthenticatorOptions``."""

    protocol: str = "ctap2"
    transport: str = "internal"
    resident_key: bool = True
    user_verification: bool = True
    user_verified: bool = True

    def __post_init__(self) -> None:
        _choice(self.protocol, "protocol", PROTOCOLS)
        _choice(self.transport, "transport", TRANSPORTS)
        for name in ("resident_key", "user_verification", "user_verified"):
            _flag(getattr(self, name), name)

    def cdp(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "transport": self.transport,
            "hasResidentKey": self.resident_key,
            "hasUserVerification": self.user_verification,
            "isUserVerified": self.user_verified,
            # A person would touch the key: every ceremony gets user presence at once.
            "automaticPresenceSimulation": True,
        }

    @classmethod
    def given(cls, options: AttachOptions) -> tuple[AuthenticatorOptions, list[Credential]]:
        """``attach``'s keyword arguments, checked: the options and the credentials to load."""
        unknown = sorted(set(options) - set(AttachOptions.__annotations__))
        if unknown:
            raise InvalidArgumentError(
                f"anchor_webauthn.attach got an unknown argument {unknown[0]!r}; it takes "
                + ", ".join(AttachOptions.__annotations__)
            )
        fields = {k: v for k, v in options.items() if k != "credentials"}
        return cls(**fields), given_credentials(options.get("credentials", ()))  # type: ignore[arg-type]

    # -- the commands of each operation -------------------------------------------------------

    def attach(self) -> list[Command]:
        """Enable the domain (no browser dialog) and add this authenticator."""
        return [
            Command("WebAuthn.enable", {"enableUI": False}),
            Command("WebAuthn.addVirtualAuthenticator", {"options": self.cdp()}),
        ]


def on(authenticator_id: str, method: str, **params: Any) -> Command:
    """A command about one authenticator."""
    return Command(f"WebAuthn.{method}", {"authenticatorId": authenticator_id, **params})


def credentials_command(authenticator_id: str) -> Command:
    return on(authenticator_id, "getCredentials")


def add_credential_command(authenticator_id: str, credential: Credential) -> Command:
    if not isinstance(credential, Credential):
        raise InvalidArgumentError(
            "add_credential takes a pytest_anchor_mfa.webauthn.Credential (from "
            "credentials() or Credential.from_cdp), not "
            f"{type(credential).__name__}"
        )
    return on(authenticator_id, "addCredential", credential=credential.to_cdp())


def clear_command(authenticator_id: str) -> Command:
    return on(authenticator_id, "clearCredentials")


def set_user_verified_command(authenticator_id: str, verified: object) -> Command:
    if not isinstance(verified, bool):
        raise InvalidArgumentError(
            f"set_user_verified takes True or False, not {shorten(repr(verified), 40)}"
        )
    return on(authenticator_id, "setUserVerified", isUserVerified=verified)


def remove_command(authenticator_id: str) -> Command:
    return on(authenticator_id, "removeVirtualAuthenticator")


def given_credentials(credentials: Iterable[Credential]) -> list[Credential]:
    """``attach(credentials=...)`` as a list, each one checked (a Credential)."""
    if isinstance(credentials, Credential | Mapping | str | bytes):
        raise InvalidArgumentError(
            "anchor_webauthn.attach: credentials must be a list of Credential (as "
            "credentials() returns), not a single "
            f"{type(credentials).__name__}"
        )
    listed = list(credentials)
    for item in listed:
        if not isinstance(item, Credential):
            raise InvalidArgumentError(
                "anchor_webauthn.attach: every one of credentials must be a Credential (as "
                f"credentials() returns), not {type(item).__name__}"
            )
    return listed


# -- answers --------------------------------------------------------------------------------------


def parse_authenticator_id(result: Mapping[str, Any]) -> str:
    """``addVirtualAuthenticator``'s answer: the new authenticator's id."""
    value = result.get("authenticatorId") if isinstance(result, Mapping) else None
    if not isinstance(value, str) or not value:
        raise WebAuthnError(
            "WebAuthn.addVirtualAuthenticator answered without an authenticatorId: "
            f"{shorten(repr(result), 120)}"
        )
    return value


def parse_credentials(result: Mapping[str, Any]) -> list[Credential]:
    """``getCredentials``'s answer as ``Credential``s."""
    listed = result.get("credentials") if isinstance(result, Mapping) else None
    if not isinstance(listed, list):
        raise WebAuthnError("WebAuthn.getCredentials answered without a list of credentials")
    try:
        return [Credential.from_cdp(item) for item in listed]
    except InvalidArgumentError as exc:
        raise WebAuthnError(f"WebAuthn.getCredentials answered a bad credential: {exc}") from None


# -- the browser ----------------------------------------------------------------------------------


def browser_name(page: Any) -> str | None:
    """The name of ``page``'s browser type (``chromium``, ``firefox``, ``webkit``), or None
    when Playwright does not say (a persistent context has no ``browser``)."""
    try:
        browser = page.context.browser
        return None if browser is None else str(browser.browser_type.name)
    except AttributeError:
        return None


def check_browser(name: str | None) -> None:
    """UnsupportedBrowserError unless ``name`` is Chromium (or unknown: then Chromium answers)."""
    if name is not None and name != CHROMIUM:
        raise UnsupportedBrowserError(
            f"the WebAuthn virtual authenticator needs Chromium, and this page is {name}: "
            f"run these tests with {BROWSER_OPTION} (pytest-playwright), or skip them on {name}"
        )


def refused(command: Command, exc: BaseException) -> WebAuthnError:
    """A DevTools error (Playwright's) as one line naming the command; no parameters in it
    (they may hold a private key)."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "closed" in reason.lower():
        return WebAuthnError(
            f"{command.method} failed: the page, its context or its browser is closed"
        )
    # Playwright's "CDPSession.send: Protocol error (WebAuthn.x): <Chromium's reason>".
    reason = reason.rpartition(f"({command.method}): ")[2]
    if "only available in Chromium" in reason:  # Playwright, opening a CDP session
        return UnsupportedBrowserError(
            f"the WebAuthn virtual authenticator needs Chromium ({shorten(reason, 80)}): run "
            f"these tests with {BROWSER_OPTION} (pytest-playwright)"
        )
    if command.method == "WebAuthn.enable" and "wasn't found" in reason:
        return UnsupportedBrowserError(
            f"{command.method} failed: {shorten(reason, 160)}; the browser has no WebAuthn "
            f"domain: the virtual authenticator needs Chromium ({BROWSER_OPTION})"
        )
    return WebAuthnError(f"{command.method} failed: {shorten(reason, 200)}")
