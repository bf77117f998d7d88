"""The uvicorn (and aiosmtpd) internals the runtime relies on, checked on the installed versions.

``runtime/limits.py`` subclasses uvicorn's ``HttpToolsProtocol``: it overrides the parser
callbacks and the connection methods, replaces ``logger`` and reads ``transport``, ``loop`` and
``connections``, and sets ``cycle.disconnected`` and ``cycle.message_event`` of the request in
flight. ``runtime/serve.py`` overrides ``uvicorn.Server.main_loop`` and ``shutdown`` and uses
``on_tick``, ``servers``, ``server_state`` and ``lifespan``. ``inbound/smtp.py`` subclasses
aiosmtpd's ``SMTP``. ``pyproject.toml`` bounds uvicorn to the versions these tests passed on:
when a new release moves one of these, a test here fails naming what moved, and the bound moves
only once the runtime is adapted.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import socket
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosmtpd.smtp
import pytest
import uvicorn
from packaging.requirements import Requirement
from packaging.version import Version
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pytest_anchor_mfa.runtime.limits import LimitedProtocol, ThrottledWarnings
from pytest_anchor_mfa.runtime.serve import AsgiServer

WAIT = 10.0  # seconds; only reached when something is broken
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def moved(what: str, where: str) -> str:
    return f"uvicorn {uvicorn.__version__}: {what} moved or changed; {where} relies on it"


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def declared(name: str) -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(Requirement(d) for d in dependencies if Requirement(d).name == name)


@pytest.mark.parametrize("name", ["uvicorn", "anyio"])
def test_the_installed_version_is_in_the_declared_range(name: str) -> None:
    requirement = declared(name)
    installed = Version(importlib.metadata.version(name))
    assert requirement.specifier.contains(installed), (
        f"{name} {installed} is outside the range pyproject.toml declares ({requirement}); "
        "the runtime was tested on that range only"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("main_loop", ["self"]),
        ("shutdown", ["self", "sockets"]),
        ("on_tick", ["self", "counter"]),
        ("serve", ["self", "sockets"]),
    ],
)
def test_the_server_methods_we_override_or_call_keep_their_signatures(
    name: str, expected: list[str]
) -> None:
    method = getattr(uvicorn.Server, name, None)
    where = "runtime/serve.py (_Uvicorn)"
    what = f"uvicorn.Server.{name}"
    assert method is not None, moved(what, where)
    assert inspect.iscoroutinefunction(method), moved(f"{what} (no longer async)", where)
    assert parameters(method) == expected, moved(f"{what}{parameters(method)}", where)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("__init__", ["self", "config", "server_state", "app_state", "_loop"]),
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "exc"]),
        ("data_received", ["self", "data"]),
        ("send_400_response", ["self", "msg"]),
        ("on_message_begin", ["self"]),
        ("on_url", ["self", "url"]),
        ("on_header", ["self", "name", "value"]),
        ("on_message_complete", ["self"]),
        ("handle_websocket_upgrade", ["self"]),
        ("shutdown", ["self"]),
    ],
)
def test_the_protocol_methods_we_override_keep_their_signatures(
    name: str, expected: list[str]
) -> None:
    method = getattr(HttpToolsProtocol, name, None)
    where = "runtime/limits.py (LimitedProtocol)"
    assert method is not None, moved(f"HttpToolsProtocol.{name}", where)
    assert parameters(method) == expected, moved(
        f"HttpToolsProtocol.{name}{parameters(method)}", where
    )


def test_the_config_still_takes_the_settings_we_pass() -> None:
    taken = set(parameters(uvicorn.Config.__init__))
    ours = {
        "lifespan", "log_config", "log_level", "access_log", "timeout_graceful_shutdown",
        "timeout_keep_alive", "http", "ws", "ws_max_size", "proxy_headers",
    }  # fmt: skip
    assert ours <= taken, moved(f"uvicorn.Config({sorted(ours - taken)})", "runtime/serve.py")


def _inside(server: AsgiServer) -> dict[str, Any]:
    """What the runtime reads and sets inside uvicorn, while a request is in flight."""

    async def look() -> dict[str, Any]:
        uvicorn_server: Any = server._server  # type: ignore[attr-defined]
        connection = next(iter(uvicorn_server.server_state.connections))
        cycle = connection.cycle
        return {
            "Server.servers": bool(uvicorn_server.servers),
            "Server.lifespan.shutdown": callable(getattr(uvicorn_server.lifespan, "shutdown", 0)),
            "Server.server_state.tasks": isinstance(uvicorn_server.server_state.tasks, set),
            "a LimitedProtocol": isinstance(connection, LimitedProtocol),
            "HttpToolsProtocol.logger (replaced)": isinstance(connection.logger, ThrottledWarnings),
            "HttpToolsProtocol.loop": connection.loop is asyncio.get_running_loop(),
            "HttpToolsProtocol.connections": connection in connection.connections,
            "HttpToolsProtocol.transport": isinstance(connection.transport, asyncio.Transport),
            "cycle.disconnected": getattr(cycle, "disconnected", None) is False,
            "cycle.message_event": isinstance(getattr(cycle, "message_event", 0), asyncio.Event),
            "cycle.response_started": getattr(cycle, "response_started", None) is False,
        }

    return server.run(look(), WAIT)


def test_what_we_read_and_set_inside_uvicorn_is_there_during_a_request() -> None:
    arrived, release = asyncio.Event(), asyncio.Event()
    stopped: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        arrived.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def on_stop() -> None:  # main_loop, overridden, awaits it
        stopped.append(True)
        release.set()

    server = AsgiServer(app, name="internals", on_stop=on_stop)
    with server, socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        server.run(asyncio.wait_for(arrived.wait(), WAIT), WAIT)
        found = _inside(server)
        missing = [what for what, ok in found.items() if not ok]
        assert not missing, moved(", ".join(missing), "runtime/limits.py and serve.py")
        server.stop()
        assert stopped == [True]
        assert sock.recv(65536).startswith(b"HTTP/1.1 204 ")  # answered before the close


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("push", ["self", "status"]),
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "error"]),
        ("eof_received", ["self"]),
    ],
)
def test_the_smtp_methods_we_override_keep_their_signatures(name: str, expected: list[str]) -> None:
    method = getattr(aiosmtpd.smtp.SMTP, name, None)
    what = f"aiosmtpd {aiosmtpd.__version__}: SMTP.{name}"
    assert method is not None and parameters(method) == expected, (
        f"{what} moved or changed; inbound/smtp.py (_Session) relies on it"
    )
    assert isinstance(aiosmtpd.smtp.SMTP.line_length_limit, int), (
        "aiosmtpd SMTP.line_length_limit moved; inbound/smtp.py raises it"
    )
