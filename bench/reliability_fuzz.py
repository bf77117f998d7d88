"""Section 1 of ``python -m bench reliability``: random raw requests against the fake server.

Each request (``bench/fuzzgen.py``) goes on a connection of its own, from ``workers`` clients in
parallel on one asyncio loop; the first answer is read and classified: a 500 or another 5xx, a
non-2xx that is not the error envelope, uvicorn's own plain-text 400 for unparseable HTTP (the
known exception, counted apart), a 2xx whose body is not ``{"data": {...}}``, no answer at all
(right only when the client hung up mid-request) or none within the read timeout (a hang).
Afterwards a normal signal and wait must still work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

from .fuzzgen import FuzzGenerator, FuzzRequest
from .rawhttp import RawConnection, event_path
from .server_proc import ServerProcess

__all__ = ["FuzzResult", "run_fuzz"]

_MAX_BODY = 4 * 1024 * 1024
UVICORN_400 = b"Invalid HTTP request received."
_NO_ANSWER = ("reset-before-answer", "unexpected-close", "closed-after-hang-up")
BAD_OUTCOMES = (
    "http-500",
    "non-envelope",
    "2xx-malformed",
    "no-answer-in-time",
    "unexpected-close",
)


class BadAnswer(Exception):
    """The bytes that came back are not an HTTP response."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        return (self.headers.get(name) or [""])[0]


@dataclass
class FuzzResult:
    requested: int
    sent: int = 0
    elapsed_s: float = 0.0
    truncated: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    after_ok: bool = False
    after_detail: str = ""
    reset_by: Counter[str] = field(default_factory=Counter)
    """Requests that got a reset or a close instead of an answer, by body kind and framing."""
    server_logs: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(level, logger, message, count): what the server logged at WARNING and up."""

    def note(self, outcome: str, request: FuzzRequest, detail: str) -> None:
        self.outcomes[outcome] += 1
        if outcome in ("reset-before-answer", "unexpected-close"):
            self.reset_by[f"{request.kind}/{request.framing}"] += 1
        if outcome in BAD_OUTCOMES or outcome in ("other-5xx", "uvicorn-plain-400", *_NO_ANSWER):
            shown = self.examples.setdefault(outcome, [])
            if len(shown) < 3:
                line = request.wire.split(b"\r\n", 1)[0][:100]
                shown.append(f"{request.kind}/{request.framing} {line!r}: {detail}")


class SockReader:
    """What ``read_answer`` needs of a reader, on a plain non-blocking socket.

    Not an asyncio stream on purpose: a stream whose send fails (the server answered early and
    closed while the body was still going out) aborts its transport and drops the answer that
    had already arrived; here the kernel's receive buffer is still read after a failed send.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._eof = False
        self._error: OSError | None = None

    async def _fill(self) -> None:
        if self._eof:
            if self._error is not None and not self._buffer:
                raise self._error
            raise asyncio.IncompleteReadError(bytes(self._buffer), None)
        try:
            chunk = await self._loop.sock_recv(self._sock, 65536)
        except OSError as exc:
            self._error, chunk = exc, b""
        if chunk:
            self._buffer += chunk
        else:
            self._eof = True

    def _take(self, size: int) -> bytes:
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def readuntil(self, separator: bytes) -> bytes:
        while (at := self._buffer.find(separator)) < 0:
            if len(self._buffer) > 65536:
                raise BadAnswer("response head over 64 KiB")
            await self._fill()
        return self._take(at + len(separator))

    async def readexactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._fill()
        return self._take(size)

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes, reading until EOF (or an error) or ``size``."""
        while not self._eof and len(self._buffer) < size:
            await self._fill()
        return self._take(size)


async def _read_body(reader: SockReader, answer_head: Answer) -> bytes:
    length = answer_head.header("content-length")
    if length:
        size = int(length)
        if not 0 <= size <= _MAX_BODY:
            raise BadAnswer(f"content-length {length!r}")
        return await reader.readexactly(size)
    if "chunked" in answer_head.header("transfer-encoding").lower():
        parts: list[bytes] = []
        while sum(len(part) for part in parts) <= _MAX_BODY:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        raise BadAnswer("chunked body too long")
    return await reader.read(_MAX_BODY)  # up to EOF


def _parse_head(head: bytes) -> Answer:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise BadAnswer(f"status line {lines[0][:80]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Answer(int(parts[1]), headers, b"")


async def read_answer(reader: SockReader, method: str) -> Answer | None:
    """The first final response (1xx skipped); None when the connection closed before it."""
    for _ in range(5):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                return None
            raise BadAnswer(f"closed inside a response head: {exc.partial[:80]!r}") from None
        answer = _parse_head(head)
        if answer.status >= 200:
            if method == "HEAD" or answer.status in (204, 304):
                return answer
            return Answer(answer.status, answer.headers, await _read_body(reader, answer))
    raise BadAnswer("five 1xx answers in a row")


def envelope_problem(answer: Answer) -> str | None:
    """Why ``answer`` (a non-2xx) is not ``{"error": {"code": status, "message": "..."}}``."""
    if not answer.header("content-type").startswith("application/json"):
        return f"content-type {answer.header('content-type')!r}, body {answer.body[:80]!r}"
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"body is not JSON: {answer.body[:80]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(error, dict):
        return f"body {answer.body[:120]!r}"
    if set(error) != {"code", "message"} or error["code"] != answer.status:
        return f"error object {answer.body[:120]!r}"
    if not isinstance(error["message"], str) or not error["message"]:
        return "empty message"
    return None


def classify(answer: Answer | None, request: FuzzRequest) -> tuple[str, str]:
    """(outcome, detail) of one request's first answer."""
    if answer is None:
        if request.expect_answer:
            return "unexpected-close", "closed without an answer"
        return "closed-after-hang-up", ""
    status = answer.status
    if status == 500:
        return "http-500", answer.body[:160].decode("utf-8", "replace")
    if status > 500:
        return "other-5xx", f"{status} {answer.body[:120]!r}"
    if request.method == "HEAD":
        return "head-answer", ""
    if 200 <= status < 300:
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if isinstance(body, dict) and set(body) == {"data"} and isinstance(body["data"], dict):
            return "2xx", ""
        return "2xx-malformed", f"{status} {answer.body[:120]!r}"
    plain = answer.header("content-type").startswith("text/plain")
    if status == 400 and plain and answer.body == UVICORN_400:
        return "uvicorn-plain-400", ""
    problem = envelope_problem(answer)
    return ("non-envelope", f"{status}: {problem}") if problem else ("envelope", "")


async def _send_one(
    host: str, port: int, request: FuzzRequest, timeout: float
) -> tuple[str, str, int | None]:
    """(outcome, detail, status) of one request on a connection of its own."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        except (OSError, TimeoutError) as exc:
            return "connect-failed", repr(exc), None
        with contextlib.suppress(OSError, TimeoutError):  # the server may have answered early
            await asyncio.wait_for(loop.sock_sendall(sock, request.wire), timeout)
            if request.half_close:
                sock.shutdown(socket.SHUT_WR)
        answer = await asyncio.wait_for(read_answer(SockReader(sock), request.method), timeout)
    except TimeoutError:
        return "no-answer-in-time", f"nothing within {timeout:g} s", None
    except ConnectionError as exc:
        return "reset-before-answer", type(exc).__name__, None
    except (BadAnswer, asyncio.IncompleteReadError, ValueError) as exc:
        return "broken-answer", f"{type(exc).__name__}: {exc}"[:160], None
    finally:
        sock.close()
    outcome, detail = classify(answer, request)
    return outcome, detail, None if answer is None else answer.status


async def _worker(
    gen: FuzzGenerator,
    result: FuzzResult,
    server: ServerProcess,
    deadline: float,
    timeout: float,
) -> None:
    while result.sent < result.requested:
        if time.perf_counter() > deadline:
            result.truncated = True
            return
        request = gen.request()
        result.sent += 1
        result.kinds[request.kind] += 1
        outcome, detail, status = await _send_one(server.host, server.port, request, timeout)
        if status is not None:
            result.statuses[status] += 1
        result.note(outcome, request, detail)


async def check_still_serving(server: ServerProcess, event: str) -> tuple[bool, str]:
    """A normal signal, then a wait that must return its data."""
    payload = {"code": "424242", "after": "fuzz"}
    conn = await RawConnection.open(server.host, server.port, server.api_key, 5.0)
    try:
        signaled = await asyncio.wait_for(
            conn.request(event_path(event, wait=False), {"data": payload}), 10.0
        )
        waited = await asyncio.wait_for(
            conn.request(event_path(event, wait=True), {"timeoutMs": 0}), 10.0
        )
    finally:
        await conn.close()
    ok = signaled[0] == 200 and waited == (200, {"data": payload})
    return ok, f"signal {signaled[0]}, wait {waited[0]}" + ("" if ok else f": {waited[1]!r}")


async def _fuzz(
    server: ServerProcess, requests: int, workers: int, seed: int, budget: float, timeout: float
) -> FuzzResult:
    result = FuzzResult(requested=requests)
    gen = FuzzGenerator(seed, server.api_key, server.host, server.port)
    started = time.perf_counter()
    deadline = started + budget
    await asyncio.gather(*(_worker(gen, result, server, deadline, timeout) for _ in range(workers)))
    result.elapsed_s = time.perf_counter() - started
    result.after_ok, result.after_detail = await check_still_serving(server, "after-the-fuzz")
    return result


def run_fuzz(
    requests: int, workers: int, seed: int, budget: float, request_timeout: float
) -> FuzzResult:
    """Fuzz a fresh server whose waits end within 50 ms and whose requests must arrive within
    ``request_timeout`` seconds; each answer is awaited ``request_timeout + 3`` s at most."""
    kwargs = {"max_timeout_ms": 50, "limits": {"request_timeout": request_timeout}}
    with ServerProcess(server_kwargs=kwargs, capture_logs=True) as server:
        result = asyncio.run(_fuzz(server, requests, workers, seed, budget, request_timeout + 3.0))
        result.server_logs = server.logs()
    return result
