"""A loopback HTTP server that misbehaves on purpose, for the client's deadline tests.

Raw sockets and threads, so nothing in it is polite by accident. Modes:

- ``hang_after_accept``: reads the request, never answers.
- ``never_accept``: a listening socket (backlog 0) that never accepts, its accept queue filled by
  one connection of its own: on Linux a further connect gets no SYN-ACK and blocks.
- ``trickle``: sends a valid 200 answer one byte every ``trickle_interval`` s, headers first (the
  answer is long enough to outlast any test).
- ``trickle_body``: sends the headers at once, then the body one byte every ``trickle_interval`` s.
- ``drop_mid_response``: sends the headers and half the body, then closes the connection.
- ``always_503`` / ``always_429``: the error envelope at once, ``Retry-After: <retry_after>``
  when ``retry_after`` is set.
- ``instant_408``: the 408 envelope at once, whatever ``timeoutMs`` was asked.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

MODES = (
    "hang_after_accept",
    "never_accept",
    "trickle",
    "trickle_body",
    "drop_mid_response",
    "always_503",
    "always_429",
    "instant_408",
)

_REASONS = {200: "OK", 408: "Request Timeout", 429: "Too Many Requests", 503: "Service Unavailable"}


def _response(status: int, body: bytes, extra: str = "") -> tuple[bytes, bytes]:
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    ).encode()
    return head, body


class MisbehavingServer:
    """``MisbehavingServer(mode).start()``; ``url``, ``requests`` (the JSON bodies), ``stop()``."""

    def __init__(
        self, mode: str, *, retry_after: str | None = None, trickle_interval: float = 0.2
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.retry_after = retry_after
        self.trickle_interval = trickle_interval
        self.requests: list[Any] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0 if mode == "never_accept" else 64)
        self.port: int = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MisbehavingServer:
        if self.mode == "never_accept":
            filler = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            self._conns.append(filler)  # fills the accept queue of backlog 0
        else:
            self._listener.settimeout(0.05)
            self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> MisbehavingServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="misbehaving")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._conns.append(conn)
            self._spawn(self._serve, conn)

    def _read_request(self, conn: socket.socket, buffered: bytes) -> tuple[Any, bytes] | None:
        data = buffered
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        body, leftover = rest[:length], rest[length:]
        is_wait = head.split(b" ")[1].endswith(b"/wait")
        with self._lock:
            self.requests.append(json.loads(body) if body else None)
        return is_wait, leftover

    def _serve(self, conn: socket.socket) -> None:
        buffered = b""
        try:
            while not self._stopping.is_set():
                request = self._read_request(conn, buffered)
                if request is None:
                    return
                is_wait, buffered = request
                if not self._answer(conn, is_wait):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, is_wait: bool) -> bool:
        """Answer one request; False when the connection must not be used again."""
        mode = self.mode
        if mode == "hang_after_accept":
            self._stopping.wait()
            return False
        if mode in ("always_503", "always_429", "instant_408"):
            status = {"always_503": 503, "always_429": 429, "instant_408": 408}[mode]
            extra = f"retry-after: {self.retry_after}\r\n" if self.retry_after is not None else ""
            envelope = {"error": {"code": status, "message": f"misbehaving: {mode}"}}
            head, body = _response(status, json.dumps(envelope).encode(), extra)
            conn.sendall(head + body)
            return True
        data = {"data": {"n": 1}} if is_wait else {"data": {"status": "ok"}}
        if mode == "drop_mid_response":
            head, body = _response(200, json.dumps(data).encode())
            conn.sendall(head + body[: len(body) // 2])
            conn.shutdown(socket.SHUT_WR)  # the end of the stream, after the partial answer
            return False
        # trickle, trickle_body: a valid answer, padded so it outlasts any test.
        data["data"]["padding"] = "x" * 2000
        head, body = _response(200, json.dumps(data).encode(), "x-padding: " + "y" * 2000 + "\r\n")
        if mode == "trickle_body":
            conn.sendall(head)
            self._trickle(conn, body)
        else:
            self._trickle(conn, head + body)
        return True

    def _trickle(self, conn: socket.socket, payload: bytes) -> None:
        for i in range(len(payload)):
            if self._stopping.wait(self.trickle_interval):
                return
            conn.sendall(payload[i : i + 1])
