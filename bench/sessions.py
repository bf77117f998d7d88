"""``python -m bench sessions``: what ``--anchor-browser session`` costs, offline (the fake).

Two measurements, side by side in one run, with the system Chromium:

* (a) time to a usable page: ``local`` is what pytest-playwright does (launch Chromium, open a
  page, ``evaluate("1")``); ``session`` is what the plugin does in session mode against the fake
  (create a session over HTTP, the fake launches its Chromium, Playwright connects over CDP
  through the fake's proxy, opens a page, ``evaluate("1")``). Each run ends its browser or
  session before the next; ``--starts`` runs of each (10), alternating.
* (b) the proxy's overhead per CDP round trip: one session's Chromium, one page open through
  the proxy and one through a direct CDP connection to the same browser; ``page.evaluate("1")``
  ``--round-trips`` times (1000) on each, alternating in blocks of 50.

Figures are milliseconds: the median, the 90th percentile and the extremes (the spread). Live
sessions are not measured: their start is Anchor's, plus the network. ``--quick``: 3 starts
and 200 round trips. Exit status: 0 when every measurement ran, 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from pytest_anchor_mfa.server import FakeEventServer
from pytest_anchor_mfa.sessions.chromium import SYSTEM_CHROMIUM_FLAGS
from pytest_anchor_mfa.sessions.client import SessionsClient

from .stats import Dist

__all__ = ["main"]

_BLOCK = 50


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _local_start(playwright: Any, chromium: str) -> float:
    started = time.perf_counter()
    browser = playwright.chromium.launch(
        executable_path=chromium, args=["--no-sandbox", *SYSTEM_CHROMIUM_FLAGS]
    )
    page = browser.new_page()
    page.evaluate("1")
    took = _ms(started)
    browser.close()
    return took


def _session_start(playwright: Any, client: SessionsClient) -> float:
    started = time.perf_counter()
    session = client.create({})
    browser = playwright.chromium.connect_over_cdp(session.cdp_url)
    page = browser.new_context().new_page()
    page.evaluate("1")
    took = _ms(started)
    browser.close()
    client.end(session.id)
    return took


def _round_trips(page: Any, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        page.evaluate("1")
        times.append(_ms(started))
    return times


def _alternate(runs: int, *measures: Callable[[], list[float]]) -> list[list[float]]:
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for sample, measure in zip(samples, measures, strict=True):
            sample.extend(measure())
    return samples


def _row(name: str, dist: Dist, low: float) -> str:
    return f"| {name} | {dist.n} | {dist.p50:.2f} | {dist.p90:.2f} | {low:.2f} to {dist.max:.2f} |"


def _measure(chromium: str, starts: int, round_trips: int) -> list[str]:
    from playwright.sync_api import sync_playwright

    lines = ["| what | n | median ms | p90 ms | min to max ms |", "|---|---|---|---|---|"]
    with FakeEventServer(chromium=chromium, max_sessions=2) as fake, sync_playwright() as pw:
        client = SessionsClient(fake.api_key, fake.url)
        _local_start(pw, chromium), _session_start(pw, client)  # warm the disk cache
        local, session = _alternate(
            starts, lambda: [_local_start(pw, chromium)], lambda: [_session_start(pw, client)]
        )
        created = client.create({})
        proxied = pw.chromium.connect_over_cdp(created.cdp_url)
        (running,) = fake.sessions.running()
        direct = pw.chromium.connect_over_cdp(running.browser.ws_url)
        via_proxy = proxied.new_context().new_page()
        straight = direct.new_context().new_page()
        _round_trips(via_proxy, _BLOCK), _round_trips(straight, _BLOCK)  # warm-up
        blocks = max(1, round_trips // _BLOCK)
        over_proxy, over_direct = _alternate(
            blocks,
            lambda: _round_trips(via_proxy, _BLOCK),
            lambda: _round_trips(straight, _BLOCK),
        )
        direct.close()
        proxied.close()
        client.end(created.id)
        client.close()
    for name, sample in (
        ("(a) usable page, local launch", local),
        ("(a) usable page, session on the fake", session),
        ("(b) evaluate('1'), direct CDP", over_direct),
        ("(b) evaluate('1'), through the proxy", over_proxy),
    ):
        lines.append(_row(name, Dist.of(sample), min(sample)))
    overhead = Dist.of(over_proxy).p50 - Dist.of(over_direct).p50
    lines.append("")
    lines.append(f"Proxy overhead per CDP round trip (median vs median): {overhead * 1000:.0f} µs")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sessions", description=__doc__)
    parser.add_argument("--starts", type=int, default=10, help="starts of each kind (10)")
    parser.add_argument("--round-trips", type=int, default=1000, help="evaluate calls each (1000)")
    parser.add_argument("--quick", action="store_true", help="3 starts, 200 round trips")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="browser to use")
    args = parser.parse_args(argv)
    if args.chromium is None:
        print("bench sessions: no chromium on PATH; pass --chromium PATH", file=sys.stderr)
        return 2
    starts, trips = (3, 200) if args.quick else (args.starts, args.round_trips)
    try:
        lines = _measure(args.chromium, starts, trips)
    except Exception as exc:
        print(f"bench sessions: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    where = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"
    print(f"## Sessions: local browser vs Anchor session on the fake ({where})\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
