"""Scrub a Playwright trace (``trace.zip``) of a test's secrets (``--anchor-scrub-traces``).

A trace stores every ``fill()`` argument, the DOM snapshots and the network bodies, so the MFA
code a test typed is in it. ``scrub_trace`` rewrites every text member of the zip (the same
names, order, dates and compression) with a scrub function; binary members (screenshots) are
copied as they are. JSON and NDJSON members are scrubbed value by value, so they still parse:
a code stored as a JSON number becomes a string of bullets.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["scrub_json_text", "scrub_trace"]

Scrub = Callable[[str], str]


def _scrub_json(value: Any, scrub: Scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(key)): _scrub_json(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_json(item, scrub) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = json.dumps(value)
        scrubbed = scrub(text)
        return value if scrubbed == text else scrubbed
    return value


def _scrub_json_line(line: str, scrub: Scrub) -> str:
    if scrub(line) == line:
        return line  # nothing to hide: keep the line byte for byte
    try:
        parsed = json.loads(line)
    except ValueError:
        return scrub(line)
    return json.dumps(_scrub_json(parsed, scrub), ensure_ascii=False, separators=(",", ":"))


def scrub_json_text(text: str, scrub: Scrub) -> str:
    """A JSON document or NDJSON lines with ``scrub`` applied to every value; still JSON.

    Text that is neither is scrubbed as plain text.
    """
    if scrub(text) == text:
        return text
    try:
        json.loads(text)
    except ValueError:
        return "\n".join(_scrub_json_line(line, scrub) for line in text.split("\n"))
    return _scrub_json_line(text, scrub)


def _scrub_member(data: bytes, scrub: Scrub) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # a screenshot or another binary resource
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return scrub_json_text(text, scrub).encode("utf-8")
    return scrub(text).encode("utf-8")


def scrub_trace(path: str | os.PathLike[str], scrub: Scrub) -> bool:
    """Rewrite the zip at ``path`` with every text member scrubbed; whether anything changed.

    The new zip replaces the old one atomically; an unreadable file is left alone.
    """
    target = Path(path)
    try:
        with zipfile.ZipFile(target) as source:
            members = [(info, source.read(info)) for info in source.infolist()]
    except (OSError, zipfile.BadZipFile):
        return False
    scrubbed = [(info, _scrub_member(data, scrub)) for info, data in members]
    if all(new == old for (_, new), (_, old) in zip(scrubbed, members, strict=True)):
        return False
    handle, temporary = tempfile.mkstemp(prefix=".scrub-", suffix=".zip", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as rewritten:
            for info, data in scrubbed:
                rewritten.writestr(info, data, compress_type=info.compress_type)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
