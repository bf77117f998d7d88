"""MkDocs hooks: the reference pages' parts that the code is the source of truth for.

A page holds a line ``<!-- generated: NAME -->``; the build replaces it with ``GENERATED[NAME]()``:
the options table (``plugin/options.py``'s ``OPTIONS``), the markers (``plugin/markers.py``'s
``MARKERS``), the CLI's ``--help`` texts and the tested versions (pyproject.toml).
``tests/test_docs.py`` uses the same functions.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"^<!-- generated: ([a-z_]+) -->$", re.M)
CLI_COMMANDS: tuple[tuple[str, ...], ...] = ((), ("serve",), ("signal",), ("wait",), ("relay",))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def options_table() -> str:
    """Every ``--anchor-*`` option with its ini key, environment variables and default."""
    from pytest_anchor_mfa.plugin.options import OPTIONS

    rows = [
        "| option | ini | environment | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        cli = f"`{option.cli}`"
        if option.flag:
            cli += f" / `{option.cli.replace('--', '--no-', 1)}`"
        elif option.metavar or option.choices:
            cli += f" `{option.metavar or '{' + ','.join(option.choices or ()) + '}'}`"
        env = ", ".join(f"`{name}`" for name in option.env) or "none"
        default = f"`{option.default}`" if option.default else "none"
        meaning = option.help + ("; a secret: prefer the environment" if option.secret else "")
        rows.append(f"| {cli} | `{option.ini}` | {env} | {default} | {_cell(meaning)} |")
    return "\n".join(rows)


def markers_table() -> str:
    """The plugin's markers as ``pytest --markers`` shows them."""
    from pytest_anchor_mfa.plugin.markers import MARKERS

    rows = ["| marker | what it does |", "|---|---|"]
    for text in MARKERS.values():
        signature, _, meaning = text.partition(": ")
        rows.append(f"| `@pytest.mark.{signature}` | {_cell(meaning)} |")
    return "\n".join(rows)


def cli_help(command: tuple[str, ...] = ()) -> str:
    """``anchor-mfa [COMMAND] --help``, as a terminal 100 columns wide prints it."""
    from pytest_anchor_mfa.cli.main import main

    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([*command, "--help"])
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return out.getvalue()


def cli_reference() -> str:
    parts = []
    for command in CLI_COMMANDS:
        title = " ".join(("anchor-mfa", *command))
        parts.append(f"## `{title}`\n\n```text\n$ {title} --help\n{cli_help(command)}```\n")
    return "\n".join(parts)


def compatibility_table() -> str:
    """The versions noxfile.py tests, from pyproject.toml's ``[tool.anchor-mfa.compatibility]``."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = pyproject["tool"]["anchor-mfa"]["compatibility"]
    rows = ["| what | versions tested (a nox session each) |", "|---|---|"]
    rows += [f"| {name} | {', '.join(versions)} |" for name, versions in table.items()]
    return "\n".join(rows)


GENERATED: dict[str, Callable[[], str]] = {
    "options": options_table,
    "compatibility": compatibility_table,
    "markers": markers_table,
    "cli": cli_reference,
}


def expand(markdown: str) -> str:
    """The page with every ``<!-- generated: NAME -->`` line replaced by its Markdown."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATED:
            raise ValueError(f"unknown generated section {name!r}; known: {sorted(GENERATED)}")
        return GENERATED[name]()

    return PLACEHOLDER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return expand(markdown)
