"""The README and the docs site: complete examples run as written, and the reference is whole.

A python block right after the line ``<!-- complete example: ... -->`` (in README.md or any
page under docs/) is a whole file: a test module (it defines ``test_...`` functions: run by
pytest with this plugin, in fake mode; one that asks for ``page`` runs in real Chromium) or a
script (run by Python). Blocks without the marker are fragments and are not run.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tools/ (the repository's, not shipped) imports from the root

from tools import mkdocs_hooks  # noqa: E402

DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
MARKER = "<!-- complete example"
BLOCK = re.compile(r"^" + re.escape(MARKER) + r"[^\n]*-->\n```python\n(.*?)^```", re.M | re.S)
INNER = ("-p", "no:cacheprovider", "--anchor-timeout", "10")
README_LIMIT = 12_000
"""Bytes: the README is the front door; the rest is in docs/."""


def complete_examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks = BLOCK.findall(text)
        markers = re.findall("^" + re.escape(MARKER), text, re.M)  # at a line's start
        assert len(blocks) == len(markers), f"{page}: a marker not followed by a python block"
        found += [(str(page.relative_to(ROOT)), block) for block in blocks]
    return found


def _example_id(example: tuple[str, str]) -> str:
    page, code = example
    names = re.findall(r"^def (test_\w+)", code, re.M)
    return f"{page}:{names[0] if names else 'script'}"


def test_the_docs_have_complete_examples() -> None:
    pages = {page for page, _ in complete_examples()}
    assert "README.md" in pages
    assert len(complete_examples()) >= 6


def _needs_browser(code: str) -> bool:
    return bool(re.search(r"^(async )?def test_\w+\([^)]*\bpage\b", code, re.M))


@pytest.mark.parametrize("example", complete_examples(), ids=_example_id)
def test_a_complete_example_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, example: tuple[str, str]
) -> None:
    _, code = example
    monkeypatch.setenv("ANCHOR_MFA_MODE", "fake")
    if re.search(r"^def test_", code, re.M):
        pytester.makepyfile(test_docs_example=code)
        if _needs_browser(code):  # the user's environment: pytest-playwright and -W error
            if shutil.which("chromium") is None:
                pytest.skip("no system Chromium (apt-get install -y chromium)")
            result = pytester.runpytest_subprocess(*INNER, "-W", "error")
        else:
            result = pytester.runpytest_subprocess(*INNER, "-p", "no:playwright")
        assert result.ret == 0, result.stdout.str()
        result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.M)))
    else:
        script = pytester.makepyfile(docs_example=code)
        result = pytester.runpython(script)
        assert result.ret == 0, result.stderr.str()


def test_the_readme_is_a_short_front_door() -> None:
    readme = (ROOT / "README.md").read_bytes()
    assert len(readme) < README_LIMIT, f"README.md is {len(readme)} bytes; move detail to docs/"
    text = readme.decode()
    assert "python3 -m venv" in text  # Debian 12: no `python`, no pip outside a venv
    assert "demo_url" not in text  # a fixture of our examples/ only, not of a user's project
    for target in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / target).is_file(), f"README links to a missing page: {target}"


def test_every_option_is_in_the_options_reference() -> None:
    from pytest_anchor_mfa.plugin.options import OPTIONS

    page = (DOCS / "reference" / "options.md").read_text(encoding="utf-8")
    assert "<!-- generated: options -->" in page
    table = mkdocs_hooks.expand(page)
    for option in OPTIONS:
        row = next((line for line in table.splitlines() if f"`{option.cli}`" in line), None)
        assert row is not None, f"{option.cli} is not in the options reference"
        assert f"`{option.ini}`" in row and all(f"`{env}`" in row for env in option.env), row
        assert (f"`{option.default}`" if option.default else "| none |") in row, row


def test_every_marker_and_fixture_is_in_the_reference() -> None:
    from pytest_anchor_mfa.plugin.markers import MARKERS

    page = mkdocs_hooks.expand((DOCS / "reference" / "fixtures.md").read_text(encoding="utf-8"))
    for name in MARKERS:
        assert f"`@pytest.mark.{name}(" in page, name
    for name in _plugin_fixtures():
        assert f"`{name}`" in page, f"fixture {name} is not in docs/reference/fixtures.md"


FIXTURE = re.compile(r"@pytest\.fixture[^\n]*\n(?:@[^\n]*\n)*(?:async )?def (\w+)")


def _plugin_fixtures() -> set[str]:
    """The fixtures the plugin defines (its modules' ``@pytest.fixture`` functions)."""
    names = set()
    for path in (ROOT / "pytest_anchor_mfa" / "plugin").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(FIXTURE, text))
        names.update(re.findall(r"pytest\.fixture\([^)]*\bname=\"(\w+)\"", text))
    return {name for name in names if not name.startswith("_")} - _deprecated_fixtures()


def _deprecated_fixtures() -> set[str]:
    from pytest_anchor_mfa.plugin.renames import RENAMED

    return set(RENAMED)


def test_the_cli_reference_is_every_help_text() -> None:
    page = mkdocs_hooks.expand((DOCS / "reference" / "cli.md").read_text(encoding="utf-8"))
    for command in ("serve", "signal", "wait", "relay"):
        assert f"$ anchor-mfa {command} --help\nusage: anchor-mfa {command}" in page
    assert "--max-waits" in page and "--smtp-port" in page


def test_an_unknown_generated_section_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown generated section 'nope'"):
        mkdocs_hooks.expand("<!-- generated: nope -->\n")


def test_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config.split("\nnav:\n", 1)[1]
    listed = set(re.findall(r"^\s*- (?:[^:\n]+: )?([\w/.-]+\.md)$", nav, re.M))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert pages == listed, f"in docs/ but not in the nav: {sorted(pages - listed)}"


def test_every_settings_attribute_is_documented() -> None:
    """The API reference shows ``Settings``' attributes by their docstrings (mkdocstrings)."""
    import ast

    source = (ROOT / "pytest_anchor_mfa" / "plugin" / "options.py").read_text(encoding="utf-8")
    settings = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef) and node.name == "Settings"
    )
    body = settings.body
    undocumented = [
        node.target.id
        for node, after in zip(body, [*body[1:], None], strict=True)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if not (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant))
    ]
    assert not undocumented, f"Settings attributes without a docstring: {undocumented}"
