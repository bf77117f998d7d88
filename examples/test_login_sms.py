"""The demo app texts the code through a Twilio-style webhook, and ``anchor_sms`` receives it.

The user's phone number is ``anchor_sms.number()``, routed to the event ``mfa_code()`` waits
on; the app posts Twilio's inbound-SMS form, signed with the auth token, to
``anchor_sms.url("twilio")``, as Twilio would post it to a real app's webhook. The gateway
checks the signature, finds the code and signals the event.
"""

from collections.abc import Callable

import pytest
from demo_app import DemoSms, DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode
from pytest_anchor_mfa.plugin.sms import AnchorSms

pytestmark = pytest.mark.anchor_timeout(15)


def test_login_with_a_code_texted_through_twilio(
    page: Page,
    new_user: Callable[..., DemoUser],
    start_login: Callable[[Page, DemoUser], None],
    anchor_sms: AnchorSms,
    mfa_code: MfaCode,
) -> None:
    number = anchor_sms.number()  # SMS to this number signal the event mfa_code() waits on
    user = new_user(sms=DemoSms(anchor_sms.url("twilio"), anchor_sms.twilio_auth_token, number))
    start_login(page, user)  # the app texts the code
    page.fill("#mfa-code", mfa_code())
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")

    [sms] = anchor_sms.messages
    assert (sms.provider, sms.recipient) == ("twilio", number)
