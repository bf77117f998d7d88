"""The plugin's browser support: system Chromium for pytest-playwright, artifact pointers."""

from __future__ import annotations

import shutil

import pytest

pytest_plugins = ["pytester"]

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="no system Chromium (apt-get install -y chromium)",
)


@needs_chromium
def test_page_fixture_runs_on_the_system_chromium(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_page(page, browser_type_launch_args):
            assert "executable_path" in browser_type_launch_args
            page.set_content("<h1 id='t'>hello</h1>")
            assert page.inner_text("#t") == "hello"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@needs_chromium
def test_failed_browser_test_points_at_its_artifacts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_page_fails(page):
            page.set_content("<h1>hi</h1>")
            assert page.inner_text("h1") == "bye"

        def test_page_passes(page):
            page.set_content("<h1>hi</h1>")
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--tracing",
        "retain-on-failure",
        "--screenshot",
        "only-on-failure",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Playwright artifacts of failed tests (anchor-mfa)*",
            "test_failed_browser_test_points_at_its_artifacts.py::test_page_fails*",
            "  screenshot: test-results/*test-page-fails*/test-failed-1.png",
            "  trace: test-results/*test-page-fails*/trace.zip*playwright show-trace*",
        ]
    )
    assert "test_page_passes" not in result.stdout.str().split("Playwright artifacts")[1]
    assert (pytester.path / "test-results").is_dir()


def test_no_artifact_section_when_nothing_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(browser_type_launch_args):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "Playwright artifacts" not in result.stdout.str()


@needs_chromium
def test_browser_support_raises_no_removed_in_10_warning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import inspect


        def test_page(page, browser_type_launch_args, pytestconfig):
            ours = {
                name: plugin
                for name, plugin in pytestconfig.pluginmanager.list_name_plugin()
                if name and ("anchor" in name)
            }
            # Every plugin of ours is a module: no fixture is an instance method.
            assert "pytest_anchor_mfa.plugin.playwright" in ours, sorted(ours)
            assert all(inspect.ismodule(plugin) for plugin in ours.values()), ours
            assert "executable_path" in browser_type_launch_args
            page.set_content("<h1 id='t'>hello</h1>")
            assert page.inner_text("#t") == "hello"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "error::pytest.PytestRemovedIn10Warning",  # pytest-playwright's own: the plugin's filter
    )
    result.assert_outcomes(passed=1)
    assert "PytestRemovedIn10Warning:" not in result.stdout.str()  # the header names it only


def test_a_missing_browser_is_one_line_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_page(page):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--anchor-chromium", "/nonexistent/chromium"
    )
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    said = [line for line in output.splitlines() if line.startswith("pytest-anchor-mfa: ")]
    assert len(said) == 1, output  # once, on a line of its own (the summary may repeat it)
    assert "During handling" not in output and "Traceback" not in output
    result.stdout.fnmatch_lines(["pytest-anchor-mfa: the browser given by --anchor-chromium*"])
