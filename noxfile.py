"""The compatibility matrix: the plugin's tests against each supported pytest and pytest-playwright.

A session per pytest major and per pytest-playwright minor of ``[tool.anchor-mfa.compatibility]``
in pyproject.toml (the one place the tested ranges are written), and per Python version beyond
the one running nox; each in its own virtual environment, installing the package from this
checkout. Only a focused subset of the plugin's tests runs (``PLUGIN_TESTS``), so the matrix
takes minutes: `nox` (or ``.ci/run``). ``nox -l`` lists the sessions.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
COMPATIBILITY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["anchor-mfa"][
    "compatibility"
]
EXTRAS = "tests/test_plugin_playwright_extras.py::"
PLUGIN_TESTS = (
    # a user's project: pytest-playwright's page on a system Chromium, with -W error
    EXTRAS + "test_a_user_project_with_pytest_playwright_passes_under_w_error",
    EXTRAS + "test_only_pytest_playwrights_own_warning_is_let_through",
    # without a Playwright plugin: the line naming the extra
    EXTRAS + "test_a_browser_fixture_without_playwright_names_the_extra[page]",
    # the fixtures in fake mode, and a failure's one line
    "tests/test_plugin_fixtures.py::test_anchor_fake_is_reset_after_each_test",
    "tests/test_plugin_fixtures.py::test_a_failed_call_names_the_file_and_line_of_the_call",
)
TEST_NEEDS = ("hypothesis",)  # tests/conftest.py
VERSIONS = (
    "import importlib.metadata as m, sys; print('tested: Python', sys.version.split()[0], "
    "*(f'{n} {m.version(n)}' for n in ('pytest', 'pytest-playwright', 'playwright')))"
)
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

nox.options.default_venv_backend = "uv|venv"  # uv when installed: installs in seconds
nox.options.reuse_venv = "no"
nox.options.error_on_missing_interpreters = False  # a Python not on this machine: skipped
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")  # the machine's Pythons, none fetched


def _package() -> str:
    """The wheel .ci/run built (dist/), else this checkout (built once per session)."""
    wheels = sorted((ROOT / "dist").glob("pytest_anchor_mfa-*.whl"))
    return str(wheels[-1]) if wheels else "."


def _run(session: nox.Session, *pins: str) -> None:
    session.install(_package(), *TEST_NEEDS, *pins)
    session.run("python", "-c", VERSIONS, silent=False)
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        *PLUGIN_TESTS,
        env={"ANCHOR_MFA_MODE": "fake", "TMPDIR": "/tmp"},
    )


@nox.session(python=THIS_PYTHON)
@nox.parametrize("major", COMPATIBILITY["pytest"])
def pytest_major(session: nox.Session, major: str) -> None:
    """The newest pytest of one major, with the newest pytest-playwright it allows."""
    _run(session, f"pytest=={major}.*", "pytest-playwright")


@nox.session(python=THIS_PYTHON)
@nox.parametrize("minor", COMPATIBILITY["pytest-playwright"])
def playwright_minor(session: nox.Session, minor: str) -> None:
    """The newest pytest-playwright of one minor, with the newest pytest it allows."""
    _run(session, f"pytest-playwright=={minor}.*")


@nox.session(python=[v for v in COMPATIBILITY["python"] if v != THIS_PYTHON])
def python(session: nox.Session) -> None:
    """Another Python version, with the newest pytest and pytest-playwright."""
    _run(session, "pytest-playwright")
