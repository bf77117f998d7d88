"""Sign in once per user per run: saved storage states shared by every process of the run.

``states`` (``StateStore``: the files, 0600, their locks and ages; ``state_secrets``: what the
leak guard scrubs) and ``flow`` (``SignIns``: when to sign in, renew, or fail fast). No pytest
and no Playwright here: the plugin drives the browser and passes the result in.
"""

from __future__ import annotations

from .flow import MakeState, SignIns
from .states import StateStore, state_secrets

__all__ = ["MakeState", "SignIns", "StateStore", "state_secrets"]
