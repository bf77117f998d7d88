"""The leak guard (``--anchor-leaks``): a code a test touched never reaches what pytest reports.

A user's suite derives values from its codes (``.strip()``, ``int()``, ``"1234-5678"``),
receives codes nested in event data, passes a code to a failing signal (a frame argument),
prints, logs, warns and records one. The inner runs (real processes: live logging and xdist)
talk in live mode to a fake server started here, so no code is in the inner sources except the
one the suite signals itself; then every byte of stdout, stderr, the JUnit XML and a trace zip
is grepped for every code and its derived forms.
"""

from __future__ import annotations

import json
import secrets
import zipfile
from pathlib import Path

import pytest

from pytest_anchor_mfa.plugin.traces import scrub_trace
from pytest_anchor_mfa.redact import scrub, secret_pattern
from pytest_anchor_mfa.server import FakeEventServer

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.usefixtures("clean_anchor_env")

INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly")

SUITE = """
import logging
import os
import sys
import warnings
import zipfile


def test_strip(mfa_code):
    code = mfa_code("ev_strip").strip()
    assert code == "00000000"


def test_int(mfa_code):
    number = int(mfa_code("ev_int"))
    assert number == 0


def test_nested_event_data(wait_for_event):
    data = wait_for_event("ev_nested")
    assert data == {{"message": "x"}}


def test_failing_signal(anchor_events):
    anchor_events.signal("mfa_code/x", {{"code": "{signaled}"}})


def test_print_record_and_warn(mfa_code, request):
    code = mfa_code("ev_print")
    print("the code is", code)
    print("to stderr", code, file=sys.stderr)
    request.node.user_properties.append(("code", code))  # JUnit XML <property>
    warnings.warn(f"code {{code}}")


def test_log(mfa_code):
    logging.getLogger("app").warning("code %s", mfa_code("ev_log"))


def test_derived(mfa_code):
    code = mfa_code("ev_derived")
    pretty = code[:4] + "-" + code[4:]
    assert pretty == "x"


def test_trace(mfa_code, request):
    code = mfa_code("ev_trace")
    path = os.path.join(os.environ["TRACE_DIR"], "trace.zip")
    with zipfile.ZipFile(path, "w") as trace:
        trace.writestr("trace.trace", '{{"type":"before","params":{{"value":"' + code + '"}}}}\\n')
    request.node.user_properties.append(("playwright_trace", path))  # as pytest-playwright does
"""

EVENTS = ("ev_strip", "ev_int", "ev_print", "ev_log", "ev_derived", "ev_trace")


def eight_digits() -> str:
    """A random 8-digit code: never in output by chance."""
    return str(10**7 + secrets.randbelow(9 * 10**7))


def forms(code: str) -> set[str]:
    """The code and what a test derives from it: separated, with thousands separators."""
    return {code, f"{code[:4]} {code[4:]}", f"{code[:4]}-{code[4:]}", f"{int(code):,}"}


def run_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[pytest.RunResult, str, dict[str, str]]:
    """Run ``SUITE`` with fresh codes; (result, stdout + stderr + XML + trace, codes by name)."""
    key = f"sk-leakkey-{secrets.token_hex(10)}"
    codes = {event: eight_digits() for event in EVENTS}
    codes |= {"nested": eight_digits(), "nested_otp": eight_digits(), "signaled": eight_digits()}
    pytester.makepyfile(test_user=SUITE.format(signaled=codes["signaled"]))
    xml = pytester.path / "report.xml"
    traces = pytester.mkdir("traces")
    with FakeEventServer(api_keys=[key]) as server:
        for event in EVENTS:
            server.signal(event, {"code": codes[event]})
        message = f"Your login code is {codes['nested']}"
        server.signal("ev_nested", {"message": message, "meta": {"otp": codes["nested_otp"]}})
        monkeypatch.setenv("ANCHOR_API_KEY", key)
        monkeypatch.setenv("ANCHOR_BASE_URL", server.url)
        monkeypatch.setenv("TRACE_DIR", str(traces))
        result = pytester.runpytest_subprocess(
            *INNER, "--anchor-code-digits=8", f"--junitxml={xml}", *args, timeout=120
        )
    with zipfile.ZipFile(traces / "trace.zip") as trace:
        trace_text = "".join(trace.read(name).decode() for name in trace.namelist())
    output = "\n".join((result.stdout.str(), result.stderr.str(), xml.read_text("utf-8")))
    return result, output + trace_text, {"API key": key, **codes}


def leaked(output: str, codes: dict[str, str]) -> list[str]:
    """The names of the secrets in ``output`` (never their values: they would be shown)."""
    key = codes["API key"]
    found = [
        name
        for name, code in codes.items()
        if code != key and any(form in output for form in forms(code))
    ]
    return found + (["API key"] if key in output or key[3:-4] in output else [])


VERBOSE = ("-vv", "-l", "--tb=long", "-rA", "--log-level=DEBUG", "-o", "log_cli=true")


@pytest.mark.parametrize(
    "extra", [pytest.param((), id="in-process"), pytest.param(("-n", "2"), id="xdist")]
)
def test_no_code_in_any_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, extra: tuple[str, ...]
) -> None:
    result, output, codes = run_suite(
        pytester, monkeypatch, *VERBOSE, "--anchor-scrub-traces", *extra
    )
    result.assert_outcomes(passed=3, failed=5, warnings=1)
    assert not leaked(output, codes)
    # The checks looked at real output: the leaks were there, scrubbed.
    assert "the code is ••••••••" in output
    assert "to stderr ••••••••" in output
    assert "UserWarning: code ••••••••" in output
    assert "assert •••••••• == 0" in output  # int(code)
    assert "'Your login code is ••••••••'" in output  # nested event data
    assert "assert '•••••••••' == 'x'" in output  # a derived value ("1234-5678"), masked whole
    assert '<property name="code" value="••••••••" />' in output
    if not extra:
        assert "code ••••••••" in result.stdout.str().split("live log call")[-1]


def test_fail_mode_fails_a_test_that_shows_a_code(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, output, codes = run_suite(
        pytester, monkeypatch, "--tb=short", "--anchor-leaks=fail", "--anchor-scrub-traces"
    )
    result.assert_outcomes(passed=1, failed=7, warnings=1)  # only test_trace passes
    assert not leaked(output, codes)
    lines = result.stdout.lines
    assert (
        "anchor-mfa: an MFA code appeared in captured stdout; an MFA code appeared in captured "
        "stderr; an MFA code appeared in the recorded property 'code'; an MFA code appeared in "
        "a warning of test_print_record_and_warn (--anchor-leaks fail)"
    ) in lines
    assert (
        "anchor-mfa: an MFA code appeared in captured log of test_log (--anchor-leaks fail)"
    ) in lines


def test_fail_mode_adds_its_line_to_a_test_that_failed_anyway(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_shows(anchor_fake, mfa_code, mfa_event_name):
            anchor_fake.signal(mfa_event_name, {"code": "424242"})
            print("the code", mfa_code())
            assert False, "the page did not load"
        """
    )
    result = pytester.runpytest(*INNER, "-p", "no:playwright", "--anchor-leaks=fail")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "424242" not in output
    assert "the page did not load" in output  # the test's own failure stays
    result.stdout.fnmatch_lines(
        [
            "*- anchor-mfa -*",
            "anchor-mfa: an MFA code appeared in captured stdout; an MFA code appeared in the "
            "failure report of test_shows (--anchor-leaks fail)",
        ]
    )


def test_off_shows_the_code(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result, output, codes = run_suite(pytester, monkeypatch, "--tb=short", "--anchor-leaks=off")
    result.assert_outcomes(passed=3, failed=5, warnings=1)
    assert f"assert {codes['ev_int']} == 0" in output
    assert f"UserWarning: code {codes['ev_print']}" in output
    assert "ev_trace" in leaked(output, codes)  # no --anchor-scrub-traces: the trace is as made


# -- the pieces ---------------------------------------------------------------------------------


def test_scrub_hides_derived_forms() -> None:
    pattern = secret_pattern(["11223344", " ab12cd "])
    text = "11223344 1122-3344 1122 3344 11,223,344 AB12CD ab12cd 911223344 112233"
    assert scrub(text, pattern) == (
        "•••••••• ••••••••• ••••••••• •••••••••• •••••• •••••• 9•••••••• 112233"
    )
    # The value itself is scrubbed anywhere; its int form (no leading zeros) and separated
    # forms only as a number of their own.
    assert scrub("012345 12345 612345", secret_pattern(["012345"])) == "•••••• ••••• 612345"
    assert secret_pattern(["123", ""]) is None  # too short to scrub anywhere


def test_a_trace_zip_is_rewritten_and_stays_valid(tmp_path: Path) -> None:
    code = eight_digits()
    path = tmp_path / "trace.zip"
    image = bytes(range(256)) * 4  # not UTF-8: a screenshot, copied as it is
    events = [
        {"type": "before", "method": "fill", "params": {"selector": "#mfa", "value": code}},
        {"type": "after", "result": {"code": int(code)}},
        {"type": "log", "message": f"typed {code[:4]} {code[4:]}"},
    ]
    members = {
        "trace.trace": "\n".join(json.dumps(event) for event in events) + "\n",
        "trace.network": json.dumps({"postData": {"text": f"code={code}"}}) + "\n",
        "resources/page.html": f"<input value='{code}'>",
        "resources/shot.jpeg": image,
        "trace.stacks": json.dumps({"files": ["test_login.py"], "stacks": [[1, [[0, 7]]]]}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as trace:
        for name, data in members.items():
            trace.writestr(name, data)
    pattern = secret_pattern([code])
    assert scrub_trace(path, lambda text: scrub(text, pattern))
    with zipfile.ZipFile(path) as trace:
        assert trace.testzip() is None
        assert trace.namelist() == list(members)
        read = {name: trace.read(name) for name in trace.namelist()}
    assert read["resources/shot.jpeg"] == image
    assert read["trace.stacks"] == members["trace.stacks"].encode()  # untouched
    texts = [data.decode() for name, data in read.items() if name != "resources/shot.jpeg"]
    assert not any(form in text for text in texts for form in forms(code))
    parsed = [json.loads(line) for line in texts[0].splitlines()]
    assert parsed[0]["params"] == {"selector": "#mfa", "value": "••••••••"}
    assert parsed[1]["result"] == {"code": "••••••••"}  # a number became a string
    assert json.loads(texts[1]) == {"postData": {"text": "code=••••••••"}}
    assert not scrub_trace(path, lambda text: scrub(text, pattern))  # nothing left to hide


def test_fail_mode_names_the_kind_that_leaked_not_a_code_inside_it() -> None:
    from pytest_anchor_mfa.plugin.leaks import API_KEY, MFA_CODE, SecretBook

    book = SecretBook()
    book.add("sk-live-0123456789abcdef", API_KEY, run_wide=True)
    book.add("123456", MFA_CODE)  # the test's code also occurs inside the key
    assert book.found("key: sk-live-0123456789abcdef") == "the API key"
    assert book.found("code 123456") == "an MFA code"
    assert book.found("sk-live-0123456789abcdef then 123-456") == "the API key and an MFA code"
    assert book.found("nothing here") is None


def test_fail_mode_says_the_api_key_leaked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_shows_the_key(anchor_fake, anchor_connection, mfa_code, mfa_event_name):
            anchor_fake.signal(mfa_event_name, {"code": "424242"})
            mfa_code()
            print("key", anchor_connection.api_key)
        """
    )
    result = pytester.runpytest(*INNER, "-p", "no:playwright", "--anchor-leaks=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["anchor-mfa: the API key appeared in captured stdout of test_shows_the_key (*"]
    )
