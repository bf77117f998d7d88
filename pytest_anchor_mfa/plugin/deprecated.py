"""The old names of renamed fixtures (``renames``), registered as fixtures of this plugin."""

from __future__ import annotations

from .renames import deprecated_fixtures

globals().update(deprecated_fixtures())
