"""``python -m bench extraction``: MFA code extraction, accuracy and speed, as markdown.

Accuracy: every message of the hand-written corpus (``tests/inbound_corpus.py``), ours side by
side with a naive baseline (the first ``\\b\\d{6}\\b`` of the text, then of the HTML with its tags
replaced by spaces). Speed: one ~100 kB HTML newsletter (a code near the top, then rows full of
prices, dates, phone numbers, hex colours and tracking URLs), timed in several runs; the target
is a median under 5 ms. ``html.parser`` reducing the same document is timed for reference.
Hostile input: the inputs of ``ADVERSARIAL`` (``tests/inbound_corpus.py``), made to make a code
finder quadratic or backtrack, and seeded random text, each call under 50 ms (the tests only
catch gross regressions, with bounds a loaded machine never reaches). Links (``bench.links``):
accuracy on the link corpus, and ``extract_links`` timed beside ``extract_codes`` on the same
~100 kB documents in the same run.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import functools
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path

from pytest_anchor_mfa.codes import extract_codes, extract_from_message
from pytest_anchor_mfa.codes.html_text import html_to_text
from pytest_anchor_mfa.codes.rule import CodeRule

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from inbound_corpus import ADVERSARIAL, CORPUS, Sample, html_mail
from real_corpus import REAL_CORPUS

from .links import link_accuracy_lines, link_speed_lines

__all__ = ["main", "newsletter_html", "transactional_html"]

TARGET_MS = 5.0
HOSTILE_TARGET_MS = 50.0
"""Per call on hostile input (~100 kB, or random text): linear work takes a few ms."""
_TAG = re.compile(r"<[^>]*>")

_PRODUCT_ROW = """<tr><td style="padding:12px 24px;border-bottom:1px solid #e5e5e5;">
<a href="https://click.mailer.example.net/ls/click?upn=7f3a9c{i:06d}-2Fab&amp;id={i}">
<img src="https://cdn.mailer.example.net/p/{i:04d}/a1b2c3d4e5f6-{i}.jpg" width="160" alt=""></a>
<p style="color:#202123;font-size:16px;margin:0;">Item {i} &ndash; Limited edition</p>
<p style="color:#10a37f;">Now $1,{i:03d}.99 <s style="color:#8a8f98">$2,{i:03d}.00</s>
&middot; 123.456 &euro; &middot; SKU 4{i:05d}</p>
<p style="color:#6e6e80;">Offer ends 4/30/2025 at 12:30 &middot; Order by 2025-04-30
&middot; Call 800-531-8722 &middot; +49 30 1234567 &middot; Ref: 5{i:05d}</p>
</td></tr>
"""


_CSS_RULE = (
    ".c{i} {{ color: #{i:06x}; background-color: #f{i:05x}; border: 1px solid #e5e5e5; "
    "font-family: Helvetica, Arial, sans-serif; padding: {i}px 0; }}\n"
)
_TEXT_ROW = """<tr><td class="c{i}" style="padding:16px 24px;color:#202123;font-size:15px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>
<td width="48" valign="top"><img src="https://cdn.mailer.example.net/icons/f3a9c2e1/icon.png"
 width="32" height="32" alt=""></td><td style="line-height:22px;">Keep your account safe: never
share your sign-in details, check the address bar before you type your password, and turn on
notifications for new devices. <a href="https://example.com/help/security?utm_source=mail"
style="color:#10a37f;text-decoration:underline;">Learn more</a></td></tr></table></td></tr>
"""


def transactional_html(size: int = 100_000) -> str:
    """A typical ~``size`` characters sign-in mail: a large style sheet, nested tables, tips,
    a legal footer; few numbers. Its code (``482913``) is in a box near the top."""
    rows = [
        '<tr><td style="padding:24px;">Your verification code is</td></tr>'
        '<tr><td class="code" style="font-size:32px;letter-spacing:6px;">482913</td></tr>'
    ]
    css = "".join(_CSS_RULE.format(i=i) for i in range(200))
    i = 0
    while len(css) + sum(map(len, rows)) < size - 3500:
        rows.append(_TEXT_ROW.format(i=i % 200))
        i += 1
    document = html_mail("Your Example verification code", "\n".join(rows), footer=_FOOTER)
    return document.replace("</head>", f"<style>{css}</style></head>", 1)


_FOOTER = (
    "Example Inc., 548 Market St #123456, San Francisco, CA 94104 &middot; Call 800-531-8722 "
    '&middot; <a href="https://example.com/unsubscribe?id=123456">Unsubscribe</a> &middot; '
    "&copy; 2025 Example"
)


def newsletter_html(size: int = 100_000) -> str:
    """A number-dense HTML mail of about ``size`` characters (a stress case: every row holds
    prices, dates, phone numbers, SKUs and references); its code (``482913``) near the top."""
    rows = [
        '<tr><td style="padding:24px;">Your verification code is <b style="color:#202123;'
        'font-size:28px">482913</b>. It expires in 10 minutes.</td></tr>'
    ]
    i = 0
    while sum(map(len, rows)) < size - 3000:
        rows.append(_PRODUCT_ROW.format(i=i))
        i += 1
    return html_mail("Your Example verification code", "\n".join(rows), footer="&copy; 2025")


# --- accuracy ------------------------------------------------------------------------------


def _naive_pattern(rule: CodeRule | None) -> re.Pattern[str]:
    if rule is None:
        return re.compile(r"\b\d{6}\b")
    if rule.length is not None:
        return re.compile(rf"\b\d{{{rule.length}}}\b")
    return re.compile(rf"\b(?:{rule.pattern.pattern})\b")


def _naive_texts(sample: Sample) -> list[str]:
    if sample.raw is None:
        texts = [sample.text or ""]
        return [*texts, _TAG.sub(" ", sample.html or "")]
    message = email.message_from_bytes(sample.raw, policy=email.policy.default)
    texts = [str(message.get("Subject", ""))]
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        body = _decoded(part)
        texts.append(_TAG.sub(" ", body) if part.get_content_type() == "text/html" else body)
    return texts


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return payload.decode("latin-1")


def naive_code(sample: Sample) -> str | None:
    """The baseline: the first match of ``\\b\\d{6}\\b`` (or the rule's length) in reading order."""
    pattern = _naive_pattern(sample.rule)
    for text in _naive_texts(sample):
        match = pattern.search(text)
        if match:
            return match.group()
    return None


def our_code(sample: Sample) -> str | None:
    if sample.raw is not None:
        found = extract_from_message(sample.raw, rule=sample.rule)
    else:
        found = extract_codes(sample.text, sample.html, rule=sample.rule)
    return found[0].value if found else None


@dataclass
class _Tally:
    total: int = 0
    ours: int = 0
    naive: int = 0


def _accuracy_lines(
    corpus: list[Sample] = CORPUS, group: Callable[[Sample], str] = lambda s: s.kind
) -> list[str]:
    tallies: dict[str, _Tally] = {}
    misses: list[str] = []
    for sample in corpus:
        tally = tallies.setdefault(group(sample), _Tally())
        ours, naive = our_code(sample), naive_code(sample)
        tally.total += 1
        tally.ours += ours == sample.expected
        tally.naive += naive == sample.expected
        if ours != sample.expected:
            misses.append(sample.id)
    total = _Tally(
        sum(t.total for t in tallies.values()),
        sum(t.ours for t in tallies.values()),
        sum(t.naive for t in tallies.values()),
    )
    lines = [
        "| messages | n | extract_codes | naive first match |",
        "|---|---:|---:|---:|",
    ]
    for kind, t in [*sorted(tallies.items()), ("**all**", total)]:
        lines.append(f"| {kind} | {t.total} | {_pct(t.ours, t.total)} | {_pct(t.naive, t.total)} |")
    with_code = sum(s.expected is not None for s in corpus)
    lines.append("")
    lines.append(
        f"{with_code} messages carry a code, {len(corpus) - with_code} carry none (the right "
        "answer is then no candidate at all)."
    )
    lines.append(f"Missed by extract_codes: {', '.join(misses) if misses else 'none'}.")
    return lines


def _pct(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total:.0%})" if total else "-"


# --- speed ---------------------------------------------------------------------------------


class _TextCollector(HTMLParser):
    """The cheapest html.parser reduction: keep every text chunk (for the time reference)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _parse_with_html_parser(document: str) -> str:
    parser = _TextCollector()
    parser.feed(document)
    parser.close()
    return "".join(parser.chunks)


def _per_call_ms(work: Callable[[], object], runs: int, calls: int) -> list[float]:
    """Milliseconds per call, one figure per run of ``calls`` calls (after one warm-up call)."""
    work()
    figures = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(calls):
            work()
        figures.append((time.perf_counter() - started) * 1000 / calls)
    return figures


def _timing_row(label: str, figures: list[float], target: bool) -> str:
    median = statistics.median(figures)
    verdict = ("MET" if median < TARGET_MS else "MISS") if target else ""
    return (
        f"| {label} | {median:.3f} | {min(figures):.3f} | {max(figures):.3f} | "
        f"{'< 5 ms' if target else ''} | {verdict} |"
    )


def _speed_lines(size: int, runs: int, calls: int) -> list[str]:
    documents = {
        "typical sign-in mail": transactional_html(size),
        "number-dense newsletter": newsletter_html(size),
    }
    lines = [
        f"{runs} runs of {calls} calls each (html.parser: a tenth of the calls); figures are "
        "milliseconds per call, wall clock.",
        "",
        "| document | work | median ms | min ms | max ms | target | verdict |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for name, document in documents.items():
        found = extract_codes(html=document)
        assert found and found[0].value == "482913", f"{name}: the code was not found first"
        label = f"{name} ({len(document):,} chars, {document.count('<'):,} tags)"
        jobs: list[tuple[str, Callable[[], object], int, bool]] = [
            (
                "extract_codes(html=...)",
                functools.partial(extract_codes, html=document),
                calls,
                True,
            ),
            ("html_to_text alone", functools.partial(html_to_text, document), calls, False),
            (
                "html.parser, text only (reference)",
                functools.partial(_parse_with_html_parser, document),
                max(1, calls // 10),
                False,
            ),
        ]
        medians = {}
        for work, job, count, target in jobs:
            figures = _per_call_ms(job, runs, count)
            medians[work] = statistics.median(figures)
            lines.append(_timing_row(f"{label} | {work}", figures, target))
        reference = medians["html.parser, text only (reference)"]
        lines.append(
            f"| {label} | extract_codes / reference (same run) | "
            f"{medians['extract_codes(html=...)'] / reference:.2f}x | | | | |"
        )
    load = os.getloadavg()
    lines.append("")
    lines.append(
        f"Machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} (1 min) at the end; other "
        "work on the machine inflates these figures."
    )
    return lines


def _random_texts(count: int, seed: int = 7) -> list[str]:
    """Seeded random text, up to 2,000 characters: digits, letters, separators, non-ASCII."""
    rng = random.Random(seed)
    alphabet = "0123456789" * 4 + "abcXYZ äöüßéçñ€ -.,:/#@()<>&;\n\t\u00a0\u2009\u200b"
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 2000))) for _ in range(count)]


def _hostile_lines(runs: int) -> list[str]:
    lines = [
        f"Best of {runs} runs; milliseconds per call, wall clock.",
        "",
        "| input | text= ms | html= ms | target | verdict |",
        "|---|---:|---:|---|---|",
    ]

    def row(label: str, text_ms: float, html_ms: float) -> str:
        verdict = "MET" if max(text_ms, html_ms) < HOSTILE_TARGET_MS else "MISS"
        target = f"< {HOSTILE_TARGET_MS:g} ms"
        return f"| {label} | {text_ms:.2f} | {html_ms:.2f} | {target} | {verdict} |"

    for document in ADVERSARIAL:
        text_ms = min(_per_call_ms(functools.partial(extract_codes, document), runs, 1))
        html_ms = min(_per_call_ms(functools.partial(extract_codes, html=document), runs, 1))
        lines.append(row(f"{document[:12]!r} x {len(document):,} chars", text_ms, html_ms))
    texts = _random_texts(300)
    as_text = [functools.partial(extract_codes, text) for text in texts]
    as_html = [functools.partial(extract_codes, html=text) for text in texts]
    slowest = [
        max(min(_per_call_ms(call, runs, 1)) for call in calls) for calls in (as_text, as_html)
    ]
    lines.append(row(f"slowest of {len(texts)} random texts (seeded)", *slowest))
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench extraction",
        description="Accuracy of MFA code extraction on the test corpus, and its speed.",
    )
    parser.add_argument("--size", type=int, default=100_000, help="HTML size [100000]")
    parser.add_argument("--runs", type=int, default=7, help="timed runs [7]")
    parser.add_argument("--calls", type=int, default=50, help="calls per run [50]")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    print("# MFA code extraction\n")
    print(f"- Python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"- corpus: {len(CORPUS)} messages from tests/inbound_corpus.py\n")
    print("## Accuracy (best candidate == expected code, or no candidate when none)\n")
    print("\n".join(_accuracy_lines()))
    languages = {entry["lang"]: entry for entry, _ in REAL_CORPUS}
    products = {entry["product"] for entry, _ in REAL_CORPUS}
    print(
        f"\n## Accuracy on real products' messages ({len(REAL_CORPUS)} messages, "
        f"{len(products)} products, {len(languages)} languages)\n"
    )
    print(
        "Rendered from each product's own templates and translations by "
        "`python -m bench.corpus_render` (tests/corpus/real_messages.jsonl names every source). "
        "The naive baseline is the first match of `\\b\\d{N}\\b` (or `\\b(?:pattern)\\b`) "
        "in reading order: subject, text part, HTML part with its tags removed.\n"
    )
    kinds = {
        sample.id: f"{entry['kind']} ({'en' if entry['lang'] == 'en' else 'other languages'})"
        for entry, sample in REAL_CORPUS
    }
    print("\n".join(_accuracy_lines([s for _, s in REAL_CORPUS], lambda s: kinds[s.id])))
    print(f"\n## Time per ~{args.size // 1000} kB HTML message\n")
    print("\n".join(_speed_lines(args.size, max(1, args.runs), max(1, args.calls))))
    print("\n## Links: accuracy on tests/link_corpus.json\n")
    print("\n".join(link_accuracy_lines()))
    print(f"\n## Links: time per ~{args.size // 1000} kB HTML message, beside code extraction\n")
    documents = {
        "typical sign-in mail": transactional_html(args.size),
        "number-dense newsletter": newsletter_html(args.size),
    }
    print("\n".join(link_speed_lines(documents, max(1, args.runs), max(1, args.calls))))
    print("\n## Hostile input\n")
    print("\n".join(_hostile_lines(max(1, args.runs))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
