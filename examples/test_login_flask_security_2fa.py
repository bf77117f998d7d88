"""A real framework's own two-factor e-mail flow: Flask-Security-Too mails the code.

The app (``flask_2fa_app.py``) is Flask-Security-Too with two-factor required and e-mail its
only method, sending through SMTP to ``anchor_inbox``. The user's address is
``anchor_inbox.address()``, so the mail signals the event ``mfa_code()`` waits on; the test
signs in with Playwright like a person and types the code from the mail.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaCode
from pytest_anchor_mfa.plugin.inbound import AnchorInbox

flask_2fa_app = pytest.importorskip(
    "flask_2fa_app", reason="needs the 'examples' extra: pip install -e '.[examples]'"
)

pytestmark = [
    pytest.mark.anchor_timeout(15),
    # Flask-Security-Too's own forms use a WTForms API that WTForms deprecates: theirs to fix.
    pytest.mark.filterwarnings(
        "ignore:Passing SelectField choices as tuples is deprecated:DeprecationWarning"
    ),
]
PASSWORD = "correct horse battery"


@pytest.fixture
def flask_app(anchor_inbox: AnchorInbox) -> Iterator[tuple[str, str]]:
    """The Flask app's URL and its user's e-mail address (the inbox's, for this test)."""
    email = anchor_inbox.address()
    with flask_2fa_app.FlaskTwoFactorApp(
        anchor_inbox.host, anchor_inbox.port, email, PASSWORD
    ) as app:
        yield app.url, email


def test_flask_security_two_factor_code_by_email(
    page: Page, flask_app: tuple[str, str], anchor_inbox: AnchorInbox, mfa_code: MfaCode
) -> None:
    url, email = flask_app
    page.goto(url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")  # Flask-Security-Too mails the code and asks for it
    expect(page.locator("#code")).to_be_visible()
    page.fill("#code", mfa_code())  # the mail reached anchor_inbox, which signaled the event
    page.click("#submit-code")
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {email}")
    assert "code" in anchor_inbox.wait_for_message(to=email).text.lower()
