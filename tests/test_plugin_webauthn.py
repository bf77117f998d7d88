"""``anchor_webauthn`` in real Chromium, in pytester subprocesses: removed at test end (asked of
Chromium itself), a closed page is no error, private keys scrubbed from every report, one line
for Firefox and WebKit, and docs/passkeys.md's complete example."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="no system Chromium (apt-get install -y chromium)",
)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "passkeys.md"
EXAMPLE_MARK = "<!-- complete example: tests/test_docs.py runs it -->\n```python\n"

# The page the inner tests open: served by Playwright on https (a secure context).
SITE = '''
SITE = "https://passkeys.test/"
REGISTER = """async () => (await navigator.credentials.create({publicKey: {
    rp: {id: "passkeys.test", name: "demo"},
    user: {id: new TextEncoder().encode("user-1"), name: "ada", displayName: "Ada"},
    challenge: new Uint8Array(32), pubKeyCredParams: [{type: "public-key", alg: -7}],
    authenticatorSelection: {residentKey: "required"}}})).id"""


def open_site(page):
    page.route(SITE, lambda route: route.fulfill(content_type="text/html", body="<p>demo</p>"))
    page.goto(SITE)


def still_attached(page, ids):
    """The ids Chromium still knows, asked through a CDP session of our own."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable", {"enableUI": False})
    known = []
    for id in ids:
        try:
            session.send("WebAuthn.getCredentials", {"authenticatorId": id})
            known.append(id)
        except Exception as exc:
            assert "Could not find a Virtual Authenticator" in str(exc), exc
    return known
'''


@needs_chromium
def test_authenticators_are_removed_when_the_test_ends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SITE
        + '''
import pytest


@pytest.fixture
def checked(page):
    """Set up before anchor_webauthn, so torn down after it, on a page still open."""
    ids = []
    yield ids
    assert still_attached(page, ids) == []
    print("CHECKED", len(ids))


def test_attach_two(checked, anchor_webauthn, page):
    passkey = anchor_webauthn.attach(page)
    key = anchor_webauthn.attach(page, transport="usb")
    checked += [passkey.id, key.id]
    assert still_attached(page, checked) == checked  # the check sees them while attached
    open_site(page)
    page.evaluate(REGISTER)
    assert len(passkey.credentials()) == 1


def test_detached_by_hand_then_at_the_end(checked, anchor_webauthn, page):
    passkey = anchor_webauthn.attach(page)
    checked.append(passkey.id)
    passkey.detach()
    assert still_attached(page, checked) == []


def test_a_page_closed_first_is_no_error(anchor_webauthn, context):
    page = context.new_page()
    anchor_webauthn.attach(page)
    page.close()


BROWSER_IDS = []


@pytest.fixture(scope="session")
def session_page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    assert still_attached(page, BROWSER_IDS) == []  # after anchor_webauthn_session's end
    print("SESSION CHECKED", len(BROWSER_IDS))
    context.close()


def test_the_session_twin_lasts_until_the_run_ends(session_page, anchor_webauthn_session):
    BROWSER_IDS.append(anchor_webauthn_session.attach(session_page).id)


def test_it_is_still_attached_in_a_later_test(session_page):
    assert still_attached(session_page, BROWSER_IDS) == BROWSER_IDS
'''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*CHECKED 2*", "*CHECKED 1*", "*SESSION CHECKED 1*"])


@needs_chromium
def test_private_keys_are_scrubbed_from_every_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SITE
        + """
from pathlib import Path

MOVED = []


def test_read_and_printed(anchor_webauthn, page):
    passkey = anchor_webauthn.attach(page)
    open_site(page)
    page.evaluate(REGISTER)
    [credential] = passkey.credentials()  # the key comes from Chromium: read, remembered
    Path("read.key").write_text(credential.private_key)
    MOVED.append(credential)
    print("the key:", credential.private_key, "the credential:", credential)


def test_given_and_failing(anchor_webauthn, page):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pytest_anchor_mfa.webauthn import Credential

    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    key = base64.b64encode(der).decode()
    Path("given.key").write_text(key)
    fresh = Credential(base64.b64encode(b"id-2").decode(), "passkeys.test",
                       base64.b64encode(b"user-2").decode(), key, 0)
    anchor_webauthn.attach(page, credentials=[fresh])  # the key is given: remembered
    assert key == "something else"
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rA", "-l", "--junitxml=report.xml"
    )
    result.assert_outcomes(passed=1, failed=1)
    read = (pytester.path / "read.key").read_text()
    given = (pytester.path / "given.key").read_text()
    output = result.stdout.str() + (pytester.path / "report.xml").read_text()
    assert read not in output and given not in output
    assert "the key: " + "•" * len(read) in output
    assert "private_key='••••••••'" in output  # the credential's own repr
    assert "•" * len(given) in output  # in the failure's locals and assertion


def test_firefox_and_webkit_fail_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest
from types import SimpleNamespace


@pytest.mark.parametrize("name", ["firefox", "webkit"])
def test_attach(anchor_webauthn, name):
    browser = SimpleNamespace(browser_type=SimpleNamespace(name=name))
    anchor_webauthn.attach(SimpleNamespace(context=SimpleNamespace(browser=browser)))
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*anchor-mfa: anchor_webauthn.attach: UnsupportedBrowserError: the WebAuthn virtual "
            "authenticator needs Chromium, and this page is firefox: run these tests with "
            "--browser chromium (pytest-playwright), or skip them on firefox",
        ]
    )  # the whole line: no events mode (the authenticator does not depend on it)
    failures = result.stdout.str().split("= FAILURES =")[1]
    assert "Traceback" not in failures and "new_cdp_session" not in failures
    assert re.search(r"this page is webkit: run these tests with --browser chromium", failures)


@needs_chromium
def test_the_docs_complete_example_runs(pytester: pytest.Pytester) -> None:
    text = DOCS.read_text()
    assert text.count(EXAMPLE_MARK) == 1
    pytester.makepyfile(test_passkeys_doc=text.split(EXAMPLE_MARK)[1].split("```")[0])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
