"""Time-based one-time passwords (RFC 6238) on top of HOTP (RFC 4226), standard library only.

Secrets are base32 as authenticator apps show them: spaces, lowercase and missing ``=``
padding are accepted. No error message ever contains the secret or a code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArgumentError, TotpTimeoutError

__all__ = [
    "TotpGenerator",
    "find_totp_step",
    "hotp",
    "random_secret",
    "time_step",
    "totp",
    "verify_totp",
]

_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_MIN_DIGITS, _MAX_DIGITS = 6, 10  # RFC 4226 asks for >= 6; a 31-bit value has at most 10
# Checked before upper(), which maps some non-ASCII letters (long s, dotless i) to ASCII.
_NOT_BASE32 = re.compile(r"[^A-Za-z2-7]")
_VALID_BASE32_LENGTHS = {0, 2, 4, 5, 7}  # unpadded length mod 8 that a whole number of bytes gives


def _decode_secret(secret: str) -> bytes:
    # Messages give positions and lengths, never characters: a typo'd secret is still secret.
    if not isinstance(secret, str):
        raise InvalidArgumentError(f"TOTP secret must be a base32 str, not {type(secret).__name__}")
    cleaned = "".join(secret.split()).rstrip("=")
    if not cleaned:
        raise InvalidArgumentError("TOTP secret is empty")
    bad = _NOT_BASE32.search(cleaned)
    if bad is not None:
        raise InvalidArgumentError(
            f"TOTP secret is not base32: character {bad.start() + 1} of {len(cleaned)} "
            "(ignoring spaces) is not a letter A-Z or a digit 2-7"
        )
    if len(cleaned) % 8 not in _VALID_BASE32_LENGTHS:
        raise InvalidArgumentError(
            f"TOTP secret has {len(cleaned)} base32 characters, a length no whole number of "
            "bytes encodes to; a character is probably missing or extra"
        )
    try:
        return base64.b32decode(cleaned.upper() + "=" * (-len(cleaned) % 8))
    except binascii.Error:
        raise InvalidArgumentError("TOTP secret is not valid base32") from None


def _check_params(digits: int, algorithm: str, period: int | None = None) -> str:
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise InvalidArgumentError(f"TOTP digits must be an int, not {type(digits).__name__}")
    if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        raise InvalidArgumentError(
            f"TOTP digits must be between {_MIN_DIGITS} and {_MAX_DIGITS}, not {digits}"
        )
    name = algorithm.lower().replace("-", "") if isinstance(algorithm, str) else ""
    if name not in _ALGORITHMS:
        raise InvalidArgumentError(
            f"TOTP algorithm must be one of {', '.join(sorted(_ALGORITHMS))}, not {algorithm!r}"
        )
    if period is not None and (
        isinstance(period, bool) or not isinstance(period, int) or period <= 0
    ):
        raise InvalidArgumentError(f"TOTP period must be a positive int of seconds, not {period!r}")
    return name


def _hotp(key: bytes, counter: int, digits: int, algorithm: str) -> str:
    if counter < 0:
        raise InvalidArgumentError(f"HOTP counter must be >= 0, not {counter}")
    digest = hmac.new(key, struct.pack(">Q", counter), _ALGORITHMS[algorithm]).digest()
    offset = digest[-1] & 0x0F  # RFC 4226 section 5.3, dynamic truncation
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(at: float, period: int = 30) -> int:
    """The RFC 6238 counter ``T`` for Unix time ``at`` (T0 = 0)."""
    if at < 0 or period <= 0:
        raise InvalidArgumentError(f"need time >= 0 and period > 0, not at={at}, period={period}")
    return int(at // period)


def hotp(secret: str, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    """The RFC 4226 one-time password for ``counter``."""
    name = _check_params(digits, algorithm)
    return _hotp(_decode_secret(secret), counter, digits, name)


def totp(
    secret: str,
    *,
    at: float | None = None,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "sha1",
) -> str:
    """The RFC 6238 code for time ``at`` (default: now)."""
    name = _check_params(digits, algorithm, period)
    key = _decode_secret(secret)
    return _hotp(key, time_step(time.time() if at is None else at, period), digits, name)


def find_totp_step(
    secret: str,
    code: str,
    *,
    at: float | None = None,
    window: int = 1,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "sha1",
) -> int | None:
    """The time-step whose code equals ``code``, within ``window`` steps of ``at``; else None.

    A server uses the step for replay protection: accept only steps after the last accepted
    one. Every candidate is compared in constant time, so timing tells nothing about the code.
    """
    name = _check_params(digits, algorithm, period)
    if window < 0:
        raise InvalidArgumentError(f"TOTP window must be >= 0, not {window}")
    key = _decode_secret(secret)
    given = "".join(code.split()).encode() if isinstance(code, str) else b""
    current = time_step(time.time() if at is None else at, period)
    found: int | None = None
    for step in range(max(current - window, 0), current + window + 1):
        # No early exit: the later match wins, and the work done does not depend on the code.
        if hmac.compare_digest(_hotp(key, step, digits, name).encode(), given):
            found = step
    return found


def verify_totp(
    secret: str,
    code: str,
    *,
    at: float | None = None,
    window: int = 1,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "sha1",
) -> bool:
    """Whether ``code`` is valid within ``window`` time-steps of ``at`` (default: now)."""
    step = find_totp_step(
        secret, code, at=at, window=window, digits=digits, period=period, algorithm=algorithm
    )
    return step is not None


def random_secret(nbytes: int = 20) -> str:
    """A new random secret as unpadded base32 (20 bytes = 160 bits, as RFC 4226 recommends)."""
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


class StepLedger:
    """The last time-step used per secret, shared by every process on this machine.

    xdist workers (and parallel runs) logging in the same TOTP user would otherwise each use
    the current step once, and the server would refuse the second as a replay. The record is
    a small file named after a hash of the secret (never the secret), locked with ``flock``.
    """

    def __init__(self, secret: str, directory: str | Path | None = None) -> None:
        folder = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        folder = folder / "pytest-anchor-mfa"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(_decode_secret(secret)).hexdigest()[:24]
        self.path = folder / f"totp-{digest}.step"

    def __repr__(self) -> str:
        return f"StepLedger({str(self.path)!r})"

    @contextmanager
    def claim(self, timeout: float) -> Iterator[_StepCell]:
        """Hold the ledger (bounded by ``timeout``); a new ``cell.step`` is written on exit."""
        import fcntl  # POSIX only; imported here so the module still imports elsewhere

        deadline = time.monotonic() + max(timeout, 0.0)
        with open(self.path, "a+", encoding="ascii") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TotpTimeoutError(
                            f"no TOTP code within {timeout:g} s: another process held the "
                            f"time-step ledger {self.path}"
                        ) from None
                    threading.Event().wait(0.01)  # another process is handing out a code
            try:
                handle.seek(0)
                text = handle.read().strip()
                cell = _StepCell(int(text) if text.isdigit() else None)
                before = cell.step
                yield cell
                if cell.step != before:
                    handle.seek(0)
                    handle.truncate()
                    handle.write(str(cell.step))
                    handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class _StepCell:
    step: int | None


class TotpGenerator:
    """Hands out TOTP codes for one secret, never the same time-step twice.

    Servers refuse a code replayed within its time-step, so a second login in the same
    30 s must wait for the next step. ``clock`` returns Unix seconds and ``sleep`` waits;
    both are injectable for tests. Thread-safe: concurrent callers get distinct steps.
    """

    def __init__(
        self,
        secret: str,
        digits: int = 6,
        period: int = 30,
        *,
        algorithm: str = "sha1",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        ledger: StepLedger | None = None,
    ) -> None:
        self._algorithm = _check_params(digits, algorithm, period)
        self._key = _decode_secret(secret)
        self._digits = digits
        self._period = period
        self._clock = clock
        # Real time must pass; an Event that is never set gives a bounded, monotonic wait.
        self._sleep = sleep if sleep is not None else threading.Event().wait
        self._lock = threading.Lock()
        self._last_step: int | None = None
        self._ledger = ledger

    def __repr__(self) -> str:
        return f"TotpGenerator(digits={self._digits}, period={self._period})"

    @property
    def last_step(self) -> int | None:
        """The time-step of the last code handed out, if any."""
        return self._last_step

    def next_code(self, timeout: float = 60.0) -> str:
        """The current code, or the next step's once it starts if this step was used.

        Raises ``TotpTimeoutError`` (a ``TimeoutError``) at once if the next step starts later
        than ``timeout`` seconds from now (waiting could not help).
        """
        deadline = self._clock() + timeout
        # Callers queue on the lock while one of them waits for the next step; bound that too.
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            raise TotpTimeoutError(
                f"no TOTP code within {timeout:g} s: other callers were still waiting for theirs"
            )
        try:
            if self._ledger is None:
                return self._next_code(deadline, timeout)
            with self._ledger.claim(timeout) as cell:
                if cell.step is not None and (self._last_step or 0) < cell.step:
                    self._last_step = cell.step
                code = self._next_code(deadline, timeout)
                cell.step = self._last_step
                return code
        finally:
            self._lock.release()

    def _next_code(self, deadline: float, timeout: float) -> str:
        while True:
            now = self._clock()
            step = time_step(now, self._period)
            if self._last_step is None or step > self._last_step:
                self._last_step = step
                return _hotp(self._key, step, self._digits, self._algorithm)
            wait = (self._last_step + 1) * self._period - now
            if now + wait > deadline:
                raise TotpTimeoutError(
                    f"this time-step's TOTP code was already used and the next step "
                    f"starts in {wait:.1f} s, after the {timeout:g} s timeout; "
                    f"allow at least the period ({self._period} s)"
                )
            self._sleep(wait)
