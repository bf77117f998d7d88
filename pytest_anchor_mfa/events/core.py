"""The I/O-free logic of one events API call across its attempts, shared by both clients.

``_Core`` holds a client's configuration and builds calls; ``_Call`` decides, for every attempt,
what to send (URL, body, timeouts, and the hard limit of the whole attempt) and what an answer, a
transport error or an attempt cut at that limit means: a result, a pause before the next attempt,
or one of our exceptions. The clients only do the I/O. ``_Call`` reads time only through its
``clock``, so its decisions can be tested with a fake clock and no sleeps.

The deadline: no attempt may run past the caller's deadline plus ``DEADLINE_GRACE`` (time for a
server's own 408, sent at the deadline, to arrive). Every httpx timeout of an attempt is capped by
that, and the clients enforce ``_Send.limit`` on the whole request (httpx's read timeout is per
read, so a server trickling bytes would defeat it), which keeps every call within its budget plus
``DEADLINE_GRACE``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from .._version import __version__
from ..contract import API_KEY_HEADER, DEFAULT_TIMEOUT_MS, EVENTS_PATH, WAIT_SUFFIX
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    EventsApiError,
    EventTimeoutError,
    InvalidArgumentError,
    InvalidRequestError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from ..redact import mask_key
from ..retry import RetryPolicy
from .models import (
    ErrorEnvelope,
    SignalRequest,
    SignalResponse,
    WaitRequest,
    WaitResponse,
)
from .settings import resolve_api_key, resolve_base_url

_log = logging.getLogger("pytest_anchor_mfa.client")

DEFAULT_WAIT_TIMEOUT = DEFAULT_TIMEOUT_MS / 1000
_EARLY_408_SLACK = 0.05
"""Seconds left on the caller's deadline below which a 408 ends the wait."""
DEADLINE_GRACE = 0.25
"""Seconds an attempt may run past the caller's deadline, so a 408 sent at the deadline arrives."""

Clock = Callable[[], float]
"""Seconds from a monotonic origin: ``time.monotonic`` outside the tests."""


@dataclass(frozen=True)
class _Send:
    url: str
    body: dict[str, Any] = field(repr=False)  # signal data may hold an MFA code
    timeout: httpx.Timeout
    limit: float
    """Seconds the whole attempt (connect, send, every byte of the answer) may take."""


@dataclass(frozen=True)
class _Cut:
    """The client stopped an attempt at ``_Send.limit``; ``maybe_sent``: the request may have
    reached the server (false only when the client knows no byte of it was sent)."""

    maybe_sent: bool


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True)
class _Done:
    value: Any


_Step = _Sleep | _Done


def _validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"event name must be a non-empty string, got {name!r}")
    try:
        name.encode("utf-8")  # the path encoding needs it; lone surrogates cannot be sent
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"event name {name!r} is not valid Unicode text") from None
    return name


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date; rare for this API, fall back to our own backoff
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _Core:
    """Configuration and request/response logic shared by the sync and async clients."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        retry: RetryPolicy,
        signal_timeout: float,
        read_margin: float,
        max_poll: float,
        connect_timeout: float,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        key = resolve_api_key(api_key)
        if key is None:
            raise ConfigurationError(
                "no Anchor API key: pass api_key=..., or set ANCHOR_API_KEY "
                "(or ANCHORBROWSER_API_KEY) in the environment"
            )
        if signal_timeout <= 0 or read_margin < 0 or max_poll <= 0 or connect_timeout <= 0:
            raise ConfigurationError(
                "signal_timeout, max_poll and connect_timeout must be > 0 and read_margin >= 0"
            )
        self.api_key = key
        self.base_url = resolve_base_url(base_url)
        self.retry = retry
        self.signal_timeout = signal_timeout
        self.read_margin = read_margin
        self.max_poll = max_poll
        self.connect_timeout = connect_timeout
        self.rng = random.Random()
        self.clock = clock

    @property
    def headers(self) -> dict[str, str]:
        return {
            API_KEY_HEADER: self.api_key,
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"pytest-anchor-mfa/{__version__}",
        }

    def url(self, name: str, suffix: str = "") -> str:
        # safe="" so "/" and every other reserved character is percent-encoded: a name can
        # never change which endpoint is called.
        segment = quote(name, safe="")
        if segment in (".", ".."):
            # quote() leaves dots alone, and httpx would remove a "." or ".." path segment.
            segment = segment.replace(".", "%2E")
        return f"{self.base_url}{EVENTS_PATH}{segment}{suffix}"

    def repr(self, cls: str) -> str:
        return f"{cls}(base_url={self.base_url!r}, api_key={mask_key(self.api_key)!r})"

    def scrub(self, text: str) -> str:
        """Remove the API key from text that came from the server (proxies echo headers)."""
        return text.replace(self.api_key, mask_key(self.api_key)) if self.api_key else text

    def signal_call(self, name: str, data: Mapping[str, Any] | None) -> _Call:
        name = _validate_name(name)
        try:
            body = SignalRequest(data=dict(data) if data is not None else {}).model_dump()
            json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")  # sendable?
        except (ValidationError, TypeError, ValueError):
            raise InvalidArgumentError(
                f"signal data must be a mapping of JSON values, got {type(data).__name__}",
                event_name=name,
            ) from None
        return _Call(self, "signal", name, body, self.signal_timeout, none_on_timeout=False)

    def wait_call(self, name: str, timeout: float, none_on_timeout: bool) -> _Call:
        name = _validate_name(name)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidArgumentError(
                f"wait timeout must be a number of seconds, got {timeout!r}", event_name=name
            )
        if not math.isfinite(timeout) or timeout < 0:
            raise InvalidArgumentError(
                f"wait timeout must be a finite number of seconds >= 0, got {timeout!r}",
                event_name=name,
            )
        return _Call(self, "wait", name, {}, float(timeout), none_on_timeout=none_on_timeout)


class _Call:
    """One logical call across its attempts: decides what to send and what an answer means."""

    def __init__(
        self,
        core: _Core,
        kind: Literal["signal", "wait"],
        name: str,
        body: dict[str, Any],
        budget: float,
        *,
        none_on_timeout: bool,
    ) -> None:
        self.core = core
        self.kind = kind
        self.name = name
        self.body = body
        self.budget = budget
        self.none_on_timeout = none_on_timeout
        self.clock = core.clock
        self.started = self.clock()
        self.deadline = self.started + budget
        self.attempt = 0
        self.retries = 0
        self.sent_at = self.started
        self.asked = 0.0
        # Whether the deadline (rather than connect_timeout, or the poll plus read_margin) set
        # this attempt's connect / read-write-pool timeouts: if such a timeout fires, the
        # caller's budget ran out, the server did not break the long-poll contract.
        self.connect_cut = False
        self.read_cut = False

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def next_send(self) -> _Send:
        self.attempt += 1
        self.sent_at = self.clock()
        left = max(self.deadline - self.sent_at, 0.0)
        limit = left + DEADLINE_GRACE
        if self.kind == "signal":
            # No 408 to wait for: httpx gives up at the deadline, the client's hard limit
            # (for a server that trickles its answer) a moment later.
            budget = max(left, 0.001)
            timeout = httpx.Timeout(budget, connect=min(self.core.connect_timeout, budget))
            self.connect_cut = self.read_cut = True
            return _Send(self.core.url(self.name), self.body, timeout, limit)
        poll = min(left, self.core.max_poll)
        timeout_ms = math.floor(poll * 1000)
        self.asked = timeout_ms / 1000
        body = WaitRequest(timeoutMs=timeout_ms).to_json()
        # The read timeout must outlive the long poll, or a healthy 30 s wait dies at httpx's
        # default 5 s and looks like a network error; and it must not outlive the caller's
        # deadline by more than the grace.
        read = min(self.asked + self.core.read_margin, limit)
        connect = min(self.core.connect_timeout, limit)
        self.read_cut = read == limit
        self.connect_cut = connect == limit
        timeout = httpx.Timeout(read, connect=connect, pool=read)
        return _Send(self.core.url(self.name, WAIT_SUFFIX), body, timeout, limit)

    # -- outcomes -------------------------------------------------------------------------------

    def on_outcome(self, outcome: httpx.Response | httpx.TransportError | _Cut) -> _Step:
        """What one attempt's outcome means (the clients' single entry point)."""
        if isinstance(outcome, httpx.Response):
            return self.on_response(outcome)
        if isinstance(outcome, _Cut):
            return self.on_deadline(maybe_sent=outcome.maybe_sent)
        return self.on_transport_error(outcome)

    def on_deadline(self, *, maybe_sent: bool) -> _Step:
        """The attempt was still unanswered when its hard limit (deadline + grace) passed.

        A wait ran out of time: that is a timeout, as if the server had answered 408. A signal
        gets no answer in time: a ``TransportError`` that says whether it may have been sent.
        """
        if self.kind == "wait":
            _log.info("wait %r: no answer by the deadline", self.name)
            return self._timed_out(" (the server had not answered the last poll by then)")
        what = f"no answer from {self.core.base_url} within the signal's {self.budget:g} s"
        if maybe_sent:
            what += " (the signal may or may not have been delivered; not resent)"
        raise TransportError(self._gave_up(what), event_name=self.name, maybe_delivered=maybe_sent)

    def on_response(self, response: httpx.Response) -> _Step:
        status = response.status_code
        if status == 200:
            return _Done(self._parse_ok(response))
        if status == 408 and self.kind == "wait":
            if self.remaining() > _EARLY_408_SLACK:
                # Time is left: the wait was split into polls (max_poll), or the server ended
                # the poll early (a cap of its own). Poll again for the rest; pause first if
                # the server answered in under half the time asked, so a server that always
                # answers 408 at once is not hammered.
                _log.debug("wait %r: poll ended with time left, polling again", self.name)
                quick = self.clock() - self.sent_at < self.asked / 2
                return _Sleep(min(0.25, self.remaining() / 2) if quick else 0.0)
            return self._timed_out("")
        message = self._error_message(response)
        if status in self.core.retry.retry_statuses:
            step = self._retry(f"HTTP {status}", _retry_after(response.headers))
            if step is not None:
                return step
            exc_type: type[EventsApiError] = RateLimitedError if status == 429 else ServerError
            raise exc_type(
                self._gave_up(message), status_code=status, event_name=self.name
            ) from None
        if status == 401:
            raise AuthenticationError(
                f"{message} (the API key {mask_key(self.core.api_key)} was refused)",
                status_code=status,
                event_name=self.name,
            )
        if status >= 500:
            raise ServerError(message, status_code=status, event_name=self.name)
        raise InvalidRequestError(message, status_code=status, event_name=self.name)

    def on_transport_error(self, exc: httpx.TransportError) -> _Step:
        # A signal is not idempotent: retry only when the request surely never reached the
        # server, or a resent signal could queue a stale second code.
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if self.kind == "wait" and self._cut_by_deadline(exc):
            return self.on_deadline(maybe_sent=sent)
        if self.kind == "wait" or not sent:
            step = self._retry(type(exc).__name__, None)
            if step is not None:
                return step
        what = f"{type(exc).__name__} talking to {self.core.base_url}"
        detail = self.core.scrub(str(exc))
        if detail:
            what += f": {detail}"
        if self.kind == "signal" and sent:
            what += " (the signal may or may not have been delivered; not resent)"
        raise TransportError(self._gave_up(what), event_name=self.name, maybe_delivered=sent)

    def _cut_by_deadline(self, exc: httpx.TransportError) -> bool:
        """Did a timeout set by the caller's deadline (not by a setting) end the attempt?"""
        if isinstance(exc, httpx.ConnectTimeout):
            return self.connect_cut
        if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
            return self.read_cut
        return False

    def _timed_out(self, detail: str) -> _Done:
        if self.none_on_timeout:
            return _Done(None)
        raise EventTimeoutError(
            f"no signal within {self.budget:g} s{detail}",
            event_name=self.name,
            timeout=self.budget,
        )

    def _retry(self, reason: str, retry_after: float | None) -> _Sleep | None:
        if self.retries + 1 >= self.core.retry.max_attempts:
            return None
        self.retries += 1
        delay = (
            retry_after
            if retry_after is not None
            else self.core.retry.delay(self.retries, self.core.rng)
        )
        if delay >= self.remaining():
            return None
        _log.info(
            "%s %r: %s on attempt %d, retrying in %.2f s",
            self.kind,
            self.name,
            reason,
            self.attempt,
            delay,
        )
        return _Sleep(delay)

    def _gave_up(self, message: str) -> str:
        if self.attempt == 1:
            return message
        took = self.clock() - self.started
        return f"{message} (gave up after {self.attempt} attempts in {took:.1f} s)"

    def _error_message(self, response: httpx.Response) -> str:
        try:
            message = ErrorEnvelope.model_validate_json(response.content).error.message
        except ValidationError:
            text = response.text.strip().replace("\n", " ")
            message = text[:200] + ("…" if len(text) > 200 else "") or response.reason_phrase
        return self.core.scrub(message) or f"HTTP {response.status_code}"

    def _parse_ok(self, response: httpx.Response) -> Any:
        model = SignalResponse if self.kind == "signal" else WaitResponse
        try:
            parsed = model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ServerError(
                f"unexpected 200 body for {self.kind}: {exc.errors()[0]['msg']}",
                status_code=200,
                event_name=self.name,
            ) from None
        if isinstance(parsed, SignalResponse):
            return parsed.data.status
        return parsed.data
