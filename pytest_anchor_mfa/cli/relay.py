"""``anchor-mfa relay``: the inbound bridge for live mode, as a long-running process.

An SMTP inbox (``inbound.smtp.SmtpInbox``) and the SMS webhooks (``inbound.sms.SmsGateway``)
run together and signal every routed message's event on the events API of ``ANCHOR_BASE_URL``
with ``ANCHOR_API_KEY`` (the real service, or a local ``anchor-mfa serve``)::

    anchor-mfa relay --smtp-port 2525 --http-port 8788 \\
        --route 'ci+*@example.com' --route '+15551234567=login_code'

Routes (``--route``, repeatable): ``PATTERN=EVENT`` sends what matches ``PATTERN`` to ``EVENT``;
a bare e-mail ``PATTERN`` accepts matching addresses and lets plus addressing name the event
(``ci+login_code@example.com`` -> ``login_code``). A pattern with ``@`` is an e-mail route, one
that looks like a phone number (``+``, digits, spaces, ``-().``, globs) an SMS route; anything
else is a usage error. Whatever no route takes is refused: SMTP 550, HTTP 404.

Secrets come from the environment only (a flag would show in ``ps``): ``ANCHOR_API_KEY``,
``TWILIO_AUTH_TOKEN``, ``ANCHOR_MFA_SMS_SECRET`` (the generic form's HMAC secret) and
``VONAGE_SIGNATURE_SECRET``. An endpoint whose secret is not set refuses every post (403):
a relay faces the internet, and an unsigned post could signal any code (turn on signed
webhooks in Vonage's dashboard to use its endpoint).

On an interface other than loopback, SMTP needs an allow-list (``--allow-client NETWORK``,
``--allow-sender PATTERN``) or ``--allow-open-smtp``; the banner says which protection is on.

``GET /healthz`` on the HTTP port answers 200 with counts. Each message is one log line on
stderr, its code masked. SIGTERM or SIGINT stops the relay within a second,
answering 421 to SMTP sessions in progress, whatever parses or signal calls are still running.
Exit codes: 0 stopped cleanly, 1 usage or configuration error, 2 a port cannot be bound.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ..environment import env_value
from ..errors import ConfigurationError
from ..inbound.routes import Routes
from ..redact import mask_code, mask_key, shorten
from .stopping import stop_on_signals

if TYPE_CHECKING:
    from ..events import EventsClient
    from ..inbound.signals import Signaler
    from ..inbound.sms import SmsGateway
    from ..inbound.smtp import SmtpInbox

__all__ = ["EXIT_CANNOT_BIND", "add_parser", "parse_routes", "port_number", "run"]

EXIT_OK, EXIT_ERROR, EXIT_CANNOT_BIND = 0, 1, 2

TWILIO_TOKEN_ENV = "TWILIO_AUTH_TOKEN"
GENERIC_SECRET_ENV = "ANCHOR_MFA_SMS_SECRET"
VONAGE_SECRET_ENV = "VONAGE_SIGNATURE_SECRET"

_log = logging.getLogger("pytest_anchor_mfa.relay")
_PHONE = re.compile(r"\+?[\d\s().*?\-]+\Z")


# -- routes --------------------------------------------------------------------------------------


class RelayRoutes(Routes):
    """E-mail routes: explicit ``PATTERN=EVENT`` routes first, then bare patterns whose
    addresses name their event by plus addressing (``<local>+<event>@<domain>``)."""

    def __init__(self) -> None:
        super().__init__(kind="address", plus_addressing=False)
        self.plus_patterns: list[str] = []
        self.unrouted = 0
        """Recipients refused (550) since the start."""

    def resolve(self, recipient: str) -> str | None:
        event = super().resolve(recipient)
        if event is not None:
            return event
        key = recipient.strip().lower()
        if any(fnmatchcase(key, pattern) for pattern in self.plus_patterns):
            event = self._plus_event(key)
        if event is None:
            with self._lock:
                self.unrouted += 1
        return event


@dataclass
class ParsedRoutes:
    mail: RelayRoutes = field(default_factory=RelayRoutes)
    sms: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"  mail {route.pattern} -> {route.event}" for route in self.mail._routes]
        lines += [f"  mail {pattern} -> <plus tag>" for pattern in self.mail.plus_patterns]
        lines += [f"  sms  {number} -> {event}" for number, event in self.sms]
        return lines


def parse_routes(specs: Sequence[str]) -> ParsedRoutes:
    """Sort ``--route`` values into e-mail and SMS routes; ``ConfigurationError`` if one is bad."""
    routes = ParsedRoutes()
    for spec in specs:
        pattern, event = Routes.parse(spec)
        pattern = pattern.strip()
        if "@" in pattern:
            if event is None:
                routes.mail.plus_patterns.append(pattern.lower())
            else:
                routes.mail.add(pattern, event)
        elif pattern and _PHONE.match(pattern) and any(c.isdigit() or c == "*" for c in pattern):
            if event is None:
                raise ConfigurationError(
                    f"route {spec!r}: an SMS route needs an event, e.g. '{pattern}=mfa_code'"
                )
            routes.sms.append((pattern, event))
        else:
            raise ConfigurationError(
                f"route {spec!r}: the pattern is neither an e-mail address (with @) nor a "
                "phone number (+, digits, * or ?)"
            )
    return routes


# -- the command line ----------------------------------------------------------------------------


def port_number(text: str) -> int:
    """An ``argparse`` type: a TCP port, 0 (any free port) to 65535, or a one-line error."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number from 1 to 65535 (or 0 for any free port), got {text!r}"
        )
    return value


def _add_allow_lists(relay: argparse.ArgumentParser) -> None:
    relay.add_argument(
        "--allow-client",
        action="append",
        default=[],
        metavar="NETWORK",
        help="repeatable: only SMTP clients from these addresses or networks (10.0.0.0/8, "
        "192.0.2.7) may connect; the others get 554",
    )
    relay.add_argument(
        "--allow-sender",
        action="append",
        default=[],
        metavar="PATTERN",
        help="repeatable: only these envelope senders (MAIL FROM, exact or glob: "
        "'*@app.example.com') are accepted; the others get 550 (forgeable: pair it with "
        "--allow-client)",
    )
    relay.add_argument(
        "--allow-open-smtp",
        action="store_true",
        help="serve SMTP on a non-loopback --host with neither --allow-client nor "
        "--allow-sender: anyone who reaches the port can then signal the routed events",
    )


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``relay`` subcommand to the ``anchor-mfa`` parser's subparsers."""
    relay: argparse.ArgumentParser = commands.add_parser(
        "relay",
        help="bridge e-mail (SMTP) and SMS webhooks to events, until stopped (live mode)",
        description="Receive MFA codes by e-mail (SMTP) and SMS webhooks (Twilio, Vonage, a "
        "signed generic form) and signal each routed message's event on ANCHOR_BASE_URL with "
        f"ANCHOR_API_KEY. Secrets only from the environment: {TWILIO_TOKEN_ENV}, "
        f"{GENERIC_SECRET_ENV}, {VONAGE_SECRET_ENV}. Exit codes: 0 stopped, 1 usage or "
        "configuration error, 2 a port cannot be bound.",
    )
    relay.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="PATTERN[=EVENT]",
        help="repeatable: 'ci+*@example.com' (plus addressing names the event), "
        "'ci-*@example.com=mfa_code', '+15551234567=login_code' (an SMS number, exact or glob)",
    )
    relay.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    _add_allow_lists(relay)
    relay.add_argument(
        "--smtp-port", type=port_number, default=2525, help="SMTP port (default: 2525)"
    )
    relay.add_argument(
        "--http-port",
        type=port_number,
        default=8788,
        help="SMS webhooks and /healthz (default: 8788)",
    )
    relay.add_argument(
        "--public-url",
        help="the HTTP port's base URL as the SMS provider sees it (behind a proxy or tunnel; "
        "Twilio signs it), e.g. https://sms.example.com",
    )
    relay.add_argument(
        "--vonage-method",
        default="sha256",
        help="Vonage signature method: md5hash, md5, sha1, sha256 (default), sha512",
    )
    relay.add_argument(
        "--base-url",
        help="events API base URL (default: $ANCHOR_BASE_URL, else https://api.anchorbrowser.io)",
    )
    return relay


# -- running -------------------------------------------------------------------------------------


class _Counts:
    """What ``/healthz`` reports; updated from the adapters' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.time()
        self.signaled = {"email": 0, "sms": 0}
        self.without_code = 0
        self.failed = 0


def _signaler(
    signal: Callable[[str, dict[str, Any]], str], counts: _Counts
) -> Callable[[str, dict[str, Any]], str]:
    """``signal`` with a count and one log line per message (its code masked)."""

    def relay_signal(event: str, data: dict[str, Any]) -> str:
        channel = str(data.get("channel", "?"))
        code = data.get("code")
        what = f"code {mask_code(code)}" if code is not None else "no code"
        line = (
            f"{channel} from {shorten(data.get('from'), 120)} to {shorten(data.get('to'), 120)} "
            f"-> event {shorten(event, 100)!r}: {what}"
        )
        try:
            status = signal(event, data)
        except Exception as exc:
            with counts.lock:
                counts.failed += 1
            _log.warning("%s, signal failed: %s", line, shorten(exc, 200))
            raise
        with counts.lock:
            counts.signaled[channel] = counts.signaled.get(channel, 0) + 1
            counts.without_code += code is None
        _log.info("%s, signaled (%s)", line, shorten(status, 40))
        return status

    return relay_signal


def _log_to_stderr() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    package = logging.getLogger("pytest_anchor_mfa")
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    return handler


Secrets = dict[str, str | None]


def _secrets() -> Secrets:
    """The relay's secrets, from the environment only (a flag would show in ``ps``)."""
    names = (TWILIO_TOKEN_ENV, GENERIC_SECRET_ENV, VONAGE_SECRET_ENV)
    return {name: env_value(name) for name in names}


def _health(counts: _Counts, routes: ParsedRoutes) -> Callable[[], dict[str, object]]:
    def health() -> dict[str, object]:
        with counts.lock:
            signaled = dict(counts.signaled)
            failed, without_code = counts.failed, counts.without_code
        return {
            "status": "ok",
            "uptime_s": round(time.time() - counts.started, 1),
            "signaled": signaled,
            "signaled_without_code": without_code,
            "signal_failures": failed,
            "unrouted_recipients": routes.mail.unrouted,
        }

    return health


def _gateway(
    args: argparse.Namespace,
    signal: Signaler,
    given: Secrets,
    health: Callable[[], dict[str, object]],
) -> SmsGateway:
    from ..inbound.sms import SmsGateway

    def secret(name: str) -> str:
        # Unset: a random secret nobody knows, so that endpoint refuses every post (403).
        return given[name] or secrets.token_hex(32)

    return SmsGateway(
        signal,
        twilio_auth_token=secret(TWILIO_TOKEN_ENV),
        generic_secret=secret(GENERIC_SECRET_ENV),
        vonage_secret=secret(VONAGE_SECRET_ENV),
        vonage_method=args.vonage_method,
        public_url=args.public_url,
        host=args.host,
        port=args.http_port,
        health=health,
    )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def smtp_protection(args: argparse.Namespace) -> str:
    """The banner's line on who may send mail; ``ConfigurationError`` for an open relay.

    A client network allow-list is the protection (a TCP peer address cannot be forged for a
    whole session); a sender allow-list filters MAIL FROM, which any client can forge, so it
    is named as such. SMTP AUTH is not offered: it needs TLS and a mailer configured per
    relay, where the app under test's mailer usually has neither.
    """
    parts = []
    if args.allow_client:
        parts.append(f"clients {', '.join(args.allow_client)}")
    if args.allow_sender:
        parts.append(f"senders {', '.join(args.allow_sender)} (MAIL FROM, forgeable)")
    if parts:
        return "SMTP accepts only " + "; ".join(parts)
    if _loopback(args.host):
        return f"SMTP open to this machine only ({args.host})"
    if not args.allow_open_smtp:
        raise ConfigurationError(
            f"--host {args.host} serves SMTP beyond this machine with no allow-list: anyone "
            "who reaches the port could signal your events. Add --allow-client NETWORK (the "
            "app's mail server), or --allow-sender PATTERN, or accept it with --allow-open-smtp"
        )
    return f"SMTP OPEN to anyone reaching {args.host} (--allow-open-smtp)"


def _banner(
    inbox: SmtpInbox,
    gateway: SmsGateway,
    client: EventsClient,
    api_key: str,
    given: Secrets,
    protection: str,
) -> None:
    http = gateway.url("twilio").removesuffix("/sms/twilio")
    print(f"anchor-mfa relay: SMTP on {inbox.host}:{inbox.port}", flush=True)
    print(f"  {protection}", flush=True)
    print(f"  SMS webhooks on {http}/sms/twilio, /sms/vonage, /sms/generic", flush=True)
    print(f"  health at {http}/healthz", flush=True)
    print(f"  signaling {client.base_url} as {mask_key(api_key)}", flush=True)
    for name, value in given.items():
        print(f"  {name}: {'set' if value else 'not set'}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the relay until SIGTERM or SIGINT (see the module docstring)."""
    from ..events import EventsClient
    from ..events.settings import resolve_api_key
    from ..inbound.smtp import SmtpInbox

    if not args.route:
        raise ConfigurationError(
            "give at least one --route: 'ci+*@example.com' (e-mail) or '+15551234567=mfa_code'"
        )
    routes = parse_routes(args.route)
    protection = smtp_protection(args)
    api_key = resolve_api_key()
    if api_key is None:
        raise ConfigurationError("no API key: set ANCHOR_API_KEY (the relay takes no key flag)")
    given = _secrets()
    counts = _Counts()
    client = EventsClient(api_key, args.base_url)
    signal = _signaler(client.signal, counts)
    inbox = SmtpInbox(
        signal,
        host=args.host,
        port=args.smtp_port,
        routes=routes.mail,
        allowed_clients=args.allow_client,
        allowed_senders=args.allow_sender,
    )
    gateway = _gateway(args, signal, given, _health(counts, routes))
    for number, event in routes.sms:
        gateway.route(number, event)
    handler = _log_to_stderr()
    with stop_on_signals() as stop:
        try:
            try:
                inbox.start()
                gateway.start()
            except ConfigurationError as exc:  # bind_socket: the port is taken, or not ours
                print(f"anchor-mfa relay: {exc}", file=sys.stderr)
                return EXIT_CANNOT_BIND
            _banner(inbox, gateway, client, api_key, given, protection)
            print("routes:", *routes.describe(), sep="\n", flush=True)
            stop.wait()
            print("anchor-mfa relay: stopping", flush=True)
            return EXIT_OK
        finally:
            gateway.stop()
            inbox.stop()
            client.close()
            logging.getLogger("pytest_anchor_mfa").removeHandler(handler)
