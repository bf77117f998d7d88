"""``anchor_webauthn`` (sync flavour): virtual authenticators, removed at test end.

Wiring only: ``webauthn.attach`` adds the authenticator; here each private key that passes
through is told to the leak guard (run-wide: a credential moved to a later test stays a
secret), an error becomes one line (``failures.clearly``: Firefox and WebKit are told that
Chromium is needed), and every authenticator still attached is detached when the test ends
(one whose page closed first is gone already). ``anchor_webauthn_session`` is its session
twin, for session fixtures such as a sign-in routine. The async flavour's are in
``webauthn_async``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

import pytest

from .failures import clearly
from .leaks import remember

if TYPE_CHECKING:
    from ..webauthn import Credential, VirtualAuthenticator
    from ..webauthn.core import AttachOptions

__all__ = [
    "PRIVATE_KEY",
    "AnchorWebAuthn",
    "Attached",
    "anchor_webauthn",
    "anchor_webauthn_session",
]

PRIVATE_KEY = "a WebAuthn private key"


class Attached:
    """What both flavours of the fixture keep: the leak guard's config and the authenticators
    attached in this test (or run)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.authenticators: list[Any] = []

    def __repr__(self) -> str:
        attached = sum(not vk.detached for vk in self.authenticators)
        return f"<anchor_webauthn: {attached} virtual authenticator(s) attached>"

    def remember(self, credential: Credential) -> None:
        remember(self.config, credential.private_key, PRIVATE_KEY, run_wide=True)

    @staticmethod
    def keep_error(authenticator: Any) -> bool:
        """Whether a failed detach at test end is worth reporting: not when its page closed."""
        closed = getattr(authenticator.page, "is_closed", None)
        return not (callable(closed) and closed())


class AnchorWebAuthn(Attached):
    """The ``anchor_webauthn`` fixture: ``attach(page, ...) -> VirtualAuthenticator``."""

    def attach(self, page: Any, **options: Unpack[AttachOptions]) -> VirtualAuthenticator:
        """A virtual authenticator on ``page``: ``attach(page, *, protocol="ctap2",
        transport="internal", resident_key=True, user_verification=True, user_verified=True,
        credentials=())`` (see ``pytest_anchor_mfa.webauthn.attach``)."""
        from ..webauthn import attach

        authenticator = clearly(
            None,  # the browser's authenticator does not depend on the events mode
            "anchor_webauthn.attach",
            lambda: attach(page, on_secret=self.remember, **options),
        )
        self.authenticators.append(authenticator)
        return authenticator

    def detach_all(self) -> None:
        """Detach every authenticator still attached (the test's end)."""
        from ..errors import WebAuthnError

        for authenticator in reversed(self.authenticators):
            try:
                authenticator.detach()
            except WebAuthnError:
                if self.keep_error(authenticator):
                    raise


def _anchor_webauthn(pytestconfig: pytest.Config) -> Iterator[AnchorWebAuthn]:
    fixture = AnchorWebAuthn(pytestconfig)
    yield fixture
    fixture.detach_all()


anchor_webauthn = pytest.fixture(name="anchor_webauthn")(_anchor_webauthn)
"""``anchor_webauthn.attach(page, ...)``: a passkey / security key for ``page`` (Chromium);
what is still attached is removed when the test ends."""

anchor_webauthn_session = pytest.fixture(scope="session", name="anchor_webauthn_session")(
    _anchor_webauthn
)
"""``anchor_webauthn`` for session fixtures, such as an ``anchor_sign_in`` routine
(``@pytest.mark.signed_in``); what is still attached is removed when the run ends."""
