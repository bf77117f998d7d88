"""The fake (and self-hostable) events API server.

Owns the semantics of ``shared/spec/events-api.md`` on the server side: ``store`` keeps
channels, waiters and kept signals behind the ``EventStore`` interface (``MemoryStore`` here,
other stores elsewhere); ``app`` is the ASGI app that speaks the HTTP contract over a store;
``fake`` is ``FakeEventServer``, the thread-safe handle that tests and ``anchor-mfa serve`` use.
"""

from __future__ import annotations

from .fake import FakeEventServer, ScheduledSignal, SignalRecord

__all__ = ["FakeEventServer", "ScheduledSignal", "SignalRecord"]
