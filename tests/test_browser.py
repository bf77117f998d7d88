from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_anchor_mfa.errors import ConfigurationError
from pytest_anchor_mfa.plugin import playwright as browser
from pytest_anchor_mfa.plugin.playwright import (
    ENV_VARS,
    SYSTEM_CHROMIUM_FLAGS,
    find_chromium,
    launch_args,
)


class FakeBin:
    """A directory that is the whole PATH, where tests create fake browser executables."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, name: str, *, executable: bool = True) -> str:
        exe = self.path / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(stat.S_IRWXU if executable else stat.S_IRUSR | stat.S_IWUSR)
        return str(exe)


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeBin:
    """No real browser anywhere: empty PATH, no env vars, no bundled one, no absolute paths."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(browser, "_bundled_chromium", lambda: None)
    names_only = tuple(c for c in browser.SYSTEM_CANDIDATES if os.sep not in c)
    monkeypatch.setattr(browser, "SYSTEM_CANDIDATES", names_only)
    return FakeBin(bin_dir)


def test_nothing_found(fake_bin: FakeBin) -> None:
    assert find_chromium() is None
    with pytest.raises(ConfigurationError) as info:
        launch_args(None, {"headless": True})
    message = str(info.value)
    for hint in ("apt-get install -y chromium", "--anchor-chromium", *ENV_VARS, "chromium-browser"):
        assert hint in message


def test_system_candidates_in_order(fake_bin: FakeBin) -> None:
    chrome = fake_bin.add("google-chrome")
    assert find_chromium() == chrome
    chromium_browser = fake_bin.add("chromium-browser")
    assert find_chromium() == chromium_browser
    chromium = fake_bin.add("chromium")
    assert find_chromium() == chromium


def test_non_executable_candidate_is_skipped(fake_bin: FakeBin) -> None:
    fake_bin.add("chromium", executable=False)
    stable = fake_bin.add("google-chrome-stable")
    assert find_chromium() == stable


def test_explicit_path_and_name(fake_bin: FakeBin, tmp_path: Path) -> None:
    fake_bin.add("chromium")
    elsewhere = tmp_path / "opt"
    elsewhere.mkdir()
    custom = FakeBin(elsewhere).add("my-chrome")
    assert find_chromium(custom) == custom
    assert find_chromium("chromium") == str(fake_bin.path / "chromium")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda bin_: str(bin_.path / "missing"), "does not exist"),
        (lambda bin_: bin_.add("plain-file", executable=False), "is not an executable file"),
        (lambda bin_: "no-such-browser", "is not found on PATH"),
    ],
)
def test_bad_explicit_is_an_error_not_a_fallback(
    fake_bin: FakeBin, make: Callable[[FakeBin], str], problem: str
) -> None:
    fake_bin.add("chromium")  # would be found, but an explicit choice is never swapped
    value = make(fake_bin)
    with pytest.raises(ConfigurationError, match=problem) as info:
        find_chromium(value)
    assert "--anchor-chromium" in str(info.value)
    with pytest.raises(ConfigurationError, match=problem):
        launch_args(value, {})


def test_environment_variables(fake_bin: FakeBin, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = {name: fake_bin.add(f"browser-{name.lower()}") for name in ENV_VARS}
    for name in reversed(ENV_VARS):  # each one set shadows those after it
        monkeypatch.setenv(name, paths[name])
        assert find_chromium() == paths[name]
    assert find_chromium(paths["CHROME_BIN"]) == paths["CHROME_BIN"]  # the option wins
    for name in ENV_VARS[:2]:  # our variable, new name and old
        monkeypatch.setenv(name, "   ")  # blank means unset
    assert find_chromium() == paths["CHROMIUM_BIN"]
    monkeypatch.setenv("CHROMIUM_BIN", str(fake_bin.path / "gone"))
    with pytest.raises(ConfigurationError, match="CHROMIUM_BIN"):
        find_chromium()


def test_bundled_browser_is_preferred_and_left_alone(
    fake_bin: FakeBin, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin.add("chromium")
    bundled = fake_bin.add("bundled-chrome")
    monkeypatch.setattr(browser, "_bundled_chromium", lambda: bundled)
    assert find_chromium() == bundled
    base = {"headless": True, "args": ["--foo"]}
    assert launch_args(None, base) == base


def test_user_choice_in_base_args_is_left_alone(
    fake_bin: FakeBin, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin.add("chromium")
    monkeypatch.setenv("CHROME_BIN", fake_bin.add("karma-chrome"))  # set for another tool
    for base in ({"channel": "chrome"}, {"executable_path": "/opt/chrome", "args": ["--x"]}):
        assert launch_args(None, base) == base
    ours = fake_bin.add("ours")
    monkeypatch.setenv("ANCHOR_MFA_CHROMIUM", ours)
    assert launch_args(None, {"channel": "chrome"})["executable_path"] == ours


@pytest.mark.parametrize("root", [True, False])
def test_flags_for_a_system_browser(
    fake_bin: FakeBin, monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    chromium = fake_bin.add("chromium")
    monkeypatch.setattr(browser, "_is_root", lambda: root)
    user_args = ["--window-size=800,600", "--disable-gpu", "--window-size=800,600"]
    base = {"headless": True, "args": user_args, "channel": "chromium"}
    result = launch_args(None, {"headless": True, "args": user_args})
    assert result["executable_path"] == chromium
    assert result["headless"] is True
    args = result["args"]
    assert len(args) == len(set(args))
    assert args[:2] == ["--window-size=800,600", "--disable-gpu"]
    assert set(SYSTEM_CHROMIUM_FLAGS) <= set(args)
    assert ("--no-sandbox" in args) is root
    assert user_args == ["--window-size=800,600", "--disable-gpu", "--window-size=800,600"]
    explicit = launch_args(chromium, base)
    assert "channel" not in explicit and explicit["executable_path"] == chromium


def test_user_flag_with_a_value_wins(fake_bin: FakeBin) -> None:
    fake_bin.add("chromium")
    args = launch_args(None, {"args": ["--disable-quic=false"]})["args"]
    assert "--disable-quic" not in args and "--disable-quic=false" in args


def test_bundled_lookup_works_inside_an_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest-playwright can have an asyncio loop running in the calling thread; the lookup must
    # not trip Playwright's "sync API inside the asyncio loop" error. A thread of the test's own
    # gets a loop without disturbing whatever runs in this one. The lookup turns every error
    # into None, so a spy on ``sync_playwright`` records what Playwright really answered.
    sync_api = pytest.importorskip("playwright.sync_api")
    real_sync_playwright = sync_api.sync_playwright
    answered: list[object] = []  # the executable path Playwright gave, or the error it raised

    @contextlib.contextmanager
    def spying_sync_playwright() -> Iterator[Any]:
        try:
            with real_sync_playwright() as playwright:
                answered.append(playwright.chromium.executable_path)
                yield playwright
        except Exception as exc:
            answered.append(exc)
            raise

    monkeypatch.setattr(sync_api, "sync_playwright", spying_sync_playwright)

    async def look() -> str | None:
        return browser._bundled_chromium()

    found: list[str | None] = []
    browser._bundled_chromium.cache_clear()
    try:
        thread = threading.Thread(target=lambda: found.append(asyncio.run(look())))
        thread.start()
        thread.join(120)
    finally:
        browser._bundled_chromium.cache_clear()
    assert not thread.is_alive(), "the lookup did not return within 120 s"
    assert len(answered) == 1 and isinstance(answered[0], str), answered
    # Playwright names its browser's path whether or not it was downloaded; the lookup
    # returns it exactly when the file is there.
    assert found == [answered[0] if os.path.isfile(answered[0]) else None]


def test_real_launch_of_the_found_chromium() -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    result: list[object] = []

    def launch() -> None:
        try:
            with sync_playwright() as playwright:
                launched = playwright.chromium.launch(
                    **launch_args(None, {"headless": True, "timeout": 60_000})
                )
                page = launched.new_page()
                page.set_default_timeout(30_000)
                page.goto("data:text/html,<p id=hello>Hello, Chromium</p>")
                result.append(page.text_content("#hello"))
                launched.close()
        except Exception as exc:
            result.append(exc)

    # Its own thread: a session-scoped pytest-playwright fixture may already run the sync API
    # in this one, and Playwright allows only one per thread.
    thread = threading.Thread(target=launch, name="chromium-launch-test")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "Chromium did not start and stop within 120 s"
    assert result == ["Hello, Chromium"]
