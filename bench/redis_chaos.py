"""The Redis store under chaos: waits and signals over several ``anchor-mfa serve --store
redis://`` instances while an instance is SIGKILLed and Redis is killed (-9) and restarted.

``run_chaos`` drives it and counts; the caller owns the processes and says what to break when
(``Chaos``). Used by ``tests/test_store_redis_chaos.py`` (bounded, in CI) and by
``python -m bench reliability --only chaos`` (``bench/reliability_chaos.py``).

The traffic: ``channels`` events, each with ``per`` signals (unique ids in the data) sent at
random moments over ``spread`` seconds and ``per`` waits made one after the other (a signal
reaches every wait parked on its event), so some signals find a parked wait and some are kept.
Clients behave as the package's client does: a 503 is retried after its ``Retry-After`` (a
signal retried after a 503 may arrive twice: documented), a connection refused is retried on
the other instance (a load balancer's choice), a wait whose connection broke is retried (after
the client's backoff), a signal whose connection broke after it was sent is not resent. A wait
polls until ``budget`` seconds after the start (``poll`` at most per request), so a wait left
parked while its channel holds a kept signal ends 408 on a channel the final drain finds
non-empty: stranded. A signal lost or doubled on an event one of whose waits was on the killed
instance when it died is counted apart (``killed_lost``, ``killed_duplicates``): between Redis
handing it over and the answer being written (or reported), a SIGKILL leaves no way to know
whether the client got it (documented in docs/redis-chaos.md).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from pytest_anchor_mfa.retry import RetryPolicy

__all__ = ["Chaos", "ChaosCounts", "run_chaos"]

_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Chaos:
    """What to break, and when (seconds after the traffic starts); run in a thread."""

    at: float
    name: str
    action: Callable[[], None]


@dataclass
class ChaosCounts:
    signals: int = 0
    waits: int = 0
    acknowledged: int = 0
    """Signals answered 200 (after any retries)."""
    unacknowledged: int = 0
    """Signals whose connection broke after sending (their instance was killed): not resent."""
    received: int = 0
    """Signal ids the waits got (each counted once)."""
    drained: int = 0
    """Signals still kept after the waits ended (taken by the final drain)."""
    lost: int = 0
    """Acknowledged signals neither received nor kept at the end (apart from the next two)."""
    killed_lost: int = 0
    """Lost signals of an event whose wait was on the killed instance when it died: taken in
    Redis, the instance died before its answer was written (documented)."""
    killed_duplicates: int = 0
    """Extra copies of signals of such an event: answered, the instance died before it told
    Redis (documented)."""
    stranded: int = 0
    """Waits answered 408 at last while their channel held a kept signal."""
    duplicates: int = 0
    """Extra copies of signals that never saw a 503 (unexplained)."""
    retried_duplicates: int = 0
    """Extra copies of signals retried after a 503 (documented: may arrive twice)."""
    statuses: Counter[str] = field(default_factory=Counter)
    """Every answer and error the clients saw, by kind."""
    elapsed: float = 0.0
    chaos: list[str] = field(default_factory=list)
    lost_signals: list[str] = field(default_factory=list)
    """What each lost signal's client saw (time, instance port, answer)."""


class _Balancer:
    """Round robin over the instances; one refusing connections is skipped from then on."""

    def __init__(self, urls: Sequence[str], key: str, timeout: float) -> None:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
        self.clients = [
            httpx.AsyncClient(
                base_url=url, headers={"anchor-api-key": key}, timeout=timeout, limits=limits
            )
            for url in urls
        ]
        self.down: set[int] = set()
        self.turn = 0

    def pick(self) -> int:
        up = [i for i in range(len(self.clients)) if i not in self.down] or [0]
        self.turn += 1
        return up[self.turn % len(up)]

    async def post(
        self, path: str, body: Mapping[str, object], seen: Counter[str]
    ) -> httpx.Response:
        """POST on an instance that accepts connections (a refused connect is retried)."""
        for _ in range(len(self.clients) + 1):
            index = self.pick()
            try:
                return await self.clients[index].post(path, json=body)
            except httpx.ConnectError:
                seen["connect refused (retried elsewhere)"] += 1
                self.down.add(index)
        raise RuntimeError("no instance accepts connections")

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _retry_after(answer: httpx.Response) -> float:
    return min(float(answer.headers.get("retry-after", "1")), 2.0) * random.uniform(0.5, 1.0)


class _Run:
    def __init__(self, balancer: _Balancer, poll: float, budget: float) -> None:
        self.lb, self.poll, self.budget = balancer, poll, budget
        self.counts = ChaosCounts()
        self.got: Counter[int] = Counter()
        self.acked: set[int] = set()
        self.retried: set[int] = set()
        self.ended_408: Counter[int] = Counter()
        self.start = time.monotonic()
        self.rng = random.Random(7)
        self.trace: defaultdict[int, list[str]] = defaultdict(list)
        self.waits_seen: defaultdict[int, list[str]] = defaultdict(list)
        self.broken: set[int] = set()
        """Events one of whose waits lost its connection (its instance was killed)."""

    async def signal(self, channel: int, n: int, at: float) -> None:
        await asyncio.sleep(at)
        seen = self.counts.statuses
        while True:
            try:
                answer = await self.lb.post(f"/v1/events/chaos-{channel}", {"data": {"n": n}}, seen)
            except httpx.TransportError as exc:
                seen[f"signal: {type(exc).__name__} after sending (not resent)"] += 1
                self.counts.unacknowledged += 1
                return
            seen[f"signal: {answer.status_code}"] += 1
            self.trace[n].append(f"{time.monotonic() - self.start:.2f}s {answer.request.url.port}"
                                 f" {answer.status_code} {answer.text[:60]}")  # fmt: skip
            if answer.status_code == 200:
                self.acked.add(n)
                return
            if answer.status_code != 503:
                raise RuntimeError(f"signal answered {answer.status_code}: {answer.text[:200]}")
            self.retried.add(n)
            await asyncio.sleep(_retry_after(answer))

    async def waits(self, channel: int, count: int, at: float) -> None:
        """``count`` waits on ``channel``, one after the other (a signal reaches every wait
        parked on its event: one at a time, each signal is for one wait)."""
        await asyncio.sleep(at)
        for _ in range(count):
            if not await self.wait(channel):
                self.ended_408[channel] += 1
            await asyncio.sleep(random.uniform(0, 0.2))

    async def wait(self, channel: int) -> bool:
        seen = self.counts.statuses
        ends = self.start + self.budget
        retries = 0
        while (left := ends - time.monotonic()) > 0.5:
            body = {"timeoutMs": int(min(self.poll, left) * 1000)}
            try:
                answer = await self.lb.post(f"/v1/events/chaos-{channel}/wait", body, seen)
            except httpx.TransportError as exc:
                seen[f"wait: {type(exc).__name__} (retried)"] += 1
                self.waits_seen[channel].append(f"{time.monotonic() - self.start:.2f}s {exc!r}")
                self.broken.add(channel)
                retries += 1
                await asyncio.sleep(_POLICY.delay(retries, self.rng))  # the client's backoff
                continue
            seen[f"wait: {answer.status_code}"] += 1
            at = time.monotonic() - self.start
            self.waits_seen[channel].append(
                f"{at:.2f}s {answer.request.url.port} {answer.status_code}"
            )
            if answer.status_code == 200:
                n = int(answer.json()["data"]["n"])
                self.got[n] += 1
                self.trace[n].append(f"{time.monotonic() - self.start:.2f}s wait got it")
                return True
            if answer.status_code == 503:
                await asyncio.sleep(_retry_after(answer))
            elif answer.status_code != 408:
                raise RuntimeError(f"wait answered {answer.status_code}: {answer.text[:200]}")
        return False

    async def drain(self, channel: int) -> list[int]:
        found: list[int] = []
        for _ in range(1000):
            answer = await self.lb.post(
                f"/v1/events/chaos-{channel}/wait", {"timeoutMs": 0}, self.counts.statuses
            )
            if answer.status_code == 503:
                await asyncio.sleep(_retry_after(answer))
                continue
            if answer.status_code != 200:
                return found
            found.append(int(answer.json()["data"]["n"]))
        return found


async def _break(chaos: Sequence[Chaos], start: float, done: list[str]) -> None:
    for step in sorted(chaos, key=lambda c: c.at):
        await asyncio.sleep(max(0.0, start + step.at - time.monotonic()))
        began = time.monotonic()
        await asyncio.to_thread(step.action)
        took = time.monotonic() - began
        done.append(f"{step.name} at {began - start:.1f} s (took {took:.1f} s)")


async def run_chaos(
    urls: Sequence[str],
    key: str,
    chaos: Sequence[Chaos],
    *,
    channels: int = 40,
    per: int = 5,
    spread: float = 8.0,
    poll: float = 30.0,
    budget: float = 30.0,
    seed: int = 19,
) -> ChaosCounts:
    """Run the traffic against ``urls`` while ``chaos`` happens; count what became of it."""
    rng = random.Random(seed)
    balancer = _Balancer(urls, key, timeout=poll + 10)
    run = _Run(balancer, poll, budget)
    jobs = []
    for channel in range(channels):
        jobs.append(run.waits(channel, per, rng.uniform(0, spread / 4)))
        for k in range(per):
            jobs.append(run.signal(channel, channel * per + k, rng.uniform(0, spread)))
    try:
        breaking = asyncio.ensure_future(_break(chaos, run.start, run.counts.chaos))
        await asyncio.gather(*jobs)
        await breaking
        left = {c: await run.drain(c) for c in range(channels)}
    finally:
        await balancer.aclose()
    return _count(run, left, channels, per)


def _count(run: _Run, left: dict[int, list[int]], channels: int, per: int) -> ChaosCounts:
    counts = run.counts
    counts.signals = counts.waits = channels * per
    counts.acknowledged = len(run.acked)
    every = run.got + Counter(n for found in left.values() for n in found)
    counts.received = len(run.got)
    counts.drained = sum(len(found) for found in left.values())
    lost = run.acked - set(every)
    counts.killed_lost = sum(1 for n in lost if n // per in run.broken)
    counts.lost = len(lost) - counts.killed_lost
    counts.lost_signals = [
        f"{n}: {run.trace[n]}; its event's waits: {run.waits_seen[n // per]}" for n in sorted(lost)
    ]
    counts.stranded = sum(min(n, len(left.get(c, []))) for c, n in run.ended_408.items())
    for n, copies in every.items():
        if copies > 1:
            if n in run.retried:
                counts.retried_duplicates += copies - 1
            elif n // per in run.broken:
                counts.killed_duplicates += copies - 1
            else:
                counts.duplicates += copies - 1
    counts.elapsed = time.monotonic() - run.start
    return counts
