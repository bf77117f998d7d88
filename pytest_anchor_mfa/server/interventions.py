"""Intervention webhooks of the fake server: what the real agent posts when it needs a human.

A wait that parks on an MFA-looking event (its name matches ``mfa_event_pattern``) posts a
signed ``intervention.requested``; the signal that answers it posts ``intervention.resolved``.
Deliveries go out in the background, so a slow receiver never delays a wait.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..webhooks.sender import WebhookSender

__all__ = ["Interventions"]

_DRAIN_TIMEOUT = 10.0


class Interventions:
    """A store listener (``store.add_listener(interventions.on_change)``); inert until
    ``configure(url, secret)`` names a receiver."""

    def __init__(self, mfa_event_pattern: str, base_url: Any) -> None:
        self._mfa_event = re.compile(mfa_event_pattern, re.IGNORECASE)
        self._base_url = base_url  # a callable: the server's URL is known only once it runs
        self._sender: WebhookSender | None = None
        self._open: dict[tuple[str, str], str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def configure(self, url: str | None, secret: str | None = None) -> None:
        """Post to ``url``, signed with ``secret``; ``url=None`` stops posting."""
        if url is None:
            self._sender = None
            return
        if not secret:
            raise ConfigurationError("a webhook URL needs a secret to sign deliveries")
        from ..webhooks.sender import WebhookSender

        self._sender = WebhookSender(url, secret)

    def clear(self) -> None:
        self._open.clear()

    def on_change(self, what: str, user: str, event: str) -> None:
        if self._sender is None:
            return
        if what == "waiting" and self._mfa_event.fullmatch(event):
            if (user, event) in self._open:
                return  # one intervention per pending MFA step, however many waiters
            intervention = f"int_{uuid.uuid4().hex[:16]}"
            self._open[(user, event)] = intervention
            self.emit(
                "intervention.requested",
                {
                    "intervention_id": intervention,
                    "event": event,
                    "reason": "mfa",
                    "live_view_url": f"{self._base_url()}/live/{intervention}",
                },
            )
        elif what == "delivered":
            resolved = self._open.pop((user, event), None)
            if resolved is not None:
                self.emit("intervention.resolved", {"intervention_id": resolved, "event": event})

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Post ``event_type`` with ``data`` in the background (on the running loop), signed;
        nothing when no receiver is configured."""
        if self._sender is None:
            return
        task = asyncio.get_running_loop().create_task(self._sender.asend(event_type, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Let deliveries in flight finish (bounded), before the loop stops."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_DRAIN_TIMEOUT)
