"""A code in a code-styled element of an HTML mail wins (issue 19, section 1): ``<code>``,
``<kbd>``, a large or letter-spaced or monospace font, a class named "code"/"otp"/"token", a
``<b>``/``<strong>`` alone in its block. It matters when the rule accepts words (letters only,
alphanumeric) and an upper-case word competes with the code; html_to_text stays linear."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_anchor_mfa.codes import CodeRule, best_code, extract_codes, extract_from_message
from pytest_anchor_mfa.codes.html_text import STYLED_SCAN, html_to_text

LETTERS = CodeRule.from_pattern(r"[A-Z]{8}")
CODE = "QWRTZPLK"
# An upper-case word of the code's form stands between the code word and the code: without the
# styling, it is as near the keyword as the code and comes first.
_BEFORE = "<p>Your sign-in code</p><p>ACCOUNTS</p>"

STYLED = {
    "large letter-spaced cell": (
        f'<table><tr><td>Your sign-in code</td></tr><tr><td>ACCOUNTS</td></tr><tr><td style="'
        f'font-size:32px;letter-spacing:6px">{CODE}</td></tr></table>'
    ),
    "code element": f"{_BEFORE}<p><code>{CODE}</code></p>",
    "kbd inside a sentence": f"<p>Enter this code: REMINDER type <kbd>{CODE}</kbd> now.</p>",
    "class otp-code": f'{_BEFORE}<div class="otp-code"><span>{CODE}</span></div>',
    "monospace font": (
        f"{_BEFORE}<p style=\"font-family:'Courier New', monospace; font-size:14px\">{CODE}</p>"
    ),
    "font-size in em": f'{_BEFORE}<div style="font-size: 1.5em">{CODE}</div>',
    "font-size in pt": f'{_BEFORE}<div style="font-size:18pt">{CODE}</div>',
    "strong alone in its cell": (
        f"<table><tr><td>Your sign-in code</td></tr><tr><td>ACCOUNTS</td></tr>"
        f"<tr><td><strong>{CODE}</strong></td></tr></table>"
    ),
}


@pytest.mark.parametrize("html", STYLED.values(), ids=list(STYLED))
def test_the_code_styled_element_wins(html: str) -> None:
    found = extract_codes(html=html, rule=LETTERS)
    assert [c.value for c in found][:1] == [CODE]
    assert found[0].reason.endswith(", in a code-styled element")
    assert "code-styled" not in found[1].reason


def test_important_banner_against_a_code_box() -> None:
    rule = CodeRule.from_pattern(r"[A-Z]{9}")
    html = (
        "<h1>IMPORTANT</h1><p>Use this code to sign in:</p>"
        '<p>CONFIRMED</p><td style="font-size:32px;letter-spacing:6px">QWRTZPLKX</td>'
    )
    assert best_code(html=html, rule=rule) == "QWRTZPLKX"


def test_grouped_code_in_a_box_and_the_same_in_a_mime_message() -> None:
    html = '<p>Your sign-in code</p><p>654321</p><p class="token">482&nbsp;913</p>'
    reasons = {c.value: c.reason for c in extract_codes(html=html)}
    assert reasons["482913"].endswith("2 groups joined, in a code-styled element")
    assert "code-styled" not in reasons["654321"]
    raw = (
        "Subject: Sign in\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{STYLED['large letter-spaced cell']}\r\n"
    ).encode()
    found = extract_from_message(raw, rule=LETTERS)
    assert found[0].value == CODE
    assert "code-styled" in found[0].reason


@pytest.mark.parametrize(
    "html",
    [
        # bold inside a sentence, a small font, a word of a styled heading: no code box
        f"<p>Your sign-in code</p><p>ACCOUNTS</p><p>Type <b>{CODE}</b> to continue.</p>",
        f'{_BEFORE}<p style="font-size:14px;letter-spacing:0">{CODE}</p>',
        f'<h1 style="font-size:28px">Your code ACCOUNTS</h1><p>{CODE}</p>',
    ],
)
def test_no_bonus_without_a_code_box(html: str) -> None:
    assert all("code-styled" not in c.reason for c in extract_codes(html=html, rule=LETTERS))


def test_html_to_text_lists_the_styled_texts() -> None:
    document = (
        '<html><head><style>.code { font-size: 40px }</style></head><body><h1 style="font-size:'
        '24px">Hello&nbsp;there</h1><p>Code: <b>no</b></p><p><b>482 913</b></p><td style="font-'
        'size:12px;letter-spacing:normal">small</td><td style="font-size:1.2em">small</td>'
        '<div class="otp"><span><b>A1B2</b></span></div><pre>line</pre></body></html>'
    )
    visible = html_to_text(document)
    assert visible.styled == ("line", "Hello there", "A1B2", "482 913")
    assert "482 913" in visible.body.split("\n")
    assert html_to_text("<P><CODE>ab</CODE><B>cd</B></P>").styled == ("ab",)


def test_only_the_top_of_a_long_mail_is_searched() -> None:
    def code_at(offset: int) -> str:
        return "<p>" + "x" * (offset - 7) + f"</p><code>{CODE}</code>"

    assert html_to_text(code_at(STYLED_SCAN - 30)).styled == (CODE,)
    # The window ends inside the code, or before it: no part of it is reported.
    assert html_to_text(code_at(STYLED_SCAN - 10)).styled == ()
    assert html_to_text(code_at(STYLED_SCAN + 5)).styled == ()


_FRAGMENTS = [
    "<",
    ">",
    "</",
    '"',
    "'",
    " ",
    "\n",
    "=",
    ";",
    ":",
    "x",
    "1",
    "ABCDEFGH",
    "&nbsp;",
    "<b>",
    "</b>",
    "<strong ",
    "<code",
    "<kbd>",
    "<td ",
    "<p>",
    "<span>",
    "class=",
    "class='otp",
    "code",
    "token",
    "style=",
    "font-size:",
    "font-size: 99px",
    "2.5em",
    "150%",
    "letter-spacing:",
    "letter-spacing: 4px",
    "font-family:",
    "monospace",
    "<!--",
    "<style>",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=60), st.integers(1, 2000))
def test_html_to_text_on_tag_soup(fragments: list[str], repeat: int) -> None:
    document = "".join(fragments) * repeat
    started = time.perf_counter()
    visible = html_to_text(document)
    extract_codes(html=document, rule=LETTERS)
    # Linear work on at most ~100 kB takes milliseconds; this catches only a quadratic scan.
    assert time.perf_counter() - started < 2.0
    assert len(visible.styled) <= 16
    assert all(0 < len(text) <= 64 and text == text.strip() for text in visible.styled)


@pytest.mark.parametrize(
    "unit",
    [
        "<b>1</b>",
        "<code>",
        "class=class=",
        "font-family:mono ",
        "font-size:99px letter-spacing:9px ",
        "<td style='font-size:30px'><span><span>",
        '<p class="code">x',
    ],
)
def test_styled_search_stays_linear_on_repeats(unit: str) -> None:
    document = unit * (100_000 // len(unit))
    started = time.perf_counter()
    html_to_text(document)
    extract_codes(html=document, rule=LETTERS)
    assert time.perf_counter() - started < 2.0
