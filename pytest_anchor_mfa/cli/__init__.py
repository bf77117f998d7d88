"""The ``anchor-mfa`` command: ``serve``, ``signal``, ``wait`` (``main``) and ``relay``."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
