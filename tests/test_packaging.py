"""The package as published: a fresh wheel passes tools/check_dist.py; the tested ranges agree.

The ranges noxfile.py tests are written once, in pyproject.toml's
``[tool.anchor-mfa.compatibility]``; the dependency bounds, the classifiers and the docs'
compatibility page follow them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import check_dist, mkdocs_hooks  # noqa: E402

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
COMPATIBILITY = PYPROJECT["tool"]["anchor-mfa"]["compatibility"]
BUILD_TIMEOUT = 300


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the release extra: pip install -e '.[release]'")
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    return next(out.glob("pytest_anchor_mfa-*.whl"))


def test_the_wheel_is_ready_to_publish(wheel: Path) -> None:
    assert check_dist.problems(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "pytest_anchor_mfa/py.typed" in names
    assert not [name for name in names if name.startswith(("tests/", "examples/"))]


def test_the_checks_catch_a_wheel_without_py_typed(wheel: Path, tmp_path: Path) -> None:
    broken = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith("py.typed"):
                target.writestr(item, source.read(item))
        target.writestr("tests/test_x.py", "")
    found = check_dist.problems(broken)
    assert "no pytest_anchor_mfa/py.typed" in found and "ships tests/test_x.py" in found


def test_the_dependency_bounds_are_the_tested_ranges() -> None:
    project = PYPROJECT["project"]
    pytest_dep = next(d for d in project["dependencies"] if d.startswith("pytest>"))
    majors = COMPATIBILITY["pytest"]
    assert pytest_dep == f"pytest>={majors[0]}.0,<{int(majors[-1]) + 1}", pytest_dep
    (sync,) = project["optional-dependencies"]["sync"]
    minors = COMPATIBILITY["pytest-playwright"]
    last = minors[-1].split(".")
    assert sync == f"pytest-playwright>={minors[0]},<{last[0]}.{int(last[1]) + 1}", sync
    lowest = COMPATIBILITY["python"][0]
    assert project["requires-python"] == f">={lowest}"
    python = [c for c in project["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)]
    assert [c.rsplit(" ", 1)[1] for c in python] == COMPATIBILITY["python"]
    assert set(project["urls"]) >= {"Documentation", "Source", "Issues", "Changelog"}


def test_the_docs_say_the_tested_ranges() -> None:
    page = mkdocs_hooks.expand(
        (ROOT / "docs" / "reference" / "compatibility.md").read_text(encoding="utf-8")
    )
    for name, versions in COMPATIBILITY.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| {name} |"))
        assert all(version in row for version in versions), row
