"""HTML mail bodies reduced to the text a reader sees, for code extraction.

Regular expressions rather than :mod:`html.parser`: the parser calls back into Python for
every tag and is about ten times slower on a 100 kB newsletter (``python -m bench
extraction`` times both), while the substitutions below run in C. They only need to be good
enough to find a code, not to render: every pattern is linear (no nested quantifiers; a tag
cannot span a ``<``; an unterminated comment or ``<style>`` runs to the end, as in a browser).

Products put the code in a box styled for it (``<code>``, a large or letter-spaced font, a
class named "code"): :func:`html_to_text` also returns the texts of such elements, found by a
few searches that each start with a literal string (the regex engine then skips to it in C)
rather than by one pattern tried inside every tag, which would cost more than the rest.
"""

from __future__ import annotations

import html as _html
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["HtmlText", "html_to_text"]

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_TITLE = re.compile(r"<title\b[^<>]*>(.*?)</title\s*>", re.I | re.S)


def _any_case(names: str) -> str:
    """``div|p`` as ``[dD][iI][vV]|[pP]``: about twice as fast as ``re.IGNORECASE`` here."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in names)


# Elements whose content is never shown (a <head> holds <style>, <meta>, <title>). The body
# is scanned a run of non-"<" characters at a time (possessive, so no backtracking), not one
# character at a time as ``.*?`` would: a mail's style sheet can be tens of kilobytes.
_HIDDEN = re.compile(
    "<("
    + _any_case("head|script|style|noscript|template|svg|object|iframe|xml")
    + r")\b[^<>]*>[^<]*+(?:<(?!/(?i:\1)\s*>)[^<]*+)*+(?:</(?i:\1)\s*>|\Z)"
)
# Block elements (their tags become line breaks), factored by first letter so the regex tries
# a few branches per tag rather than thirty: address article aside blockquote br caption
# center dd div dl dt fieldset figcaption figure footer form h1-h6 header hr li main nav ol p
# pre section table tbody tfoot thead tr ul.
_BLOCK_NAMES = (
    "a(?:ddress|rticle|side)|b(?:lockquote|r)|c(?:aption|enter)|d(?:d|l|t|iv)"
    "|f(?:ieldset|ig(?:caption|ure)|o(?:oter|rm))|h(?:1|2|3|4|5|6|r|eader)|li|main|nav|ol"
    "|p(?:re)?|section|t(?:able|body|foot|head|r)|ul"
)
# A tag takes the space after it along: fewer passes of str.replace over the text afterwards.
# (Matching a run of tags at once would be neater, but a repeated group at the start of the
# pattern costs the regex engine its fast scan for "<": twice slower.)
_BLOCK = re.compile("</?(?:" + _any_case(_BLOCK_NAMES) + r")\b[^<>]*> ?")
# A cell boundary is a tab: it separates "Code" from "123456" without joining digit groups.
_CELL = re.compile(r"</?[tT][dDhH]\b[^<>]*> ?")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<[!?][^<>]*>")


# The entities mails use most, replaced by str.replace (C) before html.unescape, which calls
# back into Python for each entity. "&amp;" is left to html.unescape: replacing it first would
# decode "&amp;lt;" twice.
_COMMON_ENTITIES = {
    "&nbsp;": "\u00a0",
    "&middot;": "\u00b7",
    "&ndash;": "\u2013",
    "&mdash;": "\u2014",
    "&euro;": "\u20ac",
    "&copy;": "\u00a9",
    "&reg;": "\u00ae",
    "&#39;": "'",
    "&quot;": '"',
    "&zwnj;": "\u200c",
    "&#8202;": "\u200a",
    "&#847;": "\u034f",
}


def _unescape(text: str) -> str:
    for entity, char in _COMMON_ENTITIES.items():
        if entity in text:
            text = text.replace(entity, char)
    return _html.unescape(text) if "&" in text else text


@dataclass(frozen=True)
class HtmlText:
    """The visible text of an HTML document: ``body`` (lines for blocks), its ``title`` and
    the ``styled`` texts: those of code-styled elements, as they read in ``body``."""

    body: str
    title: str
    styled: tuple[str, ...] = ()


# --- code-styled elements ------------------------------------------------------------------
# Each search ends with the rest of its tag, then the text up to the next tag, past opening
# tags with no text between ('<td style="font-size:32px"><span>482913'). It ends in an
# optional group, so it always matches once it found its start: the next search resumes after
# that tag, never scanning the same run of characters twice (linear on any input).
_ELEMENT_TEXT = r"[^<>]*+(?:>(?: ?<[a-zA-Z][^<>]*+>)*+(?P<text>[^<]*))?"
# Names in lower or upper case (not mixed): half the cost of a case-insensitive match.
_BOLD_NAMES = "b|strong|B|STRONG"
_CODE_NAMES = "code|kbd|samp|tt|pre|CODE|KBD|SAMP|TT|PRE"
_STYLED = (
    # Elements; a "bold" one counts only alone in its block.
    re.compile(rf"<(?:(?P<bold>{_BOLD_NAMES})|{_CODE_NAMES})\b{_ELEMENT_TEXT}"),
    # Inline styles (in lower case, as mail builders write them) and class names; the bounded
    # scans inside a declaration or an attribute keep "class=class=..." linear. The font size
    # is >= 20px, 15pt, 1.5em or 150%, or a named large size.
    re.compile(
        r"font-(?:size:\s*(?:(?:[2-9]\d|\d{3,})(?:\.\d+)?px|(?:1[5-9]|[2-9]\d|\d{3,})(?:\.\d+)?pt"
        r"|(?:1\.[5-9]|[2-9]|\d{2,})[\d.]*r?em\b|(?:1[5-9]|[2-9]\d|\d{3,})\d*%|x+-large)"
        r"|family:[^;\"<>]{0,120}?(?i:mono|courier|consolas|menlo|monaco))" + _ELEMENT_TEXT
    ),
    re.compile(r"letter-spacing:\s*(?:[1-9]|0?\.\d*[1-9])" + _ELEMENT_TEXT),
    re.compile(r"class=[\"']?[^\"'<>]{0,80}?(?i:code|otp|token)" + _ELEMENT_TEXT),
)
_MAX_STYLED = 16
"""Texts kept per document (a mail has one code box; the bound is for hostile input)."""
_MAX_STYLED_LENGTH = 64
STYLED_SCAN = 32_000
"""Characters of markup (once comments, ``<head>`` and styles are gone) searched for
code-styled elements. A mail shows its code near the top (in the real corpus, within the first
10,400), and the searches would cost ~0.3 ms on a 100 kB newsletter, a tenth of extraction."""


def _texts_of(pattern: re.Pattern[str], document: str) -> Iterator[tuple[str, bool]]:
    """(text, in a bold element) of each element ``pattern`` finds, whitespace collapsed."""
    for match in pattern.finditer(document):
        text = match.group("text")
        if text and len(text) <= _MAX_STYLED_LENGTH * 2 and not text.isspace():
            yield " ".join(_unescape(text).split()), bool(match.groupdict().get("bold"))


def _styled_texts(document: str, body: str) -> tuple[str, ...]:
    """Texts of code-styled elements; ``<b>`` and ``<strong>`` only alone in their block
    (a line or table cell of ``body``): bold words inside a sentence are no code box."""
    if len(document) > STYLED_SCAN:  # cut before a tag: an element's text is never cut
        document = document[: max(0, document.rfind("<", 0, STYLED_SCAN))]
    texts: dict[str, None] = {}
    bold: list[str] = []
    for pattern in _STYLED:
        for text, is_bold in itertools.islice(_texts_of(pattern, document), _MAX_STYLED):
            if is_bold:
                bold.append(text)
            else:
                texts[text] = None
    # Their text is in the body's first STYLED_SCAN characters (tags became one character).
    lines = "\n" + body[:STYLED_SCAN] + ("\n" if len(body) <= STYLED_SCAN else "") if bold else ""
    for text in dict.fromkeys(bold):
        if text not in texts and any(
            f"{before}{text}{after}" in lines for before in "\n\t" for after in "\n\t"
        ):
            texts[text] = None
    return tuple(t for t in texts if t and len(t) <= _MAX_STYLED_LENGTH)[:_MAX_STYLED]


def _tidy(text: str) -> str:
    """One space between words, no blank lines, no spaces or tabs at either end of a line.

    Few passes over the text (each costs ~0.1 ms per 40 kB), and none with a regex that would
    start at every space.
    """
    while "  " in text:  # "a <b> c" lost its tag
        text = text.replace("  ", " ")
    while "\t\t" in text:  # </td><td>
        text = text.replace("\t\t", "\t")
    return "\n".join(filter(None, (line.strip(" \t") for line in text.split("\n"))))


def html_to_text(document: str) -> HtmlText:
    """Visible text of ``document``: no comments, styles, scripts or tags; entities decoded."""
    document = _COMMENT.sub("", document)
    title_match = _TITLE.search(document)
    title = " ".join(_unescape(title_match.group(1)).split()) if title_match else ""
    document = _HIDDEN.sub(" ", document)
    # Source whitespace means nothing in HTML; only tags and entities make breaks and spaces.
    document = " ".join(document.split())
    visible = document
    document = _BLOCK.sub("\n", document)
    document = _CELL.sub("\t", document)
    document = _TAG.sub("", document)
    # Tidy before decoding entities: the text is then usually still ASCII, where str.replace
    # is several times faster (and entities rarely encode whitespace).
    body = _unescape(_tidy(document))
    return HtmlText(body=body, title=title, styled=_styled_texts(visible, body))
