"""The leak guard: no secret of a test in anything pytest reports (``--anchor-leaks``).

The plugin remembers every secret it hands out or is given (``SecretBook``): MFA codes from
any source, code-looking values of event data at any depth (waited for or signaled), and, for
the whole run, the API key, the TOTP secret and the webhook secret. ``LeakGuard`` (made by
``pytest_configure``, driven by the hooks in the plugin's ``__init__``; every secret is known
until the run ends) replaces them, and derivations (stripped, upper/lower case, the digits
alone, with separators, one per line, as an int, fullwidth, hex, base64), by bullets of the
same length in:

* every test report (``pytest_runtest_makereport``, before any reporter or xdist sees it): the
  failure text with ``-l`` locals and frame arguments, the captured stdout/stderr/log
  sections, ``user_properties`` and ``wasxfail``; the terminal, ``-rA``, JUnit XML and the
  xdist controller are all built from these reports;
* live logging (``log_cli``) and ``--log-file`` (their formatters are wrapped);
* warnings (``pytest_warning_recorded``, before the terminal or xdist records them);
* with ``--anchor-scrub-traces``, the Playwright traces the test kept (``traces``).

With ``--anchor-leaks fail`` a report in which a secret appeared also fails, with one line
naming where; ``off`` does nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..codes import CodeRule
from ..codes.masking import mask_value, masked_secrets
from ..redact import scrub, secret_pattern
from .options import Settings

__all__ = [
    "ACTIVE",
    "LEAK_GUARD",
    "LeakGuard",
    "SecretBook",
    "guard_data",
    "remember",
    "scrub_value",
]

MFA_CODE = "an MFA code"
API_KEY = "the API key"
TOTP_SECRET = "the TOTP secret"
WEBHOOK_SECRET = "the webhook secret"
SMS_SECRET = "an SMS provider secret"

CHATTY_LOGGERS = ("mail.log", "mail.debug", "hpack")
"""Third-party loggers whose DEBUG records carry message data or headers: aiosmtpd's (every
SMTP line, the mail's body included), hpack's (HTTP/2 headers)."""

_WARNED = pytest.StashKey[list[str]]()
"""Where a secret appeared in a warning of the test phase running (``--anchor-leaks fail``)."""


class _Block:
    """Some secrets and their one pattern (compiled when first needed)."""

    __slots__ = ("_pattern", "secrets")

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self._pattern: re.Pattern[str] | bool | None = False

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is False:
            self._pattern = secret_pattern(self.secrets)
        return self._pattern  # type: ignore[return-value]


class SecretBook:
    """The secrets to keep out of reports, known until the run ends (thread-safe).

    A test's secrets stay known after it ends: a thread may print later, a session fixture
    may tear down with an earlier test's code. Patterns are kept in blocks of doubling size
    (merged like a binary counter), so a new secret compiles a small pattern, thousands of
    secrets compile each in O(log n) patterns, and a text is searched by O(log n) patterns.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self._blocks: list[_Block] = []
        self._lock = threading.Lock()

    def add(self, value: object, kind: str, *, run_wide: bool = False) -> None:
        """Remember ``value`` (its ``str``) as a secret of ``kind`` ("an MFA code"...).

        ``run_wide`` is kept for callers: every secret is now known for the whole run."""
        text = str(value) if value is not None else ""
        if not text.strip():
            return
        with self._lock:
            if text in self._kinds:
                return
            self._kinds[text] = kind
            self._blocks.append(_Block([text]))
            while len(self._blocks) > 1 and (
                len(self._blocks[-2].secrets) <= len(self._blocks[-1].secrets)
            ):
                last = self._blocks.pop()
                self._blocks[-1] = _Block(self._blocks[-1].secrets + last.secrets)

    def patterns(self) -> list[re.Pattern[str]]:
        with self._lock:
            blocks = list(self._blocks)
        return [p for p in (block.pattern() for block in blocks) if p is not None]

    def scrub(self, text: str) -> str:
        for pattern in self.patterns():
            text = scrub(text, pattern)
        return text

    def found(self, text: str) -> str | None:
        """The kinds of the secrets in ``text`` ("the API key and an MFA code"...), or None.

        Each match (the longest where two overlap, as scrubbing replaces it) is told by the
        secret it is a form of: an API key printed whole is the API key, even when a test's
        6-digit code also occurs inside it.
        """
        matches = sorted(
            (m for pattern in self.patterns() for m in pattern.finditer(text)),
            key=lambda m: (m.start(), -len(m.group())),
        )
        if not matches:
            return None
        with self._lock:
            others = [(s, k) for s, k in self._kinds.items() if k != MFA_CODE]
        singles = [(secret_pattern([secret]), kind) for secret, kind in others]
        kinds: list[str] = []
        end = -1
        for match in matches:
            if match.end() <= end:  # inside a longer match already told
                continue
            end = max(end, match.end())
            kind = next(
                (k for single, k in singles if single and single.fullmatch(match.group())),
                MFA_CODE,
            )
            if kind not in kinds:
                kinds.append(kind)
        return " and ".join(kinds)


def scrub_value(value: Any, scrub_text: Callable[[str], str]) -> Any:
    """``value`` with ``scrub_text`` applied to every string in it, at any depth.

    Lists and the dataclasses of pytest's failure reprs (``ReprEntry``, ``ReprLocals``,
    ``ReprFuncArgs``, ``ReprFileLocation``...) are changed in place; tuples are rebuilt.
    """
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        value[:] = [scrub_value(item, scrub_text) for item in value]
        return value
    if isinstance(value, tuple):
        items = [scrub_value(item, scrub_text) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = scrub_value(value[key], scrub_text)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            current = getattr(value, field.name, None)
            scrubbed = scrub_value(current, scrub_text)
            if scrubbed is not current:
                setattr(value, field.name, scrubbed)
        return value
    return value


def _places(report: pytest.TestReport | pytest.CollectReport, book: SecretBook) -> list[str]:
    """Where a secret appears in ``report`` ("captured stdout"...), with the secret's kind."""
    when = getattr(report, "when", None)
    places: list[str] = []
    for name, content in report.sections:
        captured = re.fullmatch(r"Captured (\w+) (\w+)", name)
        if captured and captured.group(2) != when:
            continue  # an earlier phase's output, judged in its own report
        kind = book.found(content)
        if kind is not None:
            where = f"captured {captured.group(1)}" if captured else f"the section {name!r}"
            places.append(f"{kind} appeared in {where}")
    wasxfail = getattr(report, "wasxfail", None)
    reason = "the xfail reason" if wasxfail is not None else "the skip reason"
    if report.longrepr is not None and (kind := book.found(str(report.longrepr))):
        places.append(f"{kind} appeared in {reason if report.skipped else 'the failure report'}")
    if isinstance(wasxfail, str) and (kind := book.found(wasxfail)):
        places.append(f"{kind} appeared in the xfail reason")
    # Every later report repeats the properties recorded so far: judged once, in the call's.
    properties = getattr(report, "user_properties", ()) if when == "call" else ()
    for name, value in properties:
        if (kind := book.found(f"{name} {value}")) is not None:
            places.append(f"{kind} appeared in the recorded property {name!r}")
    return list(dict.fromkeys(places))


def _scrub_report(report: pytest.TestReport | pytest.CollectReport, book: SecretBook) -> None:
    longrepr = report.longrepr
    if longrepr is not None and not isinstance(longrepr, str | tuple):
        scrub_value(longrepr, book.scrub)
        if book.found(str(longrepr)):  # a repr of another shape: its text, scrubbed
            report.longrepr = book.scrub(str(longrepr))
    else:
        report.longrepr = scrub_value(longrepr, book.scrub)
    report.sections = scrub_value(list(report.sections), book.scrub)
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (book.scrub(str(name)), _scrub_property(value, book))
            for name, value in report.user_properties
        ]
    if isinstance(getattr(report, "wasxfail", None), str):
        report.wasxfail = book.scrub(report.wasxfail)  # type: ignore[union-attr]


def _scrub_property(value: object, book: SecretBook) -> object:
    if isinstance(value, str):
        return book.scrub(value)
    text = str(value)
    return book.scrub(text) if book.found(text) else value


def _fail_report(report: pytest.TestReport, places: list[str]) -> None:
    test = report.nodeid.rsplit("::", 1)[-1]
    line = f"anchor-mfa: {'; '.join(places)} of {test} (--anchor-leaks fail)"
    if hasattr(report, "wasxfail"):
        del report.wasxfail  # an xfail (or xpass) that leaked is a plain failure
    if not report.failed:  # passed or skipped
        report.outcome = "failed"
        report.longrepr = line
        return
    longrepr = report.longrepr
    addsection = getattr(longrepr, "addsection", None)  # pytest's exception reprs have one
    if callable(addsection):
        addsection("anchor-mfa", line)
    else:
        report.longrepr = f"{longrepr}\n{line}"


class _ScrubbingFormatter(logging.Formatter):
    """A log formatter that scrubs what another formatter made (live logs, the log file)."""

    def __init__(self, inner: logging.Formatter, book: SecretBook) -> None:
        super().__init__()
        self.inner = inner
        self.book = book

    def format(self, record: logging.LogRecord) -> str:
        return self.book.scrub(self.inner.format(record))


class LeakGuard:
    """The pytest side: remembers the test's secrets and scrubs them from every report."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.mode = settings.leaks
        self.scrub_traces = settings.scrub_traces
        self.book = SecretBook()
        self._quieted: list[logging.Logger] = []
        self.remember_settings(settings)

    def remember_settings(self, settings: Settings) -> None:
        """The run-wide secrets of ``settings`` (fixtures may override ``anchor_settings``)."""
        self.book.add(settings.api_key, API_KEY, run_wide=True)
        self.book.add(settings.totp_secret, TOTP_SECRET, run_wide=True)
        self.book.add(settings.webhook_secret, WEBHOOK_SECRET, run_wide=True)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def wrap_log_formatters(self) -> None:
        """Live logs and ``--log-file`` are written as they come: scrub them on the way."""
        logging_plugin = self.config.pluginmanager.get_plugin("logging-plugin")
        for name in ("log_cli_handler", "log_file_handler"):
            handler = getattr(logging_plugin, name, None)
            if isinstance(handler, logging.Handler) and handler.formatter is not None:
                handler.setFormatter(_ScrubbingFormatter(handler.formatter, self.book))

    def process_report(self, report: pytest.TestReport, item: pytest.Item | None = None) -> None:
        """Scrub a test report (and, with ``fail``, fail it) before anyone sees it."""
        if not self.active:
            return
        places = _places(report, self.book) if self.mode == "fail" else []
        if item is not None and _WARNED in item.stash:
            warned: list[str] = item.stash[_WARNED]
            places += warned
            del item.stash[_WARNED]
        _scrub_report(report, self.book)
        if places:
            _fail_report(report, places)
        if self.scrub_traces and report.when == "teardown":
            self._scrub_traces(report)

    @contextlib.contextmanager
    def warnings_watched(self, item: pytest.Item) -> Iterator[None]:
        """Around a test phase, inside pytest's own capture of its warnings (which records
        them only after the test): with ``fail``, a warning showing a secret fails the phase."""
        if self.mode != "fail":
            yield
            return
        shown = warnings.showwarning

        def showwarning(message: Any, category: Any, filename: str, lineno: int,
                        file: Any = None, line: str | None = None) -> None:  # fmt: skip
            kind = self.book.found(str(message))
            if kind is not None:
                item.stash.setdefault(_WARNED, []).append(f"{kind} appeared in a warning")
            shown(message, category, filename, lineno, file, line)

        warnings.showwarning = showwarning
        try:
            yield
        finally:
            if warnings.showwarning is showwarning:
                warnings.showwarning = shown

    def scrub_junit_xml(self) -> None:
        """``--junitxml``, once written: ``record_testsuite_property`` values (and attributes)
        are written straight from the fixture, never in a test report."""
        path = getattr(self.config.option, "xmlpath", None)
        if not self.active or not path or not Path(path).is_file():
            return
        text = Path(path).read_text("utf-8")
        scrubbed = self.book.scrub(text)
        if scrubbed != text:
            Path(path).write_text(scrubbed, "utf-8")

    def quiet_third_party_loggers(self) -> None:
        """Loggers that write what a message carries (aiosmtpd logs every DATA line at DEBUG,
        before its code is known): at most INFO, unless the user set their level."""
        if not self.active:
            return
        for name in CHATTY_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.INFO)
                self._quieted.append(logger)

    def restore_loggers(self) -> None:
        for logger in self._quieted:
            logger.setLevel(logging.NOTSET)
        self._quieted.clear()

    def process_collect_report(self, report: pytest.CollectReport) -> None:
        if self.active:
            _scrub_report(report, self.book)

    def process_warning(self, warning_message: Any) -> None:
        if not self.active:
            return
        text = str(warning_message.message)
        scrubbed = self.book.scrub(text)
        if scrubbed != text:
            # The terminal and xdist read str(message): a plain string is enough.
            warning_message.message = scrubbed

    def _scrub_traces(self, report: pytest.TestReport) -> None:
        from .traces import scrub_trace

        for name, value in report.user_properties:
            if name == "playwright_trace":
                path = Path(str(value))
                if not path.is_absolute():
                    path = self.config.invocation_params.dir / path
                if path.is_file():
                    scrub_trace(path, self.book.scrub)


LEAK_GUARD = pytest.StashKey[LeakGuard]()
"""The run's leak guard (``config.stash[LEAK_GUARD]``), set by ``pytest_configure``."""

ACTIVE: list[LeakGuard] = []
"""The guards of the pytest runs in progress in this process, innermost last (an in-process
pytester run nests in another): for hooks that are given no config (warnings)."""


def remember(config: pytest.Config, value: object, kind: str, *, run_wide: bool = False) -> None:
    """Tell the leak guard about a secret (a no-op with ``--anchor-leaks off``)."""
    guard = config.stash.get(LEAK_GUARD, None)
    if guard is not None and guard.active:
        guard.book.add(value, kind, run_wide=run_wide)


def guard_data(config: pytest.Config, data: Any, rule: CodeRule | None = None) -> Any:
    """Event data (waited for or signaled) masked in depth; its secrets are remembered."""
    masked = mask_value(data, rule=rule)
    for secret in masked_secrets(masked):
        remember(config, secret, MFA_CODE)
    return masked
