"""Event data with masked reprs: secrets under secret-looking keys, codes found in free text.

The values still compare and serialise as the original data; ``masked_secrets`` lists what a
masked value hides, so the leak guard can scrub it from reports as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..redact import MaskedCode, MaskedDict, MaskedInt, MaskedList, MaskedText
from .links import MaskedLink, link_secrets
from .rule import CodeRule

__all__ = [
    "codes_in_text",
    "is_sensitive_key",
    "mask_sensitive",
    "mask_value",
    "masked_secrets",
]

_SENSITIVE_KEY = re.compile(r"code|otp|token|pass|secret|key|pin|totp", re.IGNORECASE)
_LINK_KEY = re.compile(r"links?", re.IGNORECASE)
"""The inbox's ``link`` and ``links``: a link's token is a secret."""
_DIGIT_RUN = re.compile(r"\d{4}|\d[ -]\d")
"""Free text worth searching for a code: it has four digits in a row, or digits in groups."""


def is_sensitive_key(key: object) -> bool:
    """Whether a data key looks like it holds a secret (``code``, ``otp``, ``apiKey``...)."""
    return bool(_SENSITIVE_KEY.search(str(key)))


def codes_in_text(text: str, rule: CodeRule | None = None) -> list[str]:
    """The code-looking values in free text (an SMS, a mail), best first; [] if none.

    Uses the inbound extractor (keywords, digit groups) with ``rule`` (default: 6 digits) and,
    when ``rule`` is another one, the 6-digit rule as well.
    """
    if not _DIGIT_RUN.search(text) and (rule is None or rule.length is not None):
        return []
    from .extract import extract_codes  # here: the extractor is not part of the start-up

    found: list[str] = []
    for each in dict.fromkeys((rule, None)):
        found += [c.value for c in extract_codes(text, rule=each) if c.value not in found]
    return found


def mask_value(value: Any, *, sensitive: bool = False, rule: CodeRule | None = None) -> Any:
    """``value`` (event data at any depth) with masked reprs; equal to it, serialises as it.

    Strings and numbers under secret-looking keys (``sensitive``) are masked whole; free text
    that contains a code has the code hidden in its repr; dicts and lists are masked in depth.
    """
    if isinstance(value, Mapping):
        return MaskedDict(
            (key, _mask_links(item))
            if _LINK_KEY.fullmatch(str(key))
            else (key, mask_value(item, sensitive=sensitive or is_sensitive_key(key), rule=rule))
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        masked = [mask_value(item, sensitive=sensitive, rule=rule) for item in value]
        return MaskedList(masked) if isinstance(value, list) else tuple(masked)
    if isinstance(value, MaskedCode | MaskedText | MaskedInt):
        return value
    if isinstance(value, str):
        if sensitive:
            return MaskedCode(value)
        codes = codes_in_text(value, rule)
        return MaskedText(value, codes) if codes else value
    if sensitive and isinstance(value, int) and not isinstance(value, bool):
        return MaskedInt(value)
    return value


def _mask_links(value: Any) -> Any:
    if isinstance(value, str):
        return MaskedLink(value)
    if isinstance(value, list):
        return MaskedList(_mask_links(item) for item in value)
    return mask_value(value, sensitive=True)


def mask_sensitive(data: Mapping[str, Any], rule: CodeRule | None = None) -> dict[str, Any]:
    """A copy of event data whose secrets have masked reprs, at any depth (``mask_value``).

    The values still compare and serialise as the original data.
    """
    masked: dict[str, Any] = mask_value(data, rule=rule)
    return masked


def masked_secrets(value: Any) -> list[str]:
    """Every secret a ``mask_value`` result hides (to scrub it from reports as well)."""
    if isinstance(value, MaskedText):
        return list(value.hidden)
    if isinstance(value, MaskedLink):
        return link_secrets(value)
    if isinstance(value, MaskedCode | MaskedInt):
        return [str(value)]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [secret for item in value for secret in masked_secrets(item)]
    return []
