"""``anchor_webauthn`` and ``anchor_webauthn_session`` of the async flavour.

Registered after pytest-playwright-asyncio, like ``signed_context_async``; they replace the sync
flavour's fixtures of the same names: ``await anchor_webauthn.attach(page, ...)`` returns an
``AsyncVirtualAuthenticator``. The rest is ``webauthn.Attached``'s: the leak guard, one-line
errors, and every authenticator still attached detached when the test (or the run) ends.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Unpack

import pytest

from .failures import aclearly
from .webauthn import Attached

if TYPE_CHECKING:
    from ..webauthn import AsyncVirtualAuthenticator
    from ..webauthn.core import AttachOptions

__all__ = ["AsyncAnchorWebAuthn", "anchor_webauthn", "anchor_webauthn_session"]


class AsyncAnchorWebAuthn(Attached):
    """The async ``anchor_webauthn``: ``await attach(page, ...) -> AsyncVirtualAuthenticator``."""

    async def attach(
        self, page: Any, **options: Unpack[AttachOptions]
    ) -> AsyncVirtualAuthenticator:
        """A virtual authenticator on ``page`` (see ``pytest_anchor_mfa.webauthn.attach``)."""
        from ..webauthn import async_attach

        authenticator = await aclearly(
            None,  # the browser's authenticator does not depend on the events mode
            "anchor_webauthn.attach",
            lambda: async_attach(page, on_secret=self.remember, **options),
        )
        self.authenticators.append(authenticator)
        return authenticator

    async def detach_all(self) -> None:
        from ..errors import WebAuthnError

        for authenticator in reversed(self.authenticators):
            try:
                await authenticator.detach()
            except WebAuthnError:
                if self.keep_error(authenticator):
                    raise


async def _anchor_webauthn(pytestconfig: pytest.Config) -> AsyncIterator[AsyncAnchorWebAuthn]:
    """``await anchor_webauthn.attach(page, ...)``: a passkey / security key for ``page``."""
    fixture = AsyncAnchorWebAuthn(pytestconfig)
    yield fixture
    await fixture.detach_all()


# pytest-asyncio is there whenever pytest-playwright-asyncio is (this module loads only then).
_fixture = importlib.import_module("pytest_asyncio").fixture
anchor_webauthn = _fixture(loop_scope="session", name="anchor_webauthn")(_anchor_webauthn)
anchor_webauthn_session = _fixture(
    scope="session", loop_scope="session", name="anchor_webauthn_session"
)(_anchor_webauthn)
