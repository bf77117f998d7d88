"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for the events API only.

It is the thinnest client that speaks the API (one request at a time per connection, bodies with
``Content-Length``): it shows what the server costs when the client costs almost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import quote

__all__ = ["RawConnection", "event_path"]


def event_path(event: str, *, wait: bool) -> str:
    return f"/v1/events/{quote(event, safe='')}" + ("/wait" if wait else "")


class RawConnection:
    """One keep-alive connection; ``request`` = ``send`` then ``receive``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        api_key: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._head = (
            f"Host: {host}:{port}\r\nanchor-api-key: {api_key}\r\n"
            "content-type: application/json\r\naccept: application/json\r\n"
        ).encode()

    @classmethod
    async def open(cls, host: str, port: int, api_key: str, timeout: float) -> RawConnection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer, host, port, api_key)

    def send(self, path: str, body: Any) -> None:
        """Write a POST of ``body`` as JSON (buffered by the transport; returns at once)."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._writer.write(
            b"POST %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n%s"
            % (path.encode(), self._head, len(payload), payload)
        )

    async def receive(self) -> tuple[int, Any]:
        """Read one response; returns (status, parsed JSON body)."""
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise RuntimeError(f"response without Content-Length: {lines[0]!r}")
        body = await self._reader.readexactly(length)
        return status, json.loads(body) if body else None

    async def request(self, path: str, body: Any) -> tuple[int, Any]:
        self.send(path, body)
        return await self.receive()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)
