"""An MFA bridge: the code only reaches a phone, and a webhook handler forwards it.

When ``mfa_code()`` starts waiting on an MFA event, the service posts an
``intervention.requested`` webhook ("a human is needed"). A bridge reacts: it reads the code
from the phone (here the demo app's inbox) and signals it on the event named in the webhook,
which ends the wait; the service then posts ``intervention.resolved``.

Fake mode only: the real service cannot post webhooks to this machine's loopback receiver.
The fake server treats event names containing mfa, otp, 2fa or code as MFA events.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from demo_app import DemoApp, DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode, Settings, SignalEvent
from pytest_anchor_mfa.webhooks.models import WebhookEvent
from pytest_anchor_mfa.webhooks.receiver import WebhookReceiver

pytestmark = pytest.mark.anchor_timeout(15)


def test_webhook_bridge_forwards_the_phone_code(
    page: Page,
    new_user: Callable[..., DemoUser],
    start_login: Callable[[Page, DemoUser], None],
    mfa_code: MfaCode,
    mfa_event_name: str,
    demo_app: DemoApp,
    anchor_webhooks: WebhookReceiver,
    signal_event: SignalEvent,
    anchor_settings: Settings,
) -> None:
    if anchor_settings.mode != "fake":
        pytest.skip("live service: it cannot post webhooks to a loopback receiver")
    user = new_user(inbox=True)  # the app texts this user's code to a phone, nothing else

    def bridge() -> WebhookEvent:
        """What a webhook handler does: a human is needed, so fetch the code and signal it."""
        requested = anchor_webhooks.wait_for("intervention.requested", timeout=10)
        [code] = demo_app.wait_for_codes(user.username, timeout=10)  # read the phone
        signal_event(requested.data.event, code=code)
        return requested

    start_login(page, user)
    with ThreadPoolExecutor(max_workers=1) as pool:
        relay = pool.submit(bridge)
        try:
            code = mfa_code()  # the wait starts: the service posts intervention.requested
        except pytest.fail.Exception:
            relay.result()  # if the bridge broke, its own error says why
            raise
        requested = relay.result()
    page.fill("#mfa-code", code)
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")

    assert requested.data.event == mfa_event_name
    resolved = anchor_webhooks.wait_for("intervention.resolved", timeout=10)
    assert resolved.data.intervention_id == requested.data.intervention_id
