"""Typed clients for the events API: ``EventsClient`` (sync) and ``AsyncEventsClient``.

Both share one I/O-free core (``_Call``) that decides, for every attempt, what to send and what an
answer means: the long-poll read timeout always exceeds ``timeoutMs``, 408 is a normal outcome,
401/400 are never retried, connection errors and 429/502/503/504 are retried with exponential
backoff and full jitter, and a retried wait asks only for what is left of the caller's deadline.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, overload
from urllib.parse import quote

import anyio
import httpx
from pydantic import ValidationError

from . import __version__
from .errors import (
    AuthenticationError,
    ConfigurationError,
    EventsAPIError,
    EventTimeoutError,
    InvalidRequestError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from .models import (
    DEFAULT_TIMEOUT_MS,
    ErrorEnvelope,
    SignalRequest,
    SignalResponse,
    WaitRequest,
    WaitResponse,
)
from .redact import mask_key
from .settings import resolve_api_key, resolve_base_url

__all__ = ["AsyncEventsClient", "EventsClient", "RetryPolicy"]

_log = logging.getLogger("pytest_anchor_mfa.client")

DEFAULT_WAIT_TIMEOUT = DEFAULT_TIMEOUT_MS / 1000
_API_PREFIX = "/v1/events/"
_EARLY_408_SLACK = 0.05
"""Seconds left on the caller's deadline below which a 408 ends the wait."""


@dataclass(frozen=True)
class RetryPolicy:
    """When and how fast to retry a call that failed for a transient reason.

    ``max_attempts`` counts the first try. The delay before retry *n* (1-based) is drawn
    uniformly from ``[0, min(backoff_max, backoff_initial * 2 ** (n - 1))]`` ("full jitter"),
    or taken from a ``Retry-After`` header when the server sends one; no retry is started that
    could not finish before the call's deadline.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    retry_statuses: frozenset[int] = field(default=frozenset({429, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy.max_attempts must be >= 1, not {self.max_attempts}"
            )
        if self.backoff_initial < 0 or self.backoff_max < 0:
            raise ConfigurationError("RetryPolicy backoff values must be >= 0")

    def delay(self, retry_number: int, rng: random.Random) -> float:
        cap = min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1))
        return rng.uniform(0, cap)


@dataclass(frozen=True)
class _Send:
    url: str
    body: dict[str, Any]
    timeout: httpx.Timeout


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True)
class _Done:
    value: Any


_Step = _Sleep | _Done


def _validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(
            f"event name must be a non-empty string, got {name!r}", status_code=400
        )
    try:
        name.encode("utf-8")  # the path encoding needs it; lone surrogates cannot be sent
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"event name {name!r} is not valid Unicode text", status_code=400
        ) from None
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

    @property
    def headers(self) -> dict[str, str]:
        return {
            "anchor-api-key": self.api_key,
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
        return f"{self.base_url}{_API_PREFIX}{segment}{suffix}"

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
            raise InvalidRequestError(
                f"signal data must be a mapping of JSON values, got {type(data).__name__}",
                status_code=400,
                event_name=name,
            ) from None
        return _Call(self, "signal", name, body, self.signal_timeout, none_on_timeout=False)

    def wait_call(self, name: str, timeout: float, none_on_timeout: bool) -> _Call:
        name = _validate_name(name)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidRequestError(
                f"wait timeout must be a number of seconds, got {timeout!r}",
                status_code=400,
                event_name=name,
            )
        if not math.isfinite(timeout) or timeout < 0:
            raise InvalidRequestError(
                f"wait timeout must be a finite number of seconds >= 0, got {timeout!r}",
                status_code=400,
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
        self.started = time.monotonic()
        self.deadline = self.started + budget
        self.attempt = 0
        self.retries = 0
        self.sent_at = self.started
        self.asked = 0.0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def next_send(self) -> _Send:
        self.attempt += 1
        self.sent_at = time.monotonic()
        if self.kind == "signal":
            timeout = httpx.Timeout(
                max(self.remaining(), 0.001), connect=min(self.core.connect_timeout, self.budget)
            )
            return _Send(self.core.url(self.name), self.body, timeout)
        poll = min(max(self.remaining(), 0.0), self.core.max_poll)
        timeout_ms = math.floor(poll * 1000)
        self.asked = timeout_ms / 1000
        body = WaitRequest(timeoutMs=timeout_ms).to_json()
        # The read timeout must outlive the long poll, or a healthy 30 s wait dies at httpx's
        # default 5 s and looks like a network error.
        read = timeout_ms / 1000 + self.core.read_margin
        timeout = httpx.Timeout(read, connect=self.core.connect_timeout, pool=read)
        return _Send(self.core.url(self.name, "/wait"), body, timeout)

    # -- outcomes -------------------------------------------------------------------------------

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
                quick = time.monotonic() - self.sent_at < self.asked / 2
                return _Sleep(min(0.25, self.remaining() / 2) if quick else 0.0)
            if self.none_on_timeout:
                return _Done(None)
            raise EventTimeoutError(
                f"no signal within {self.budget:g} s", event_name=self.name, timeout=self.budget
            )
        message = self._error_message(response)
        if status in self.core.retry.retry_statuses:
            step = self._retry(f"HTTP {status}", _retry_after(response.headers))
            if step is not None:
                return step
            exc_type: type[EventsAPIError] = RateLimitedError if status == 429 else ServerError
            raise exc_type(
                self._gave_up(message), status_code=status, event_name=self.name
            ) from None
        if status == 401:
            raise AuthenticationError(
                f"{message} (the API key {mask_key(self.core.api_key)} was refused: "
                "check ANCHOR_API_KEY / --anchor-api-key)",
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
        took = time.monotonic() - self.started
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


# Every request passes its own timeout; this one only applies to requests made directly.
_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_TransportT = TypeVar("_TransportT")
_HttpT = TypeVar("_HttpT")


class _ClientBase(Generic[_TransportT, _HttpT]):
    """Settings and representation shared by the sync and async clients."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        signal_timeout: float = 30.0,
        read_margin: float = 10.0,
        max_poll: float = 600.0,
        connect_timeout: float = 10.0,
        transport: _TransportT | None = None,
    ) -> None:
        """``api_key``/``base_url`` default to the environment (see ``settings``).

        ``signal_timeout`` is a signal's whole budget; a wait's read timeout is its poll plus
        ``read_margin``; a longer wait is split into polls of at most ``max_poll`` seconds.
        """
        self._core = _Core(
            api_key,
            base_url,
            retry or RetryPolicy(),
            signal_timeout,
            read_margin,
            max_poll,
            connect_timeout,
        )
        self._http: _HttpT = self._open(transport)

    def _open(self, transport: _TransportT | None) -> _HttpT:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._core.repr(type(self).__name__)

    @property
    def base_url(self) -> str:
        return self._core.base_url


class EventsClient(_ClientBase[httpx.BaseTransport, httpx.Client]):
    """Synchronous client for ``signal`` and ``wait``.

    >>> with EventsClient() as events:                  # key from ANCHOR_API_KEY
    ...     events.signal("mfa_code", {"code": "123456"})
    ...     events.wait("mfa_code", timeout=30)         # -> {"code": "123456"}

    ``timeout`` is in seconds and is the whole budget of the call, retries included.
    """

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(headers=self._core.headers, timeout=_HTTP_TIMEOUT, transport=transport)

    def _run(self, call: _Call) -> Any:
        while True:
            send = call.next_send()
            try:
                response = self._http.post(send.url, json=send.body, timeout=send.timeout)
            except httpx.TransportError as exc:
                step = call.on_transport_error(exc)
            else:
                step = call.on_response(response)
            if isinstance(step, _Done):
                return step.value
            time.sleep(step.seconds)  # backoff between attempts, bounded by the deadline

    def signal(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Signal ``name`` with ``data`` (a JSON object); returns the server's status string."""
        status: str = self._run(self._core.signal_call(name, data))
        return status

    @overload
    def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[False] = ...
    ) -> dict[str, Any]: ...
    @overload
    def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[True]
    ) -> dict[str, Any] | None: ...
    def wait(
        self, name: str, timeout: float = DEFAULT_WAIT_TIMEOUT, *, none_on_timeout: bool = False
    ) -> dict[str, Any] | None:
        """Block until ``name`` is signaled and return its data.

        Raises ``EventTimeoutError`` after ``timeout`` seconds, or returns None with
        ``none_on_timeout=True`` (the docs' "408 means no event").
        """
        result: dict[str, Any] | None = self._run(
            self._core.wait_call(name, timeout, none_on_timeout)
        )
        return result

    # Names used by the official ``anchorbrowser`` SDK.
    def signal_event(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Alias of :meth:`signal`, named like the official SDK's call."""
        return self.signal(name, data)

    def wait_for_event(self, name: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict[str, Any]:
        """Like :meth:`wait` with the timeout in milliseconds, as the official SDK takes it."""
        return self.wait(name, timeout_ms / 1000)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EventsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncEventsClient(_ClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """Asynchronous twin of :class:`EventsClient` (asyncio or trio, via anyio)."""

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=self._core.headers, timeout=_HTTP_TIMEOUT, transport=transport
        )

    async def _run(self, call: _Call) -> Any:
        while True:
            send = call.next_send()
            try:
                response = await self._http.post(send.url, json=send.body, timeout=send.timeout)
            except httpx.TransportError as exc:
                step = call.on_transport_error(exc)
            else:
                step = call.on_response(response)
            if isinstance(step, _Done):
                return step.value
            await anyio.sleep(step.seconds)

    async def signal(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Signal ``name`` with ``data``; returns the server's status string."""
        status: str = await self._run(self._core.signal_call(name, data))
        return status

    @overload
    async def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[False] = ...
    ) -> dict[str, Any]: ...
    @overload
    async def wait(
        self, name: str, timeout: float = ..., *, none_on_timeout: Literal[True]
    ) -> dict[str, Any] | None: ...
    async def wait(
        self, name: str, timeout: float = DEFAULT_WAIT_TIMEOUT, *, none_on_timeout: bool = False
    ) -> dict[str, Any] | None:
        """Wait until ``name`` is signaled and return its data (see :meth:`EventsClient.wait`)."""
        result: dict[str, Any] | None = await self._run(
            self._core.wait_call(name, timeout, none_on_timeout)
        )
        return result

    async def signal_event(self, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Alias of :meth:`signal`, named like the official SDK's call."""
        return await self.signal(name, data)

    async def wait_for_event(
        self, name: str, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> dict[str, Any]:
        """Like :meth:`wait` with the timeout in milliseconds, as the official SDK takes it."""
        return await self.wait(name, timeout_ms / 1000)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEventsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
