"""The one loop thread per process (``runtime.loop``) and the one way to serve on it
(``runtime.serve``): every server shares the loop, stopping one leaves the others serving, a
call that would wait for the loop from the loop itself fails at once, and a forked child gets
a loop of its own."""

from __future__ import annotations

import asyncio
import multiprocessing
import smtplib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pytest_anchor_mfa.inbound.sms import SmsGateway
from pytest_anchor_mfa.inbound.smtp import SmtpInbox
from pytest_anchor_mfa.runtime.loop import Runtime, shared_runtime
from pytest_anchor_mfa.runtime.serve import AsgiServer, BackgroundServer
from pytest_anchor_mfa.server import FakeEventServer
from pytest_anchor_mfa.webhooks.receiver import WebhookReceiver

WAIT = 10.0  # seconds; only reached when something is broken
SERVER_NAMES = {"anchor-fake-events", "webhook-receiver", "sms-gateway", "smtp-inbox"}


def ignore(event: str, data: dict[str, Any]) -> None:
    """A signaler for servers whose deliveries these tests do not look at."""


@pytest.fixture
def every_server() -> Iterator[tuple[FakeEventServer, WebhookReceiver, SmsGateway, SmtpInbox]]:
    servers = (
        FakeEventServer(),
        WebhookReceiver("whsec_runtime_test"),
        SmsGateway(ignore),
        SmtpInbox(ignore),
    )
    for server in servers:
        server.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def server_tasks() -> set[str]:
    async def names() -> set[str]:
        return {task.get_name() for task in asyncio.all_tasks()}

    return shared_runtime().run(names())


def test_every_server_runs_on_the_one_loop_thread(
    every_server: tuple[FakeEventServer, WebhookReceiver, SmsGateway, SmtpInbox],
) -> None:
    names = [thread.name for thread in threading.enumerate()]
    assert names.count("anchor-mfa-runtime") == 1
    assert not SERVER_NAMES & set(names)  # no thread of their own any more...
    assert server_tasks() >= SERVER_NAMES  # ...but a task each, named after the server
    loops = {server._server.loop for server in every_server}  # type: ignore[attr-defined]
    assert loops == {shared_runtime().loop}


def test_stopping_one_server_leaves_the_others_serving(
    every_server: tuple[FakeEventServer, WebhookReceiver, SmsGateway, SmtpInbox],
) -> None:
    fake, receiver, gateway, inbox = every_server
    with FakeEventServer() as other:
        port = other.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
    with httpx.Client(timeout=WAIT) as http:
        signaled = http.post(
            f"{fake.url}/v1/events/e",
            json={"data": {"n": 1}},
            headers={"anchor-api-key": fake.api_key},
        )
        assert signaled.status_code == 200 and fake.kept_signals("e") == [{"n": 1}]
        assert http.post(receiver.url, content=b"{}").status_code == 400  # unsigned: refused
        assert http.post(gateway.url("generic"), content=b"{}").status_code == 403
    with smtplib.SMTP(inbox.host, inbox.port, timeout=WAIT) as smtp:
        assert smtp.noop()[0] == 250


def test_run_from_the_loop_thread_fails_at_once_instead_of_waiting_for_itself() -> None:
    runtime = shared_runtime()

    async def nested() -> None:
        runtime.run(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="own thread, where it would wait for itself"):
        runtime.run(nested(), timeout=WAIT)


def test_stop_from_the_loop_thread_fails_at_once_and_the_server_still_stops() -> None:
    fake = FakeEventServer().start()
    stop = fake.stop

    async def stop_here() -> None:
        stop()

    try:
        with pytest.raises(RuntimeError, match=r"anchor-fake-events\.stop\(\)"):
            shared_runtime().run(stop_here(), timeout=WAIT)
        assert fake.pending_waiters("e") == 0  # still serving
    finally:
        fake.stop()


def test_run_cancels_a_coroutine_past_its_timeout() -> None:
    ended = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.set()

    with pytest.raises(TimeoutError):
        shared_runtime().run(forever(), timeout=0.05)
    assert ended.wait(WAIT)


class _Exiting(BackgroundServer):
    """A server whose start-up ends in SystemExit, as uvicorn's does when it fails."""

    async def _serve(
        self, sock: socket.socket, accepting: Callable[[], None], stop: asyncio.Event
    ) -> None:
        raise SystemExit(3)

    async def _cut_connections(self) -> None:
        pass


def test_a_server_failing_to_start_leaves_the_loop_to_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeEventServer() as fake:
        with pytest.raises(RuntimeError, match="exiting did not start") as failed:
            _Exiting(name="exiting").start()
        assert "SystemExit" in repr(failed.value.__cause__)
        fake.signal("e", {"n": 1})
        assert fake.kept_signals("e") == [{"n": 1}]
    assert "exiting crashed" in caplog.text


def test_a_runtime_of_its_own_is_a_thread_of_its_own() -> None:
    runtime = Runtime("private-runtime")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    try:
        with AsgiServer(app, name="private", runtime=runtime) as server:
            assert server.loop is runtime.loop and server.loop is not shared_runtime().loop
            assert "private-runtime" in {thread.name for thread in threading.enumerate()}
            assert httpx.get(server.url, timeout=WAIT).status_code == 204
    finally:
        runtime.close()
    assert "private-runtime" not in {thread.name for thread in threading.enumerate()}


def _serve_in_child(answer: Any) -> None:
    # The inherited loop's thread did not survive the fork: without a loop of its own the
    # child's server would never start.
    try:
        with FakeEventServer() as fake:
            fake.signal("e", {"n": 1})
            answer.put(fake.kept_signals("e"))
    except BaseException as exc:  # reported to the parent
        answer.put(repr(exc))


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_gets_a_loop_of_its_own() -> None:
    with FakeEventServer() as fake:  # the parent's loop is running when the child is forked
        context = multiprocessing.get_context("fork")
        answer = context.Queue()
        child = context.Process(target=_serve_in_child, args=(answer,))
        child.start()
        try:
            assert answer.get(timeout=30) == [{"n": 1}]
        finally:
            child.join(30)
        assert child.exitcode == 0
        fake.signal("e", {"n": 2})  # and the parent's loop is untouched
        assert fake.kept_signals("e") == [{"n": 2}]
