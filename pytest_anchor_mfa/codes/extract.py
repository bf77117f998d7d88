"""Find the MFA code in a message an app sent (e-mail text or HTML, SMS, subject line).

The approach: list every span that has the form the :class:`~pytest_anchor_mfa.codes.CodeRule`
asks for (for "6 digits": a number of exactly six digits, or digit groups such as ``123 456``
that make six together), drop the spans whose surroundings show they are something else (a
date, a time, an amount, a phone number, an order or ticket number, part of an e-mail address,
a URL or a hex colour), then score the rest: a code keyword right before or after the number
(in English, German, French, Spanish or Portuguese) counts most. Only the regions around the
spans of the right form are examined, so a 100 kB HTML mail costs a few milliseconds, mostly
spent reducing the HTML to text (``python -m bench extraction``).
"""

from __future__ import annotations

import email
import email.policy
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from email.header import decode_header, make_header
from email.message import Message
from typing import NamedTuple

from ..redact import mask_code
from .html_text import html_to_text
from .rule import CodeRule
from .vocabulary import Label, classify, label_token, word_of

__all__ = [
    "CodeCandidate",
    "best_code",
    "body_parts",
    "candidates_of",
    "extract_codes",
    "extract_from_message",
    "message_sources",
]

_DEFAULT_RULE = CodeRule.digits(6)


@dataclass(frozen=True)
class CodeCandidate:
    """A span that may be the code: its ``value`` (groups joined), a ``score`` (higher is
    better), the main ``reason`` for it, ``where`` it was found ("text", "html", "title",
    "subject") and its ``start`` offset in that source's normalised text."""

    value: str
    score: float
    reason: str
    where: str
    start: int

    def __repr__(self) -> str:
        # The value is a secret: pytest and logs show reprs, so only its length shows.
        return (
            f"CodeCandidate(value={mask_code(self.value)!r}, score={self.score:.2f}, "
            f"reason={self.reason!r}, where={self.where!r}, start={self.start})"
        )


# --- text normalisation --------------------------------------------------------------------


def _odd_characters() -> dict[str, str]:
    table = {chr(c): " " for c in (0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B))}
    table.update({"\u2028": "\n", "\u2029": "\n", "\r": "\n"})
    table.update({chr(c): "-" for c in (*range(0x2010, 0x2016), 0x2212, 0xFE63, 0xFF0D)})
    # Invisible characters mails put inside numbers and words (to stop auto-linking).
    table.update({chr(c): "" for c in (0x00AD, 0x034F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)})
    # Decimal digits of other scripts (fullwidth, Arabic-Indic, Devanagari, ...) as ASCII.
    for zero in (0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10):
        for offset in range(10):
            char = chr(zero + offset)
            table[char] = str(unicodedata.decimal(char))
    return table


_ODD_MAP = _odd_characters()
_ODD = re.compile("[" + "".join(re.escape(c) for c in _ODD_MAP) + "]")


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n")
    if text.isascii():
        return text.replace("\r", "\n")
    return _ODD.sub(lambda m: _ODD_MAP[m.group()], text)


# --- vocabulary ----------------------------------------------------------------------------

_STRONG_WEIGHT, _WEAK_WEIGHT = 3.0, 2.2
_WEIGHTS = {Label.STRONG: _STRONG_WEIGHT, Label.WEAK: _WEAK_WEIGHT}
_WHITESPACE_SPLIT = re.compile(r"(\s+)")
# Month names and abbreviations (en, de, fr, es, pt): a year-like number next to one is a year.
_MONTHS = (
    "jan january januar janvier enero janeiro feb february februar février fevereiro febrero "
    "fév fev mar march märz mars marzo março apr april avril abril abr avr may mai mayo maio "
    "jun june juni juin junio junho jul july juli juillet julio julho juil aug august août "
    "agosto ago sep sept september septembre septiembre setembro set oct october oktober okt "
    "octobre octubre outubro out nov november novembre noviembre novembro dec december "
    "dezember décembre diciembre dezembro dez dic déc"
).replace(" ", "|")
_DATE_CONTEXT = re.compile(
    rf"\b(?:{_MONTHS})\b|©|\(c\)|\b(?:copyright|since|seit|depuis|desde)\b", re.I
)
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹]|\b(?:USD|EUR|GBP|CHF|BRL|MXN|R\$|US\$))\s?\Z")
_CURRENCY_AFTER = re.compile(
    r"\s?(?:[$€£¥₹%]|(?:USD|EUR|GBP|CHF|BRL|MXN|euros?|dollars?|reais|pesos)\b)", re.I
)
# Inside a URL, a path, a query string or an e-mail address (the token around the number).
_URLISH = re.compile(r"[/\\@]|[?&=][\w%]|\.[a-z]{2,}|%[0-9A-Fa-f]{2}|://|www\.")
_PHONE_BEFORE = re.compile(r"(?:\+\d{1,3}[ .-]?)?\(\d{1,5}\)[ .-]?\Z")
_SEPARATOR = re.compile(r"[ \t\-]")
_PREVIOUS_TOKEN = re.compile(r"[ \t]*(\n?)[ \t]*(\S+)")  # on reversed text

_WINDOW = 120
_LETTERS_WINDOW = 400
"""How far back a letters-only code looks for its code word (only when none is nearer)."""
_FORWARD_WINDOW = 60
_ANTI_GAP = 30
_ANTI_NEAR_GAP = 12
_TOKEN_LIMIT = 2048


# --- candidate spans -----------------------------------------------------------------------


class _Span(NamedTuple):
    # A NamedTuple: created for every number of the right length, and cheaper than a dataclass.
    start: int
    end: int
    value: str
    groups: int


@functools.lru_cache(maxsize=64)
def _digit_cluster(count: int) -> re.Pattern[str]:
    """Digit groups joined by single spaces or hyphens, exactly ``count`` digits in all.

    Each ``[ -]?`` is followed by a digit, so there is one way to match: linear time. The
    pattern starts with ``[0-9]`` (the lookbehinds come after it) so that the regex engine
    skips to the next digit in C instead of trying every position.
    """
    return re.compile(
        rf"[0-9](?<![0-9][0-9])(?<![0-9][ \-][0-9])(?:[ \-]?[0-9]){{{count - 1}}}"
        r"(?![ \-]?[0-9])"
    )


_ANY_CLUSTER = re.compile(r"[0-9][0-9]*+(?:[ \-][0-9]++)*+")


@functools.lru_cache(maxsize=64)
def _digit_boxes(count: int) -> re.Pattern[str]:
    """One digit per table cell (cells become tabs): ``4\t8\t2\t9\t1\t3``.

    Kept apart from :func:`_digit_cluster`: a tab between longer numbers separates columns.
    """
    return re.compile(
        rf"[0-9](?<![0-9][0-9])(?<![0-9]\t[0-9])(?:\t[0-9]){{{count - 1}}}(?!\t?[0-9])"
    )


# Alphanumeric tokens, hyphenated groups kept together ("ABCD-EF12"), for pattern rules: the
# user's pattern is then matched against each token on its own (``fullmatch``), never spliced
# into a larger regex, so inline flags ("(?i)...") and anchors ("^...$") work as written.
_TOKEN = re.compile(r"[A-Za-z0-9]++(?:-[A-Za-z0-9]++)*+")


def _grouping_ok(parts: list[str], separators: list[str]) -> bool:
    """Whether digit groups look like one code written in groups (``123 456``, ``12-34-56``)."""
    if len(parts) == 1:
        return True
    sizes = [len(p) for p in parts]
    if max(sizes) == 1:
        return True  # one digit per box: "4 8 2 9 1 3"
    if min(sizes) < 2 or max(sizes) - min(sizes) > 1:
        return False
    # 12-04-25 is a date; 12 04 25 is not written that way.
    return not ("-" in separators and len(parts) == 3 and _is_date([int(p) for p in parts]))


def _is_date(numbers: list[int]) -> bool:
    first, second, _ = numbers
    return (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31)


def _spans(text: str, rule: CodeRule) -> Iterator[_Span]:
    if rule.length is not None:
        clusters: Iterable[re.Match[str]] = _digit_cluster(rule.length).finditer(text)
        if rule.length > 1 and "\t" in text:
            boxes = _digit_boxes(rule.length).finditer(text)
            clusters = itertools.chain(clusters, boxes)
    else:
        clusters = _ANY_CLUSTER.finditer(text)
    seen: set[tuple[int, int]] = set()
    for match in clusters:
        raw = match.group()
        if raw.isdigit() and rule.length is not None:  # the common case, kept short
            yield _Span(match.start(), match.end(), raw, 1)
            continue
        parts = _SEPARATOR.split(raw)
        value = "".join(parts)
        if len(parts) > 1 and not _grouping_ok(parts, _SEPARATOR.findall(raw)):
            continue
        if rule.length is None and not rule.pattern.fullmatch(value):
            continue
        seen.add(match.span())
        yield _Span(match.start(), match.end(), value, len(parts))
    if rule.length is None:
        yield from _pattern_spans(text, rule.pattern, seen)


def _pattern_spans(
    text: str, pattern: re.Pattern[str], seen: set[tuple[int, int]]
) -> Iterator[_Span]:
    """Spans a pattern rule accepts: whole tokens and their hyphen-separated parts, then the
    pattern's own matches (for codes with spaces or symbols), each checked with ``fullmatch``."""
    for match in _TOKEN.finditer(text):
        start, token = match.start(), match.group()
        pieces = [(start, token)]
        if "-" in token:
            offset = start
            for part in token.split("-"):
                pieces.append((offset, part))
                offset += len(part) + 1
        for begin, piece in pieces:
            span = (begin, begin + len(piece))
            if span not in seen and pattern.fullmatch(piece):
                seen.add(span)
                yield _Span(begin, span[1], piece, 1)
    for found in pattern.finditer(text):
        span, value = found.span(), found.group()
        if value and span not in seen and not value.isspace():
            seen.add(span)
            yield _Span(span[0], span[1], value, 1)


# --- what a span is not --------------------------------------------------------------------


def _word_character(char: str) -> bool:
    """A letter or digit that continues a word: not one of a script written without spaces
    (Chinese, Japanese, Korean, Thai), where a code stands right between two characters."""
    return char.isalnum() and (char.isascii() or not _unspaced_script(char))


def _unspaced_script(char: str) -> bool:
    point = ord(char)
    return (
        0x0E00 <= point <= 0x0EFF  # Thai, Lao
        or 0x3040 <= point <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= point <= 0x9FFF  # CJK ideographs
        or 0xAC00 <= point <= 0xD7AF  # Hangul syllables
        or 0xF900 <= point <= 0xFAFF
        or 0xFF66 <= point <= 0xFF9F  # halfwidth Katakana
    )


def _glued_before(text: str, start: int) -> bool:
    """Whether the span continues a word, a number, a reference (``#``) or a phone (``+``)."""
    if not start:
        return False
    before, before2 = text[start - 1], text[start - 2] if start >= 2 else ""
    if before in ("#", "№", "+", "_") or _word_character(before):
        return True
    if before in ".,:/" and before2.isdigit():
        return True  # 30.04.2025, 12:30, 1,234.56, 4/30
    if before == " " and before2.isdigit():
        return True  # a group of a longer digit run (only pattern rules get here)
    if before == "-" and before2.isalnum():
        # "G-123456" (Google's SMS) is a code; "INV-123456", "12-123456" are references.
        alone = start < 3 or not text[start - 3].isalnum()
        return not (before2.isascii() and before2.isupper() and alone)
    return False


def _glued_after(text: str, end: int) -> bool:
    if end >= len(text):
        return False
    after, after2 = text[end], text[end + 1 : end + 2]
    if after == "_" or after == "@" or _word_character(after):
        return True
    return after in ".,:/ -" and after2.isdigit()


def _token_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(c, max(0, start - _TOKEN_LIMIT), start) for c in " \n\t")
    rights = [i for i in (text.find(c, end, end + _TOKEN_LIMIT) for c in " \n\t") if i >= 0]
    right = min(rights) if rights else len(text)
    return text[left + 1 : right]


def _not_a_code(text: str, span: _Span) -> bool:
    """Whether the surroundings show the span is a date, amount, phone, URL, address, ..."""
    start, end = span.start, span.end
    prefix = text[max(0, start - 12) : start]
    if _CURRENCY_BEFORE.search(prefix) or _CURRENCY_AFTER.match(text, end, end + 12):
        return True
    if _PHONE_BEFORE.search(prefix):
        return True
    token = _token_around(text, start, end)
    if len(token) >= _TOKEN_LIMIT:
        return True
    return bool(_URLISH.search(token))


def _year_like(value: str) -> bool:
    if len(value) == 4:
        return value.isdigit() and 1900 <= int(value) <= 2099
    if len(value) == 8 and value.isdigit():  # 20250430
        year, month, day = int(value[:4]), int(value[4:6]), int(value[6:])
        return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31
    return False


def _date_context(text: str, span: _Span) -> bool:
    around = text[max(0, span.start - 20) : span.end + 12]
    return bool(_DATE_CONTEXT.search(around))


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    bonus: float
    reason: str
    direct: bool
    """A keyword right next to the span ("Code: 2019"), enough to accept a year-like value."""


_BARE = _Context(0.0, "bare number", False)


def _words(chunk: str) -> list[str]:
    """Whitespace-separated tokens and the whitespace between them, alternately."""
    return _WHITESPACE_SPLIT.split(chunk.lower())


def _keyword_before(text: str, start: int, window: int = _WINDOW) -> _Context | None:
    """The best keyword before the span, back to the nearest "not a code" label.

    ``None`` when that label ("Order #", "Ref:", "Tel.") is close and no keyword is nearer:
    the span is vetoed.
    """
    parts = _words(text[max(0, start - window) : start])
    best, gap, newlines, digits = _BARE, 0, 0, False
    # parts alternate token, whitespace, token, ...: walk the tokens from the span backwards.
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if index % 2:
            gap, newlines = gap + len(part), newlines + part.count("\n")
            continue
        word = word_of(part)
        label = label_token(part, parts[index - 2] if index >= 2 else "")
        if label is Label.ANTI or (label is Label.ANTI_NEAR and gap <= _ANTI_NEAR_GAP):
            if best is _BARE and gap <= _ANTI_GAP and newlines < 2:
                return None
            if label is Label.ANTI:
                break  # keywords before it label something else
        elif label in _WEIGHTS:
            bonus = _WEIGHTS[label] - 0.012 * gap - 0.3 * bool(newlines) - 0.5 * digits
            if window > _WINDOW:
                bonus = max(bonus, 0.1)  # far, but a code word all the same
            if bonus > best.bonus:
                direct = gap <= 15 and not newlines
                best = _Context(bonus, f"after keyword {word!r}", direct)
        digits = digits or any(c.isdigit() for c in part)
        gap += len(part)
    return best


def _keyword_after(text: str, end: int) -> _Context:
    """The best keyword after the span in the same sentence: "123456 is your code"."""
    parts = _words(text[end : end + _FORWARD_WINDOW])
    best, gap, previous = _BARE, 0, ""
    for index, part in enumerate(parts):
        if index % 2:
            if "\n" in part:
                break
            gap += len(part)
            continue
        word = word_of(part)
        label = label_token(part, previous)
        if label is Label.ANTI or any(c.isdigit() for c in part):
            break
        if label in _WEIGHTS:
            bonus = 0.9 * _WEIGHTS[label] - 0.015 * gap
            if bonus > best.bonus:
                best = _Context(bonus, f"before keyword {word!r}", gap <= 15)
        if part.endswith((".", "!", "?")):
            break  # the sentence ends
        gap, previous = gap + len(part), part
    return best


def _alone_on_line(text: str, span: _Span) -> bool:
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return line.strip(" \t.:;!()[]*\"'") == text[span.start : span.end]


def _labelled_not_a_code(text: str, start: int) -> bool:
    """A quick look at the word right before the span: "SKU 123456", "Ref: 123456".

    The same verdict :func:`_keyword_before` would reach, at a fraction of the cost; a long
    newsletter can hold hundreds of such numbers. The regex runs on the reversed text before
    the span, so one anchored match finds the previous token.
    """
    match = _PREVIOUS_TOKEN.match(text[max(0, start - 40) : start][::-1])
    if match is None:
        return False  # nothing before, or a blank line between
    label = label_token(match.group(2)[::-1].lower())
    if label is Label.ANTI:
        return True
    return label is Label.ANTI_NEAR and match.start(2) <= _ANTI_NEAR_GAP


def _score(text: str, span: _Span, where: str) -> CodeCandidate | None:
    if _glued_before(text, span.start) or _glued_after(text, span.end):
        return None
    if _labelled_not_a_code(text, span.start) or _not_a_code(text, span):
        return None
    before = _keyword_before(text, span.start)
    if before is None:
        return None
    context = max(before, _keyword_after(text, span.end), key=lambda c: c.bonus)
    score = 1.0 + context.bonus
    reason = context.reason
    if _year_like(span.value):
        if not context.direct or _date_context(text, span):
            return None
        score -= 1.0
    alone = _alone_on_line(text, span)
    if not any(c.isdigit() for c in span.value):
        # A word matching an alphanumeric pattern ("SECURE", "COMPLETE"): only with a keyword,
        # looked for further back (translated sentences are long), and below any candidate
        # with digits; a word inside a sentence ranks below one on a line of its own.
        if classify(span.value.lower()) is not Label.NONE:
            return None
        if context is _BARE:
            context = _keyword_before(text, span.start, _LETTERS_WINDOW) or _BARE
            if context is _BARE:
                return None
            score, reason = 1.0 + context.bonus, context.reason
        score -= 0.8 if alone else 2.0
    if alone:
        score += 0.5
        reason += ", alone on its line"
    if span.groups > 1:
        score -= 0.15
        reason += f", {span.groups} groups joined"
    score += 0.2 * max(0.0, 1.0 - span.start / 3000)  # codes come early in a message
    if where == "title":
        score -= 0.3
    return CodeCandidate(span.value, round(score, 3), reason, where, span.start)


# --- public API ----------------------------------------------------------------------------


_STYLED_BONUS = 0.6
"""For a value that is the text of a code-styled element (``<code>``, a large font, ...)."""
_PUNCTUATION = ".,:;!?()[]*\"'"


def _styled_values(sources: list[tuple[str, str]]) -> set[str]:
    """The texts the "styled" sources list (one per line), groups joined ("482 913"): a
    value matches only a whole element, not a word of a styled heading."""
    return {
        "".join(_SEPARATOR.split(text.strip(_PUNCTUATION)))
        for where, texts in sources
        if where == "styled"
        for text in _normalize(texts).split("\n")
    }


def candidates_of(sources: Iterable[tuple[str, str]], rule: CodeRule) -> list[CodeCandidate]:
    """Candidates of all sources, one per value (its best occurrence), best first.

    A source is ``(where, text)``; where "styled" gives, one per line, the texts of the
    code-styled elements of an HTML part (see :func:`message_sources`): it is not searched,
    but a value it shows ranks higher.
    """
    sources = list(sources)
    best: dict[str, CodeCandidate] = {}
    seen: dict[str, int] = {}
    for where, raw in sources:
        if where == "styled":
            continue
        text = _normalize(raw)
        for span in _spans(text, rule):
            candidate = _score(text, span, where)
            if candidate is None:
                continue
            seen[candidate.value] = seen.get(candidate.value, 0) + 1
            current = best.get(candidate.value)
            if current is None or candidate.score > current.score:
                best[candidate.value] = candidate
    # The same value in the subject, the text and the HTML part is more likely the code.
    merged = [
        replace(c, score=round(c.score + 0.2 * min(seen[c.value] - 1, 3), 3)) for c in best.values()
    ]
    styled = _styled_values(sources) if len(merged) > 1 else set()
    merged = [
        replace(
            c,
            score=round(c.score + _STYLED_BONUS, 3),
            reason=f"{c.reason}, in a code-styled element",
        )
        if c.value in styled
        else c
        for c in merged
    ]
    order = {"subject": 0, "text": 1, "html": 2, "title": 3}
    return sorted(merged, key=lambda c: (-c.score, order.get(c.where, 4), c.start))


def _html_sources(document: str) -> list[tuple[str, str]]:
    visible = html_to_text(document)
    sources = [("html", visible.body), ("title", visible.title)]
    if visible.styled:
        sources.append(("styled", "\n".join(visible.styled)))
    return sources


def extract_codes(
    text: str | None = None, html: str | None = None, *, rule: CodeRule | None = None
) -> list[CodeCandidate]:
    """Every plausible code in a message's ``text`` and/or ``html`` body, best first.

    ``rule`` says what a code looks like (default: 6 digits). Both bodies are searched and the
    same value found in both is listed once.
    """
    sources: list[tuple[str, str]] = []
    if text:
        sources.append(("text", text))
    if html:
        sources.extend(_html_sources(html))
    return candidates_of(sources, rule or _DEFAULT_RULE)


def best_code(
    text: str | None = None, html: str | None = None, *, rule: CodeRule | None = None
) -> str | None:
    """The most likely code in the message, or ``None`` when nothing looks like one."""
    found = extract_codes(text, html, rule=rule)
    return found[0].value if found else None


def _decoded_subject(message: Message) -> str:
    subject = message.get("Subject")
    if subject is None:
        return ""
    try:
        # Already decoded with email.policy.default; compat32 messages keep =?utf-8?...?= words.
        return str(make_header(decode_header(str(subject))))
    except (LookupError, UnicodeError, ValueError):
        return str(subject)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)  # undoes quoted-printable and base64
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # any byte string decodes; better than nothing


def body_parts(message: Message) -> list[tuple[str, str]]:
    """("text" | "html", decoded body) of each text and HTML part of an e-mail, in order;
    attachments skipped. The HTML is kept as HTML (links need its ``href`` attributes)."""
    parts: list[tuple[str, str]] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = {"text/plain": "text", "text/html": "html"}.get(part.get_content_type())
        if kind is not None:
            parts.append((kind, _part_text(part)))
    return parts


def message_sources(
    message: Message, parts: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """(where, text) of an e-mail: its subject, then each text and HTML part (decoded); an
    HTML part gives its visible text ("html"), its title ("title") and, when it has any, the
    texts of its code-styled elements ("styled", one per line). ``parts``: the message's
    ``body_parts`` when the caller has them already (each part is decoded once)."""
    sources = [("subject", _decoded_subject(message))]
    for kind, text in body_parts(message) if parts is None else parts:
        if kind == "text":
            sources.append(("text", text))
        else:
            sources.extend(_html_sources(text))
    return sources


def extract_from_message(
    message: Message | bytes, *, rule: CodeRule | None = None
) -> list[CodeCandidate]:
    """The codes of an e-mail (raw bytes or parsed), best first: subject, text and HTML parts.

    Transfer encodings (quoted-printable, base64) and charsets are undone per part, so a code
    split by a quoted-printable soft line break comes out whole; attachments are skipped.
    """
    if isinstance(message, bytes | bytearray):
        message = email.message_from_bytes(bytes(message), policy=email.policy.default)
    return candidates_of(message_sources(message), rule or _DEFAULT_RULE)
