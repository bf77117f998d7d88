"""Anchor's browser sessions, played by the fake server with a real local Chromium.

``chromium`` launches a session's browser (headless, remote debugging on a free loopback port,
a process group of its own that dies with its launcher) and reaps it; ``store`` keeps the
sessions (``SessionStore``: bounded, idle timeout, injected clock; no HTTP); ``proxy`` relays a
client's CDP WebSocket to the browser (the ``websockets`` library both ways); ``routes`` is the
HTTP side (``SessionsApi``: create, get, list, delete; the CDP endpoint on the root path,
authenticated before any CDP byte passes); ``client`` is what the plugin creates and ends
sessions with, on the fake or on Anchor; ``gate`` shares a run's first create across its
xdist workers (one refusal per run, not one per worker).
"""
