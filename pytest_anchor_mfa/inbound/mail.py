"""One received e-mail: parsed once, its code extracted per rule, kept with masked reprs.

``parse_mail`` reads the raw message with the ``email`` package (``policy.default``; when a
malformed header trips it, ``compat32``, which reads anything): multipart or not, HTML-only,
quoted-printable, base64, any charset (an unknown one falls back to UTF-8, then Latin-1).
Its sources (subject, text parts, HTML parts reduced to visible text) are kept, so each
routed event's rule extracts from them without parsing again. ``InboxMessage`` is what the
SMTP inbox keeps of each accepted message; its ``repr`` masks the text and the code.
"""

from __future__ import annotations

import email
import email.policy
import functools
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from ..codes.extract import CodeCandidate, body_parts, candidates_of, message_sources
from ..codes.links import LinkCandidate, MaskedLink, best_of, links_of
from ..codes.rule import CodeRule
from ..redact import MaskedCode, mask_code

__all__ = [
    "InboxMessage",
    "MailParseError",
    "MaskedMailText",
    "MaskedSubject",
    "ParsedMail",
    "first_characters",
    "mask_codes_in",
    "parse_mail",
]


class MailParseError(ValueError):
    """The message could not be read at all (the SMTP inbox answers 554 and signals nothing)."""


@dataclass(frozen=True)
class ParsedMail:
    """A parsed message: its From header, subject, visible text and extraction sources."""

    sender: str
    subject: str
    text: str
    sources: tuple[tuple[str, str], ...]
    links: tuple[LinkCandidate, ...] = ()
    """The mail's links, best first (``codes.links``)."""
    _found: dict[str, list[CodeCandidate]] = field(default_factory=dict, repr=False)

    def candidates(self, rule: CodeRule) -> list[CodeCandidate]:
        """The codes of the form ``rule`` asks for, best first (computed once per rule)."""
        key = f"{rule.pattern.pattern}\0{rule.pattern.flags}"
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = candidates_of(self.sources, rule)
        return found


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def _sender(message: Message, envelope_from: str) -> str:
    raw = _header(message, "From")
    addresses = [address for _, address in getaddresses([raw]) if address]
    return raw.strip() if raw.strip() and addresses else envelope_from


MAX_LINK_TEXT = 300_000
"""Characters of a mail's text and HTML parts (the first ones) searched for links. A mail's
call to action sits near its top (Gmail clips a message past 102 kB, so senders keep it well
inside); the bound keeps a hostile multi-megabyte HTML part from costing seconds of CPU."""


def first_characters(sources: Iterable[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """The ``(where, text)`` sources cut to their first ``limit`` characters in all."""
    kept: list[tuple[str, str]] = []
    for where, text in sources:
        if limit <= 0:
            break
        kept.append((where, text[:limit]))
        limit -= len(text)
    return kept


def _read(content: bytes, policy: email.policy.Policy, envelope_from: str) -> ParsedMail:
    message = email.message_from_bytes(content, policy=policy)
    parts = body_parts(message)  # decoded once, for the codes and for the links
    sources = [(where, text) for where, text in message_sources(message, parts) if text.strip()]
    subject = next((text for where, text in sources if where == "subject"), "")
    texts = [text.strip() for where, text in sources if where == "text"]
    html = [text.strip() for where, text in sources if where == "html"]
    return ParsedMail(
        sender=_sender(message, envelope_from),
        subject=" ".join(subject.split()),
        text="\n\n".join(texts or html),
        sources=tuple(sources),
        links=tuple(links_of(first_characters(parts, MAX_LINK_TEXT))),
    )


def parse_mail(content: bytes, *, envelope_from: str = "") -> ParsedMail:
    """Parse a raw message; ``MailParseError`` when even the lenient parser gives up."""
    problem: Exception | None = None
    for policy in (email.policy.default, email.policy.compat32):
        try:
            return _read(content, policy, envelope_from)
        except RecursionError:  # nested too deep: compat32 recurses just as deep
            problem = MailParseError("MIME parts nested too deeply")
            break
        except Exception as exc:  # the email package's bugs on malformed headers
            problem = exc
    raise MailParseError(f"unreadable message ({type(problem).__name__}: {problem})") from None


@functools.lru_cache(maxsize=256)
def _grouped(value: str) -> re.Pattern[str]:
    # "123456" also as "123 456" or "123-456" in a subject.
    return re.compile(r"[ \-.]?".join(map(re.escape, value)))


def mask_codes_in(text: str, codes: tuple[str, ...]) -> str:
    """``text`` with each of ``codes`` (digits possibly grouped) replaced by bullets."""
    for code in sorted(codes, key=len, reverse=True):
        if len(code) >= 4:
            text = _grouped(code).sub(lambda match: mask_code(match.group()), text)
    return text


class MaskedMailText(str):
    """A mail's text: a real ``str`` whose ``repr`` shows only its length (it holds the code)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} characters, masked>"


class MaskedSubject(str):
    """A subject line: a real ``str`` whose ``repr`` hides the codes in it."""

    shown: str

    def __new__(cls, value: str, codes: tuple[str, ...] = ()) -> MaskedSubject:
        self = super().__new__(cls, value)
        self.shown = mask_codes_in(value, codes)
        return self

    def __repr__(self) -> str:
        return repr(self.shown)


@dataclass(frozen=True)
class InboxMessage:
    """A message the SMTP inbox accepted; its ``repr`` masks the text and the codes.

    ``sender`` is the From header (else the envelope's MAIL FROM), ``to`` the accepted
    recipients, ``events`` the events they routed to, ``code`` the best code for the first of
    them (None when none was found: the event was signaled with a ``problem`` instead),
    ``codes`` the code per event (each event has its rule). ``text`` is the visible text.
    ``link`` is the link the mail asks to open (None: it has none), ``links`` all of its
    links, best first; both masked in reprs (a link's token is a secret).
    """

    sender: str
    to: tuple[str, ...]
    subject: MaskedSubject
    text: MaskedMailText
    code: MaskedCode | None
    events: tuple[str, ...] = ()
    codes: dict[str, MaskedCode | None] = field(default_factory=dict)
    envelope_from: str = ""
    link: MaskedLink | None = None
    links: tuple[MaskedLink, ...] = ()
    size: int = 0
    received_at: float = field(default_factory=time.time)

    @classmethod
    def of(
        cls,
        parsed: ParsedMail,
        *,
        to: tuple[str, ...],
        codes: dict[str, str | None],
        envelope_from: str,
        size: int,
    ) -> InboxMessage:
        """The kept form of ``parsed``: masked reprs everywhere a code may be."""
        masked = {event: MaskedCode(code) if code else None for event, code in codes.items()}
        secrets = tuple({code for code in codes.values() if code})
        return cls(
            sender=parsed.sender,
            to=to,
            subject=MaskedSubject(parsed.subject, secrets),
            text=MaskedMailText(parsed.text),
            code=next(iter(masked.values()), None),
            events=tuple(codes),
            codes=masked,
            envelope_from=envelope_from,
            link=MaskedLink(link) if (link := best_of(parsed.links)) else None,
            links=tuple(MaskedLink(candidate.url) for candidate in parsed.links),
            size=size,
        )

    def addressed_to(self, who: str) -> bool:
        """Whether ``who`` is one of the recipients (any case) or one of the routed events."""
        return who in self.events or who.strip().lower() in (to.lower() for to in self.to)

    def summary(self) -> str:
        """One line for a timeout message: from, to and the subject with its codes masked."""
        return f"from {self.sender!r} to {', '.join(self.to)} (subject {self.subject!r})"
