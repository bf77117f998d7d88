"""Multipart (concatenated) SMS reassembly, in bounded memory and time.

A long SMS reaches a webhook as several requests sharing a reference (Vonage: ``concat-ref``,
``concat-total``, ``concat-part``, numbered from 1). ``Reassembler.add`` keeps the parts of
each message, keyed by (sender, recipient, reference), and returns the whole text once every
part arrived; until then the message signals nothing. Incomplete messages are dropped after
``max_age`` seconds, and beyond ``max_pending`` of them or ``max_chars`` of kept text the
oldest is dropped (each drop is logged once), so a sender that never finishes cannot grow the
server. Not thread-safe: the
SMS endpoints call it from their one event loop, and ``clear`` from a test takes their lock.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_PARTS", "Reassembler"]

_log = logging.getLogger("pytest_anchor_mfa.inbound.sms")

MAX_PARTS = 255
"""The most parts a concatenated SMS can have (the reference header's count is one byte)."""


@dataclass
class _Pending:
    total: int
    started: float
    parts: dict[int, str] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)


class Reassembler:
    def __init__(
        self,
        *,
        max_pending: int = 1000,
        max_age: float = 300.0,
        max_chars: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_pending = max_pending
        self.max_age = max_age
        self.max_chars = max_chars
        self._chars = 0
        self._clock = clock
        self._pending: OrderedDict[tuple[str, str, str], _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        self._pending.clear()
        self._chars = 0

    def add(
        self, key: tuple[str, str, str], total: int, part: int, text: str, message_id: str = ""
    ) -> tuple[str, list[str]] | None:
        """Keep one part; the whole text and every part's message id once complete, else None.

        ``total`` and ``part`` must already be checked (1 <= part <= total <= MAX_PARTS). A
        part whose total disagrees with the parts already kept starts the message over.
        """
        self._expire()
        pending = self._pending.get(key)
        if pending is None or pending.total != total:
            if pending is not None:
                self._drop(key)
            pending = self._pending[key] = _Pending(total, self._clock())
        self._chars += len(text) - len(pending.parts.get(part, ""))
        pending.parts[part] = text
        if message_id:
            pending.ids.add(message_id)
        if len(pending.parts) < total:
            self._bound()
            return None
        self._drop(key)
        return "".join(pending.parts[n] for n in range(1, total + 1)), sorted(pending.ids)

    def _drop(self, key: tuple[str, str, str]) -> _Pending:
        pending = self._pending.pop(key)
        self._chars -= sum(map(len, pending.parts.values()))
        return pending

    def _expire(self) -> None:
        limit = self._clock() - self.max_age
        while self._pending:
            key, oldest = next(iter(self._pending.items()))
            if oldest.started > limit:
                break
            self._drop(key)
            _log.info(
                "multipart SMS from %s dropped: %d of %d parts after %g s",
                key[0],
                len(oldest.parts),
                oldest.total,
                self.max_age,
            )

    def _bound(self) -> None:
        while len(self._pending) > self.max_pending or self._chars > self.max_chars:
            key = next(iter(self._pending))
            oldest = self._drop(key)
            _log.info(
                "multipart SMS from %s dropped: %d of %d parts, over the limit of %d incomplete "
                "messages or %d characters",
                key[0],
                len(oldest.parts),
                oldest.total,
                self.max_pending,
                self.max_chars,
            )
