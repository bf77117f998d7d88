"""A test that plays the sender itself with ``anchor_fake``, as in the README.

``anchor_fake`` exists in fake mode only; in live mode the plugin skips this test with the
reason. No browser: it shows how ``mfa_code`` and a sender meet. The event is
``mfa_event_name`` rather than "mfa_code", so it also works with ``--anchor-unique-events``.
"""

import pytest

from pytest_anchor_mfa import MfaCode
from pytest_anchor_mfa.server import FakeEventServer

pytestmark = pytest.mark.anchor_timeout(15)


def test_code_arrives(anchor_fake: FakeEventServer, mfa_code: MfaCode, mfa_event_name: str) -> None:
    anchor_fake.signal_when_waiting(mfa_event_name, {"code": "123456"})  # like an SMS relay
    assert mfa_code() == "123456"
