"""The async flavour: pytest-playwright-asyncio's async ``page`` with ``async_mfa_code``.

This folder runs in an environment with ``pytest-anchor-mfa[async]`` (pytest-playwright-asyncio,
not pytest-playwright: the two refuse to run together), so it is not in the main test run;
``.ci/run`` runs it in a virtual environment of its own (see the README's set-up). The demo
sign-in site is the one of ``examples/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from demo_fixtures import *  # noqa: F403 (demo_app, demo_url; found through the path above)
