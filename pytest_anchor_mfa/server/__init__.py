"""The fake (and self-hostable) events API server.

``store`` keeps channels, waiters and kept signals behind the ``EventStore`` interface
(``MemoryStore``; ``redis/`` holds ``RedisStore``, for several instances sharing one Redis;
``store_url`` picks one from a URL); ``app`` is the ASGI app that speaks the HTTP contract
(``pytest_anchor_mfa.contract``) over a store; ``fake`` is ``FakeEventServer``, the
thread-safe handle that tests and ``anchor-mfa serve`` use; ``faults``/``injection`` make it
misbehave on purpose, ``interventions`` posts intervention webhooks (and the sessions'
``session.completed``). Anchor's browser sessions are ``sessions/``'s, mounted by ``fake``.
"""

from __future__ import annotations

from .fake import FakeEventServer, ScheduledSignal, SignalRecord
from .store import EventStore, MemoryStore

__all__ = ["EventStore", "FakeEventServer", "MemoryStore", "ScheduledSignal", "SignalRecord"]
