"""Link extraction in ``python -m bench extraction``: accuracy on the link corpus, and its time
per ~100 kB HTML message beside code extraction's, measured in the same run.

Accuracy: every message of ``tests/link_corpus.json`` (rendered from real products' own
templates), the best link against the expected one, beside a naive baseline (the first
``href`` of the HTML, else the first URL of the text). Speed: ``extract_links`` and
``extract_codes`` on the same documents, interleaved run by run (so machine load hits both
alike); the ratio is links / codes per run, reported as its median and spread.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_anchor_mfa.codes import extract_codes
from pytest_anchor_mfa.codes.links import best_link, extract_links

__all__ = ["link_accuracy_lines", "link_speed_lines"]

CORPUS_PATH = Path(__file__).resolve().parent.parent / "tests" / "link_corpus.json"
_NAIVE = re.compile(r"""href=["']?(https?://[^"'\s>]+)|(https?://[^\s<>"']+)""")


def _naive(entry: dict[str, Any]) -> str | None:
    for body in (entry["html"], entry["text"]):
        match = _NAIVE.search(body or "")
        if match:
            return (match.group(1) or match.group(2)).replace("&amp;", "&")
    return None


def link_accuracy_lines() -> list[str]:
    corpus = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    ours = [e["id"] for e in corpus if best_link(e["text"], e["html"]) != e["expected"]]
    naive = sum(_naive(e) == e["expected"] for e in corpus)
    n = len(corpus)
    return [
        "| messages | n | best_link | naive first link |",
        "|---|---:|---:|---:|",
        f"| link corpus | {n} | {n - len(ours)}/{n} | {naive}/{n} |",
        "",
        f"Missed by best_link: {', '.join(ours) if ours else 'none'}.",
    ]


def _one_run_ms(work: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) * 1000 / calls


def link_speed_lines(documents: dict[str, str], runs: int, calls: int) -> list[str]:
    lines = [
        f"{runs} runs of {calls} calls each, codes and links interleaved run by run; "
        "milliseconds per call (median, and min-max over runs); ratio = links / codes per run.",
        "",
        "| document | extract_codes ms | extract_links ms | ratio links/codes |",
        "|---|---|---|---|",
    ]
    for name, document in documents.items():
        codes = functools.partial(extract_codes, html=document)
        links = functools.partial(extract_links, html=document)
        codes(), links()  # warm-up
        code_ms, link_ms = [], []
        for _ in range(runs):
            code_ms.append(_one_run_ms(codes, calls))
            link_ms.append(_one_run_ms(links, calls))
        ratios = [link / code for link, code in zip(link_ms, code_ms, strict=True)]
        lines.append(
            f"| {name} ({len(document):,} chars) | {_spread(code_ms)} | {_spread(link_ms)} | "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |"
        )
    return lines


def _spread(figures: list[float]) -> str:
    return f"{statistics.median(figures):.2f} ({min(figures):.2f}-{max(figures):.2f})"
