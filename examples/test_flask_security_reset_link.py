"""A real framework's password reset by e-mail link: Flask-Security-Too mails the link.

The app (``flask_2fa_app.py`` with ``password_reset=True``) is Flask-Security-Too with "forgot
password" on, sending through SMTP to ``anchor_inbox``. The user's address is
``anchor_inbox.address()``, so the reset mail signals the event ``mfa_link()`` waits on; the
test asks for the reset on the app's own page, opens the mailed link, sets a new password on
the page it leads to and signs in with it, all in a real browser.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from pytest_anchor_mfa import MfaLink
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
OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse correct"


@pytest.fixture
def flask_app(anchor_inbox: AnchorInbox) -> Iterator[tuple[str, str]]:
    """The Flask app's URL and its user's e-mail address (the inbox's, for this test)."""
    email = anchor_inbox.address()
    with flask_2fa_app.FlaskTwoFactorApp(
        anchor_inbox.host, anchor_inbox.port, email, OLD_PASSWORD, password_reset=True
    ) as app:
        yield app.url, email


def test_flask_security_password_reset_by_link(
    page: Page, flask_app: tuple[str, str], anchor_inbox: AnchorInbox, mfa_link: MfaLink
) -> None:
    url, email = flask_app
    page.goto(url + "/reset")  # Flask-Security-Too's "forgot password" page
    page.fill("#email", email)
    page.click("#submit")  # it mails the reset link to anchor_inbox, which signals the event
    link = mfa_link(path="^/reset/")  # the link of the mail, masked in reprs
    assert link.startswith(url + "/reset/")
    page.goto(link)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.click("#submit")

    page.goto(url + "/login")
    page.fill("#email", email)
    page.fill("#password", NEW_PASSWORD)
    page.click("#submit")
    expect(page.locator("#welcome")).to_have_text(f"Signed in as {email}")
    assert anchor_inbox.wait_for_link(to=email) == link  # the same link, read from the inbox
