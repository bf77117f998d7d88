"""Environment variables: one naming rule, and the old names that still work for a while.

The rule: a setting of this package is ``ANCHOR_MFA_<SETTING>`` (``ANCHOR_MFA_TIMEOUT``,
``ANCHOR_MFA_TOTP_SECRET``...); a variable another product defines keeps that product's name
(``ANCHOR_API_KEY`` and ``ANCHOR_BASE_URL`` as Anchor's SDK reads them, ``TWILIO_AUTH_TOKEN``).
Names from before the rule are read after the new ones, with a DeprecationWarning.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping

__all__ = ["RENAMED_ENV", "env_value", "read_env"]

RENAMED_ENV = {
    "ANCHOR_TOTP_SECRET": "ANCHOR_MFA_TOTP_SECRET",
    "ANCHOR_WEBHOOK_SECRET": "ANCHOR_MFA_WEBHOOK_SECRET",
    "ANCHOR_SMS_SECRET": "ANCHOR_MFA_SMS_SECRET",
    "ANCHOR_CHROMIUM_EXECUTABLE": "ANCHOR_MFA_CHROMIUM",
}
"""Old name -> new name; the old ones go in the next minor version."""

_OLD_NAMES = {new: old for old, new in RENAMED_ENV.items()}


def _warn(message: str) -> None:
    warnings.warn(message, DeprecationWarning, stacklevel=4)


def read_env(
    names: Iterable[str],
    environ: Mapping[str, str] | None = None,
    *,
    warn: Callable[[str], None] = _warn,
) -> tuple[str, str] | None:
    """``(value, name)`` of the first of ``names`` set (non-blank), else of their old names
    (``warn`` is told which to rename); ``None`` when none is set."""
    env = os.environ if environ is None else environ
    names = tuple(names)
    for name in names:
        if env.get(name, "").strip():
            return env[name].strip(), name
    for name in names:
        old = _OLD_NAMES.get(name)
        if old is not None and env.get(old, "").strip():
            warn(f"${old} is renamed ${name}; set ${name} (${old} goes in the next minor version)")
            return env[old].strip(), old
    return None


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of ``name`` (or of its old name, with a DeprecationWarning); None if unset."""
    found = read_env([name], environ)
    return found[0] if found is not None else None
