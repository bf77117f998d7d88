"""Where the client, the CLI and the plugin find the API key and the base URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import ConfigurationError

__all__ = [
    "API_KEY_ENV_VARS",
    "BASE_URL_ENV_VARS",
    "DEFAULT_BASE_URL",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://api.anchorbrowser.io"
API_KEY_ENV_VARS = ("ANCHOR_API_KEY", "ANCHORBROWSER_API_KEY")
"""The docs' name first, then the one the official ``anchorbrowser`` SDK reads."""
BASE_URL_ENV_VARS = ("ANCHOR_BASE_URL", "ANCHORBROWSER_BASE_URL")


def _first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def resolve_api_key(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The argument, else ``ANCHOR_API_KEY``, else ``ANCHORBROWSER_API_KEY``, else None."""
    if explicit is not None and explicit.strip():
        return explicit.strip()
    return _first_env(API_KEY_ENV_VARS, os.environ if environ is None else environ)


def resolve_base_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The argument, else ``ANCHOR_BASE_URL``, else ``ANCHORBROWSER_BASE_URL``, else the service.

    The result is validated (``http``/``https`` with a host) and has no trailing slash.
    """
    value = explicit.strip() if explicit is not None and explicit.strip() else None
    if value is None:
        value = _first_env(BASE_URL_ENV_VARS, os.environ if environ is None else environ)
    url = (value or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base URL {url!r} is not an http(s) URL with a host; "
            f"set it like {DEFAULT_BASE_URL!r} (argument, ANCHOR_BASE_URL or --anchor-base-url)"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base URL {url!r} must not have a query or fragment")
    return url
