"""Random raw HTTP requests for the events API: what a hostile or broken client could send.

``FuzzGenerator(seed, api_key).request()`` builds one ``FuzzRequest``: the exact bytes to write
(request line, headers, framed body) and whether to half-close afterwards. Everything comes
from one ``random.Random``, so a seed replays the same sequence of requests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["OVERSIZE_BYTES", "FuzzGenerator", "FuzzRequest"]

OVERSIZE_BYTES = 1024 * 1024
"""The server's body limit (``MAX_BODY_BYTES``); oversize bodies go past it."""

_METHODS = ["POST"] * 12 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
_ODD_METHODS = ["post", "FOO", "CONNECT", "TRACE", "P\x00ST", "POST\tX", "ΠOST", ""]
_PREFIXES = ["/v1/events/"] * 5 + ["/api/v1/events/"] * 4 + ["/v1/event/", "/", "/v1/events"]
_ODD_PREFIXES = ["//v1/events/", "/v1//events/", "/API/V1/EVENTS/", "/v1/events/../events/", "*"]
_SUFFIXES = [""] * 6 + ["/wait"] * 6 + ["/wait/", "/", "/WAIT", "/wait/x", "/wait?x=1"]
_SAFE_SETS = ["", "", "", "/", "%", "/%", "?#", ".", "/%?#;=&+:@"]
_ODD_NAMES = [
    "", ".", "..", "wait", "a/wait", "%2F", "%", "x" * 256, "x" * 257, "mfa code", "\x00",
    "a\r\nb", "a?b", "a#b", "ünïcödé", "💥", "\u200b", "\ufeff", "con", "null", "%ED%A0%80",
]  # fmt: skip
_RAW_PATH_BITS = ["%", "%zz", "%0", "%00", "%C3%28", "%ED%A0%80", "%FF%FE", "%2e%2e", "%u00e9"]
_RAW_PATH_BYTES = [b"\xff", b"\xc3\x28", b" ", b"\t", b"\x7f", b"\x00", b"\xed\xa0\x80"]
_VERSIONS = [b"HTTP/1.1"] * 20 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTX/1.1", b""]
_CONTENT_TYPES = [
    b"application/json", b"application/json", b"text/plain", b"application/json; charset=latin-1",
    b"multipart/form-data; boundary=x", b"application/x-www-form-urlencoded", b"\xff\xfe", b"",
]  # fmt: skip
_BAD_JSON = [
    b"{", b"}", b'{"data": }', b"{'data': {}}", b'{"data": {"a": 1},}', b'{"data": {"a": 1}',
    b'{"data": {"x": NaN}}', b'{"data": {"x": Infinity}}', b'{"timeoutMs": -Infinity}',
    b"\xef\xbb\xbf{}", b"\x00", b"null", b"[]", b'"str"', b"1", b"true", b'{"data" {}}',
    b'{"data": {"a": "\\x41"}}', b'{"data": {"a": "\\u12"}}', b'{"a": 1} {"b": 2}', b"{}",
    b'{"data": {"a": 1}}\x00', b"\xff\xfe{\x00}\x00", b'{"data": {"a": 01}}', b'{"data": .5}',
]  # fmt: skip
_SURROGATE_BODIES = [
    b'{"data": {"x": "\\ud800"}}', b'{"data": {"\\udfff": 1}}', b'{"data": {"x": "a\\udbff"}}',
    b'{"data": {"x": "\xed\xa0\x80"}}', b'{"timeoutMs": 1, "x": "\\ud800"}',
    b'{"data": {"x": ["\\udc00", {"y": "\\ud83d"}]}}', b'{"data": {"x": "\\ud83d\\ude00"}}',
    b'{"data": {"x": 1}, "extra": "\\udfff"}', b'{"data": {"x": "\xff\xfe"}}',
]  # fmt: skip


@dataclass(frozen=True)
class FuzzRequest:
    kind: str
    """What the body tries: ``signal``, ``wait``, ``bad-json``, ``oversize``..."""
    framing: str
    """How the body is framed: ``exact``, ``chunked``, ``truncated``, ``bad-length``..."""
    method: str
    wire: bytes
    """Everything to write, head and framed body."""
    half_close: bool
    """Shut the write side after ``wire`` (a client that hangs up mid-body)."""
    expect_answer: bool = True
    """False where the server cannot answer (it saw the client hang up before the request
    was complete): closing without an answer is then the right outcome."""


def _deep(depth: int, closed: bool) -> bytes:
    inner = b'{"a": ' * depth + b"1" + (b"}" * depth if closed else b"")
    return b'{"data": ' + inner + (b"}" if closed else b"")


class FuzzGenerator:
    """Builds random requests; ``api_key`` is the server's valid key."""

    def __init__(self, seed: int, api_key: str, host: str, port: int) -> None:
        self.rng = random.Random(seed)
        self._key = api_key.encode()
        self._host = f"{host}:{port}".encode()

    # -- request line -------------------------------------------------------------------------

    def _text(self, size: int) -> str:
        rng = self.rng
        pools = [(0x20, 0x7E)] * 4 + [(0x80, 0x7FF), (0x800, 0xFFFF), (0x1F300, 0x1F64F), (0, 0x1F)]
        chars = []
        for _ in range(size):
            low, high = rng.choice(pools)
            code = rng.randint(low, high)
            chars.append(chr(code if not 0xD800 <= code <= 0xDFFF else 0x41))
        return "".join(chars)

    def _name(self) -> str:
        rng, r = self.rng, self.rng.random()
        if r < 0.35:
            return f"fuzz-{rng.randint(0, 50)}"
        if r < 0.6:
            return self._text(rng.randint(1, 40))
        if r < 0.68:
            return "".join(chr(rng.randint(0xD800, 0xDFFF)) for _ in range(rng.randint(1, 3)))
        if r < 0.85:
            return rng.choice(_ODD_NAMES)
        if r < 0.95:
            return "".join(rng.choice("aé💥") for _ in range(rng.randint(250, 270)))
        return "y" * rng.choice([3000, 10_000, 12_000])  # near and past the header-bytes cap

    def _path(self) -> bytes:
        rng = self.rng
        prefix = rng.choice(_PREFIXES if rng.random() < 0.95 else _ODD_PREFIXES)
        encoded = quote(self._name(), safe=rng.choice(_SAFE_SETS), errors="surrogatepass")
        if rng.random() < 0.1:
            encoded += rng.choice(_RAW_PATH_BITS)
        path = (prefix + encoded + rng.choice(_SUFFIXES)).encode("ascii", "replace")
        if rng.random() < 0.05:
            path += rng.choice(_RAW_PATH_BYTES) + b"x"
        if rng.random() < 0.05:
            path += rng.choice([b"?timeoutMs=5", b"#frag", b"?", b"?a=%ff"])
        return path

    def _method(self) -> str:
        return self.rng.choice(_METHODS if self.rng.random() < 0.97 else _ODD_METHODS)

    # -- headers ------------------------------------------------------------------------------

    def _keys(self) -> list[tuple[bytes, bytes]]:
        rng, key, r = self.rng, self._key, self.rng.random()
        name = b"anchor-api-key" if rng.random() < 0.9 else b"Anchor-API-Key"
        if r < 0.6:
            return [(name, key)]
        if r < 0.68:
            return []
        if r < 0.76:
            return [(name, rng.choice([b"sk-wrong", key[:-1], key + b"x", key.upper(), b""]))]
        if r < 0.84:
            second = key if rng.random() < 0.5 else b"sk-other"
            return [(name, key), (b"anchor-api-key", second)]
        if r < 0.92:
            return [(name, bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 30))))]
        return [(name, b" " + key + b" "), (b"authorization", b"Bearer " + key)]

    def _extra_headers(self) -> list[tuple[bytes, bytes]]:
        rng = self.rng
        headers: list[tuple[bytes, bytes]] = []
        if rng.random() < 0.8:
            headers.append((b"content-type", rng.choice(_CONTENT_TYPES)))
        if rng.random() < 0.1:
            headers.append((b"content-type", rng.choice(_CONTENT_TYPES)))  # a duplicate
        for _ in range(rng.choice([0, 0, 0, 1, 2, 3])):
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz-") for _ in range(8)).encode()
            top = 0xFF if rng.random() < 0.2 else 0x7E  # mostly what a parser accepts
            value = bytes(rng.randint(0x21, top) for _ in range(rng.randint(1, 40)))
            headers.extend([(name, value)] * rng.choice([1, 1, 2]))
        if rng.random() < 0.03:
            headers.append((b"expect", b"100-continue"))
        if rng.random() < 0.02:
            headers.append((b"x-big", b"z" * rng.choice([8000, 20_000, 40_000])))  # 431 past 32 KiB
        if rng.random() < 0.01:
            headers.append((b"bad header", b"x"))  # not a token: unparseable
        return headers

    # -- bodies -------------------------------------------------------------------------------

    def _value(self, depth: int = 0) -> Any:
        rng, r = self.rng, self.rng.random()
        if depth < 3 and r < 0.2:
            return [self._value(depth + 1) for _ in range(rng.randint(0, 4))]
        if depth < 3 and r < 0.4:
            return {self._text(rng.randint(0, 8)): self._value(depth + 1) for _ in range(3)}
        scalars: list[Any] = [None, True, False, rng.randint(-(10**20), 10**20), rng.random()]
        return rng.choice([*scalars, self._text(rng.randint(0, 20)), "123456"])

    def _json(self, body: Any) -> bytes:
        return json.dumps(body, ensure_ascii=self.rng.random() < 0.5).encode()

    def _valid_body(self, kind: str) -> bytes:
        rng = self.rng
        if kind == "signal":
            code = f"{rng.randint(0, 999_999):06d}"
            return self._json({"data": {"code": code, "v": self._value()}})
        return self._json({"timeoutMs": rng.randint(0, 60)} if rng.random() < 0.9 else {})

    def _wrong_types(self) -> bytes:
        rng = self.rng
        odd: list[Any] = [[1], "s", 1, 1.5, True, None, [], {}, -1, 10**30, "5", [{"a": 1}]]
        choices = [
            {"data": rng.choice(odd)},
            {"timeoutMs": rng.choice(odd)},
            {"data": {"a": 1}, "timeoutMs": rng.choice(odd)},
            {"data": {"a": 1}, "extra": self._value()},
            {"timeoutMs": 5, "data": {"a": 1}},
            {"DATA": {"a": 1}},
            [{"data": {"a": 1}}],
        ]
        return self._json(rng.choice(choices))

    def _huge_numbers(self) -> bytes:
        rng = self.rng
        digits = "9" * rng.choice([20, 400, 4300, 5000, 50_000])
        number = rng.choice([digits, "-" + digits, "1e400", "-1e400", "1e-400", digits + ".5"])
        field = rng.choice([b'{"timeoutMs": %s}', b'{"data": {"n": %s}}', b'{"data": %s}'])
        return field % number.encode()

    def _oversize(self) -> bytes:
        extra = self.rng.randint(1, 100_000)
        head = b'{"data": {"blob": "'
        return head + b"x" * (OVERSIZE_BYTES + extra - len(head) - 3) + b'"}}'

    def _body(self) -> tuple[str, bytes]:
        rng, r = self.rng, self.rng.random()
        table: list[tuple[float, str]] = [
            (0.16, "signal"), (0.32, "wait"), (0.44, "wrong-types"), (0.54, "random-bytes"),
            (0.64, "bad-json"), (0.72, "huge-numbers"), (0.79, "deep-nesting"),
            (0.90, "lone-surrogates"), (0.985, "empty"), (1.01, "oversize"),
        ]  # fmt: skip
        kind = next(name for limit, name in table if r < limit)
        if kind in ("signal", "wait"):
            return kind, self._valid_body(kind)
        if kind == "random-bytes":
            return kind, rng.randbytes(rng.choice([1, 10, 100, 300, 5000]))
        if kind == "deep-nesting":
            depth = rng.choice([50, 500, 990, 2000, 100_000])
            return kind, b"[" * depth if rng.random() < 0.3 else _deep(depth, rng.random() < 0.7)
        simple = {
            "wrong-types": self._wrong_types,
            "bad-json": lambda: rng.choice(_BAD_JSON),
            "huge-numbers": self._huge_numbers,
            "lone-surrogates": lambda: rng.choice(_SURROGATE_BODIES),
            "empty": lambda: b"",
            "oversize": self._oversize,
        }
        return kind, simple[kind]()

    # -- framing and the whole request ---------------------------------------------------------

    def _chunks(self, body: bytes, complete: bool) -> bytes:
        rng, out, at = self.rng, [], 0
        while at < len(body):
            piece = body[at : at + rng.randint(1, max(1, len(body) // 3 + 1))]
            out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
            at += len(piece)
        if not complete:
            return b"".join(out)[: rng.randint(0, max(0, sum(map(len, out)) - 1))]
        return b"".join(out) + b"0\r\n\r\n"

    def _bad_length(self, body: bytes) -> list[tuple[bytes, bytes]]:
        n = str(len(body)).encode()
        return self.rng.choice(
            [
                [(b"content-length", b"abc")],
                [(b"content-length", b"-1")],
                [(b"content-length", n + b" 2")],
                [(b"content-length", b"+" + n)],
                [(b"content-length", n), (b"content-length", n + b"1")],
                [(b"content-length", n), (b"content-length", n)],
                [(b"content-length", n), (b"transfer-encoding", b"chunked")],
                [(b"content-length", b"9" * 25)],
                [(b"transfer-encoding", b"gzip")],
                [(b"transfer-encoding", b"chunked, chunked")],
            ]
        )

    def _frame(self, body: bytes) -> tuple[str, list[tuple[bytes, bytes]], bytes, bool, bool]:
        """(framing, length headers, body bytes to send, half-close, answer expected)."""
        rng, r = self.rng, self.rng.random()
        te = [(b"transfer-encoding", b"chunked")]
        if r < 0.78:
            return "exact", [(b"content-length", str(len(body)).encode())], body, False, True
        if r < 0.86:
            return "chunked", te, self._chunks(body, True), False, True
        if r < 0.91:
            declared = str(len(body) + rng.randint(1, 1000)).encode()
            sent = body[: rng.randint(0, len(body))]
            return "truncated", [(b"content-length", declared)], sent, True, False
        if r < 0.93:
            return "truncated-chunked", te, self._chunks(body, False), True, False
        if r < 0.933:
            declared = str(len(body) + 10).encode()
            return "truncated-held", [(b"content-length", declared)], body, False, True
        if r < 0.973:
            return "bad-length", self._bad_length(body), body, False, True
        return "no-length", [], body, False, True

    def request(self) -> FuzzRequest:
        rng = self.rng
        method = self._method()
        kind, body = self._body()
        framing, length_headers, payload, half_close, expect = self._frame(body)
        headers = self._keys() + self._extra_headers() + length_headers
        if rng.random() < 0.97:
            headers.append((b"host", self._host))
        rng.shuffle(headers)
        if rng.random() < 0.85:
            headers.append((b"connection", b"close"))
        version = rng.choice(_VERSIONS)
        line = method.encode() + b" " + self._path() + (b" " + version if version else b"")
        head = b"\r\n".join([line, *(name + b": " + value for name, value in headers)])
        wire = head + b"\r\n\r\n" + payload
        return FuzzRequest(kind, framing, method, wire, half_close, expect)
