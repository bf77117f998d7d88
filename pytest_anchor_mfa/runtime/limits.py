"""Connection limits of our servers: uvicorn's HTTP protocol with the bounds a long run needs.

uvicorn alone keeps a connection that trickles its request one byte a second open for ever,
never closes a connection that sends nothing, accepts headers of any size and, past its
``limit_concurrency``, answers in plain text. ``LimitedProtocol`` (uvicorn's httptools
protocol, subclassed) adds, per ``ServerLimits``:

* a request must arrive complete within ``request_timeout`` seconds of the connection opening
  or of the request's first byte; a slow or silent client gets 408 and is closed;
* idle keep-alive connections close after ``keep_alive`` seconds (uvicorn's own timer);
* past ``max_connections`` open connections, a new one is answered 503 with ``Retry-After``
  and closed at once (well before the process runs out of file descriptors);
* the request line and headers together may hold at most ``max_header_bytes`` (431 past it).

Every refusal uses the error envelope of ``asgi.error_body`` and closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..errors import ConfigurationError
from .asgi import error_body
from .throttle import Throttle

__all__ = ["LimitedProtocol", "ServerLimits", "ThrottledWarnings", "protocol_for"]

_log = logging.getLogger("pytest_anchor_mfa.serving")
_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Unavailable"}
_FD_MARGIN = 64
"""File descriptors left free below the process's limit for everything but connections."""


def _default_max_connections() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(16, min(10_000, soft - _FD_MARGIN))


@dataclass(frozen=True)
class ServerLimits:
    """The connection limits of one server (see the module docstring); seconds and bytes."""

    request_timeout: float = 10.0
    keep_alive: float = 5.0
    max_connections: int = field(default_factory=_default_max_connections)
    max_header_bytes: int = 32 * 1024
    retry_after: int = 1
    """Seconds a client refused for load is told to wait (``Retry-After``)."""

    def __post_init__(self) -> None:
        if not (self.request_timeout > 0 and self.keep_alive > 0):
            raise ConfigurationError(
                "request_timeout and keep_alive must be > 0 seconds, got "
                f"{self.request_timeout!r} and {self.keep_alive!r}"
            )
        if self.max_connections < 1 or self.max_header_bytes < 256 or self.retry_after < 0:
            raise ConfigurationError(
                "max_connections must be >= 1, max_header_bytes >= 256 and retry_after >= 0; "
                f"got {self.max_connections!r}, {self.max_header_bytes!r}, {self.retry_after!r}"
            )


class _Refused(Exception):
    """Stops the parser once a refusal was written."""


def refusal(status: int, message: str, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response in the error envelope, closing the connection."""
    body = error_body(status, message)
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after is not None:
        head.append(f"retry-after: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class ThrottledWarnings(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger for our connections, each warning text logged once a minute at most.

    uvicorn warns once per unparseable request ("Invalid HTTP request received."): a client
    sending garbage in a loop would otherwise fill a disk with the same line.
    """

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logger, {})
        self._throttle = Throttle(every, clock)

    @property
    def level(self) -> int:  # uvicorn reads it to decide on trace logs
        level: int = self.logger.level
        return level

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        more = self._throttle.admit(str(msg))
        if more is not None:
            self.logger.warning(f"{msg}{more}", *args, **kwargs)


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``limits`` (a class attribute: see ``protocol_for``)."""

    limits: ServerLimits = ServerLimits()
    warnings: ThrottledWarnings = ThrottledWarnings(logging.getLogger("uvicorn.error"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = self.warnings  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._refused = False
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _log.warning("refused a connection: %d open", len(self.connections) - 1)
            self._refuse(503, "too many open connections; retry shortly", self.limits.retry_after)
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a refusal stops the parser with an error: no second answer
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        """The request became a WebSocket (another protocol owns the connection now): our
        request deadline no longer applies."""
        self._disarm()
        super().handle_websocket_upgrade()

    def abort_incomplete(self) -> None:
        """On shutdown: close at once if a request is still arriving (it cannot be answered)."""
        if self._deadline is not None and not self.transport.is_closing():
            self._disarm()
            self.transport.close()
            if self.cycle is not None:
                self.cycle.disconnected = True
                self.cycle.message_event.set()

    # -- limits -----------------------------------------------------------------------------

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            self._refuse(
                431,
                f"request line and headers are over {self.limits.max_header_bytes} bytes; "
                "send fewer or shorter headers",
            )
            raise _Refused()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        started = self.cycle is not None and self.cycle.response_started
        if started or self.transport.is_closing():
            return
        _log.info("closed a connection whose request was not complete in time")
        self._refuse(
            408,
            f"the request did not arrive complete within {self.limits.request_timeout:g} s",
        )
        if self.cycle is not None:  # an app reading the body sees the client gone
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    def _refuse(self, status: int, message: str, retry_after: int | None = None) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(refusal(status, message, retry_after))
            self.transport.close()


def protocol_for(limits: ServerLimits) -> type[LimitedProtocol]:
    """A protocol class for uvicorn's ``Config(http=...)`` that applies ``limits``."""
    warnings = ThrottledWarnings(logging.getLogger("uvicorn.error"))  # one budget per server
    attributes: dict[str, Any] = {"limits": limits, "warnings": warnings}
    return type("LimitedProtocol", (LimitedProtocol,), attributes)
