"""The fake's Anchor sessions, checked with Anchor's official SDK (``anchorbrowser``) as oracle.

Real Chromium (Debian's /usr/bin/chromium), real HTTP and WebSockets over loopback. Playwright
runs in a fresh Python process of its own (``_in_fresh_process``): its sync API must not run in
this worker (see the developers' guide). Processes are looked for in /proc: a session's
browser and every helper it started carry its user-data-dir on their command line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from anchorbrowser import Anchorbrowser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from subprocesses import ROOT, CliProcesses, cli_env, serve_banner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from pytest_anchor_mfa.server.fake import FakeEventServer
from pytest_anchor_mfa.sessions.store import Session
from pytest_anchor_mfa.webhooks import WebhookReceiver

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")

ALICE, BOB = "sk-alice-0123456789abcdef", "sk-bob-0123456789abcdef"
REAP_TIMEOUT = 15.0


def processes_with(text: str) -> list[int]:
    """Pids of the processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _user_data_dirs_of_children(parent: int) -> list[str]:
    """The ``--user-data-dir`` of each session browser that ``parent`` started."""
    found = []
    for pid in processes_with("anchor-sess-"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if int(stat[1]) == parent:
            found += [a.split("=", 1)[1] for a in args if a.startswith("--user-data-dir=")]
    return found


def wait_until_gone(text: str, timeout: float = REAP_TIMEOUT) -> None:
    """Until no process carries ``text`` (bounded); the kernel tells nothing, so look again."""
    deadline = time.monotonic() + timeout
    while (left := processes_with(text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes still running {timeout} s after the end: {left}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeEventServer]:
    with FakeEventServer(
        {ALICE: "alice", BOB: "bob"},
        chromium=CHROMIUM,
        max_sessions=2,
        session_idle_timeout=60,
        session_clock=clock,
    ) as server:
        yield server


@pytest.fixture
def sdk(fake: FakeEventServer) -> Anchorbrowser:
    return Anchorbrowser(api_key=ALICE, base_url=fake.url, max_retries=0)


def _in_fresh_process(script: str, *args: str) -> str:
    """Run ``script`` (Python) in a new interpreter; its stdout, or the test fails with it."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=cli_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_sdk_creates_gets_lists_and_deletes_a_session(
    fake: FakeEventServer, sdk: Anchorbrowser
) -> None:
    created = sdk.sessions.create_session(session={"recording": {"active": False}})
    assert created.data is not None and created.data.id and created.data.cdp_url
    session_id = created.data.id
    assert (
        created.data.cdp_url == f"ws://127.0.0.1:{fake.port}?apiKey={ALICE}&sessionId={session_id}"
    )
    assert created.data.live_view_url
    (running,) = fake.sessions.running()
    user_data_dir = running.browser.user_data_dir  # type: ignore[attr-defined]
    assert processes_with(user_data_dir), "the session runs no Chromium"

    got = sdk.sessions.get_session(session_id)
    assert got.data is not None and got.data.session_id == session_id
    assert got.data.status == "running" and got.data.configuration == {
        "session": {"recording": {"active": False}}
    }
    listed = sdk.sessions.list_sessions()
    assert listed.data is not None and [s.id for s in listed.data.sessions] == [session_id]
    status = sdk.sessions.get_all_sessions_status()
    assert status.data is not None and status.data.count == 1

    deleted = sdk.sessions.delete_session(session_id)
    assert deleted.data is not None and deleted.data.status == "success"
    wait_until_gone(user_data_dir)
    assert not Path(user_data_dir).exists()
    ended = sdk.sessions.get_session(session_id)
    assert ended.data is not None and ended.data.status == "completed"
    assert fake.sessions.running() == []


def test_another_users_sessions_are_not_found_over_http(
    fake: FakeEventServer, sdk: Anchorbrowser
) -> None:
    created = sdk.sessions.create_session()
    assert created.data is not None and created.data.id
    with httpx.Client(base_url=fake.url, headers={"anchor-api-key": BOB}) as bob:
        answer = bob.get(f"/v1/sessions/{created.data.id}")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == 404
        assert bob.delete(f"/v1/sessions/{created.data.id}").status_code == 404
    assert len(fake.sessions.running()) == 1
    with httpx.Client(base_url=fake.url) as nobody:
        answer = nobody.post("/v1/sessions", json={})
        assert answer.status_code == 401 and "anchor-api-key" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [b"[1]", b"{", b'{"session": 3}', b'{"identities": {}}'],
    ids=["array", "broken", "session-not-object", "identities-not-list"],
)
def test_a_bad_create_body_is_a_400_in_the_envelope(fake: FakeEventServer, body: bytes) -> None:
    answer = httpx.post(f"{fake.url}/v1/sessions", content=body, headers={"anchor-api-key": ALICE})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 400
    assert fake.sessions.running() == []


def test_past_max_sessions_the_fake_answers_503_with_retry_after(
    fake: FakeEventServer, sdk: Anchorbrowser
) -> None:
    first = sdk.sessions.create_session()
    sdk.sessions.create_session()
    answer = httpx.post(f"{fake.url}/v1/sessions", json={}, headers={"anchor-api-key": ALICE})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert "at most 2 sessions" in answer.json()["error"]["message"]
    assert first.data is not None and first.data.id
    sdk.sessions.delete_session(first.data.id)
    assert sdk.sessions.create_session().data is not None


def _refused_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10).close()
    return refused.value.response.status_code


def test_the_cdp_endpoint_refuses_before_any_cdp_byte(
    fake: FakeEventServer, sdk: Anchorbrowser
) -> None:
    created = sdk.sessions.create_session()
    assert created.data is not None and created.data.id
    session_id = created.data.id
    base = f"ws://127.0.0.1:{fake.port}"
    assert _refused_status(f"{base}/?apiKey=sk-nobody-00000000&sessionId={session_id}") == 401
    assert _refused_status(f"{base}/?sessionId={session_id}") == 401
    assert _refused_status(f"{base}/?apiKey={BOB}&sessionId={session_id}") == 403
    assert _refused_status(f"{base}/?apiKey={ALICE}&sessionId=nosuchsession") == 404
    (running,) = fake.sessions.running()
    assert running.cdp_bytes == 0 and running.connections == 0
    # The right key and session get the browser's CDP.
    with connect(f"{base}/?apiKey={ALICE}&sessionId={session_id}") as cdp:
        cdp.send('{"id": 1, "method": "Browser.getVersion"}')
        assert '"product":"' in str(cdp.recv(timeout=10))


def test_an_idle_session_ends_after_the_idle_timeout_but_not_while_connected(
    fake: FakeEventServer, sdk: Anchorbrowser, clock: Clock
) -> None:
    created = sdk.sessions.create_session()
    assert created.data is not None and created.data.id and created.data.cdp_url
    (running,) = fake.sessions.running()
    with connect(created.data.cdp_url):
        clock.now += 3600
        assert fake.sessions.sweep() == 0  # someone is connected
    # The disconnect is noticed on the server's loop; the sweep runs there after it.
    deadline = time.monotonic() + 10
    while running.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    clock.now += 59
    assert fake.sessions.sweep() == 0  # idle for 59 s of 60
    clock.now += 1
    assert fake.sessions.sweep() == 1
    wait_until_gone(running.browser.user_data_dir)  # type: ignore[attr-defined]
    got = sdk.sessions.get_session(created.data.id)
    assert got.data is not None and got.data.status == "idle_timeout"


def test_a_session_end_sends_the_signed_session_completed_webhook(clock: Clock) -> None:
    with (
        WebhookReceiver("whsec_sessions_test") as receiver,
        FakeEventServer(
            {ALICE: "alice"},
            chromium=CHROMIUM,
            webhook_url=receiver.url,
            webhook_secret="whsec_sessions_test",
            session_clock=clock,
        ) as fake,
    ):
        sdk = Anchorbrowser(api_key=ALICE, base_url=fake.url, max_retries=0)
        created = sdk.sessions.create_session()
        assert created.data is not None and created.data.id
        clock.now += 12.5
        sdk.sessions.delete_session(created.data.id)
        event = receiver.wait_for("session.completed")
    assert event.data.session_id == created.data.id  # type: ignore[attr-defined]
    assert event.data.duration_ms == 12_500  # type: ignore[attr-defined]
    assert event.data.session_dashboard_url.endswith(created.data.id)  # type: ignore[attr-defined]


def test_stopping_the_server_reaps_every_session() -> None:
    with FakeEventServer({ALICE: "alice"}, chromium=CHROMIUM) as fake:
        sdk = Anchorbrowser(api_key=ALICE, base_url=fake.url, max_retries=0)
        sdk.sessions.create_session()
        sdk.sessions.create_session()
        dirs = [s.browser.user_data_dir for s in fake.sessions.running()]  # type: ignore[attr-defined]
        assert all(processes_with(d) for d in dirs)
    for user_data_dir in dirs:
        wait_until_gone(user_data_dir)


_OWNER = """
import sys, time
from pytest_anchor_mfa.server.fake import FakeEventServer
from anchorbrowser import Anchorbrowser
chromium, key = sys.argv[1:]
fake = FakeEventServer({key: "alice"}, chromium=chromium).start()
Anchorbrowser(api_key=key, base_url=fake.url, max_retries=0).sessions.create_session()
print(fake.sessions.running()[0].browser.user_data_dir, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_no_chromium_outlives_the_process_that_owns_the_server(sig: signal.Signals) -> None:
    assert CHROMIUM is not None
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, CHROMIUM, ALICE],
        env=cli_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        user_data_dir = owner.stdout.readline().strip()
        assert user_data_dir and processes_with(user_data_dir)
        owner.send_signal(sig)
        owner.wait(30)
        wait_until_gone(user_data_dir)
    finally:
        owner.kill()
        owner.wait()


_CONNECT = """
import sys
from playwright.sync_api import sync_playwright
from anchorbrowser import Anchorbrowser
base_url, key, how = sys.argv[1:]
sdk = Anchorbrowser(api_key=key, base_url=base_url, max_retries=0)
created = sdk.sessions.create_session()

def use(browser):
    context = browser.contexts[0] if browser.contexts else browser.new_context()
    page = context.new_page()
    page.set_content("<h1>over the proxy</h1>")
    print(page.inner_text("h1"), page.evaluate("1 + 1"))

if how == "playwright":
    with sync_playwright() as p:
        browser = p.chromium.connect_over_cdp(created.data.cdp_url)
        use(browser)
        browser.close()
else:
    with sdk.browser.connect(created.data.id) as browser:
        use(browser)
sdk.sessions.delete_session(created.data.id)
print("deleted")
"""


@pytest.mark.parametrize("how", ["playwright", "sdk"])
def test_playwright_drives_the_sessions_chromium_through_the_proxy(
    fake: FakeEventServer, how: str
) -> None:
    ended: list[Session] = []
    fake.sessions.store.add_listener(ended.append)  # called on the server's loop
    output = _in_fresh_process(_CONNECT, fake.url, ALICE, how)
    assert output.split("\n")[:2] == ["over the proxy 2", "deleted"]
    assert fake.sessions.running() == []
    (session,) = ended
    assert session.cdp_bytes > 0
    wait_until_gone(session.browser.user_data_dir)  # type: ignore[attr-defined]


def test_anchor_mfa_serve_plays_sessions_and_reaps_them_on_sigterm(
    cli_processes: CliProcesses,
) -> None:
    assert CHROMIUM is not None
    process = cli_processes.start(
        "serve", "--port", "0", "--api-key", ALICE, "--chromium", CHROMIUM, "--max-sessions", "3"
    )
    banner, url = serve_banner(process)
    assert f"sessions: Chromium {CHROMIUM}, at most 3 at once" in banner[2]
    sdk = Anchorbrowser(api_key=ALICE, base_url=url, max_retries=0)
    created = sdk.sessions.create_session()
    assert created.data is not None and created.data.id
    listed = sdk.sessions.get_all_sessions_status()
    assert listed.data is not None and listed.data.items
    (user_data_dir,) = _user_data_dirs_of_children(process.proc.pid)
    exited = process.stop(signal.SIGTERM)
    assert exited.code == 0, exited.output
    wait_until_gone(user_data_dir)


def test_the_create_bodys_idle_timeout_is_honoured(
    fake: FakeEventServer, sdk: Anchorbrowser, clock: Clock
) -> None:
    sdk.sessions.create_session(session={"timeout": {"idle_timeout": 1}})  # minutes
    sdk.sessions.create_session(session={"timeout": {"idle_timeout": -1}})  # never
    clock.now += 60
    assert fake.sessions.sweep() == 1
    clock.now += 10**6
    assert fake.sessions.sweep() == 0
    answer = httpx.post(
        f"{fake.url}/v1/sessions",
        json={"session": {"timeout": {"idle_timeout": "soon"}}},
        headers={"anchor-api-key": ALICE},
    )
    assert answer.status_code == 400 and "idle_timeout" in answer.json()["error"]["message"]


# -- bad input: whatever is sent, a refusal in the envelope and never a browser or a 500 ----------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def no_browser() -> Iterator[FakeEventServer]:
    """A fake without a Chromium: a create that passes validation is answered 501."""
    with FakeEventServer({ALICE: "alice"}) as server:
        yield server


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["session", "browser", "identities", "integrations", "other"]), _json
    )
)
def test_any_create_body_is_refused_in_the_envelope_or_accepted(
    no_browser: FakeEventServer, body: dict[str, object]
) -> None:
    answer = httpx.post(
        f"{no_browser.url}/v1/sessions", json=body, headers={"anchor-api-key": ALICE}
    )
    assert answer.status_code in (400, 501), answer.text
    assert answer.json()["error"]["code"] == answer.status_code


@settings(max_examples=40, deadline=None)
@given(query=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=40))
def test_any_cdp_query_without_a_session_is_refused(
    no_browser: FakeEventServer, query: str
) -> None:
    url = f"ws://127.0.0.1:{no_browser.port}/?{quote(query, safe='=&')}"
    assert _refused_status(url) in (400, 401, 404)


def test_a_session_whose_chromium_dies_ends_as_failed_with_its_webhook() -> None:
    with (
        WebhookReceiver("whsec_sessions_test") as receiver,
        FakeEventServer(
            {ALICE: "alice"},
            chromium=CHROMIUM,
            webhook_url=receiver.url,
            webhook_secret="whsec_sessions_test",
        ) as fake,
    ):
        sdk = Anchorbrowser(api_key=ALICE, base_url=fake.url, max_retries=0)
        created = sdk.sessions.create_session()
        assert created.data is not None and created.data.id
        (running,) = fake.sessions.running()
        os.kill(running.browser.pid, signal.SIGKILL)
        running.browser.process.wait(10)  # type: ignore[attr-defined]
        assert fake.sessions.sweep() == 1
        event = receiver.wait_for("session.failed")
        got = sdk.sessions.get_session(created.data.id)
    assert event.data.session_id == created.data.id  # type: ignore[attr-defined]
    assert got.data is not None and got.data.status == "failed"
    wait_until_gone(running.browser.user_data_dir)  # type: ignore[attr-defined]
