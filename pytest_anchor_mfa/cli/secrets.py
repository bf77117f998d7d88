"""One rule for secrets on the command line: from the environment or a file, never a flag's value.

A command line is readable by every user of the machine (``ps``, ``/proc/<pid>/cmdline``) and
lands in shell history. So every ``anchor-mfa`` command reads its secrets from the environment
(``ANCHOR_API_KEY``, ``ANCHOR_MFA_WEBHOOK_SECRET``, the relay's SMS secrets); ``serve``,
``signal`` and ``wait`` also read them from a file named by a flag (``--api-key-file``,
``--webhook-secret-file``; ``-`` is standard input). The flags that took a secret's value
(``--api-key``, ``--webhook-secret``) still work until the next minor version, with one
warning line on stderr naming what to use instead; ``relay`` never took any.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConfigurationError

__all__ = ["SECRET_FLAG_WARNING", "read_secret_lines", "warn_secret_flag"]

SECRET_FLAG_WARNING = (
    "anchor-mfa: warning: {flag} shows the secret to every user of this machine (ps) and in "
    "shell history; set ${env} or use {flag}-file PATH instead ({flag} goes in the next minor "
    "version)"
)


def warn_secret_flag(flag: str, env: str) -> None:
    """One line on stderr: ``flag`` was given a secret's value."""
    print(SECRET_FLAG_WARNING.format(flag=flag, env=env), file=sys.stderr, flush=True)


def read_secret_lines(path: str, flag: str) -> list[str]:
    """The non-blank lines of the file ``path`` (``-``: standard input), or ConfigurationError.

    Lines starting with ``#`` are comments. The error names ``flag`` and the path, never the
    file's content.
    """
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigurationError(f"{flag} {path!r} cannot be read: {reason}") from None
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line and not line.startswith("#")]
    if not found:
        raise ConfigurationError(f"{flag} {path!r} holds no secret (an empty file?)")
    return found
