"""Choosing a store from a URL: ``memory`` (the default) or ``redis://host:port/db``.

Used by ``anchor-mfa serve --store`` and the plugin's ``--anchor-store``. The ``redis`` package
is imported only when a Redis URL is given (it is the ``redis`` extra).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from .store import EventStore, MemoryStore

__all__ = ["REDIS_SCHEMES", "store_from_url"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def store_from_url(
    url: str | None, *, namespace: str, check: bool = True, **options: Any
) -> EventStore:
    """A ``MemoryStore`` for ``memory`` or nothing, a ``RedisStore`` for a Redis URL (checked
    reachable first, unless ``check`` is false); ``options`` are the store's settings."""
    if not url or url.strip().lower() == "memory":
        return MemoryStore(**options)
    url = url.strip()
    if not url.lower().startswith(REDIS_SCHEMES):
        raise ConfigurationError(
            f"a store is 'memory' or a Redis URL (redis://host:6379/0), got {url!r}"
        )
    try:
        from .redis.store import RedisStore, check_reachable
    except ImportError:
        raise ConfigurationError(
            "the Redis store needs the redis package: pip install 'pytest-anchor-mfa[redis]'"
        ) from None
    if check:
        check_reachable(url)
    return RedisStore(url, namespace=namespace, **options)
