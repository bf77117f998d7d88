"""A user's project: ``-W error`` with pytest-playwright passes, and a missing extra is named.

pytest 9.1+ deprecates session fixtures defined as instance methods, and pytest-playwright's
own ``base_url`` is one: the plugin lets exactly that warning through (by its message), says so
in the header, and lets every other warning fail the run as ``-W error`` asks.
"""

from __future__ import annotations

import importlib
import shutil
from typing import Any

import pytest

pytest_plugins = ["pytester"]

DEPRECATION = getattr(
    importlib.import_module("_pytest.deprecated"), "CLASS_FIXTURE_INSTANCE_METHOD", None
)
HEADER = "anchor-mfa: lets pytest-playwright's own PytestRemovedIn10Warning about its 'base_url'*"
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="no system Chromium (apt-get install -y chromium)"
)


@needs_chromium
def test_a_user_project_with_pytest_playwright_passes_under_w_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(
        test_login="""
        def test_login(page, base_url, mfa_code, anchor_fake, mfa_event_name):
            page.set_content("<input id=code>")
            anchor_fake.signal_when_waiting(mfa_event_name, {"code": "123456"})
            page.fill("#code", mfa_code())
            assert page.input_value("#code") == "123456"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert "PytestRemovedIn10Warning:" not in output and "warnings summary" not in output
    if DEPRECATION is not None:  # pytest 9.1+: said once, in the header
        result.stdout.fnmatch_lines([HEADER])
        assert output.count("anchor-mfa: lets pytest-playwright's own") == 1
    else:
        assert "anchor-mfa: lets pytest-playwright's own" not in output


@pytest.mark.skipif(DEPRECATION is None, reason="pytest before 9.1 has no such deprecation")
def test_only_pytest_playwrights_own_warning_is_let_through(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mine="""
        import pytest

        class TestMine:
            @pytest.fixture(scope="session")
            def mine(self):  # the user's own instance-method session fixture
                return 1

            def test_it(self, mine, browser_type_launch_args):
                assert mine == 1
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Instance attributes set in the 'mine' fixture*"])


@pytest.mark.parametrize("fixture", ["page", "context", "browser"])
def test_a_browser_fixture_without_playwright_names_the_extra(
    pytester: pytest.Pytester, fixture: str
) -> None:
    pytester.makepyfile(f"def test_login({fixture}):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:playwright")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    said = [line for line in output.splitlines() if line.startswith("pytest-anchor-mfa: ")]
    assert len(said) == 1, output
    assert f"the fixture '{fixture}' comes from a Playwright pytest plugin" in said[0]
    assert "pytest-anchor-mfa[sync]" in said[0] and "pytest-anchor-mfa[async]" in said[0]
    assert "fixture 'page' not found" not in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ({"env": ("ANCHOR_MFA_CHROMIUM", "/nonexistent/chromium")}, "$ANCHOR_MFA_CHROMIUM"),
        (
            {"env": ("ANCHOR_CHROMIUM_EXECUTABLE", "/nonexistent/chromium")},
            "$ANCHOR_CHROMIUM_EXECUTABLE",
        ),
        ({"ini": "anchor_chromium = /nonexistent/chromium"}, "ini anchor_chromium"),
        ({"arg": "/nonexistent/chromium"}, "--anchor-chromium"),
    ],
    ids=["env", "old-env", "ini", "option"],
)
def test_a_missing_chromium_is_named_by_where_it_was_given(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: dict[str, Any], said: str
) -> None:
    for name in ("ANCHOR_MFA_CHROMIUM", "ANCHOR_CHROMIUM_EXECUTABLE"):
        monkeypatch.delenv(name, raising=False)
    if "env" in how:
        monkeypatch.setenv(*how["env"])
    if "ini" in how:
        pytester.makeini(f"[pytest]\n{how['ini']}\n")
    pytester.makepyfile("def test_page(page):\n    pass\n")
    args = ["--anchor-chromium", how["arg"]] if "arg" in how else []
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore", *args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"pytest-anchor-mfa: the browser given by {said} (*"])
