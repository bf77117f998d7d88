"""The link fixtures: ``mfa_link`` and ``async_mfa_link``, the link of a mail the app sent.

A verification, magic sign-in or password-reset mail carries a link, not a code. The SMTP
inbox signals the MFA event with the mail's links (``data["link"]``, ``data["links"]``);
these fixtures wait on that event with ``mfa_code``'s settings, timing and one-line failures
(``MfaCode.for_call``, ``timed``, ``clearly``), and hand back the link as a ``MaskedLink``
(a ``str``; its ``repr`` shows only where it goes), remembered by the leak guard together
with the token-looking parts of it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from ..codes.links import LinkRule, MaskedLink, link_secrets
from .failures import aclearly, clearly
from .leaks import remember
from .mfa import MfaCode, MfaSettings
from .options import Settings
from .sources import await_for_link, wait_for_link
from .types import AsyncMfaLink

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["LINK", "MfaLink", "async_mfa_link", "mfa_link", "remember_link"]

LINK = "a link's token"


def remember_link(config: pytest.Config, link: str) -> None:
    """Tell the leak guard: the link, and its token-looking parts, are this test's secrets."""
    for secret in link_secrets(link):
        remember(config, secret, LINK)


LINK = "link"
"""The timing report's source for ``mfa_link`` waits (their data comes from the events API)."""


class MfaLink:
    """The ``mfa_link`` fixture: call it *after* the app was asked to mail the link."""

    def __init__(self, mfa_code: MfaCode, anchor: Settings) -> None:
        self.mfa_code = mfa_code
        self._anchor = anchor

    def __repr__(self) -> str:
        s = self.mfa_code.settings
        return f"<mfa_link event={s.event!r} timeout={s.timeout:g} s>"

    def for_call(self, event: str | None, timeout: float | None, path: str | None) -> MfaSettings:
        """One call's settings (a link always comes from the events API); checks ``path``."""
        LinkRule(path=path)  # a bad regex fails before the wait, not after it
        return replace(self.mfa_code.for_call(event, timeout), source="events")

    def get(self, settings: MfaSettings, path: str | None) -> MaskedLink:
        """Wait for the event and take its link (raises our errors)."""
        with self.mfa_code.timed(settings, label=LINK):
            return wait_for_link(
                self.mfa_code.sources.events, settings.event, timeout=settings.timeout, path=path
            )

    def __call__(
        self, event: str | None = None, *, timeout: float | None = None, path: str | None = None
    ) -> MaskedLink:
        """Block until the mail's link arrives; with ``path``, the first link whose path has a
        match of that regex. Returns it as a ``str`` (masked in reprs)."""
        link = clearly(
            self._anchor, "mfa_link", lambda: self.get(self.for_call(event, timeout, path), path)
        )
        remember_link(self.mfa_code.sources.config, link)
        return link


@pytest.fixture
def mfa_link(mfa_code: MfaCode, anchor_settings: Settings) -> MfaLink:
    """``mfa_link(event=None, *, timeout=None, path=None) -> str``: wait for the MFA event
    (an inbound mail) and return the link it asks to open, masked in reprs."""
    return MfaLink(mfa_code, anchor_settings)


@pytest.fixture
def async_mfa_link(
    mfa_link: MfaLink, anchor_connection: Connection, anchor_settings: Settings
) -> AsyncMfaLink:
    """``await async_mfa_link(event=None, *, timeout=None, path=None)``: like ``mfa_link``."""

    async def get(
        event: str | None = None, *, timeout: float | None = None, path: str | None = None
    ) -> MaskedLink:
        async def timed() -> MaskedLink:
            settings = mfa_link.for_call(event, timeout, path)
            with mfa_link.mfa_code.timed(settings, label=LINK):
                async with anchor_connection.async_client() as client:
                    return await await_for_link(
                        client, settings.event, timeout=settings.timeout, path=path
                    )

        link = await aclearly(anchor_settings, "async_mfa_link", timed)
        remember_link(mfa_link.mfa_code.sources.config, link)
        return link

    return get
