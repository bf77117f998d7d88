"""When no code comes, the test fails after its timeout with one line that says why.

No browser needed. In a real test you would not catch the failure; here ``pytest.raises``
shows what it looks like:

    Failed: anchor-mfa: mfa_code: event 'nobody-sends-this' was not signaled within 1 s
    (mode fake (in-process fake server)). Is the sender signaling this event name? ...
"""

import pytest

from pytest_anchor_mfa import MfaCode


def test_a_missing_code_fails_in_one_line(mfa_code: MfaCode) -> None:
    expected = r"event 'nobody-sends-this' was not signaled within 1 s"
    with pytest.raises(pytest.fail.Exception, match=expected) as failure:
        mfa_code(event="nobody-sends-this", timeout=1)
    assert "\n" not in str(failure.value)
