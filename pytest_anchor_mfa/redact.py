"""Keep secrets (API keys, MFA codes) out of logs, reprs, tracebacks and reports."""

from __future__ import annotations

__all__ = ["MaskedCode", "mask_code", "mask_key"]


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
    return "•" * min(len(text), 64) if text else "<empty>"


class MaskedCode(str):
    """A ``str`` holding an MFA code whose ``repr`` is masked.

    It is a real ``str`` (``page.fill(selector, code)`` and ``f"{code}"`` give the digits), but
    pytest assertion messages, ``--showlocals`` and fixture reprs use ``repr`` and so show
    ``'••••••'`` instead of the code.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_code(self))
