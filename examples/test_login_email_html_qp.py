"""The code in an HTML-only, quoted-printable mail, among other numbers, read by ``anchor_inbox``.

The demo app mails this user's code the way many apps do: one ``text/html`` part, encoded
quoted-printable (``=3D`` in every attribute, soft line breaks), with a year, a phone number
and 6-digit colours (``#336699``) around the code. The inbox decodes the mail, reads its
visible text and signals the code to the event ``mfa_code()`` waits on.
"""

from collections.abc import Callable

import pytest
from demo_app import DemoMail, DemoUser
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode
from pytest_anchor_mfa.plugin.inbound import AnchorInbox

pytestmark = pytest.mark.anchor_timeout(15)


def test_login_with_a_code_from_an_html_only_quoted_printable_mail(
    page: Page,
    new_user: Callable[..., DemoUser],
    start_login: Callable[[Page, DemoUser], None],
    anchor_inbox: AnchorInbox,
    mfa_code: MfaCode,
) -> None:
    address = anchor_inbox.address()  # mail to it signals the event mfa_code() waits on
    user = new_user(mail=DemoMail(anchor_inbox.host, anchor_inbox.port, address))
    start_login(page, user)  # the app mails the code
    code = mfa_code()
    assert code not in ("336699", "202020", "999999", "104477")  # not a colour, not the phone
    page.fill("#mfa-code", code)
    page.click("#verify-button")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {user.username}!")

    message = anchor_inbox.wait_for_message(to=address)
    assert message.subject == "Your Demo sign-in code"
    assert "2025 Demo Inc." in message.text  # the visible text, decoded
