"""``anchor-mfa``: run the fake event server, signal an event, wait for one, or run the relay.

Exit codes: 0 success, 1 error (bad usage included), 2 ``wait`` timed out (``relay``: a port
cannot be bound), 130 interrupted. The ``relay`` command lives in ``relay.py``.
Errors are one line on stderr; no tracebacks for a user's mistake.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._version import __version__
from ..environment import env_value
from ..errors import AnchorMfaError, AuthenticationError, EventTimeoutError, TransportError
from ..events import EventsClient
from ..events.settings import resolve_api_key
from ..redact import mask_key
from ..runtime.limits import ServerLimits
from ..server import FakeEventServer
from ..server.faults import Faults, parse_fault
from ..server.store import MemoryStore
from ..server.store_url import store_from_url
from . import relay
from .stopping import stop_on_signals

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse exits 2 on bad usage, but 2 means "wait timed out" here.
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _seconds(text: str) -> float:
    """An ``argparse`` type: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--store",
        default=env_value("ANCHOR_MFA_STORE") or "memory",
        metavar="URL",
        help="where events live: memory, or redis://host:6379/0 shared by several instances "
        "(default: $ANCHOR_MFA_STORE, else memory)",
    )
    serve.add_argument(
        "--store-namespace",
        default=env_value("ANCHOR_MFA_STORE_NAMESPACE") or "default",
        metavar="NAME",
        help="key prefix in Redis of this deployment (default: $ANCHOR_MFA_STORE_NAMESPACE, "
        "else default)",
    )
    limits = serve.add_argument_group("limits (a long-running server stays healthy)")
    limits.add_argument("--max-waits", type=int, default=10_000, help="parked waits at once")
    limits.add_argument(
        "--max-kept-events", type=int, default=10_000, help="events holding kept signals"
    )
    limits.add_argument(
        "--max-kept-bytes", type=int, default=64 * 1024 * 1024, help="bytes of kept signals"
    )
    limits.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        help="seconds a request may take to arrive complete (slow senders get 408)",
    )
    limits.add_argument(
        "--keep-alive", type=float, default=5.0, help="seconds an idle connection stays open"
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        help="open connections (default: the file-descriptor limit less a margin, <= 10000)",
    )
    limits.add_argument(
        "--max-header-bytes", type=int, default=32 * 1024, help="request line + headers (431)"
    )


def _add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the fake event server until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port, 0 for any (default: 8787)")
    serve.add_argument(
        "--api-key",
        action="append",
        metavar="KEY[=USER]",
        help="accepted key, optionally with its user id; repeatable "
        "(default: $ANCHOR_API_KEY, else a generated key that is printed)",
    )
    serve.add_argument("--keep-for", type=float, default=600.0, help="seconds a kept signal lives")
    serve.add_argument("--queue-limit", type=int, default=100, help="kept signals per event")
    serve.add_argument("--max-timeout-ms", type=int, default=600_000, help="largest timeoutMs")
    _add_limit_flags(serve)
    serve.add_argument(
        "--fault",
        action="append",
        metavar="SPEC",
        help="misbehave on purpose, repeatable: KIND[:key=value,...] with KIND 503, 429, 502, "
        "delay, drop, early-408 or late-signal and keys on, event, count (or all), fraction, "
        "retry_after, ms; e.g. --fault 503:count=3 --fault delay:ms=200,count=all",
    )
    serve.add_argument(
        "--webhook-url",
        help="post signed intervention.requested/resolved webhooks here when a wait starts on "
        "an MFA event and when it is signaled",
    )
    serve.add_argument(
        "--webhook-secret",
        help="secret that signs those webhooks (default: $ANCHOR_MFA_WEBHOOK_SECRET)",
    )
    sessions = serve.add_argument_group("Anchor browser sessions (a local Chromium each)")
    sessions.add_argument(
        "--chromium",
        metavar="PATH",
        help="the browser a session runs (default: $ANCHOR_MFA_CHROMIUM, Playwright's, or the "
        "system Chromium)",
    )
    sessions.add_argument("--max-sessions", type=int, default=4, help="sessions at once (503)")
    sessions.add_argument(
        "--session-idle-timeout",
        type=_seconds,
        default=300.0,
        help="seconds a session nobody is connected to lives (default: 300)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="anchor-mfa",
        description="Signal and wait for Anchor Browser events, or run the offline fake server.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add_connection(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--api-key", help="API key (default: $ANCHOR_API_KEY)")
        sub.add_argument(
            "--base-url",
            help="API base URL (default: $ANCHOR_BASE_URL, else https://api.anchorbrowser.io)",
        )

    _add_serve_parser(commands)

    sig = commands.add_parser("signal", help="signal an event")
    sig.add_argument("event", help="event name, e.g. mfa_code")
    payload = sig.add_mutually_exclusive_group(required=True)
    payload.add_argument("--data", help='event data as a JSON object, e.g. \'{"code": "123456"}\'')
    payload.add_argument(
        "--code", help="shorthand for --data '{\"code\": CODE}'; '-' reads it from stdin"
    )
    add_connection(sig)

    wait = commands.add_parser("wait", help="wait for an event and print its data as JSON")
    wait.add_argument("event", help="event name, e.g. mfa_code")
    wait.add_argument("--timeout", type=_seconds, default=60.0, help="seconds (default: 60)")
    add_connection(wait)

    relay.add_parser(commands)
    return parser


def _serve_keys(values: Sequence[str] | None) -> tuple[dict[str, str], bool]:
    """Keys for ``serve`` and whether one was generated (then it must be shown)."""
    if not values:
        env_key = resolve_api_key()
        return ({env_key: "user-1"}, False) if env_key else ({}, True)
    keys: dict[str, str] = {}
    for i, value in enumerate(values, start=1):
        key, sep, user = value.partition("=")
        if not key or (sep and not user):
            raise _UsageError(f"--api-key takes KEY or KEY=USER, got {value!r}")
        keys[key] = user if sep else f"user-{i}"
    return keys, False


def _raise_open_files_limit() -> None:
    """A server process may use all the file descriptors it is allowed (the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _limits(args: argparse.Namespace) -> ServerLimits:
    fields: dict[str, Any] = {
        "request_timeout": args.request_timeout,
        "keep_alive": args.keep_alive,
        "max_header_bytes": args.max_header_bytes,
    }
    if args.max_connections is not None:
        fields["max_connections"] = args.max_connections
    return ServerLimits(**fields)


def _faults(specs: Sequence[str] | None) -> Faults:
    faults = Faults(seed=None)  # a server's random failures differ from run to run
    for spec in specs or ():
        faults.add(parse_fault(spec))
    return faults


def _chromium(given: str | None) -> str | None:
    """The browser of the fake's sessions: the one named, else the one the plugin would use."""
    from ..plugin.playwright import find_chromium  # loads pytest: only when serving

    return find_chromium(given)


def _sessions_line(chromium: str | None, max_sessions: int) -> str:
    if chromium is None:
        return "off (no Chromium found; pass --chromium PATH)"
    return f"Chromium {chromium}, at most {max_sessions} at once"


def _serve(args: argparse.Namespace) -> int:
    keys, generated = _serve_keys(args.api_key)
    webhook_secret = args.webhook_secret or env_value("ANCHOR_MFA_WEBHOOK_SECRET")
    if args.webhook_url and not webhook_secret:
        raise _UsageError("--webhook-url needs --webhook-secret (or $ANCHOR_MFA_WEBHOOK_SECRET)")
    _raise_open_files_limit()
    chromium = _chromium(args.chromium)
    store = store_from_url(
        args.store,
        namespace=args.store_namespace,
        keep_for=args.keep_for,
        queue_limit=args.queue_limit,
        max_waits=args.max_waits,
        max_kept_events=args.max_kept_events,
        max_kept_bytes=args.max_kept_bytes,
    )
    server = FakeEventServer(
        keys or None,
        host=args.host,
        port=args.port,
        max_timeout_ms=args.max_timeout_ms,
        webhook_url=args.webhook_url,
        webhook_secret=webhook_secret,
        limits=_limits(args),
        faults=_faults(args.fault),
        store=store,
        chromium=chromium,
        max_sessions=args.max_sessions,
        session_idle_timeout=args.session_idle_timeout or 300.0,
    )
    with stop_on_signals() as stop, server:
        shown = server.api_key if generated else mask_key(server.api_key)
        print(f"anchor-mfa fake event server on {server.url}", flush=True)
        print(f"  API key: {shown}  (export ANCHOR_API_KEY=... ANCHOR_BASE_URL={server.url})")
        if not isinstance(store, MemoryStore):
            print(f"  store: {store!r}")
        print(f"  sessions: {_sessions_line(chromium, args.max_sessions)}")
        print("  Ctrl+C to stop", flush=True)
        stop.wait()
    print("stopped", flush=True)
    return EXIT_OK


def _signal_data(args: argparse.Namespace) -> dict[str, Any]:
    if args.code is not None:
        code = sys.stdin.readline().strip() if args.code == "-" else args.code
        if not code:
            raise _UsageError("--code is empty")
        return {"code": code}
    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise _UsageError(f"--data is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _UsageError('--data must be a JSON object, e.g. \'{"code": "123456"}\'')
    return data


def _client(args: argparse.Namespace) -> EventsClient:
    if resolve_api_key(args.api_key) is None:
        raise _UsageError("no API key: pass --api-key KEY or set ANCHOR_API_KEY")
    return EventsClient(args.api_key, args.base_url)


def _signal(args: argparse.Namespace) -> int:
    data = _signal_data(args)
    with _client(args) as client:
        status = client.signal(args.event, data)
    print(f"signaled {args.event!r}: {status}")
    return EXIT_OK


def _wait(args: argparse.Namespace) -> int:
    with _client(args) as client:
        try:
            data = client.wait(args.event, args.timeout)
        except EventTimeoutError:
            print(
                f"anchor-mfa: no signal on {args.event!r} within {args.timeout:g} s",
                file=sys.stderr,
            )
            return EXIT_TIMEOUT
    print(json.dumps(data))
    return EXIT_OK


_HINTS: dict[type[AnchorMfaError], str] = {
    AuthenticationError: "; check --api-key or $ANCHOR_API_KEY",
    TransportError: "; check --base-url or $ANCHOR_BASE_URL, and that the server runs",
}
"""What to do next, in this interface's words (the client's messages name no interface)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``anchor-mfa`` console script."""
    commands = {"serve": _serve, "signal": _signal, "wait": _wait, "relay": relay.run}
    try:
        args = _build_parser().parse_args(argv)
        return commands[args.command](args)
    except _UsageError as exc:
        print(f"anchor-mfa: error: {exc}", file=sys.stderr)
    except AnchorMfaError as exc:
        hint = _HINTS.get(type(exc), "")
        print(f"anchor-mfa: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
