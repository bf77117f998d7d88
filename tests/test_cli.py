"""``anchor-mfa`` in real subprocesses: serve, signal, wait, exit codes and error lines."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from subprocesses import (
    RUN_TIMEOUT,
    CliProcess,
    CliProcesses,
    Exited,
    cli_env,
    run_cli,
    serve_banner,
)

from pytest_anchor_mfa import __version__
from pytest_anchor_mfa.server import FakeEventServer

# The keys of the shared fake server in tests/conftest.py (a test module cannot import a
# conftest: the repository has several). test_fake_server.py checks that they agree.
ALICE_KEY = "sk-test-alice-0123456789abcdef"
ALICE_KEY_2 = "sk-test-alice-second-9876543210"
BOB_KEY = "sk-test-bob-fedcba9876543210"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_error_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("anchor-mfa")
    return lines[0]


def fake_env(server: FakeEventServer, key: str = ALICE_KEY) -> dict[str, str]:
    return cli_env(ANCHOR_API_KEY=key, ANCHOR_BASE_URL=server.url)


@dataclass(frozen=True)
class Serving:
    """``anchor-mfa serve --port 0`` started, its banner read."""

    process: CliProcess
    banner: list[str]
    url: str

    def stop(self, how: signal.Signals) -> Exited:
        return self.process.stop(how)


@pytest.fixture
def serve(cli_processes: CliProcesses) -> Callable[..., Serving]:
    def start(
        *args: str, env: dict[str, str] | None = None, sigint_ignored: bool = False
    ) -> Serving:
        process = cli_processes.start(
            "serve", "--port", "0", *args, env=env, sigint_ignored=sigint_ignored
        )
        banner, url = serve_banner(process)
        assert len(banner) == 4, banner  # url, key, sessions, "Ctrl+C to stop"
        return Serving(process, banner, url)

    return start


@pytest.fixture
def start_cli(cli_processes: CliProcesses) -> Callable[..., CliProcess]:
    """``anchor-mfa signal/wait ...`` in the background (ended after the test if still running)."""
    return cli_processes.start


# -- serve + signal + wait, all as processes -----------------------------------------------------


def test_serve_then_wait_and_signal_in_other_processes(
    serve: Callable[..., Serving], start_cli: Callable[..., CliProcess]
) -> None:
    server = serve("--api-key", f"{ALICE_KEY}=alice", "--api-key", f"{ALICE_KEY_2}=alice")
    port = int(server.url.rsplit(":", 1)[1])
    assert port not in (0, 8787)
    assert ALICE_KEY not in "\n".join(server.banner)  # given keys are shown masked

    waiter = start_cli(
        "wait",
        "mfa_code",
        "--timeout",
        "20",
        env=cli_env(ANCHOR_API_KEY=ALICE_KEY_2, ANCHOR_BASE_URL=server.url),
    )
    # Whether the signal lands before or after the wait starts, the wait gets it (a signal
    # nobody waits for is kept), so no synchronisation is needed here.
    signaled = run_cli(
        "signal",
        "mfa_code",
        "--code",
        "123456",
        env=cli_env(ANCHOR_API_KEY=ALICE_KEY, ANCHOR_BASE_URL=server.url),
    )
    assert signaled.returncode == 0, signaled.stderr
    assert "mfa_code" in signaled.stdout
    waited = waiter.finish()
    assert waited.code == 0, waited.stderr
    assert json.loads(waited.stdout) == {"code": "123456"}

    stopped = server.stop(signal.SIGTERM)
    assert stopped.code == 0
    assert "stopped" in stopped.later


@pytest.mark.parametrize(
    ("how", "sigint_ignored"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "SIGINT-started-ignored"],
)
def test_serve_stops_cleanly_on_signals(
    serve: Callable[..., Serving], how: signal.Signals, sigint_ignored: bool
) -> None:
    # Started with SIGINT ignored, as a CI script's background job is: it still stops on it.
    server = serve("--api-key", ALICE_KEY, sigint_ignored=sigint_ignored)
    response = httpx.post(
        server.url + "/v1/events/e", headers={"anchor-api-key": ALICE_KEY}, json={"data": {}}
    )
    assert response.status_code == 200
    stopped = server.stop(how)
    assert stopped.code == 0
    assert "stopped" in stopped.later
    assert "Traceback" not in stopped.stderr


def test_serve_answers_pending_waits_when_stopped(serve: Callable[..., Serving]) -> None:
    server = serve("--api-key", ALICE_KEY)
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    body = b'{"timeoutMs": 20000}'
    with socket.create_connection((host, int(port)), timeout=RUN_TIMEOUT) as sock:
        sock.sendall(
            b"POST /v1/events/never/wait HTTP/1.1\r\nhost: x\r\n"
            + f"anchor-api-key: {ALICE_KEY}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        # A later request's answer shows the server has taken the wait in (connections are
        # accepted in order); parked or still being read, the shutdown must answer it.
        probe = httpx.post(server.url + "/v1/events/other", json={"data": {}})
        assert probe.status_code == 401
        started = time.monotonic()
        stopped = server.stop(signal.SIGTERM)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert stopped.code == 0
    assert time.monotonic() - started < 5
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), answer
    assert json.loads(payload)["error"]["code"] == 503


def test_serve_injects_the_faults_it_is_given(serve: Callable[..., Serving]) -> None:
    server = serve("--api-key", ALICE_KEY, "--fault", "503:count=1,retry_after=3")
    headers = {"anchor-api-key": ALICE_KEY}
    first = httpx.post(server.url + "/v1/events/e", headers=headers, json={"data": {}})
    second = httpx.post(server.url + "/v1/events/e", headers=headers, json={"data": {}})
    assert (first.status_code, first.headers["retry-after"]) == (503, "3")
    assert second.status_code == 200
    assert server.stop(signal.SIGTERM).code == 0


def test_serve_with_a_bad_fault_is_one_error_line() -> None:
    result = run_cli("serve", "--port", "0", "--fault", "503:colour=red")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "colour" in result.stderr


def test_serve_prints_a_generated_key_that_works(serve: Callable[..., Serving]) -> None:
    server = serve()
    match = re.search(r"API key: (\S+)", server.banner[1])
    assert match, server.banner
    key = match.group(1)
    response = httpx.post(
        server.url + "/v1/events/e/wait", headers={"anchor-api-key": key}, json={"timeoutMs": 0}
    )
    assert response.status_code == 408
    assert server.stop(signal.SIGTERM).code == 0


def test_serve_uses_the_env_key_and_masks_it(serve: Callable[..., Serving]) -> None:
    server = serve(env=cli_env(ANCHOR_API_KEY=BOB_KEY))
    assert BOB_KEY not in "\n".join(server.banner)
    response = httpx.post(
        server.url + "/v1/events/e", headers={"anchor-api-key": BOB_KEY}, json={"data": {}}
    )
    assert response.status_code == 200


def test_serve_users_from_key_equals_user(serve: Callable[..., Serving]) -> None:
    server = serve("--api-key", f"{ALICE_KEY}=alice", "--api-key", f"{BOB_KEY}=bob")
    env_alice = cli_env(ANCHOR_API_KEY=ALICE_KEY, ANCHOR_BASE_URL=server.url)
    env_bob = cli_env(ANCHOR_API_KEY=BOB_KEY, ANCHOR_BASE_URL=server.url)
    assert run_cli("signal", "e", "--data", '{"who": "alice"}', env=env_alice).returncode == 0
    assert_one_error_line(run_cli("wait", "e", "--timeout", "0.2", env=env_bob), code=2)
    waited = run_cli("wait", "e", "--timeout", "5", env=env_alice)
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout) == {"who": "alice"}


def test_serve_on_a_busy_port_is_one_error_line(events_server: FakeEventServer) -> None:
    result = run_cli("serve", "--port", str(events_server.port), "--api-key", ALICE_KEY)
    line = assert_one_error_line(result)
    assert str(events_server.port) in line


# -- signal and wait against the in-process fake server ------------------------------------------


def test_wait_prints_the_signaled_data(
    events_server: FakeEventServer, start_cli: Callable[..., CliProcess]
) -> None:
    waiter = start_cli("wait", "cli_event", "--timeout", "20", env=fake_env(events_server))
    events_server.wait_for_waiters("cli_event", user="alice", timeout=15)
    assert events_server.signal("cli_event", {"code": "123456", "n": [1]}, user="alice") == 1
    waited = waiter.finish()
    assert waited.code == 0, waited.stderr
    assert json.loads(waited.stdout) == {"code": "123456", "n": [1]}


def test_signal_with_data_and_code(events_server: FakeEventServer) -> None:
    env = fake_env(events_server)
    refused = run_cli("signal", "cli/event", "--data", '{"a": 1}', env=env)
    assert "InvalidRequestError" in assert_one_error_line(refused)  # no "/" in event names
    result = run_cli("signal", "cli event?", "--data", '{"a": {"b": [1, null]}}', env=env)
    assert result.returncode == 0, result.stderr
    assert run_cli("signal", "cli event?", "--code", "000042", env=env).returncode == 0
    assert events_server.kept_signals("cli event?", user="alice") == [
        {"a": {"b": [1, None]}},
        {"code": "000042"},
    ]


def test_code_dash_reads_stdin(events_server: FakeEventServer) -> None:
    result = run_cli(
        "signal", "piped", "--code", "-", env=fake_env(events_server), stdin="246810\n"
    )
    assert result.returncode == 0, result.stderr
    assert events_server.kept_signals("piped", user="alice") == [{"code": "246810"}]
    assert "246810" not in result.stdout + result.stderr


def test_code_dash_with_empty_stdin_is_an_error(events_server: FakeEventServer) -> None:
    result = run_cli("signal", "piped", "--code", "-", env=fake_env(events_server), stdin="")
    assert "empty" in assert_one_error_line(result)
    assert events_server.history == []


def test_wait_timeout_exits_2(events_server: FakeEventServer) -> None:
    started = time.monotonic()
    result = run_cli("wait", "nothing", "--timeout", "0.2", env=fake_env(events_server))
    line = assert_one_error_line(result, code=2)
    assert "nothing" in line
    assert result.stdout == ""
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bogus"],
        ["signal"],
        ["signal", "e"],
        ["signal", "e", "--data", "{}", "--code", "1"],
        ["signal", "e", "--data", "{bad json"],
        ["signal", "e", "--data", "[1, 2]"],
        ["signal", "e", "--code", ""],
        ["wait", "e", "--timeout", "soon"],
        ["wait", "e", "--timeout", "-1"],
        ["serve", "--api-key", "=user"],
        ["serve", "--api-key", "key="],
        ["serve", "--port", "http"],
    ],
    ids=lambda args: " ".join(args) or "no-args",
)
def test_bad_usage_is_one_line_and_exit_1(events_server: FakeEventServer, args: list[str]) -> None:
    result = run_cli(*args, env=fake_env(events_server))
    assert_one_error_line(result)
    assert events_server.history == []


def test_missing_key_is_one_line_naming_the_env_var(events_server: FakeEventServer) -> None:
    env = cli_env(ANCHOR_BASE_URL=events_server.url)
    for args in (["signal", "e", "--code", "1"], ["wait", "e", "--timeout", "1"]):
        assert "ANCHOR_API_KEY" in assert_one_error_line(run_cli(*args, env=env))


def test_wrong_key_is_one_line_without_the_key(events_server: FakeEventServer) -> None:
    wrong = "sk-wrong-cli-key-00000000000"
    result = run_cli("signal", "e", "--code", "1", env=fake_env(events_server, wrong))
    line = assert_one_error_line(result)
    assert "AuthenticationError" in line
    assert "--api-key" in line and "--anchor-api-key" not in line  # this interface's flag
    assert wrong not in result.stderr + result.stdout


def test_missing_key_names_the_cli_flag_not_a_python_argument(
    events_server: FakeEventServer,
) -> None:
    line = assert_one_error_line(
        run_cli("wait", "e", env=cli_env(ANCHOR_BASE_URL=events_server.url))
    )
    assert "--api-key" in line and "api_key=" not in line


@pytest.mark.parametrize("timeout", ["-5", "nan", "soon"])
def test_a_bad_wait_timeout_is_a_usage_error_not_an_http_400(
    events_server: FakeEventServer, timeout: str
) -> None:
    result = run_cli("wait", "e", "--timeout", timeout, env=fake_env(events_server, ALICE_KEY))
    line = assert_one_error_line(result)
    assert "--timeout" in line and "400" not in line


def test_key_and_url_options_override_the_environment(events_server: FakeEventServer) -> None:
    env = cli_env(ANCHOR_API_KEY="sk-not-this-one-000000000", ANCHOR_BASE_URL="http://127.0.0.1:1")
    result = run_cli(
        "signal",
        "e",
        "--code",
        "1",
        "--api-key",
        BOB_KEY,
        "--base-url",
        events_server.url,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert events_server.kept_signals("e", user="bob") == [{"code": "1"}]


def test_unreachable_server_is_one_line(events_server: FakeEventServer) -> None:
    env = cli_env(ANCHOR_API_KEY=ALICE_KEY, ANCHOR_BASE_URL=f"http://127.0.0.1:{free_port()}")
    line = assert_one_error_line(run_cli("signal", "e", "--code", "1", env=env))
    assert "TransportError" in line


def test_bad_base_url_is_one_line(events_server: FakeEventServer) -> None:
    env = cli_env(ANCHOR_API_KEY=ALICE_KEY, ANCHOR_BASE_URL="ftp://example.com")
    assert "ConfigurationError" in assert_one_error_line(run_cli("wait", "e", env=env))


def test_version_and_console_script() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout
    script = Path(sysconfig.get_path("scripts")) / "anchor-mfa"
    assert script.exists(), f"the anchor-mfa console script is not installed at {script}"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_serve_posts_intervention_webhooks(
    serve: Callable[..., Serving], start_cli: Callable[..., CliProcess]
) -> None:
    from pytest_anchor_mfa.webhooks.receiver import WebhookReceiver

    with WebhookReceiver("whsec_cli_test") as receiver:
        server = serve(
            "--api-key",
            ALICE_KEY,
            "--webhook-url",
            receiver.url,
            "--webhook-secret",
            "whsec_cli_test",
        )
        env = cli_env(ANCHOR_API_KEY=ALICE_KEY, ANCHOR_BASE_URL=server.url)
        waiter = start_cli("wait", "login_otp", "--timeout", "20", env=env)
        requested = receiver.wait_for("intervention.requested", timeout=15)
        assert requested.data.event == "login_otp"
        assert run_cli("signal", "login_otp", "--code", "246810", env=env).returncode == 0
        assert json.loads(waiter.finish().stdout) == {"code": "246810"}
        resolved = receiver.wait_for("intervention.resolved", timeout=15)
        assert resolved.data.intervention_id == requested.data.intervention_id


def test_serve_webhook_url_without_secret_is_one_error_line() -> None:
    result = run_cli("serve", "--port", "0", "--webhook-url", "http://127.0.0.1:9/x")
    assert "--webhook-secret" in assert_one_error_line(result)


def test_stop_on_signals_sets_its_event_and_gives_the_old_handlers_back() -> None:
    from pytest_anchor_mfa.cli.stopping import stop_on_signals

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in before:
        with stop_on_signals() as stop:
            assert not stop.is_set()
            signal.raise_signal(sig)
            assert stop.wait(RUN_TIMEOUT)
        assert {s: signal.getsignal(s) for s in before} == before
