"""``VirtualAuthenticator`` and ``AsyncVirtualAuthenticator``: one per ``attach(page)``.

Each holds the CDP session it was added through and sends the commands ``core`` builds; the
sync and the async one differ only in how they send. ``detach`` removes the authenticator and
leaves the session open: Chromium keeps one WebAuthn environment per page, and a session that
detaches disables it for every session of the page (other authenticators, the user's own).
Chromium allows one ``internal`` authenticator per page. ``on_secret`` hears of every
credential whose private key passes through (read by ``credentials()``, given to
``add_credential``): the plugin tells its leak guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Unpack

from playwright.sync_api import Error as PlaywrightError

from ..errors import WebAuthnError
from . import core
from .core import AttachOptions, AuthenticatorOptions, Command
from .credential import Credential

__all__ = [
    "AsyncVirtualAuthenticator",
    "OnSecret",
    "VirtualAuthenticator",
    "async_attach",
    "attach",
]

OnSecret = Callable[[Credential], None]
"""Told of every credential whose private key passes through an authenticator."""


class _Authenticator:
    """What both authenticators share: their id, options and state, and what to send."""

    def __init__(
        self,
        page: Any,
        session: Any,
        authenticator_id: str,
        options: AuthenticatorOptions,
        on_secret: OnSecret | None = None,
    ) -> None:
        self.page = page
        self.options = options
        self._session = session
        self._id = authenticator_id
        self._on_secret = on_secret
        self._detached = False

    @property
    def id(self) -> str:
        """Chromium's id of this authenticator (``authenticatorId``)."""
        return self._id

    @property
    def detached(self) -> bool:
        return self._detached

    def __repr__(self) -> str:
        o = self.options
        state = "detached" if self._detached else "attached"
        return (
            f"<{type(self).__name__} {self._id} {state}: {o.protocol}/{o.transport}, "
            f"resident_key={o.resident_key}, user_verification={o.user_verification}, "
            f"user_verified={o.user_verified}>"
        )

    def _command(self, command: Command) -> Command:
        if self._detached:
            raise WebAuthnError(
                f"{command.method}: the virtual authenticator {self._id} was detached; "
                "attach a new one with anchor_webauthn.attach(page)"
            )
        return command

    def _secrets(self, credentials: Iterable[Credential]) -> None:
        if self._on_secret is not None:
            for credential in credentials:
                self._on_secret(credential)

    def _gone(self) -> bool:
        """Detached already, or its page closed (Chromium dropped it with the page)."""
        if self._detached:
            return True
        closed = getattr(self.page, "is_closed", None)
        if callable(closed) and closed():
            self._detached = True
        return self._detached


def _send(session: Any, command: Command) -> dict[str, Any]:
    try:
        result: dict[str, Any] = session.send(command.method, command.params)
    except PlaywrightError as exc:
        raise core.refused(command, exc) from None
    return result or {}


async def _asend(session: Any, command: Command) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await session.send(command.method, command.params)
    except PlaywrightError as exc:
        raise core.refused(command, exc) from None
    return result or {}


class VirtualAuthenticator(_Authenticator):
    """A virtual authenticator on a page of Chromium (Playwright's sync API)."""

    def credentials(self) -> list[Credential]:
        """The credentials it holds, private keys included (to ``attach`` elsewhere)."""
        result = _send(self._session, self._command(core.credentials_command(self._id)))
        found = core.parse_credentials(result)
        self._secrets(found)
        return found

    def add_credential(self, credential: Credential) -> None:
        """Load ``credential`` (from ``credentials()`` of this or another authenticator)."""
        command = self._command(core.add_credential_command(self._id, credential))
        self._secrets([credential])
        _send(self._session, command)

    def clear(self) -> None:
        """Forget every credential."""
        _send(self._session, self._command(core.clear_command(self._id)))

    def set_user_verified(self, verified: bool) -> None:
        """Whether the next ceremonies pass user verification (PIN, fingerprint)."""
        _send(self._session, self._command(core.set_user_verified_command(self._id, verified)))

    def detach(self) -> None:
        """Remove the authenticator; a no-op when it is gone already (its page closed)."""
        if self._gone():
            return
        _send(self._session, core.remove_command(self._id))
        self._detached = True

    def __enter__(self) -> VirtualAuthenticator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach()


class AsyncVirtualAuthenticator(_Authenticator):
    """``VirtualAuthenticator`` for Playwright's async API: the same methods, awaited."""

    async def credentials(self) -> list[Credential]:
        result = await _asend(self._session, self._command(core.credentials_command(self._id)))
        found = core.parse_credentials(result)
        self._secrets(found)
        return found

    async def add_credential(self, credential: Credential) -> None:
        command = self._command(core.add_credential_command(self._id, credential))
        self._secrets([credential])
        await _asend(self._session, command)

    async def clear(self) -> None:
        await _asend(self._session, self._command(core.clear_command(self._id)))

    async def set_user_verified(self, verified: bool) -> None:
        command = core.set_user_verified_command(self._id, verified)
        await _asend(self._session, self._command(command))

    async def detach(self) -> None:
        if self._gone():
            return
        await _asend(self._session, core.remove_command(self._id))
        self._detached = True

    async def __aenter__(self) -> AsyncVirtualAuthenticator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.detach()


def _prepare(page: Any, options: AttachOptions) -> tuple[AuthenticatorOptions, list[Credential]]:
    checked = AuthenticatorOptions.given(options)
    core.check_browser(core.browser_name(page))
    return checked


OPENING = Command("Target.attachToTarget")
"""Named in the error when Playwright cannot open the page's CDP session."""


def attach(
    page: Any, *, on_secret: OnSecret | None = None, **options: Unpack[AttachOptions]
) -> VirtualAuthenticator:
    """Add a virtual authenticator to ``page`` (Chromium, Playwright's sync API).

    ``attach(page, *, protocol="ctap2", transport="internal", resident_key=True,
    user_verification=True, user_verified=True, credentials=())``: ``transport="internal"`` is
    a platform authenticator (a passkey on this device), ``"usb"`` and the others a security
    key. ``user_verified=False`` makes it fail user verification (a wrong PIN or fingerprint).
    ``credentials`` are loaded into it first. Detach it (or use it as a context manager) when
    done; the ``anchor_webauthn`` fixture does that for you.
    """
    checked, listed = _prepare(page, options)
    try:
        session = page.context.new_cdp_session(page)
    except PlaywrightError as exc:
        raise core.refused(OPENING, exc) from None
    result: dict[str, Any] = {}
    for command in checked.attach():
        result = _send(session, command)
    authenticator = VirtualAuthenticator(
        page, session, core.parse_authenticator_id(result), checked, on_secret
    )
    try:
        for credential in listed:
            authenticator.add_credential(credential)
    except WebAuthnError:
        authenticator.detach()  # no half-loaded authenticator left behind
        raise
    return authenticator


async def async_attach(
    page: Any, *, on_secret: OnSecret | None = None, **options: Unpack[AttachOptions]
) -> AsyncVirtualAuthenticator:
    """``attach`` for Playwright's async API: ``await async_attach(page, ...)``."""
    checked, listed = _prepare(page, options)
    try:
        session = await page.context.new_cdp_session(page)
    except PlaywrightError as exc:
        raise core.refused(OPENING, exc) from None
    result: dict[str, Any] = {}
    for command in checked.attach():
        result = await _asend(session, command)
    authenticator = AsyncVirtualAuthenticator(
        page, session, core.parse_authenticator_id(result), checked, on_secret
    )
    try:
        for credential in listed:
            await authenticator.add_credential(credential)
    except WebAuthnError:
        await authenticator.detach()
        raise
    return authenticator
