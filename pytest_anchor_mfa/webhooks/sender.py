"""A fake Anchor webhook sender: signs envelopes and posts them with the service's retry rules.

The real service cannot deliver to loopback, so offline tests drive a receiver with this.
Rules: at most ``retry.max_attempts`` attempts
per event (6 by default), the delays drawn by the package's one ``RetryPolicy`` (exponential,
full jitter, milliseconds by default); a 2xx ends the delivery, a 4xx other than 408/429 stops it
(the receiver refused it); 5xx, 408, 429, other statuses, timeouts and connection errors are
retried (this rule is the sender's own: the policy's ``retry_statuses`` are not used). Every
attempt carries the same envelope (same ``id``) and the same ``Anchor-Delivery-Id``, with a
fresh timestamp and signature.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..retry import RetryPolicy
from ..signatures.anchor import SecretsArg, normalize_secrets, sign
from .builders import make_event

__all__ = ["DEFAULT_RETRY", "Attempt", "Delivery", "WebhookSender"]

DEFAULT_RETRY = RetryPolicy(max_attempts=6, backoff_initial=0.001, backoff_max=0.25)
"""The contract's 6 attempts, with delays of milliseconds so that tests stay fast."""


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery: the status (``None`` without an answer), latency and error."""

    status: int | None
    latency_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Delivery:
    """One event's delivery: the envelope, the exact body sent, and every attempt."""

    envelope: dict[str, Any]
    body: bytes
    delivery_id: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the last attempt was answered with a 2xx."""
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def event_id(self) -> str:
        return str(self.envelope.get("id"))

    @property
    def event_type(self) -> str | None:
        value = self.envelope.get("type")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> int | None:
        """The status of the last attempt."""
        return self.attempts[-1].status if self.attempts else None

    def __repr__(self) -> str:
        return (
            f"Delivery(event_id={self.event_id!r}, type={self.event_type!r}, "
            f"delivery_id={self.delivery_id!r}, ok={self.ok}, attempts={self.attempts!r})"
        )


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: building one per client loads the CA bundle again (~15 ms each).
    return ssl.create_default_context()


def _client_options() -> dict[str, Any]:
    # trust_env=False: a proxy from the environment must never intercept loopback deliveries.
    return {"trust_env": False, "verify": _ssl_context()}


def _retryable(status: int) -> bool:
    return not 400 <= status < 500 or status in (408, 429)


def _describe(exc: httpx.RequestError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class WebhookSender:
    """Sign and POST webhook deliveries to ``url``, retrying like the service; sync and async.

    ``secret`` may be a list (rotation): each attempt then carries one ``v1=`` per secret.
    ``retry`` sets the number of attempts and the backoff between them (``DEFAULT_RETRY``).
    ``timeout`` bounds each attempt (the contract's 10 s answer window). ``clock`` gives the
    signing time (unix seconds); tests can shift it. ``client``/``async_client`` are used as
    given and not closed; otherwise the sender owns its clients (``close()``, or ``with``).
    """

    def __init__(
        self,
        url: str,
        secret: SecretsArg,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.url = url
        self.retry = DEFAULT_RETRY if retry is None else retry
        self.timeout = timeout
        self._rng = random.Random()
        self._secrets = normalize_secrets(secret)
        self._clock = clock
        self._client = client
        self._owns_client = client is None
        self._closed = False
        self._lock = threading.Lock()
        self._async_client = async_client

    def __repr__(self) -> str:
        return f"WebhookSender({self.url!r}, max_attempts={self.retry.max_attempts})"

    def close(self) -> None:
        """Close the HTTP client the sender created (not one passed in)."""
        with self._lock:
            self._closed = True
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared by the sync and async loops, which differ only in their I/O --------------------

    @staticmethod
    def _new_delivery(envelope: Mapping[str, Any], delivery_id: str | None) -> Delivery:
        envelope = dict(envelope)
        # Serialised once: every attempt signs and sends the very same bytes.
        body = json.dumps(envelope, separators=(",", ":"), default=_json_default).encode()
        return Delivery(envelope, body, delivery_id or str(uuid.uuid4()))

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        """Fresh timestamp and signature for the next attempt."""
        return sign(
            self._secrets,
            delivery.body,
            int(self._clock()),
            event_type=delivery.event_type,
            delivery_id=delivery.delivery_id,
        )

    def _record(
        self, delivery: Delivery, status: int | None, latency_s: float, error: str | None
    ) -> float | None:
        """Record an attempt; return the delay before the next one, or ``None`` to stop."""
        delivery.attempts.append(Attempt(status, latency_s, error))
        if status is not None and (200 <= status < 300 or not _retryable(status)):
            return None
        if len(delivery.attempts) >= self.retry.max_attempts:
            return None
        return self.retry.delay(len(delivery.attempts), self._rng)  # before retry n = attempts

    # -- sync ------------------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise RuntimeError("this WebhookSender is closed")
            if self._client is None:
                self._client = httpx.Client(**_client_options())
            return self._client

    def send(self, event_type: str, data: Mapping[str, Any], **envelope: Any) -> Delivery:
        """Build an event with ``make_event(event_type, data, **envelope)`` and deliver it."""
        return self.deliver(make_event(event_type, data, **envelope))

    def deliver(self, envelope: Mapping[str, Any], *, delivery_id: str | None = None) -> Delivery:
        """POST ``envelope`` until it is accepted, refused or the attempts run out."""
        delivery = self._new_delivery(envelope, delivery_id)
        client = self._sync_client()
        while True:
            headers = self._headers(delivery)
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                response = client.post(
                    self.url, content=delivery.body, headers=headers, timeout=self.timeout
                )
                status = response.status_code
            except httpx.RequestError as exc:
                error = _describe(exc)
            delay = self._record(delivery, status, time.perf_counter() - started, error)
            if delay is None:
                return delivery
            time.sleep(delay)

    def resend(self, delivery: Delivery) -> Delivery:
        """Deliver the same envelope with the same delivery id again (a redelivery)."""
        return self.deliver(delivery.envelope, delivery_id=delivery.delivery_id)

    # -- async -----------------------------------------------------------------------------------

    async def asend(self, event_type: str, data: Mapping[str, Any], **envelope: Any) -> Delivery:
        """``send`` for async code."""
        return await self.adeliver(make_event(event_type, data, **envelope))

    async def adeliver(
        self, envelope: Mapping[str, Any], *, delivery_id: str | None = None
    ) -> Delivery:
        """``deliver`` for async code."""
        delivery = self._new_delivery(envelope, delivery_id)
        if self._async_client is not None:
            return await self._adeliver(self._async_client, delivery)
        # A client per call: an AsyncClient is bound to the event loop that first used it.
        async with httpx.AsyncClient(**_client_options()) as client:
            return await self._adeliver(client, delivery)

    async def _adeliver(self, client: httpx.AsyncClient, delivery: Delivery) -> Delivery:
        while True:
            headers = self._headers(delivery)
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                response = await client.post(
                    self.url, content=delivery.body, headers=headers, timeout=self.timeout
                )
                status = response.status_code
            except httpx.RequestError as exc:
                error = _describe(exc)
            delay = self._record(delivery, status, time.perf_counter() - started, error)
            if delay is None:
                return delivery
            await asyncio.sleep(delay)

    async def aresend(self, delivery: Delivery) -> Delivery:
        """``resend`` for async code."""
        return await self.adeliver(delivery.envelope, delivery_id=delivery.delivery_id)

    # -- names from before the naming rule (async twins take an ``a`` prefix) ----------------

    async def send_async(
        self, event_type: str, data: Mapping[str, Any], **envelope: Any
    ) -> Delivery:
        """Deprecated: ``asend``."""
        _renamed("send_async", "asend")
        return await self.asend(event_type, data, **envelope)

    async def deliver_async(
        self, envelope: Mapping[str, Any], *, delivery_id: str | None = None
    ) -> Delivery:
        """Deprecated: ``adeliver``."""
        _renamed("deliver_async", "adeliver")
        return await self.adeliver(envelope, delivery_id=delivery_id)

    async def resend_async(self, delivery: Delivery) -> Delivery:
        """Deprecated: ``aresend``."""
        _renamed("resend_async", "aresend")
        return await self.aresend(delivery)


def _renamed(old: str, new: str) -> None:
    warnings.warn(
        f"WebhookSender.{old} is renamed {new} (the old name goes in the next minor version)",
        DeprecationWarning,
        stacklevel=3,
    )
