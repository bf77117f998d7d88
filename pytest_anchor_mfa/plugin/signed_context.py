"""pytest-playwright's ``context`` (sync flavour), started signed in for ``@pytest.mark.signed_in``.

Registered after pytest-playwright, so this ``context`` is the one tests get. Without the marker
it is pytest-playwright's own: ``new_context()``. With it, the context is made from the user's
saved storage state (``anchor_signed_in``); when ``anchor_signed_in_check`` says the app no
longer takes that state, the state is renewed once and the context made again.
"""

from __future__ import annotations

from typing import Any

import pytest

from .markers import signed_in_marker

__all__ = ["context"]


@pytest.fixture
def context(
    new_context: Any, browser_context_args: dict[str, Any], request: pytest.FixtureRequest
) -> Any:
    """pytest-playwright's context; signed in as the user of ``@pytest.mark.signed_in``."""
    user = signed_in_marker(request.node)
    if user is None:
        return new_context()
    if "storage_state" in browser_context_args:
        raise pytest.UsageError(
            "@pytest.mark.signed_in sets the context's storage_state: remove storage_state "
            "from your browser_context_args override"
        )
    signed_in = request.getfixturevalue("anchor_signed_in")
    check = request.getfixturevalue("anchor_signed_in_check")
    state = signed_in(user)
    context = new_context(storage_state=str(state))
    if check is None or _still_signed_in(context, check, user):
        return context
    context.close()
    return new_context(storage_state=str(signed_in.renew(user, state)))


def _still_signed_in(context: Any, check: Any, user: str) -> bool:
    page = context.new_page()
    try:
        return bool(check(page, user))
    finally:
        page.close()
