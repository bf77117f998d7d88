"""Passkeys in the async flavour: ``await anchor_webauthn.attach(page)`` in real Chromium.

The page is served by Playwright on ``https://passkeys.test/`` (a secure context whose RP ID is
``passkeys.test``); its script registers a passkey and signs in with it, like a site's would.
"""

import pytest
from playwright.async_api import Browser, Page

from pytest_anchor_mfa.plugin.webauthn_async import AsyncAnchorWebAuthn

pytestmark = pytest.mark.asyncio(loop_scope="session")

SITE = "https://passkeys.test/"
REGISTER = """async () => (await navigator.credentials.create({publicKey: {
  rp: {id: "passkeys.test", name: "Passkeys demo"},
  user: {id: new TextEncoder().encode("user-1"), name: "ada", displayName: "Ada"},
  challenge: crypto.getRandomValues(new Uint8Array(32)),
  pubKeyCredParams: [{type: "public-key", alg: -7}],
  authenticatorSelection: {residentKey: "required", userVerification: "required"},
}})).id"""
SIGN_IN = """async () => {
  try {
    const assertion = await navigator.credentials.get({publicKey: {
      rpId: "passkeys.test", challenge: crypto.getRandomValues(new Uint8Array(32)),
      userVerification: "required", timeout: 5000}});
    return {id: assertion.id};
  } catch (error) {
    return {error: error.name};
  }
}"""


async def open_site(page: Page) -> None:
    async def serve(route: object) -> None:
        await route.fulfill(content_type="text/html", body="<h1>Demo</h1>")  # type: ignore[attr-defined]

    await page.route(SITE, serve)
    await page.goto(SITE)


async def test_a_passkey_registers_signs_in_and_moves(
    browser: Browser, page: Page, anchor_webauthn: AsyncAnchorWebAuthn
) -> None:
    passkey = await anchor_webauthn.attach(page)
    await open_site(page)
    credential_id = await page.evaluate(REGISTER)
    assert await page.evaluate(SIGN_IN) == {"id": credential_id}
    other = await browser.new_context()
    try:
        page2 = await other.new_page()
        await anchor_webauthn.attach(page2, credentials=await passkey.credentials())
        await open_site(page2)
        assert await page2.evaluate(SIGN_IN) == {"id": credential_id}
    finally:
        await other.close()
    await passkey.set_user_verified(False)
    assert await page.evaluate(SIGN_IN) == {"error": "NotAllowedError"}


async def test_the_session_twin_for_session_fixtures(
    page: Page, anchor_webauthn_session: AsyncAnchorWebAuthn
) -> None:
    passkey = await anchor_webauthn_session.attach(page, transport="usb")
    await open_site(page)
    credential_id = await page.evaluate(REGISTER)
    [credential] = await passkey.credentials()
    assert credential.rp_id == "passkeys.test" and credential_id
