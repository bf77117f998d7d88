"""``--anchor-browser session``: pytest-playwright's browser on an Anchor session, in pytester runs.

Fake mode: the plugin's fake server plays Anchor's sessions with a real local Chromium, so these
runs drive a real browser through the CDP proxy. Live mode is checked against a local stand-in
for Anchor that refuses every create (401, 402, 429, 500): one line, and one create per run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_anchor_mfa.runtime.asgi import Receive, Scope, Send, send_json
from pytest_anchor_mfa.runtime.serve import AsgiServer

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="no system Chromium (apt-get install -y chromium)"
)

SESSION_MODE = ("-p", "no:cacheprovider", "--anchor-mode", "fake", "--anchor-browser", "session")

_SESSION_TESTS = """
    from pathlib import Path

    def test_one(page, anchor_session, anchor_fake):
        page.set_content("<h1>in a session</h1>")
        assert page.inner_text("h1") == "in a session"
        assert [s.id for s in anchor_fake.sessions.running()] == [anchor_session.id]
        assert anchor_fake.api_key not in repr(anchor_session)
        assert anchor_fake.api_key[-4:] in repr(anchor_session)  # masked: sk-…1234
        Path("ids.txt").open("a").write(anchor_session.id + "\\n")

    def test_two(page, anchor_session, anchor_fake):
        assert page.evaluate("1 + 1") == 2
        assert len(anchor_fake.sessions.running()) == 1
        Path("ids.txt").open("a").write(anchor_session.id + "\\n")
"""


def test_the_browser_fixture_runs_in_one_session_per_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(_SESSION_TESTS)
    result = pytester.runpytest_subprocess(*SESSION_MODE)
    result.assert_outcomes(passed=2)
    ids = (pytester.path / "ids.txt").read_text().split()
    assert len(ids) == 2 and ids[0] == ids[1]


def test_session_scope_test_makes_a_session_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(_SESSION_TESTS)
    result = pytester.runpytest_subprocess(*SESSION_MODE, "--anchor-session-scope", "test")
    result.assert_outcomes(passed=2)
    ids = (pytester.path / "ids.txt").read_text().split()
    assert len(ids) == 2 and ids[0] != ids[1]


def test_the_settings_come_from_ini_and_environment_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nanchor_browser = session\n")
    pytester.makepyfile(
        """
        def test_settings(anchor_settings):
            assert anchor_settings.browser == "session"
            assert anchor_settings.session_scope == "test"
        """
    )
    monkeypatch.setenv("ANCHOR_MFA_SESSION_SCOPE", "test")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--anchor-mode", "fake")
    result.assert_outcomes(passed=1)


def test_a_bad_browser_setting_is_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    monkeypatch.setenv("ANCHOR_MFA_BROWSER", "cloud")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*$ANCHOR_MFA_BROWSER must be one of local, session; got 'cloud'*"]
    )


def test_a_failing_test_names_its_session_and_live_view(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(page):
            page.set_content("<h1>hi</h1>")
            assert page.inner_text("h1") == "bye"
        """
    )
    result = pytester.runpytest_subprocess(*SESSION_MODE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Anchor session*",
            "this test ran in Anchor session * live view: http://127.0.0.1:*/live/*",
        ]
    )
    assert "apiKey=sk-" not in result.stdout.str()


def test_anchor_session_config_is_the_create_body(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.fixture(scope="session")
        def anchor_session_config():
            return {"session": {"timeout": {"idle_timeout": 5}}, "browser": {}}

        def test_config(anchor_session, anchor_fake):
            answer = httpx.get(
                f"{anchor_fake.url}/v1/sessions/{anchor_session.id}",
                headers={"anchor-api-key": anchor_fake.api_key},
            )
            configuration = answer.json()["data"]["configuration"]
            assert configuration == {"session": {"timeout": {"idle_timeout": 5}}, "browser": {}}
        """
    )
    result = pytester.runpytest_subprocess(*SESSION_MODE)
    result.assert_outcomes(passed=1)


def test_sessions_are_ended_when_the_run_is_interrupted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_interrupted(page, anchor_fake):
            (session,) = anchor_fake.sessions.running()
            Path("dir.txt").write_text(session.browser.user_data_dir)
            raise KeyboardInterrupt
        """
    )
    result = pytester.runpytest_subprocess(*SESSION_MODE)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # The fake's Chromium ended with the run: no process carries the session's user-data-dir.
    user_data_dir = (pytester.path / "dir.txt").read_text()
    deadline = time.monotonic() + 15
    while _running(user_data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(user_data_dir)


def _running(text: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


# -- live mode against a stand-in for Anchor that refuses every create ---------------------------


class Refusing:
    """An Anchor stand-in answering every create with ``status`` (200: a session that has no
    browser); counts the creates and the deletes."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.creates = 0
        self.deletes: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "DELETE":
            self.deletes.append(scope["path"].rsplit("/", 1)[1])
            await send_json(send, 200, {"data": {"status": "success"}})
            return
        self.creates += 1
        if self.status == 200:
            data = {"id": f"s{self.creates}", "cdp_url": "wss://x?apiKey=k", "live_view_url": ""}
            await send_json(send, 200, {"data": data})
            return
        message = {"error": {"code": self.status, "message": "refused by the stand-in"}}
        await send_json(send, self.status, message)


@pytest.fixture
def refusing(request: pytest.FixtureRequest) -> Iterator[tuple[Refusing, str]]:
    app = Refusing(request.param)
    with AsgiServer(app) as server:
        yield app, server.url


@pytest.mark.parametrize(
    ("refusing", "says"),
    [
        (401, "HTTP 401: Anchor refused the API key: check ANCHOR_API_KEY*"),
        (402, "HTTP 402: the Anchor account has no credits left*"),
        (429, "HTTP 429: Anchor's limit of concurrent sessions or requests is reached*"),
        (500, "HTTP 500: Anchor's sessions API failed; retry later*"),
    ],
    indirect=["refusing"],
)
def test_a_refused_live_create_is_one_line_and_is_not_repeated(
    pytester: pytest.Pytester, refusing: tuple[Refusing, str], says: str
) -> None:
    app, url = refusing
    pytester.makepyfile(
        """
        def test_a(page):
            pass

        def test_b(page):
            pass

        def test_c(anchor_session):
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--anchor-mode", "live", "--anchor-base-url", url,
        "--anchor-browser", "session", "--anchor-session-scope", "test",
        "--anchor-api-key", "sk-live-abcdefghijkl0123",
    )  # fmt: skip
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines([f"pytest-anchor-mfa: creating an Anchor session failed: {says}"])
    assert app.creates == 1
    assert "sk-live-abcdefghijkl0123" not in result.stdout.str()


def run_tests_each_with_a_session(
    pytester: pytest.Pytester, url: str, count: int
) -> pytest.RunResult:
    """``count`` tests, each with a session of its own, over two xdist workers in live mode."""
    pytester.makepyfile(
        "\n".join(f"def test_{i}(anchor_session):\n    pass\n" for i in range(count))
    )
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--anchor-mode", "live", "--anchor-base-url", url,
        "--anchor-browser", "session", "--anchor-session-scope", "test",
        "--anchor-api-key", "sk-live-abcdefghijkl0123",
    )  # fmt: skip


@pytest.mark.parametrize("refusing", [402], indirect=True)
def test_a_refused_create_is_asked_once_per_run_across_xdist_workers(
    pytester: pytest.Pytester, refusing: tuple[Refusing, str]
) -> None:
    app, url = refusing
    result = run_tests_each_with_a_session(pytester, url, 6)
    result.assert_outcomes(errors=6)
    assert app.creates == 1  # not one per worker
    said = "pytest-anchor-mfa: creating an Anchor session failed: HTTP 402: the Anchor account"
    # Each error's own section (the short summary repeats it, in full when $CI is set).
    assert sum(line.startswith(said) for line in result.outlines) == 6


@pytest.mark.parametrize("refusing", [200], indirect=True)
def test_after_a_first_create_succeeds_workers_create_without_the_lock(
    pytester: pytest.Pytester, refusing: tuple[Refusing, str]
) -> None:
    app, url = refusing
    result = run_tests_each_with_a_session(pytester, url, 4)
    result.assert_outcomes(passed=4)
    assert app.creates == 4 and len(app.deletes) == 4


LIVE = ("-p", "no:cacheprovider", "--anchor-mode", "live", "--anchor-browser", "session")


@pytest.mark.parametrize("refusing", [200], indirect=True)
def test_a_live_session_is_ended_when_the_run_is_interrupted(
    pytester: pytest.Pytester, refusing: tuple[Refusing, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, url = refusing
    pytester.makepyfile(
        """
        def test_interrupted(anchor_session):
            raise KeyboardInterrupt
        """
    )
    monkeypatch.setenv("ANCHOR_API_KEY", "sk-live-abcdefghijkl0123")
    result = pytester.runpytest_subprocess(*LIVE, "--anchor-base-url", url)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert (app.creates, app.deletes) == (1, ["s1"])


def test_the_cdp_url_and_its_key_are_scrubbed_from_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_prints_it(anchor_session, anchor_fake):
            Path("key.txt").write_text(anchor_fake.api_key)
            print("connect to", anchor_session.cdp_url)
            assert anchor_session.cdp_url == "something else"
        """
    )
    result = pytester.runpytest_subprocess(*SESSION_MODE, "--junitxml", "out.xml")
    result.assert_outcomes(failed=1)
    key = (pytester.path / "key.txt").read_text()
    assert key not in result.stdout.str()
    assert key not in (pytester.path / "out.xml").read_text()
    result.stdout.fnmatch_lines(["*connect to *"])


@pytest.mark.parametrize("refusing", [200], indirect=True)
def test_a_live_session_is_ended_when_the_run_gets_sigterm(
    pytester: pytest.Pytester, refusing: tuple[Refusing, str]
) -> None:
    app, url = refusing
    pytester.makepyfile(
        """
        import sys, threading

        def test_waits(anchor_session):
            print("ready", flush=True)
            threading.Event().wait(60)
        """
    )
    env = {**os.environ, "ANCHOR_API_KEY": "sk-live-abcdefghijkl0123"}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", *LIVE, "--anchor-base-url", url],
        cwd=pytester.path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:
            if "ready" in line:
                break
        run.send_signal(signal.SIGTERM)
        assert run.wait(30) == pytest.ExitCode.INTERRUPTED
    finally:
        run.kill()
        run.wait()
    assert (app.creates, app.deletes) == (1, ["s1"])


def test_anchor_session_works_in_local_mode_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_no_browser_fixture(anchor_session, anchor_fake, anchor_settings):
            assert anchor_settings.browser == "local"
            assert [s.id for s in anchor_fake.sessions.running()] == [anchor_session.id]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--anchor-mode", "fake")
    result.assert_outcomes(passed=1)
