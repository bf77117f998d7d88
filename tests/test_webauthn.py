"""The virtual authenticator without a browser: credentials, commands, answers, errors.

A fake CDP session stands in for Playwright's (sync and async): it records what is sent and
answers like Chromium. The real browser is in test_plugin_webauthn.py (pytester subprocesses)
and examples/test_login_flask_security_passkey.py.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playwright.sync_api import Error as PlaywrightError

from pytest_anchor_mfa.errors import (
    AnchorMfaError,
    InvalidArgumentError,
    UnsupportedBrowserError,
    WebAuthnError,
)
from pytest_anchor_mfa.webauthn import (
    AsyncVirtualAuthenticator,
    AuthenticatorOptions,
    Credential,
    VirtualAuthenticator,
    async_attach,
    attach,
    core,
)

KEY = base64.b64encode(b"\x30\x81\x87" + bytes(range(64))).decode()
CREDENTIAL = Credential(
    credential_id=base64.b64encode(b"credential-1").decode(),
    rp_id="localhost",
    user_handle=base64.b64encode(b"user-1").decode(),
    private_key=KEY,
    sign_count=3,
)


class FakeSession:
    """Chromium's WebAuthn domain, as far as these tests need it."""

    def __init__(self, fail: dict[str, str] | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.credentials: list[dict[str, Any]] = []
        self.fail = fail or {}
        self.detached = False

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.sent.append((method, dict(params or {})))
        if method in self.fail:
            raise PlaywrightError(
                f"CDPSession.send: Protocol error ({method}): {self.fail[method]}"
            )
        if method == "WebAuthn.addVirtualAuthenticator":
            return {"authenticatorId": "auth-1"}
        if method == "WebAuthn.addCredential":
            self.credentials.append(dict((params or {})["credential"]))
        if method == "WebAuthn.getCredentials":
            return {"credentials": list(self.credentials)}
        if method == "WebAuthn.clearCredentials":
            self.credentials.clear()
        return {}

    def detach(self) -> None:
        self.detached = True

    def methods(self) -> list[str]:
        return [method for method, _ in self.sent]


class AsyncFakeSession(FakeSession):
    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:  # type: ignore[override]
        return FakeSession.send(self, method, params)

    async def detach(self) -> None:  # type: ignore[override]
        self.detached = True


class FakePage:
    """A Playwright page of ``browser`` (None: a persistent context, which names none) whose
    context opens ``session``."""

    def __init__(self, session: FakeSession, browser: str | None = "chromium") -> None:
        self.closed = False
        found = (
            None if browser is None else SimpleNamespace(browser_type=SimpleNamespace(name=browser))
        )
        self.context = SimpleNamespace(browser=found, new_cdp_session=self._open)
        self._session = session

    def _open(self, page: Any) -> Any:
        assert page is self
        if isinstance(self._session, AsyncFakeSession):
            return asyncio.sleep(0, self._session)  # awaited: the session
        return self._session

    def is_closed(self) -> bool:
        return self.closed


# -- Credential ---------------------------------------------------------------------------------


def test_a_credential_goes_to_the_protocol_and_back_unchanged() -> None:
    cdp = CREDENTIAL.to_cdp()
    assert cdp == {
        "credentialId": CREDENTIAL.credential_id,
        "isResidentCredential": True,
        "rpId": "localhost",
        "privateKey": KEY,
        "signCount": 3,
        "userHandle": CREDENTIAL.user_handle,
    }
    assert Credential.from_cdp(cdp) == CREDENTIAL


def test_a_credential_that_is_not_resident_has_no_user_handle() -> None:
    credential = Credential(CREDENTIAL.credential_id, "localhost", None, KEY, 0, False)
    assert "userHandle" not in credential.to_cdp()
    without_rp = {k: v for k, v in credential.to_cdp().items() if k != "rpId"}
    assert Credential.from_cdp(without_rp, rp_id="localhost") == credential


def test_the_private_key_is_masked_in_the_repr() -> None:
    shown = repr(CREDENTIAL)
    assert KEY not in shown and KEY[:12] not in shown
    assert "private_key='••••••••'" in shown
    assert CREDENTIAL.credential_id in shown and "sign_count=3" in shown
    assert KEY not in str(CREDENTIAL) and KEY not in f"{[CREDENTIAL]}"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"credential_id": "not base64!"}, "credential_id is not valid base64"),
        ({"private_key": b"bytes"}, "private_key must be a base64 string, not bytes"),
        ({"private_key": ""}, "private_key must be a base64 string"),
        ({"rp_id": ""}, "rp_id must be the site's domain"),
        ({"sign_count": -1}, "sign_count must be 0 or more"),
        ({"sign_count": True}, "sign_count must be an int, not bool"),
        ({"user_handle": None}, "a resident WebAuthn credential needs a user_handle"),
    ],
)
def test_a_bad_credential_is_refused_in_one_line(changes: dict[str, Any], words: str) -> None:
    fields = {**CREDENTIAL.__dict__, **changes}
    with pytest.raises(InvalidArgumentError, match=words) as caught:
        Credential(**fields)
    assert "\n" not in str(caught.value) and KEY not in str(caught.value)


@given(st.dictionaries(st.sampled_from(list(CREDENTIAL.to_cdp())), st.from_type(type)))
def test_from_cdp_takes_anything_and_refuses_with_our_error(cdp: dict[str, Any]) -> None:
    try:
        Credential.from_cdp(cdp)
    except InvalidArgumentError as exc:
        assert "\n" not in str(exc)


@given(
    st.dictionaries(
        st.sampled_from(list(CREDENTIAL.to_cdp())),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.binary()),
    )
)
def test_from_cdp_never_crashes_on_bad_values(cdp: dict[str, Any]) -> None:
    try:
        credential = Credential.from_cdp({**CREDENTIAL.to_cdp(), **cdp})
    except InvalidArgumentError:
        return
    assert Credential.from_cdp(credential.to_cdp()) == credential


# -- options and commands -----------------------------------------------------------------------


def test_the_options_become_chromiums_authenticator_options() -> None:
    options = AuthenticatorOptions(transport="usb", user_verified=False)
    assert options.cdp() == {
        "protocol": "ctap2",
        "transport": "usb",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": False,
        "automaticPresenceSimulation": True,
    }
    assert [c.method for c in options.attach()] == [
        "WebAuthn.enable",
        "WebAuthn.addVirtualAuthenticator",
    ]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"protocol": "fido3"}, "protocol must be one of ctap2, u2f, not 'fido3'"),
        ({"transport": "bluetooth"}, "transport must be one of usb, nfc, ble, cable, internal"),
        ({"resident_key": "yes"}, "resident_key must be True or False"),
        ({"user_verified": 1}, "user_verified must be True or False"),
    ],
)
def test_bad_options_are_refused_in_one_line(options: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words):
        AuthenticatorOptions(**options)


def test_an_unknown_argument_is_named() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown argument 'resident_keys'; it takes"):
        attach(FakePage(FakeSession()), resident_keys=False)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["firefox", "webkit"])
def test_firefox_and_webkit_are_told_chromium_is_needed_in_one_line(name: str) -> None:
    with pytest.raises(UnsupportedBrowserError) as caught:
        attach(FakePage(FakeSession(), browser=name))
    message = str(caught.value)
    assert "\n" not in message
    assert f"needs Chromium, and this page is {name}" in message
    assert "--browser chromium" in message
    assert isinstance(caught.value, WebAuthnError) and isinstance(caught.value, AnchorMfaError)


def test_an_unknown_browser_is_tried_and_chromiums_answer_decides() -> None:
    session = FakeSession(fail={"WebAuthn.enable": "'WebAuthn.enable' wasn't found"})
    with pytest.raises(UnsupportedBrowserError, match="needs Chromium"):
        attach(FakePage(session, browser=None))  # a persistent context names no browser


def test_playwrights_refusal_to_open_a_cdp_session_is_the_same_line() -> None:
    exc = PlaywrightError(
        "BrowserContext.new_cdp_session: CDP session is only available in Chromium"
    )
    error = core.refused(core.Command("Target.attachToTarget"), exc)
    assert isinstance(error, UnsupportedBrowserError)
    assert "needs Chromium" in str(error) and "--browser chromium" in str(error)


def test_a_refusal_names_the_command_and_chromiums_reason_not_the_key() -> None:
    session = FakeSession(fail={"WebAuthn.addCredential": "The Private Key is invalid"})
    with pytest.raises(WebAuthnError) as caught:
        attach(FakePage(session), credentials=[CREDENTIAL])
    assert str(caught.value) == "WebAuthn.addCredential failed: The Private Key is invalid"
    # A half-loaded authenticator is not left behind.
    assert session.methods()[-1] == "WebAuthn.removeVirtualAuthenticator"


def test_a_closed_page_is_named_as_such() -> None:
    exc = PlaywrightError("Target page, context or browser has been closed")
    error = core.refused(core.clear_command("a"), exc)
    assert str(error) == (
        "WebAuthn.clearCredentials failed: the page, its context or its browser is closed"
    )


@pytest.mark.parametrize("bad", [CREDENTIAL, {"credentialId": "x"}, "abc", [1]])
def test_credentials_must_be_a_list_of_credentials(bad: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="credentials"):
        attach(FakePage(FakeSession()), credentials=bad)


def test_a_bad_answer_is_our_error() -> None:
    with pytest.raises(WebAuthnError, match="without an authenticatorId"):
        core.parse_authenticator_id({})
    with pytest.raises(WebAuthnError, match="without a list of credentials"):
        core.parse_credentials({"credentials": None})
    with pytest.raises(WebAuthnError, match="answered a bad credential"):
        core.parse_credentials({"credentials": [{"credentialId": "x"}]})


# -- the sync and the async authenticator -------------------------------------------------------


def _sync_run(call: Any) -> Any:
    return call


FLAVOURS = [
    pytest.param((FakeSession, attach, _sync_run), id="sync"),
    pytest.param((AsyncFakeSession, async_attach, asyncio.run), id="async"),
]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_both_flavours_send_the_same_commands(flavour: tuple[Any, ...]) -> None:
    session_type, attach_, run = flavour
    session = session_type()
    secrets: list[Credential] = []
    page = FakePage(session)
    vk = run(attach_(page, transport="usb", credentials=[CREDENTIAL], on_secret=secrets.append))
    assert isinstance(vk, AsyncVirtualAuthenticator | VirtualAuthenticator)
    assert vk.id == "auth-1"
    assert run(vk.credentials()) == [CREDENTIAL]
    run(vk.set_user_verified(False))
    run(vk.clear())
    assert run(vk.credentials()) == []
    run(vk.detach())
    run(vk.detach())  # once only
    assert session.methods() == [
        "WebAuthn.enable",
        "WebAuthn.addVirtualAuthenticator",
        "WebAuthn.addCredential",
        "WebAuthn.getCredentials",
        "WebAuthn.setUserVerified",
        "WebAuthn.clearCredentials",
        "WebAuthn.getCredentials",
        "WebAuthn.removeVirtualAuthenticator",
    ]
    assert session.sent[1][1]["options"]["transport"] == "usb"
    assert session.sent[4][1] == {"authenticatorId": "auth-1", "isUserVerified": False}
    assert secrets == [CREDENTIAL, CREDENTIAL]  # given, then read back
    assert "detached" in repr(vk) and KEY not in repr(vk)


@pytest.mark.parametrize(
    "use",
    [
        lambda vk: vk.credentials(),
        lambda vk: vk.clear(),
        lambda vk: vk.add_credential(CREDENTIAL),
        lambda vk: vk.set_user_verified(True),
    ],
)
def test_a_detached_authenticator_refuses_in_one_line(use: Callable[[Any], Any]) -> None:
    vk = attach(FakePage(FakeSession()))
    vk.detach()
    with pytest.raises(WebAuthnError, match=r"auth-1 was detached; attach a new one"):
        use(vk)


def test_detach_after_the_page_closed_sends_nothing() -> None:
    session = FakeSession()
    page = FakePage(session)
    with attach(page) as vk:
        page.closed = True
    assert vk.detached
    assert session.methods() == ["WebAuthn.enable", "WebAuthn.addVirtualAuthenticator"]


def test_user_verified_takes_a_bool_only() -> None:
    vk = attach(FakePage(FakeSession()))
    with pytest.raises(InvalidArgumentError, match="set_user_verified takes True or False"):
        vk.set_user_verified("no")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"takes a pytest_anchor_mfa\.webauthn"):
        vk.add_credential(CREDENTIAL.to_cdp())  # type: ignore[arg-type]
