"""The README's complete examples run as written.

A python block right after the line ``<!-- complete example: ... -->`` is a whole file: a
test module (it defines ``test_...`` functions: run by pytest with this plugin, in fake mode)
or a script (run by Python). Blocks without the marker are fragments and are not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- complete example"
BLOCK = re.compile(r"^" + re.escape(MARKER) + r"[^\n]*-->\n```python\n(.*?)^```", re.M | re.S)
INNER = ("-p", "no:cacheprovider", "-p", "no:playwright", "--anchor-timeout", "10")


def complete_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) == text.count(MARKER), "a marker not followed by a python block"
    return blocks


def test_the_readme_has_complete_examples() -> None:
    assert len(complete_examples()) >= 3


@pytest.mark.parametrize("code", complete_examples(), ids=lambda c: c.split("(", 1)[0][-40:])
def test_a_complete_example_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    monkeypatch.setenv("ANCHOR_MFA_MODE", "fake")
    if re.search(r"^def test_", code, re.M):
        pytester.makepyfile(test_readme_example=code)
        result = pytester.runpytest_subprocess(*INNER)
        assert result.ret == 0, result.stdout.str()
        result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.M)))
    else:
        script = pytester.makepyfile(readme_example=code)
        result = pytester.runpython(script)
        assert result.ret == 0, result.stderr.str()
