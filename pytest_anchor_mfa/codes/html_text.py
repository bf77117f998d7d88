"""HTML mail bodies reduced to the text a reader sees, for code extraction.

Regular expressions rather than :mod:`html.parser`: the parser calls back into Python for
every tag and is about ten times slower on a 100 kB newsletter (``python -m bench
extraction`` times both), while the substitutions below run in C. They only need to be good
enough to find a code, not to render: every pattern is linear (no nested quantifiers; a tag
cannot span a ``<``; an unterminated comment or ``<style>`` runs to the end, as in a browser).
"""

from __future__ import annotations

import html as _html
import re
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
    """The visible text of an HTML document: ``body`` (lines for blocks) and its ``title``."""

    body: str
    title: str


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
    document = _BLOCK.sub("\n", document)
    document = _CELL.sub("\t", document)
    document = _TAG.sub("", document)
    # Tidy before decoding entities: the text is then usually still ASCII, where str.replace
    # is several times faster (and entities rarely encode whitespace).
    return HtmlText(body=_unescape(_tidy(document)), title=title)
