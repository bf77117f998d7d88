"""Where ``mfa_code()`` gets a code: the events API, a TOTP secret, or a person at the terminal.

* ``events`` - wait on an event of the events API and take ``data[field]`` (the default);
* ``totp`` - compute an RFC 6238 code from a shared secret, never the same code twice;
* ``prompt`` - ask a person at the terminal (local headed runs), with a timeout.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TextIO

from ..codes import CodeRule, code_from_data
from ..errors import ConfigurationError, EventTimeoutError
from ..events import EventsClient
from ..redact import MaskedCode

__all__ = ["prompt_for_code", "wait_for_code"]


def wait_for_code(
    client: EventsClient,
    event: str,
    *,
    timeout: float,
    field: str,
    rule: CodeRule,
) -> MaskedCode:
    """Block on ``event`` until it is signaled, then validate its code."""
    data = client.wait(event, timeout)
    return code_from_data(data, field, rule, event=event)


def prompt_for_code(
    event: str,
    *,
    timeout: float,
    rule: CodeRule,
    suspend_capture: Callable[[], AbstractContextManager[object]],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> MaskedCode:
    """Ask a person for the code on the terminal, with output capture suspended.

    Fails at once, with a reason, where no person can answer (no terminal, as in CI).
    """
    with suspend_capture():
        # Looked up only now: while pytest captures, sys.stdin/sys.stdout are its stand-ins.
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        if not stdin.isatty():
            raise ConfigurationError(
                "the prompt code source needs an interactive terminal (stdin is not a TTY: "
                "CI, an xdist worker, or input piped in); use --anchor-code-source events or "
                "totp there"
            )
        stdout.write(
            f"\n[anchor-mfa] Enter the MFA code for {event!r} ({rule.description}), {timeout:g} s: "
        )
        stdout.flush()
        ready, _, _ = select.select([stdin], [], [], timeout)
        if not ready:
            stdout.write("\n")
            raise EventTimeoutError(
                f"nobody typed a code within {timeout:g} s", event_name=event, timeout=timeout
            )
        answer = stdin.readline()
    return rule.check(answer, event=event)
