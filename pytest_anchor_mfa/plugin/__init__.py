"""The pytest plugin (entry point ``pytest11``: ``anchor_mfa``).

Owns the wiring: options/ini/env settings (``options``), markers (``markers``), fixtures
(``fixtures``), where ``mfa_code()`` gets a code (``sources``) and Playwright support
(``playwright``: system Chromium discovery, artifacts of failed tests). No protocol logic.
"""

from __future__ import annotations

from .fixtures import *  # noqa: F403
from .fixtures import (  # noqa: F401
    _anchor_fake_reset,
    pytest_addoption,
    pytest_assertrepr_compare,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
)
