"""Keep secrets (API keys, MFA codes) out of logs, reprs, tracebacks and reports.

``MaskedCode``, ``MaskedInt``, ``MaskedText``, ``MaskedDict`` and ``MaskedList`` are real
``str``/``int``/``dict``/``list`` values (they compare, hash, format and serialise as the
originals) whose ``repr`` hides the secret part. ``secret_pattern`` and ``scrub`` replace known
secrets, and simple derivations of them, in any text. ``shorten`` fits a value received from
outside into one short line of a message or a log.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any, SupportsIndex

__all__ = [
    "MaskedCode",
    "MaskedDict",
    "MaskedInt",
    "MaskedList",
    "MaskedText",
    "mask_code",
    "mask_key",
    "scrub",
    "secret_forms",
    "secret_pattern",
    "shorten",
]

BULLET = "•"
MIN_SECRET_LENGTH = 4
"""Shorter values are never scrubbed from text: they would blank out half of any output."""

_SEPARATORS = r"(?:[ \-_.,\u00a0/]|\s{1,3}|', '|\", \")?"
"""Between two digits of a numeric secret: ``123 456``, ``123-456``, ``112,233``, ``112_233``,
one digit per line or per tab, ``list(code)``'s ``'1', '2'``."""
_FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
"""A digit also matches its fullwidth form (U+FF10 to U+FF19)."""
_MIN_ENCODED = 6
"""Shorter base64 pieces of a secret are not scrubbed (they would match ordinary words)."""


def mask_key(key: str | None) -> str:
    """``sk-abcdef123456`` -> ``sk-…3456``; short keys are hidden entirely."""
    if not key:
        return "<none>"
    if len(key) < 12:
        return "…" * 3
    prefix = key[:3] if key[2] in "-_" else ""
    return f"{prefix}…{key[-4:]}"


def mask_code(code: object) -> str:
    """An MFA code as a run of bullets of the same length (the length helps debugging)."""
    text = str(code)
    return BULLET * min(len(text), 64) if text else "<empty>"


def shorten(text: object, limit: int, *, quote: bool = False) -> str:
    """``text`` as one printable line of at most ``limit`` characters, cut with ``…``.

    Runs of whitespace and unprintable characters become one space. With ``quote``, the
    ``repr`` is cut instead: the quotes show where a value naming a header or a path starts,
    and its escapes show what was really sent.
    """
    if quote:
        line = repr(str(text))
    else:
        line = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _base64_pieces(text: str) -> set[str]:
    """The base64 characters that encode ``text`` wherever it sits in a longer base64 stream
    (three alignments; the characters shared with its neighbours left out), both alphabets."""
    raw = text.encode()
    pieces = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0").decode()
        first = (shift * 8 + 5) // 6  # characters with bits of the prefix
        last = ((shift + len(raw)) * 8) // 6  # characters with no bit of what follows
        piece = encoded[first:last]
        if len(piece) >= _MIN_ENCODED:
            pieces |= {piece, piece.replace("+", "-").replace("/", "_")}
    return pieces


def secret_forms(secret: str) -> tuple[set[str], set[str]]:
    """The literal forms of ``secret`` to scrub, and its digit forms (matched with separators).

    Literal (matched anywhere): the stripped value, in upper and lower case, its UTF-8 bytes in
    hex and in base64 (at any alignment). Digits (when the value is a number, separators
    allowed): the digits alone and as an int (no leading zeros).
    """
    text = secret.strip()
    literal = {text, text.upper(), text.lower()}
    if len(text) >= MIN_SECRET_LENGTH:
        hexed = text.encode().hex()
        literal |= {hexed, hexed.upper(), *_base64_pieces(text)}
    digits: set[str] = set()
    bare = re.sub(_SEPARATORS.removesuffix("?"), "", text)
    if bare.isascii() and bare.isdigit():
        digits = {bare, str(int(bare))}
    keep = {form for form in literal if len(form) >= MIN_SECRET_LENGTH}
    return keep, {form for form in digits if len(form) >= MIN_SECRET_LENGTH}


def _trie_regex(words: Iterable[str], atom: Callable[[str], str], between: str = "") -> str:
    """One regex for ``words`` as a prefix tree: the regex engine follows one branch per
    character instead of trying every word at every position (thousands of secrets stay fast).
    ``atom`` makes a character's regex; ``between`` goes between two characters."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any], first: bool) -> str:
        # A run of single-child nodes is written in one step: the recursion (and the regex's
        # group nesting) goes one level per branching point, not per character, so a secret
        # of a few hundred characters (a private key in base64) stays far from either limit.
        branches = []
        for char, child in sorted(node.items()):
            if not char:
                continue
            run = [char]
            while len(child) == 1 and "" not in child:
                ((next_char, child),) = child.items()
                run.append(next_char)
            head = ("" if first else between) + between.join(atom(c) for c in run)
            branches.append(head + emit(child, False))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root, True)


def _digit(char: str) -> str:
    return f"[{char}{_FULLWIDTH[char]}]"


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching every form of every secret (longest first), or None if none."""
    literal: set[str] = set()
    digits: set[str] = set()
    for secret in secrets:
        forms, numbers = secret_forms(str(secret))
        literal |= forms
        digits |= numbers
    parts = [_trie_regex(literal, re.escape)] if literal else []
    # A number with a separator between any two digits (or as an int without its leading
    # zeros); not inside a longer number.
    if digits:
        parts.append(r"(?<!\d)" + _trie_regex(digits, _digit, _SEPARATORS) + r"(?!\d)")
    return re.compile("|".join(parts)) if parts else None


def scrub(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every match of ``pattern`` replaced by bullets of the same length."""
    if pattern is None or not text:
        return text
    return pattern.sub(lambda match: BULLET * len(match.group()), text)


class MaskedCode(str):
    """A ``str`` holding an MFA code whose ``repr`` is masked.

    It is a real ``str`` (``page.fill(selector, code)`` and ``f"{code}"`` give the digits), but
    pytest assertion messages, ``--showlocals`` and fixture reprs use ``repr`` and so show
    ``'••••••'`` instead of the code. Stripping and changing case keep it masked.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_code(self))

    def strip(self, chars: str | None = None) -> MaskedCode:
        return MaskedCode(str.strip(self, chars))

    def lstrip(self, chars: str | None = None) -> MaskedCode:
        return MaskedCode(str.lstrip(self, chars))

    def rstrip(self, chars: str | None = None) -> MaskedCode:
        return MaskedCode(str.rstrip(self, chars))

    def upper(self) -> MaskedCode:
        return MaskedCode(str.upper(self))

    def lower(self) -> MaskedCode:
        return MaskedCode(str.lower(self))

    def zfill(self, width: SupportsIndex) -> MaskedCode:
        return MaskedCode(str.zfill(self, width))


class MaskedInt(int):
    """An ``int`` (a code sent as a JSON number) whose ``repr`` is masked; ``str`` is not."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_code(int.__repr__(self)))

    __str__ = int.__repr__


class MaskedText(str):
    """A ``str`` of free text (an SMS, a mail) whose ``repr`` hides the codes in it."""

    hidden: tuple[str, ...]

    def __new__(cls, value: object = "", hidden: Iterable[str] = ()) -> MaskedText:
        self = super().__new__(cls, value)
        self.hidden = tuple(hidden)
        return self

    def __repr__(self) -> str:
        return repr(scrub(str(self), secret_pattern(getattr(self, "hidden", ()))))


class MaskedDict(dict[Any, Any]):
    """A ``dict`` of event data: its values are masked (``mask_value``), and so its ``repr``."""

    def __repr__(self) -> str:
        return dict.__repr__({key: _masked_leaf(value) for key, value in self.items()})


class MaskedList(list[Any]):
    """A ``list`` inside event data, masked like ``MaskedDict``."""

    def __repr__(self) -> str:
        return list.__repr__([_masked_leaf(value) for value in self])


def _masked_leaf(value: Any) -> Any:
    # A value stored after masking is masked on display too (a plain str in a masked container
    # is most likely data of the same kind).
    if isinstance(value, MaskedCode | MaskedText | MaskedInt | MaskedDict | MaskedList):
        return value
    if isinstance(value, dict):
        return MaskedDict(value)
    if isinstance(value, list):
        return MaskedList(value)
    return value
