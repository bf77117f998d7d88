"""The real-products corpus: ``tests/corpus/real_messages.jsonl``, as :class:`Sample` objects.

Each line is one verification message rendered from a real product's own template or
translation file (``python -m bench.corpus_render`` wrote them; ``source`` names the repository,
commit and path of every file used). E-mails become raw MIME messages (subject, text and/or
HTML part), SMS a text body; ``rule`` is ``digits:N`` or ``pattern:<regex>``.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from inbound_corpus import Sample

from pytest_anchor_mfa.codes.rule import CodeRule

__all__ = ["REAL_CORPUS", "load"]

PATH = Path(__file__).resolve().parent / "corpus" / "real_messages.jsonl"


def _rule(spec: str) -> CodeRule:
    kind, _, value = spec.partition(":")
    return CodeRule.digits(int(value)) if kind == "digits" else CodeRule.from_pattern(value)


def _sample(entry: dict[str, str]) -> Sample:
    rule = _rule(entry.get("rule", "digits:6"))
    if entry["kind"] == "sms":
        return Sample(entry["id"], entry.get("expected"), text=entry["text"], rule=rule)
    message = EmailMessage()
    message["Subject"] = entry.get("subject", "")
    message["From"] = "no-reply@example.org"
    message["To"] = "user@example.org"
    if "text" in entry:
        message.set_content(entry["text"])
    if "html" in entry:
        if "text" in entry:
            message.add_alternative(entry["html"], subtype="html")
        else:
            message.set_content(entry["html"], subtype="html")
    return Sample(entry["id"], entry.get("expected"), raw=bytes(message), rule=rule)


def load(path: Path = PATH) -> list[tuple[dict[str, str], Sample]]:
    """Every entry of the corpus with its sample."""
    entries = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return [(entry, _sample(entry)) for entry in entries]


REAL_CORPUS = load()
