"""The event data an inbound message becomes, and where it is signaled.

Both adapters signal the routed event with the same shape (the README's data shape)::

    {"code": <best candidate; absent when none is valid>, "candidates": [...],
     "channel": "email" | "sms", "from": ..., "to": ..., "subject": <e-mail only>,
     "text": <the visible text>,
     "link": <e-mail only: the link the mail asks to open; absent when it has none>,
     "links": <e-mail only: the URLs of its links, best first, at most 10>}

A message with no valid code still signals (without ``code``, with a ``problem``), so a
waiting ``mfa_code()`` fails at once, naming the sender, the subject and the rule, instead of
timing out; a mail with a link and no code still gives ``link`` to ``mfa_link()``, and one
without a link makes ``mfa_link()`` fail at once the same way.
``Signaler`` is what an adapter calls: a function of (event, data), usually an
``EventsClient``'s ``signal`` for this run's events API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..codes.extract import CodeCandidate
from ..codes.links import LinkCandidate, best_of
from ..codes.rule import CodeRule

__all__ = ["Signaler", "message_data"]

Signaler = Callable[[str, dict[str, Any]], object]
"""``signal(event, data)``: deliver one inbound message's data to the events API."""

MAX_CANDIDATES = 5
MAX_LINKS = 10
MAX_TEXT = 4000
"""Characters of the message's visible text kept in the event data (the start of it)."""


def message_data(
    channel: str,
    candidates: Sequence[CodeCandidate],
    *,
    sender: str,
    recipient: str,
    text: str,
    rule: CodeRule,
    subject: str | None = None,
    links: Sequence[LinkCandidate] | None = None,
) -> dict[str, Any]:
    """The event data of one message (see the module docstring)."""
    data: dict[str, Any] = {
        "candidates": [
            {"value": c.value, "score": round(c.score, 3), "reason": c.reason, "where": c.where}
            for c in candidates[:MAX_CANDIDATES]
        ],
        "channel": channel,
        "from": sender,
        "to": recipient,
        "text": text[:MAX_TEXT],
    }
    if subject is not None:
        data["subject"] = subject
    if links is not None:
        data["links"] = [link.url for link in links[:MAX_LINKS]]
        if (link := best_of(links)) is not None:
            data["link"] = link
    if candidates:
        data["code"] = candidates[0].value
    else:
        data["problem"] = f"no code ({rule.description}) found in the {channel} from {sender!r}" + (
            f" with subject {subject!r}" if subject else ""
        )
    return data
