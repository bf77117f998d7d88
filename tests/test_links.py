"""Links in e-mail: extraction (corpus, decoys, decoding, rules, hostile input), the inbox's
``link``/``links`` over real SMTP, ``mfa_link``/``wait_for_link`` and the leak guard (pytester).

The corpus (``tests/link_corpus.json``, made by ``tests/render_link_corpus.py``) holds mails
rendered from real products' own templates, each with its source (repository + path).
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_inbound_smtp import Recorder, mail, send

import pytest_anchor_mfa
from pytest_anchor_mfa import (
    InvalidArgumentError,
    LinkCandidate,
    LinkNotFoundError,
    LinkRule,
    best_link,
    extract_links,
)
from pytest_anchor_mfa.codes.links import (
    MaskedLink,
    link_from_data,
    link_secrets,
    link_sources,
    links_of,
)
from pytest_anchor_mfa.codes.masking import mask_sensitive, masked_secrets
from pytest_anchor_mfa.plugin.inbound import AnchorInbox

pytest_plugins = ["pytester"]

CORPUS: list[dict[str, Any]] = json.loads(
    Path(__file__).with_name("link_corpus.json").read_text(encoding="utf-8")
)
RESET = "https://app.test/reset/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"
FOOTER = (
    '<p><a href="https://app.test/"><img src="https://app.test/logo.png" alt="App"></a></p>'
    '<p><a href="https://app.test/mail/web/42">View in browser</a></p>'
    "<p>{body}</p>"
    '<p><a href="https://app.test/help">Help</a> | <a href="https://app.test/privacy">Privacy</a>'
    ' | <a href="https://app.test/unsubscribe?u=1">Unsubscribe</a>'
    ' | <a href="https://twitter.com/app">Twitter</a> | <a href="mailto:help@app.test">Mail</a>'
    ' | <a href="tel:+18005551234">Call</a></p><img src="https://t.app.test/o.gif" width="1">'
)


# -- the corpus ---------------------------------------------------------------------------------


def test_the_corpus_is_big_varied_and_sourced() -> None:
    assert len(CORPUS) >= 40
    assert len({e["lang"] for e in CORPUS}) >= 8
    kinds = {"password reset", "e-mail confirmation", "magic link", "device registration"}
    assert {e["kind"] for e in CORPUS} >= kinds
    assert {bool(e["html"]) for e in CORPUS} == {True, False}  # HTML and plain text
    for entry in CORPUS:
        assert entry["source"]["repo"].count("/") == 1 and entry["source"]["path"], entry["id"]
        body = entry["html"] or entry["text"]
        assert entry["expected"] in html.unescape(body), entry["id"]
    decoyed = [e for e in CORPUS if len(extract_links(e["text"], e["html"])) > 1]
    assert len(decoyed) >= 35


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_the_corpus_link_is_the_best(entry: dict[str, Any]) -> None:
    found = extract_links(entry["text"], entry["html"])
    assert found[0].url == entry["expected"], found[:3]
    assert best_link(entry["text"], entry["html"]) == entry["expected"]
    decoys = [c for c in found[1:] if c.url != entry["expected"]]
    assert all(c.score < found[0].score for c in decoys)


# -- what counts, and what does not ------------------------------------------------------------


def test_the_button_wins_over_logo_footer_social_and_pixel() -> None:
    body = f'Reset your password: <a href="{RESET}" class="button">Choose a new password</a>'
    found = extract_links(html=FOOTER.format(body=body))
    assert found[0].url == RESET
    assert "its text" in found[0].reason and found[0].where == "html"
    urls = [c.url for c in found]
    assert not any(u.startswith(("mailto:", "tel:")) or u.endswith(".gif") for u in urls)
    assert all(c.score <= 0.5 for c in found[1:]), found


def test_a_message_with_only_footer_links_has_no_best_link() -> None:
    document = FOOTER.format(body="Thanks for reading our newsletter.")
    assert best_link(html=document) is None
    assert extract_links(html=document)  # still listed, scored low


def test_entities_are_decoded_and_href_wins_over_the_visible_text() -> None:
    href = "https://click.mailer.test/ls?u=https%3A%2F%2Fapp.test%2Fverify&amp;id=7Fa9"
    document = f'<p>Verify your e-mail:</p><a href="{href}">https://app.test/verify?t=shown</a>'
    assert best_link(html=document) == html.unescape(href)


def test_quoted_printable_soft_breaks_are_undone() -> None:
    raw = (
        '<p>Confirm your account:</p><a href=3D"https://app.test/confirm?token=3Dab12cd34=\n'
        'ef56gh78">Confirm</a>'
    )
    assert best_link(html=raw) == "https://app.test/confirm?token=ab12cd34ef56gh78"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sign in with this magic link:\n<https://app.test/magic/Ab12Cd34Ef56>\n", None),
        ("Reset it here: https://app.test/reset?t=Ab12Cd34Ef56.", None),
        ("Confirm (https://app.test/confirm/Ab12Cd34Ef56), thanks!", None),
        ("Bestätigen Sie Ihre E-Mail-Adresse: https://app.test/bestaetigen/Ab12Cd34Ef56!", None),
        ("[Verify](https://app.test/verify/Ab12Cd34Ef56)", None),
    ],
)
def test_plain_text_urls_lose_their_trailing_punctuation(text: str, expected: None) -> None:
    link = best_link(text)
    assert (
        link is not None and link.startswith("https://app.test/") and link.endswith("Ab12Cd34Ef56")
    )


def test_several_languages_pick_the_action_over_other_links() -> None:
    for words in (
        "Passwort zurücksetzen",
        "Réinitialiser le mot de passe",
        "Restablecer",
        "Подтвердить адрес",
        "パスワードを再設定",
        "确认邮箱",
    ):
        document = (
            '<a href="https://app.test/about/team">Über uns / About</a> '
            f'<a href="https://app.test/x/Ab12Cd34Ef56">{words}</a>'
        )
        assert best_link(html=document) == "https://app.test/x/Ab12Cd34Ef56", words


def test_a_revoke_link_beside_the_action_is_a_decoy() -> None:
    text = (
        "If you made this request, click the validation link below.\n\n"
        "https://auth.test/reset-password/step2?token=Ab12Cd34Ef56Gh78\n\n"
        "To revoke the code, click the link below:\n\n"
        "https://auth.test/revoke/reset-password?token=Ab12Cd34Ef56Gh78\n"
    )
    assert best_link(text) == "https://auth.test/reset-password/step2?token=Ab12Cd34Ef56Gh78"


def test_the_candidate_repr_masks_the_url() -> None:
    candidate = extract_links(f"Reset: {RESET}")[0]
    assert isinstance(candidate, LinkCandidate)
    assert "Zm9vYmFy" not in repr(candidate) and "https://app.test/" in repr(candidate)
    link = MaskedLink(RESET)
    assert link == RESET and f"{link}" == RESET
    assert repr(link) == repr(f"https://app.test/… ({len(RESET)} characters, masked)")


def test_link_secrets_are_the_url_and_its_token_parts() -> None:
    url = "https://app.test/reset/Zm9vYmFyYmF6?uid=42&token=ab12cd34ef&next=/home"
    assert link_secrets(url) == [url, "Zm9vYmFyYmF6", "ab12cd34ef"]


# -- rules ------------------------------------------------------------------------------------


MIXED = (
    '<a href="https://app.test/verify/Ab12Cd34Ef56">Verify</a>'
    '<a href="https://login.app.test/Reset/Xy98Zw76">Reset</a>'
    '<a href="https://other.test/reset/Qq11Rr22">Reset too</a>'
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (LinkRule(host="login.app.test"), "https://login.app.test/Reset/Xy98Zw76"),
        (LinkRule(host="APP.test", path="/reset/"), None),
        (LinkRule(host="app.test", path="(?i)/reset/"), "https://login.app.test/Reset/Xy98Zw76"),
        (LinkRule(path=r"^/reset/\w+$"), "https://other.test/reset/Qq11Rr22"),
        (LinkRule(pattern=r"(?i)^https://[^/]*other\.test/"), "https://other.test/reset/Qq11Rr22"),
        (LinkRule(pattern=r"verify/(?P<token>\w+)$"), "https://app.test/verify/Ab12Cd34Ef56"),
    ],
)
def test_rules_choose_the_links(rule: LinkRule, expected: str | None) -> None:
    assert best_link(html=MIXED, rule=rule) == expected
    assert all(rule.matches(c.url) for c in extract_links(html=MIXED, rule=rule))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "("}, "link path '(' is not a valid regex"),
        ({"pattern": ""}, "link pattern must be a non-empty regex string"),
        ({"pattern": "a{99999999999}"}, "is not a valid regex"),
        ({"host": " "}, "link host must be a non-empty string"),
    ],
)
def test_bad_rules_are_one_line_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        LinkRule(**kwargs)


def test_rule_description() -> None:
    assert (
        LinkRule(host="app.test", path="^reset").description
        == "host 'app.test', a path matching '^reset'"
    )
    assert LinkRule().description == "any link"


# -- hostile input ------------------------------------------------------------------------------


def _decoded(body: str) -> str:
    """``body`` as written, quoted-printable undone, entities decoded (one string to search)."""
    from pytest_anchor_mfa.codes.links import _undo_quoted_printable  # the decoding it applies

    undone = _undo_quoted_printable(body)
    return "\0".join((body, undone, html.unescape(undone)))


_PIECES = st.sampled_from(
    [
        '<a href="',
        '">',
        "</a>",
        "<a href='https://x.test/a?b=1&amp;c=2'>",
        "https://",
        "http://h.test/",
        "&amp;",
        "&lt;",
        "=3D",
        "=\n",
        "<",
        ">",
        "(",
        ")",
        ".",
        " ",
        "\n",
        "verify",
        "unsubscribe",
        "<img src=x>",
        "<style>",
        "</style>",
        "<!--",
        "-->",
        "\ue000",
        "\ue0011\ue002",
        "[",
        "]",
        "mailto:x@y",
        "#",
        "?",
        "/",
        "é",
        "\u200b",
    ]
)
_MESSY = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_MESSY, document=_MESSY)
def test_never_crashes_and_never_invents_a_link(text: str, document: str) -> None:
    for found in (extract_links(text, document), extract_links(html=text), extract_links(document)):
        for candidate in found:
            assert candidate.url.startswith(("http://", "https://"))
            assert candidate.url in _decoded(text) or candidate.url in _decoded(document)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_random_text_never_crashes(text: str, document: str) -> None:
    for candidate in extract_links(text, document):
        assert candidate.url in _decoded(text) or candidate.url in _decoded(document)


def test_big_hostile_input_stays_fast() -> None:
    for document in ("<a href=" * 20_000, "https://" * 20_000, "<a>" * 30_000, "=3D\n" * 30_000):
        started = time.perf_counter()
        extract_links(document, document)
        assert time.perf_counter() - started < 2.0  # linear: a few ms; gross regressions only


# -- event data -----------------------------------------------------------------------------


def test_link_from_data_and_its_one_line_errors() -> None:
    data = {
        "from": "App <a@app.test>",
        "subject": "Reset",
        "channel": "email",
        "link": RESET,
        "links": [RESET, "https://app.test/help"],
    }
    assert link_from_data(data, event="e") == RESET
    assert link_from_data(data, event="e", path="^/help$") == "https://app.test/help"
    with pytest.raises(LinkNotFoundError) as missing:
        link_from_data(data, event="e", path="/verify/")
    assert str(missing.value) == (
        "event 'e': no link with a path matching '/verify/' in the email from 'App <a@app.test>' "
        "with subject 'Reset' (2 other link(s))"
    )
    with pytest.raises(LinkNotFoundError, match=r"without a 'link' field .keys received: code"):
        link_from_data({"code": "123456"}, event="e")


def test_masked_event_data_hides_links_and_lists_their_secrets() -> None:
    masked = mask_sensitive({"link": RESET, "links": [RESET], "subject": "Reset"})
    assert "Zm9vYmFy" not in repr(masked)
    assert masked["link"] == RESET
    assert RESET in masked_secrets(masked)


def test_link_sources_keep_the_html() -> None:
    raw = mail("Reset", text=f"Reset: {RESET}", html=f'<a href="{RESET}">Reset</a>')
    assert [where for where, _ in link_sources(raw)] == ["text", "html"]
    assert links_of(link_sources(raw))[0].url == RESET


# -- the inbox over real SMTP --------------------------------------------------------------------


def test_the_inbox_signals_link_and_links_without_a_code() -> None:
    from pytest_anchor_mfa.inbound.smtp import SmtpInbox

    recorder = Recorder()
    entry = next(e for e in CORPUS if e["id"] == "supabase-recovery")
    with SmtpInbox(recorder) as inbox:
        send(inbox, "test+reset@inbox.test", mail(entry["subject"], html=entry["html"]))
        send(inbox, "test+none@inbox.test", mail("Hello", text="No link, no code."))
        kept = inbox.wait_for_message("reset", timeout=10)
    data = recorder.data("reset")
    assert data["link"] == entry["expected"]
    assert data["links"][0] == entry["expected"] and len(data["links"]) <= 10
    assert "code" not in data and "problem" in data
    assert kept.link == entry["expected"] and "token=pkce" not in repr(kept)
    none = recorder.data("none")
    assert none["links"] == [] and "link" not in none


def test_mfa_link_and_wait_for_link_in_a_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import smtplib
        import pytest
        from email.message import EmailMessage

        RESET = {RESET!r}

        def send(inbox, to, subject, html, text="Reset your password: " + RESET + "\\n"):
            message = EmailMessage()
            message["From"] = "App <no-reply@app.test>"
            message["To"] = to
            message["Subject"] = subject
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            with smtplib.SMTP(inbox.host, inbox.port, timeout=10) as client:
                client.send_message(message)

        HTML = (
            '<a href="https://app.test/">Home</a><p>Reset your password:</p>'
            f'<a href="{{RESET}}">Reset password</a>'
            '<a href="https://app.test/unsubscribe">Unsubscribe</a>'
        )

        def test_mfa_link(anchor_inbox, mfa_link):
            send(anchor_inbox, anchor_inbox.address(), "Reset", HTML)
            link = mfa_link(timeout=10)
            assert link == RESET
            assert "Zm9vYmFy" not in repr(link)
            assert "<mfa_link event=" in repr(mfa_link)

        def test_path(anchor_inbox, mfa_link):
            send(anchor_inbox, anchor_inbox.address(), "Reset", HTML)
            assert mfa_link(timeout=10, path="^/unsubscribe$") == "https://app.test/unsubscribe"

        def test_no_match_fails_at_once(anchor_inbox, mfa_link):
            send(anchor_inbox, anchor_inbox.address(), "Your reset", HTML)
            mfa_link(timeout=120, path="/verify/")  # fails at once, not after 120 s

        def test_bad_path_fails_before_waiting(mfa_link):
            mfa_link(timeout=30, path="(")

        def test_wait_for_link(anchor_inbox):
            confirm = "https://app.test/confirm/Qq11Rr22Ss33"
            welcome = '<p>Confirm your e-mail:</p><a href="' + confirm + '">Confirm</a>'
            send(anchor_inbox, "ann+x@inbox.test", "Welcome", welcome, text="Welcome!")
            send(anchor_inbox, "ann+x@inbox.test", "Reset", HTML)
            # smtplib returns once the inbox answered 250: both mails are kept by now
            assert anchor_inbox.wait_for_link("ann+x@inbox.test") == confirm
            assert anchor_inbox.wait_for_link("ann+x@inbox.test", path="^/reset/") == RESET
            with pytest.raises(LookupError, match="no link with a path matching '/nope/' in the "
                               "e-mail from 'App <no-reply@app.test>' to ann.* earlier mail"):
                anchor_inbox.wait_for_link("x", path="/nope/", timeout=1)

        def test_printed_link_is_scrubbed(anchor_inbox, mfa_link):
            send(anchor_inbox, anchor_inbox.address(), "Reset", HTML)
            link = mfa_link(timeout=10)
            print("LINK", link, "TOKEN", link.rsplit("/", 1)[1])
            assert False, link
        """
    )
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:playwright",
        "--anchor-mode",
        "fake",
        "--anchor-unique-events",
        "-rA",
    )
    assert time.monotonic() - started < 90  # no wait ran to its 120 s timeout
    result.assert_outcomes(passed=3, failed=3)
    output = result.stdout.str()
    assert "Zm9vYmFy" not in output  # neither the link nor its token, anywhere
    assert "LINK ••••" in output  # the whole URL is a secret
    assert "TOKEN ••••" in output  # and so is its token alone
    result.stdout.re_match_lines(
        [
            r".*anchor-mfa: mfa_link: LinkNotFoundError: event '.*': no link with a path "
            r"matching '/verify/' in the email from 'App <no-reply@app.test>' with subject "
            r"'Your reset' \(\d+ other link\(s\)\).*",
        ],
        consecutive=False,
    )
    assert "link path '(' is not a valid regex" in output


def test_exported_from_the_package() -> None:
    for name in (
        "extract_links",
        "best_link",
        "LinkRule",
        "LinkCandidate",
        "MfaLink",
        "AsyncMfaLink",
        "LinkNotFoundError",
    ):
        assert name in pytest_anchor_mfa.__all__ and getattr(pytest_anchor_mfa, name)


def test_anchor_inbox_wait_for_link_type() -> None:
    assert AnchorInbox.wait_for_link.__doc__


def test_async_mfa_link_and_event_data_without_a_mail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        RESET = {RESET!r}

        @pytest.mark.anyio
        async def test_async(async_mfa_link, anchor_fake):
            anchor_fake.signal_when_waiting(
                "mfa_code", {{"link": RESET, "links": [RESET, "https://app.test/help"]}}, timeout=5
            )
            link = await async_mfa_link()
            assert link == RESET and "Zm9vYmFy" not in repr(link)
            anchor_fake.signal_when_waiting("other", {{"links": [RESET]}}, timeout=5)
            assert await async_mfa_link("other", timeout=3, path="^/reset/") == RESET

        @pytest.mark.anyio
        async def test_async_no_link(async_mfa_link, anchor_fake):
            anchor_fake.signal_when_waiting("mfa_code", {{"code": "123456"}}, timeout=5)
            await async_mfa_link()

        def test_wait_for_event_masks_links(wait_for_event, anchor_fake):
            anchor_fake.signal_when_waiting("mail", {{"link": RESET, "links": [RESET]}}, timeout=5)
            data = wait_for_event("mail", timeout=5)
            assert data["link"] == RESET and "Zm9vYmFy" not in repr(data)
            print("DATA", data["link"], data["links"])
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:playwright", "--anchor-mode", "fake", "-rA"
    )
    result.assert_outcomes(passed=3, failed=2)  # the async tests run on asyncio and trio
    output = result.stdout.str()
    assert "Zm9vYmFy" not in output
    assert "DATA ••••" in output
    result.stdout.re_match_lines(
        [
            r".*anchor-mfa: async_mfa_link: LinkNotFoundError: event 'mfa_code' was signaled "
            r"without a 'link' field \(keys received: code\).*"
        ],
        consecutive=False,
    )


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(range(6)),
    action=st.sampled_from(
        [
            "Verify my e-mail",
            "Reset password",
            "Sign in to Acme",
            "Confirm",
            "Approve sign-in",
            "E-Mail bestätigen",
            "Confirmer mon adresse",
            "Iniciar sesión",
            "ログイン",
        ]
    ),
    context=st.sampled_from(["", "Hi Ann,", "Click the button below to continue.", "Bonjour !"]),
)
def test_the_action_wins_whatever_the_order_of_the_decoys(
    order: list[int], action: str, context: str
) -> None:
    pieces = [
        '<a href="https://acme.test/"><img src="https://acme.test/logo.png" alt="Acme"></a>',
        '<a href="https://acme.test/mail/42/web">View in browser</a>',
        f'<p>{context}</p><a class="btn" href="{RESET}">{html.escape(action)}</a>',
        '<a href="https://acme.test/unsubscribe?u=7">Unsubscribe</a>',
        '<a href="https://www.facebook.com/acme"><img src="https://acme.test/fb.png"></a>',
        '<a href="https://acme.test/legal/privacy">Privacy policy</a>',
    ]
    document = "<br>".join(pieces[i] for i in order)
    assert best_link(html=document) == RESET


def test_a_token_may_end_in_underscore_or_hyphen_and_3d_is_not_always_quoted_printable() -> None:
    assert (
        best_link("Sign in: https://app.test/magic/Zm9vYmFy_") == "https://app.test/magic/Zm9vYmFy_"
    )
    assert (
        best_link("Sign in: https://app.test/magic/Zm9vYmFy-.")
        == "https://app.test/magic/Zm9vYmFy-"
    )
    document = '<a href="https://print.test/verify?mode=3D&amp;t=Ab12Cd34">Verify</a>'
    assert best_link(html=document) == "https://print.test/verify?mode=3D&t=Ab12Cd34"


def test_a_mail_is_searched_for_links_only_in_its_first_characters() -> None:
    from pytest_anchor_mfa.inbound.mail import MAX_LINK_TEXT, parse_mail

    filler = "<p>" + "x " * (MAX_LINK_TEXT // 2) + "</p>"
    early = '<a href="https://app.example.com/verify?token=early123">Verify</a>'
    late = '<a href="https://app.example.com/verify?token=late4567">Verify</a>'
    raw = (
        "From: app@example.com\r\nTo: t@inbox.test\r\nSubject: Verify\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + early + filler + late
    ).encode()
    urls = [c.url for c in parse_mail(raw).links]
    assert urls == ["https://app.example.com/verify?token=early123"]


def test_a_failed_comparison_with_a_link_shows_no_token(pytester: pytest.Pytester) -> None:
    token = "Zq83kLmN20xxTOKEN"  # written in two halves below: the source line is shown too
    pytester.makepyfile(
        f"""
        def test_compare(anchor_fake, mfa_event_name, mfa_link):
            url = "https://app.example.com/verify?token={token[:8]}" + "{token[8:]}"
            anchor_fake.signal_when_waiting(mfa_event_name, {{"link": url}}, timeout=5)
            assert mfa_link() == url + "-other"
        """
    )
    # The leak guard off: only the assertion message's masking stands between the token and
    # the terminal.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--anchor-leaks", "off")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert token not in output
    assert "a link (its token is a secret) is compared" in output
    assert "'https://app.example.com/… (" in output
