"""Find the link a message asks the reader to open: e-mail verification, magic sign-in, reset.

Every ``http``/``https`` link of a message is a candidate: the ``href`` of each ``<a>`` of
an HTML body (entities decoded; the ``href``, not the visible text, is the link), and each
URL written out in the visible text or in a plain-text body (bare, or in ``<angle
brackets>``; trailing punctuation is not part of it). Quoted-printable soft line breaks are
undone first when a body still has them. Each candidate is scored on what the message says
about it (``link_words``): a call to act in the link's text or the sentence before it, an
action in its path, a token in it, the same link given twice (a button and its fallback)
count for it; unsubscribe, privacy, terms, help, social, "view in browser", image-only
(logo) and home-page links count against it. A link that is not in the message is never
returned. The HTML is reduced to text in one pass (``html_text``, anchors marked), so a
100 kB message costs about what code extraction does (``python -m bench extraction``).
"""

from __future__ import annotations

import email
import email.policy
import html as _html
import quopri
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from ..errors import InvalidArgumentError, LinkNotFoundError
from ..redact import shorten
from .html_text import html_to_text
from .link_words import ACTION, DECOY, DECOY_URL, SOCIAL, URL_ACTION

__all__ = [
    "LinkCandidate",
    "LinkRule",
    "MaskedLink",
    "best_link",
    "best_of",
    "choose_link",
    "extract_links",
    "link_from_data",
    "link_secrets",
    "link_sources",
    "links_of",
    "missing_link",
]

MIN_SCORE = 0.5
"""A best link scores above this; below it are only the links a message carries besides."""


class MaskedLink(str):
    """A link (its token is a secret): a real ``str`` whose ``repr`` shows only where it goes.

    ``repr`` gives ``'https://app.example/…'`` and the length; ``page.goto(link)`` and
    ``f"{link}"`` give the whole URL.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(f"{_origin(self)}/… ({len(self)} characters, masked)")


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}" if rest else "<not a URL>"


@dataclass(frozen=True)
class LinkCandidate:
    """A link of the message: its ``url``, a ``score`` (higher is better), the main
    ``reason``, and ``where`` it was found ("html": an ``<a href>``, "html text": written out
    in the HTML's visible text, "text": in the plain-text body)."""

    url: str
    score: float
    reason: str
    where: str

    def __repr__(self) -> str:
        # The URL holds a token: only where it goes shows.
        return (
            f"LinkCandidate(url={MaskedLink(self.url)!r}, score={self.score:.2f}, "
            f"reason={self.reason!r}, where={self.where!r})"
        )


def _compiled(name: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern:
        raise InvalidArgumentError(f"link {name} must be a non-empty regex string, got {pattern!r}")
    try:
        return re.compile(pattern)  # on its own: inline flags and anchors work as written
    except (re.error, OverflowError) as exc:
        raise InvalidArgumentError(f"link {name} {pattern!r} is not a valid regex: {exc}") from None


@dataclass(frozen=True)
class LinkRule:
    """Which links count: on ``host`` (exact, or a subdomain of it; any case), with a ``path``
    the regex finds a match in, and/or a ``pattern`` (a regex searched in the whole URL).

    Each regex is compiled as written (``(?i)``, ``^`` and ``$`` work); a bad one raises
    ``InvalidArgumentError`` (a ``ValueError``) at once.
    """

    host: str | None = None
    path: str | None = None
    pattern: str | None = None
    _path: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.host is not None and (not isinstance(self.host, str) or not self.host.strip()):
            raise InvalidArgumentError(f"link host must be a non-empty string, got {self.host!r}")
        object.__setattr__(self, "_path", _compiled("path", self.path))
        object.__setattr__(self, "_pattern", _compiled("pattern", self.pattern))

    @property
    def description(self) -> str:
        """``host 'app.test', a path matching '^/reset/'``: for messages."""
        parts = [f"host {self.host!r}"] if self.host else []
        parts += [f"a path matching {self.path!r}"] if self.path is not None else []
        parts += [f"a URL matching {self.pattern!r}"] if self.pattern is not None else []
        return ", ".join(parts) or "any link"

    def matches(self, url: str) -> bool:
        """Whether ``url`` is a link this rule accepts."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if self.host is not None:
            wanted = self.host.strip().lower().lstrip(".")
            if host != wanted and not host.endswith("." + wanted):
                return False
        if self._path is not None and not self._path.search(parts.path):
            return False
        return self._pattern is None or bool(self._pattern.search(url))


# --- decoding ------------------------------------------------------------------------------

_SOFT_BREAK = re.compile(r"=\r?\n")
_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")
_QP_ATTRIBUTE = re.compile(r"\b(?:href|src|class|style)=3D[\"']", re.IGNORECASE)


def _undo_quoted_printable(body: str) -> str:
    """``body`` with quoted-printable decoded, when it still is: an attribute written
    ``href=3D"...`` or soft line breaks beside ``=XX`` escapes (a ``?mode=3D`` alone in a
    URL is not enough)."""
    if "=" not in body or not body.isascii():
        return body
    attribute = "=3D" in body and _QP_ATTRIBUTE.search(body)  # the regex scans slowly
    if not attribute and not (_SOFT_BREAK.search(body) and _QP_ESCAPE.search(body)):
        return body
    return quopri.decodestring(body.encode("ascii")).decode("utf-8", "replace")


# --- candidates ----------------------------------------------------------------------------


class _Seen(NamedTuple):
    url: str
    text: str
    before: str
    after: str
    where: str
    image: bool


_URL = re.compile(r"https?://[^\s<>\"'`\x00-\x1f\x7f\ue000-\ue002]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"\u00bb\u201d\u2019*>"  # not "_" or "-": base64url tokens end so
_OPEN = "\ue000"  # before an anchor's index, in the marked text
_SHUT = "\ue001"  # after an anchor's text
_NUMBER_END = "\ue002"
_ANCHOR = re.compile(r"<(?:([aA])\b([^<>]*)|/[aA]\s*)>")
_HREF = re.compile(r"""(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_IMG = re.compile(r"<img\b", re.I)
_MARKED = re.compile(f"{_OPEN}(\\d+){_NUMBER_END}([^{_OPEN}{_SHUT}]*)")
_MARKS = re.compile(f"{_OPEN}\\d+{_NUMBER_END}|{_SHUT}")
_BEFORE, _AFTER = 160, 80


def _http_url(url: str) -> str | None:
    """``url`` when it is an ``http(s)`` URL with a host, as it is; else None."""
    if not _URL.fullmatch(url):
        return None
    try:
        return url if urlsplit(url).hostname else None
    except ValueError:  # a bad IPv6 literal, a port out of range
        return None


def _clean_url(raw: str) -> str | None:
    """A URL written in text, without the sentence's trailing punctuation; else None."""
    url = raw.strip()
    while url and url[-1] in _TRAILING:
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return _http_url(url)


def _written_urls(text: str, where: str) -> Iterator[_Seen]:
    """URLs written out in ``text`` (bare or in angle brackets), with the words around."""
    for match in _URL.finditer(text):
        url = _clean_url(match.group())
        if url is not None:
            before = text[max(0, match.start() - _BEFORE) : match.start()]
            after = text[match.end() : match.end() + _AFTER]
            yield _Seen(url, "", before, after, where, False)


def _mark_anchors(document: str) -> tuple[str, list[tuple[str, bool]]]:
    """``document`` with each ``<a>`` replaced by a marker, and (href, has an image) of each."""
    anchors: list[tuple[str, bool]] = []
    pieces: list[str] = []
    last, open_at, open_pos = 0, -1, 0
    for match in _ANCHOR.finditer(document):
        pieces.append(document[last : match.start()])
        last = match.end()
        if match.group(1) is None:  # </a>
            if open_at >= 0:
                image = bool(_IMG.search(document, open_pos, match.start()))
                anchors[open_at] = (anchors[open_at][0], image)
                open_at = -1
            pieces.append(_SHUT)
            continue
        found = _HREF.search(match.group(2))
        href = next((g for g in found.groups() if g is not None), "") if found else ""
        anchors.append((_html.unescape(href).strip(), False))
        open_at, open_pos = len(anchors) - 1, match.end()
        pieces.append(f" {_OPEN}{open_at}{_NUMBER_END}")
    pieces.append(document[last:])
    return "".join(pieces), anchors


def _html_links(document: str) -> Iterator[_Seen]:
    """The ``<a href>`` links of an HTML body, and URLs written in its visible text."""
    marked, anchors = _mark_anchors(document)
    text = html_to_text(marked).body
    for match in _MARKED.finditer(text):
        href, image = anchors[int(match.group(1))]
        url = _http_url(href)  # an href is taken as written
        if url is not None:
            before = _MARKS.sub("", text[max(0, match.start() - _BEFORE) : match.start()])
            after = _MARKS.sub("", text[match.end() : match.end() + _AFTER])
            yield _Seen(url, " ".join(match.group(2).split()), before, after, "html", image)
    plain = _MARKS.sub(" ", text)
    if "://" in plain:
        unescaped: list[str] = []
        for seen in _written_urls(plain, "html text"):
            # Inline tags removed from the text may have joined pieces into a URL the message
            # does not hold: only a URL written as it is counts.
            if seen.url not in document:
                unescaped = unescaped or [_html.unescape(document)]
                if seen.url not in unescaped[0]:
                    continue
            yield seen


# --- scoring -------------------------------------------------------------------------------


_FRAGMENT_PARTS = re.compile(r"[/?&=;]")


def _token_parts(url: str) -> list[str]:
    """The parts of ``url`` that look like a token: a path segment, a query value or a piece
    of the fragment of 20 characters or more, or of 8 or more with letters and digits."""
    try:
        parts = urlsplit(url)
        values = [*parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
    except ValueError:
        return []
    values += _FRAGMENT_PARTS.split(parts.fragment)
    return [
        v
        for v in dict.fromkeys(values)
        if len(v) >= 20
        or (len(v) >= 8 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v))
    ]


_Points = list[tuple[float, str]]


def _url_points(url: str) -> _Points:
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path.lower()
    if path.endswith((".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico")):
        return [(-6.0, "an image")]
    if SOCIAL.search(host):
        return [(-5.0, "a social network")]
    if DECOY_URL.search(f"{host}{path}"):
        return [(-3.0, "a footer link's URL")]
    points: _Points = []
    if URL_ACTION.search(f"{path}?{parts.query.lower()}"):
        points.append((1.5, "an action in the URL"))
    if _token_parts(url):
        points.append((1.0, "a token"))
    if path.strip("/") == "" and all(k.startswith("utm_") for k, _ in parse_qsl(parts.query)):
        points.append((-2.0, "a home page"))
    return points


def _text_points(seen: _Seen) -> _Points:
    points: _Points = []
    text = seen.text.lower()
    if DECOY.search(text):
        points.append((-4.0, f"a footer link {shorten(seen.text, 40, quote=True)}"))
    elif ACTION.search(text):
        points.append((3.0, f"its text {shorten(seen.text, 40, quote=True)}"))
    elif seen.where == "html" and not text:
        points.append((-1.5 if seen.image else -1.0, "no text (an image)"))
    lines = seen.before.lower().split("\n")
    line, before = lines[-1], "\n".join(lines[-2:])  # the sentence, or the line above
    if DECOY.search(line[-60:]):
        points.append((-1.5, "footer words before it"))
    elif ACTION.search(before):
        points.append((1.2, "a call to act before it"))
    elif ACTION.search(seen.after.split("\n", 1)[0].lower()):
        points.append((0.8, "a call to act after it"))
    return points


def _scored(seen: _Seen, by_url: dict[str, _Points]) -> LinkCandidate:
    url_points = by_url.get(seen.url)
    if url_points is None:
        url_points = by_url[seen.url] = _url_points(seen.url)
    points = _text_points(seen) + url_points
    score = 1.0 + sum(value for value, _ in points)
    reason = ", ".join(why for _, why in points) or "a link"
    return LinkCandidate(seen.url, round(score, 3), reason, seen.where)


def _sources_links(sources: Iterable[tuple[str, str]]) -> Iterator[_Seen]:
    for where, body in sources:
        body = _undo_quoted_printable(body)
        if where == "html":
            yield from _html_links(body)
        elif "://" in body:
            yield from _written_urls(body.replace("\r\n", "\n"), where)


def links_of(
    sources: Iterable[tuple[str, str]], rule: LinkRule | None = None
) -> list[LinkCandidate]:
    """The links of ``(where, body)`` sources ("text" or "html"), one per URL, best first."""
    best: dict[str, LinkCandidate] = {}
    count: dict[str, int] = {}
    order: dict[str, int] = {}
    scored: dict[_Seen, LinkCandidate] = {}  # a mail repeats its rows: each scored once
    by_url: dict[str, _Points] = {}
    for seen in _sources_links(sources):
        if rule is not None and not rule.matches(seen.url):
            continue
        candidate = scored.get(seen)
        if candidate is None:
            candidate = scored[seen] = _scored(seen, by_url)
        count[seen.url] = count.get(seen.url, 0) + 1
        order.setdefault(seen.url, len(order))
        current = best.get(seen.url)
        if current is None or candidate.score > current.score:
            best[seen.url] = candidate
    merged = [
        LinkCandidate(c.url, round(c.score + 0.4 * min(count[c.url] - 1, 2), 3), c.reason, c.where)
        if count[c.url] > 1 and c.score > 0
        else c
        for c in best.values()
    ]
    return sorted(merged, key=lambda c: (-c.score, order[c.url]))


def extract_links(
    text: str | None = None, html: str | None = None, *, rule: LinkRule | None = None
) -> list[LinkCandidate]:
    """Every ``http(s)`` link of a message's ``text`` and/or ``html`` body, best first.

    The first is the link the message asks the reader to open when its score is above
    ``MIN_SCORE``; the rest include the footer's links, scored low. ``rule`` keeps only the
    links it accepts.
    """
    sources = [("text", text)] if text else []
    sources += [("html", html)] if html else []
    return links_of(sources, rule)


def best_link(
    text: str | None = None, html: str | None = None, *, rule: LinkRule | None = None
) -> str | None:
    """The link the message asks the reader to open, or ``None`` when it has none.

    With ``rule``, the best of the links it accepts (any score: the rule says what is wanted).
    """
    found = extract_links(text, html, rule=rule)
    if rule is not None:
        return found[0].url if found else None
    return best_of(found)


def best_of(candidates: Sequence[LinkCandidate]) -> str | None:
    """The first of ``candidates`` (best first) when it scores above ``MIN_SCORE``, else None."""
    return candidates[0].url if candidates and candidates[0].score > MIN_SCORE else None


def link_sources(message: Message | bytes) -> list[tuple[str, str]]:
    """(where, body) of an e-mail's text and HTML parts, decoded, HTML kept as HTML."""
    from .extract import body_parts

    if isinstance(message, bytes | bytearray):
        message = email.message_from_bytes(bytes(message), policy=email.policy.default)
    return body_parts(message)


# --- from event data -----------------------------------------------------------------------


def link_secrets(url: str) -> list[str]:
    """What a link's secret is: the URL, and each token-looking part of it (for scrubbing)."""
    return [url, *_token_parts(url)]


def _describe_mail(data: Mapping[str, Any]) -> str:
    sender = data.get("from")
    subject = data.get("subject")
    where = f" in the {data.get('channel', 'message')} from {sender!r}" if sender else ""
    return where + (f" with subject {subject!r}" if subject else "")


def choose_link(link: object, links: Iterable[object], path: str | None) -> MaskedLink | None:
    """``link`` (the best), or with ``path`` the first of ``links`` whose path has a match of
    that regex (``InvalidArgumentError`` if it is not one); None when there is none."""
    if path is None:
        return MaskedLink(link) if isinstance(link, str) and link else None
    rule = LinkRule(path=path)
    return next((MaskedLink(u) for u in links if isinstance(u, str) and rule.matches(u)), None)


def missing_link(path: str | None) -> str:
    """What was not found: "no link", or "no link with a path matching /.../"."""
    return "no link" if path is None else f"no link with a path matching {path!r}"


def link_from_data(data: Mapping[str, Any], *, event: str, path: str | None = None) -> MaskedLink:
    """The link of inbound event data (``data["link"]``, or with ``path`` the first of
    ``data["links"]`` whose path has a match of that regex); else ``LinkNotFoundError`` naming
    the sender, the subject and what was asked."""
    links = data.get("links")
    links = links if isinstance(links, list) else []
    found = choose_link(data.get("link"), links, path)
    if found is not None:
        return found
    if "links" not in data and "link" not in data:
        keys = ", ".join(sorted(map(str, data))) or "none"
        raise LinkNotFoundError(
            f"event {event!r} was signaled without a 'link' field (keys received: {keys}); "
            'the sender should signal {"link": "<url>"} (the SMTP inbox does)'
        )
    others = f" ({len(links)} other link(s))" if links else ""
    raise LinkNotFoundError(f"event {event!r}: {missing_link(path)}{_describe_mail(data)}{others}")
