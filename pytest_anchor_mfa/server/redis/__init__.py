"""The events store in Redis (``redis`` extra): many server instances share one set of events.

``store`` (``RedisStore``: the memory store's semantics across instances), ``scripts`` (the Lua
scripts that make signal, wait and report atomic), ``link`` (connections, the one reader per
instance, heartbeats), ``waits`` (this instance's parked waits) and ``config`` (a store from a
``redis://`` URL).
"""
