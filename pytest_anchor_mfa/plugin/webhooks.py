"""The webhook fixtures: the signing secret, a loopback receiver per session, and per test.

Owns ``anchor_webhook_secret`` (override it to test rotation), ``anchor_webhooks_session``
(one per process) and ``anchor_webhooks`` (the receiver, emptied after the test; in fake mode
the fake server posts intervention webhooks to it). The receiver is imported when first used.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .failures import clearly
from .leaks import WEBHOOK_SECRET, remember
from .options import Settings
from .renames import overridden

if TYPE_CHECKING:
    from ..server import FakeEventServer
    from ..webhooks.models import WebhookEvent
    from ..webhooks.receiver import WebhookReceiver

__all__ = ["anchor_webhook_secret", "anchor_webhooks", "anchor_webhooks_session"]


@pytest.fixture(scope="session")
def anchor_webhook_secret(anchor_settings: Settings) -> str:
    """The secret webhooks are signed with in tests: the setting, else random per run."""
    return anchor_settings.webhook_secret or f"whsec_{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def anchor_webhooks_session(
    anchor_webhook_secret: str,
    anchor_settings: Settings,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
) -> Iterator[WebhookReceiver]:
    """A loopback webhook receiver for the whole run (one per xdist worker).

    Its ``wait_for`` fails the test with one line when the webhook does not come (no
    traceback into the receiver); everything else is the ``WebhookReceiver``.
    """
    found, override = overridden(request, "anchor_webhooks_session")
    if found:
        yield override
        return
    from ..webhooks.receiver import WebhookReceiver

    # Here, not in anchor_webhook_secret: a conftest may override that fixture.
    remember(pytestconfig, anchor_webhook_secret, WEBHOOK_SECRET, run_wide=True)

    class TestWebhookReceiver(WebhookReceiver):
        def wait_for(self, *args: Any, **kwargs: Any) -> WebhookEvent:
            wait = super().wait_for
            return clearly(anchor_settings, "webhook wait_for", lambda: wait(*args, **kwargs))

    with TestWebhookReceiver(anchor_webhook_secret) as receiver:
        yield receiver


@pytest.fixture
def anchor_webhooks(
    anchor_webhooks_session: WebhookReceiver,
    anchor_webhook_secret: str,
    anchor_settings: Settings,
    request: pytest.FixtureRequest,
) -> Iterator[WebhookReceiver]:
    """The webhook receiver, emptied after the test; in fake mode the fake server posts to it."""
    fake: FakeEventServer | None = None
    if anchor_settings.mode == "fake":
        fake = request.getfixturevalue("anchor_fake")
        fake.set_webhook(anchor_webhooks_session.url, anchor_webhook_secret)
    yield anchor_webhooks_session
    if fake is not None:
        fake.set_webhook(None)
    anchor_webhooks_session.reset()
