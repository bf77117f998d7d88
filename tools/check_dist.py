"""Check the built distributions before they are published: ``python -m tools.check_dist dist/``.

The wheel holds the package with its ``py.typed`` and the LICENSE, and no tests, examples or
benchmarks; its metadata names the authors, the license, the Project-URLs, the supported
Python versions (one classifier each, as the compatibility table in pyproject.toml says) and
only classifiers PyPI knows. ``tests/test_packaging.py`` runs the same checks on a fresh build.
"""

from __future__ import annotations

import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = ("tests/", "examples/", "examples_async/", "bench/", "tools/", "docs/")
URLS = ("Documentation", "Source", "Issues", "Changelog")


def problems(wheel: Path) -> list[str]:
    """What is wrong with ``wheel`` (empty: nothing)."""
    found: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta_name).decode())
    if "pytest_anchor_mfa/py.typed" not in names:
        found.append("no pytest_anchor_mfa/py.typed")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        found.append("no LICENSE in .dist-info/licenses/")
    found += [f"ships {n}" for n in names if n.startswith(NOT_SHIPPED)]
    found += [f"ships {n}" for n in names if "/tests/" in n or Path(n).name.startswith("test_")]
    if metadata.get("License-Expression") != "MIT":
        found.append(f"License-Expression is {metadata.get('License-Expression')!r}, not MIT")
    if not metadata.get("Author") and not metadata.get("Author-email"):
        found.append("no author")
    urls = {value.split(",", 1)[0].strip() for value in metadata.get_all("Project-URL") or []}
    found += [f"no Project-URL {name}" for name in URLS if name not in urls]
    found += _classifier_problems(metadata.get_all("Classifier") or [])
    return found


def _classifier_problems(classifiers: list[str]) -> list[str]:
    found = []
    tested = _compatibility()["python"]
    declared = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if c.startswith("Programming Language :: Python :: 3.")
    }
    if declared != set(tested):
        found.append(f"Python classifiers {sorted(declared)} are not the tested {tested}")
    for needed in ("Development Status :: ", "Topic :: ", "Framework :: Pytest"):
        if not any(c.startswith(needed) for c in classifiers):
            found.append(f"no classifier {needed!r}")
    try:
        from trove_classifiers import classifiers as known
    except ImportError:  # the release extra is not installed: the names are not checked
        return found
    return found + [f"unknown classifier {c!r}" for c in classifiers if c not in known]


def _compatibility() -> dict[str, list[str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table: dict[str, list[str]] = pyproject["tool"]["anchor-mfa"]["compatibility"]
    return table


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "dist")
    wheels = sorted(folder.glob("pytest_anchor_mfa-*.whl"))
    if not wheels:
        print(f"check_dist: no wheel in {folder}/", file=sys.stderr)
        return 1
    found = problems(wheels[-1])
    for problem in found:
        print(f"check_dist: {wheels[-1].name}: {problem}", file=sys.stderr)
    if not found:
        print(f"check_dist: {wheels[-1].name}: py.typed, LICENSE, metadata ok; no tests shipped")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
