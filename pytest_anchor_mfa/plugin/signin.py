"""Sign in once per user per run: the fixtures behind ``@pytest.mark.signed_in(user)``.

Owns ``anchor_sign_in`` (the user's routine, overridden in their conftest), ``anchor_signed_in``
(``(user) -> Path`` of a saved storage state, signing in first if needed) and
``anchor_signed_in_check`` (optional: is a restored state still signed in?), and the run's
state directory: made by the controller (or the only process), handed to xdist workers, removed
at the end unless ``--anchor-keep-sign-in``. The decisions are ``signin.SignIns``'; here the
browser is driven and the result wired to the leak guard. Playwright loads when first used.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from ..redact import shorten
from .leaks import TOTP_SECRET, remember
from .mfa import MfaCode, MfaSettings
from .options import SETTINGS, Settings
from .sources import CodeSources
from .timing import timing

if TYPE_CHECKING:
    from ..events import EventsClient
    from ..signin import MakeState, SignIns

__all__ = [
    "SESSION_SECRET",
    "SignIn",
    "SignInCode",
    "SignedIn",
    "SignedInCheck",
    "anchor_sign_in",
    "anchor_signed_in",
    "anchor_signed_in_check",
    "sign_in_directory",
    "sign_ins",
    "signin_screenshot",
]

SESSION_SECRET = "a signed-in session's cookie or token"

SIGN_IN_DIR = pytest.StashKey[Path]()
"""The run's directory of saved states (the same path in every process of the run)."""

_WORKER_KEY = "anchor_mfa_sign_in_dir"


class SignIn(Protocol):
    """The ``anchor_sign_in`` routine: sign ``user`` in on ``page``; ``mfa_code()`` as in tests."""

    def __call__(self, page: Any, user: str, mfa_code: SignInCode) -> None: ...


class SignedInCheck(Protocol):
    """``anchor_signed_in_check``: whether ``page`` (restored state) is still signed in."""

    def __call__(self, page: Any, user: str) -> bool: ...


class SignInCode(MfaCode):
    """The ``mfa_code`` a sign-in routine gets: also takes ``source=`` and ``secret=`` per call,
    so that each user can have a TOTP secret of their own."""

    def __call__(
        self,
        event: str | None = None,
        *,
        timeout: float | None = None,
        source: str | None = None,
        secret: str | None = None,
    ) -> Any:
        settings = replace(self.settings, source=source or self.settings.source)
        if secret:  # a user's own TOTP secret: as secret as the run's
            remember(self.sources.config, secret, TOTP_SECRET, run_wide=True)
        sources = replace(self.sources, totp_secret=secret or self.sources.totp_secret)
        code = MfaCode(settings, self._anchor, sources, self.recorder, self.nodeid)
        return code(event, timeout=timeout)


def sign_in_directory(config: pytest.Config) -> Path:
    """The run's state directory: the controller's, as handed to this xdist worker."""
    workerinput: Mapping[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        return Path(workerinput[_WORKER_KEY])
    if SIGN_IN_DIR not in config.stash:
        # Named now, made when first needed: a run that signs nobody in leaves nothing.
        name = f"anchor-mfa-sign-in-{secrets.token_hex(8)}"
        config.stash[SIGN_IN_DIR] = Path(tempfile.gettempdir()) / name
    return config.stash[SIGN_IN_DIR]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller: every worker shares the controller's directory."""
    node.workerinput[_WORKER_KEY] = str(sign_in_directory(node.config))


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(SIGN_IN_DIR, None)  # set only where the directory belongs
    settings = config.stash.get(SETTINGS, None)
    if directory is not None and settings is not None and not settings.keep_sign_in:
        from ..signin import StateStore

        StateStore(directory, max_age=0).remove()


_LIBRARIES = (str(Path(__file__).resolve().parents[1]), "site-packages", "<")


def _own(frame: traceback.FrameSummary) -> bool:
    """A frame of the user's code (their sign-in routine), not of a library or of ours."""
    return bool(frame.line) and not any(part in frame.filename for part in _LIBRARIES)


def describe_failure(user: str, exc: BaseException, screenshot: Path | None) -> str:
    """One line: the user, the step of the routine that failed, the error, the screenshot."""
    frames = traceback.extract_tb(exc.__traceback__)
    step = next(
        (f.line for f in reversed(frames) if f.line and "site-packages" not in f.filename), ""
    )
    error = shorten(str(exc).splitlines()[0] if str(exc) else "", 200)
    where = f" at `{shorten(step, 120)}`" if step else ""
    shot = f" (screenshot: {screenshot})" if screenshot is not None and screenshot.exists() else ""
    return f"signing in {user!r} failed{where}: {type(exc).__name__}: {error}{shot}"


@pytest.fixture(scope="session")
def anchor_sign_in() -> SignIn:
    """How a user signs in: override it in your ``conftest.py`` (docs/sign-in-once.md)."""

    def not_configured(page: Any, user: str, mfa_code: SignInCode) -> None:
        raise pytest.UsageError(
            "@pytest.mark.signed_in needs a sign-in routine: define a session fixture "
            "anchor_sign_in in conftest.py returning sign_in(page, user, mfa_code)"
        )

    return not_configured


@pytest.fixture(scope="session")
def anchor_signed_in_check() -> SignedInCheck | None:
    """Override it to check a restored state on the test's page (None: no check)."""
    return None


class SignedIn:
    """The ``anchor_signed_in`` fixture: ``signed_in(user) -> Path`` of ``user``'s storage
    state, signing in first when the run has none (or only a stale one)."""

    def __init__(self, flow: SignIns, config: pytest.Config) -> None:
        self.flow = flow
        self._config = config

    def __repr__(self) -> str:
        return f"<anchor_signed_in states in {self.flow.store.directory}>"

    def __call__(self, user: str) -> Path:
        return self._remembered(self.flow.state(user))

    def renew(self, user: str, refused: Path) -> Path:
        """A newer state than ``refused``, which the app no longer accepted."""
        return self._remembered(self.flow.renew(user, self.flow.store.written(refused)))

    def _remembered(self, path: Path) -> Path:
        from ..signin import state_secrets

        for value in state_secrets(path):  # session cookies are secrets in every report
            remember(self._config, value, SESSION_SECRET, run_wide=True)
        return path


@pytest.fixture(scope="session")
def _anchor_sign_in_code(
    anchor_settings: Settings, anchor_events: EventsClient, pytestconfig: pytest.Config
) -> SignInCode:
    # The run's MFA settings (no test's marker applies to a sign-in made for many tests).
    settings = MfaSettings(
        event=anchor_settings.mfa_event,
        timeout=anchor_settings.timeout,
        rule=anchor_settings.code_rule,
        field=anchor_settings.code_field,
        source=anchor_settings.code_source,
    )
    sources = CodeSources(pytestconfig, anchor_events, anchor_settings.totp_secret)
    return SignInCode(settings, anchor_settings, sources, timing(pytestconfig))


@pytest.fixture
def anchor_signed_in(
    anchor_sign_in: SignIn,
    anchor_settings: Settings,
    _anchor_sign_in_code: SignInCode,
    browser: Any,
    browser_context_args: dict[str, Any],
    pytestconfig: pytest.Config,
) -> SignedIn:
    """``anchor_signed_in(user) -> Path``: the user's saved storage state (docs/sign-in-once.md)."""
    output = Path(str(pytestconfig.getoption("--output", "test-results")))
    context_args = {k: v for k, v in browser_context_args.items() if k != "storage_state"}

    def make_state(user: str) -> Mapping[str, Any]:
        return _browser_sign_in(
            browser, context_args, anchor_sign_in, _anchor_sign_in_code, user, output
        )

    return SignedIn(sign_ins(pytestconfig, anchor_settings, make_state, output), pytestconfig)


def sign_ins(
    config: pytest.Config, settings: Settings, make_state: MakeState, output: Path
) -> SignIns:
    """The run's ``SignIns`` for one flavour's ``make_state`` (the sync or the async browser)."""
    from ..signin import SignIns, StateStore

    return SignIns(
        StateStore(sign_in_directory(config), max_age=settings.sign_in_max_age),
        make_state,
        lock_timeout=settings.timeout * 2,
        describe_failure=lambda user, exc: describe_failure(
            user, exc, signin_screenshot(output, user)
        ),
        fresh=settings.fresh_sign_in,
        on_sign_in=timing(config).record_sign_in,  # the MFA timing report's counts
        on_served=timing(config).record_served,
    )


def signin_screenshot(output: Path, user: str) -> Path:
    """Where a failed sign-in's screenshot is kept (pytest-playwright's ``--output``)."""
    return output / f"anchor-sign-in-{shorten(user, 60).replace('/', '_')}.png"


def _browser_sign_in(
    browser: Any,
    context_args: Mapping[str, Any],
    sign_in: SignIn,
    code: SignInCode,
    user: str,
    output: Path,
) -> dict[str, Any]:
    """Sign ``user`` in, in a fresh context of the run's browser; a screenshot on failure."""
    context = browser.new_context(**context_args)
    page = context.new_page()
    try:
        sign_in(page, user, code)
        state: dict[str, Any] = context.storage_state()
        return state
    except Exception:
        output.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):  # a crashed page has no screenshot to give
            page.screenshot(path=str(signin_screenshot(output, user)))
        raise
    finally:
        context.close()
