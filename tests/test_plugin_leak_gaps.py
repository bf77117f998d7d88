"""The leak guard where a secret turns up late or by a side door: output of a thread after
its test ended, a session fixture's teardown, ``record_testsuite_property``, the log file,
pytest-html, aiosmtpd's DEBUG log of a mail's lines, and, with ``--anchor-leaks fail``,
warnings and skip/xfail reasons. As in test_plugin_leaks.py, the inner runs are real processes
in live mode against a fake server started here, and every byte they wrote is grepped."""

from __future__ import annotations

import base64
import secrets

import pytest
from test_plugin_leaks import INNER, eight_digits, forms

from pytest_anchor_mfa.redact import scrub, secret_pattern
from pytest_anchor_mfa.server import FakeEventServer

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.usefixtures("clean_anchor_env")

LATE = """
import base64
import logging
import smtplib
import threading
from email.message import EmailMessage

import pytest

LATER = threading.Event()
DONE = threading.Event()
SEEN = []


@pytest.fixture(scope="session")
def keeps_codes():
    yield SEEN
    print("session teardown prints", SEEN[0])
    logging.getLogger("app").warning("session teardown logs %s", SEEN[0])


def test_a_leaves_a_thread_behind(mfa_code, keeps_codes):
    code = mfa_code("ev_late")
    keeps_codes.append(str(code))

    def later():
        LATER.wait(60)
        print("late thread prints", code)
        logging.getLogger("app").warning("late thread logs %s", code)
        DONE.set()

    threading.Thread(target=later, daemon=True).start()


def test_b_runs_while_it_prints(record_testsuite_property):
    LATER.set()
    assert DONE.wait(60)
    record_testsuite_property("suite_code", SEEN[0])


def test_c_mail_with_a_base64_body(anchor_inbox, mfa_code):
    message = EmailMessage()
    message["From"], message["To"] = "app@app.test", anchor_inbox.address()
    message["Subject"] = "Sign in"
    message.set_content("Your sign-in code is {mailed}. It expires soon.", cte="base64")
    with smtplib.SMTP(anchor_inbox.host, anchor_inbox.port, timeout=30) as client:
        client.send_message(message)
    code = mfa_code()
    print("basic auth", base64.b64encode(f"user:{{code}}".encode()).decode())
"""

FAILING = """
import warnings

import pytest


def test_warns(mfa_code):
    warnings.warn(f"code {mfa_code('ev_warn')}")


def test_skips(mfa_code):
    pytest.skip(f"code {mfa_code('ev_skip')}")


def test_xfails(mfa_code):
    pytest.xfail(f"code {mfa_code('ev_xfail')}")


@pytest.mark.xfail(reason="flaky")
def test_xpasses(mfa_code):
    warnings.warn(f"code {mfa_code('ev_xpass')}")
"""


def run_inner(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    codes: dict[str, str],
    *args: str,
) -> pytest.RunResult:
    """``source`` run in its own process, live mode against a fake server holding ``codes``
    (event -> code)."""
    key = f"sk-leakkey-{secrets.token_hex(10)}"
    pytester.makepyfile(test_user=source)
    with FakeEventServer(api_keys=[key]) as server:
        for event, code in codes.items():
            server.signal(event, {"code": code})
        monkeypatch.setenv("ANCHOR_API_KEY", key)
        monkeypatch.setenv("ANCHOR_BASE_URL", server.url)
        return pytester.runpytest_subprocess(*INNER, "--anchor-code-digits=8", *args, timeout=120)


def shown(text: str, code: str) -> bool:
    encoded = base64.b64encode(f"user:{code}".encode()).decode()
    mailed = base64.b64encode(f"is {code}. ".encode()).decode()[:8]
    return any(form in text for form in forms(code)) or encoded[8:] in text or mailed in text


def test_late_thread_session_teardown_suite_property_log_file_html_and_mail(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    late, mailed = eight_digits(), eight_digits()
    xml, log, html = (pytester.path / name for name in ("r.xml", "run.log", "r.html"))
    result = run_inner(
        pytester,
        monkeypatch,
        LATE.format(mailed=mailed),
        {"ev_late": late},
        "-rA",
        "-vv",
        "--log-level=DEBUG",
        "-o",
        "log_cli=true",
        f"--junitxml={xml}",
        f"--log-file={log}",
        "--log-file-level=DEBUG",
        f"--html={html}",
        "--self-contained-html",
    )
    result.assert_outcomes(passed=3)
    terminal = result.stdout.str() + result.stderr.str()
    files = {"terminal": terminal, **{p.name: p.read_text("utf-8") for p in (xml, log, html)}}
    for name, text in files.items():
        assert not shown(text, late), f"the late code is in {name}"
        assert not shown(text, mailed), f"the mailed code is in {name}"
    # The checks looked at real output: the late lines are there, scrubbed.
    assert "late thread prints ••••••••" in terminal
    assert "late thread logs ••••••••" in files["run.log"]
    assert "session teardown prints ••••••••" in terminal
    assert "session teardown logs ••••••••" in files["run.log"]
    assert '<property name="suite_code" value="••••••••" />' in files["r.xml"]
    assert "late thread prints " + "\\u2022" * 8 in files["r.html"]  # its JSON, escaped
    assert "basic auth " in terminal


def test_fail_mode_fails_a_code_in_a_warning_or_a_skip_or_xfail_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = {event: eight_digits() for event in ("ev_warn", "ev_skip", "ev_xfail", "ev_xpass")}
    result = run_inner(pytester, monkeypatch, FAILING, codes, "--anchor-leaks=fail", "-rA")
    result.assert_outcomes(failed=4, warnings=2)
    output = result.stdout.str()
    assert not any(shown(output, code) for code in codes.values())
    for test, where in [
        ("test_warns", "a warning"),
        ("test_skips", "the skip reason"),
        ("test_xfails", "the xfail reason"),
        ("test_xpasses", "a warning"),
    ]:
        line = f"anchor-mfa: an MFA code appeared in {where} of {test} (--anchor-leaks fail)"
        assert line in result.stdout.lines, line


# -- encoded forms --------------------------------------------------------------------------


def test_scrub_hides_the_encoded_forms_a_test_plausibly_prints() -> None:
    code = "40815237"
    pattern = secret_pattern([code])
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in code)
    caught = [
        code.encode().hex(),
        code.encode().hex().upper(),
        "\n".join(code),  # one digit per line
        "\t".join(code),
        " \r\n".join(code),
        str(list(code)),  # -l locals: ['4', '0', ...]
        fullwidth,
        fullwidth[:4] + code[4:],
    ]
    for text in caught:
        assert scrub(text, pattern).strip("•[]'\" ") == "", repr(text)
    # Base64 wherever the code sits in the encoded text (three alignments), both alphabets.
    for prefix in ("", "a", "ab", "user:", "Your code is "):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(f"{prefix}{code} and more".encode()).decode()
            assert scrub(encoded, pattern) != encoded, prefix
    # Not caught (documented in the README): reversed, UTF-16 bytes' repr.
    for text in (code[::-1], repr(code.encode("utf-16-le"))):
        assert scrub(text, pattern) == text


def test_ordinary_text_is_left_alone() -> None:
    pattern = secret_pattern(["40815237", "sk-leakkey-0123456789abcdef"])
    text = "4081 5238\n4081523 base64 QUJD 2024-06-11 line\n4\n0\n8"
    assert scrub(text, pattern) == text


def test_long_secrets_such_as_private_keys_make_a_pattern() -> None:
    # A WebAuthn private key is ~200 base64 characters (~800 in its hex form): the prefix tree
    # once recursed per character and failed with RecursionError inside pytest's report hook.
    keys = [base64.b64encode(secrets.token_bytes(600)).decode() for _ in range(30)]
    pattern = secret_pattern([*keys, "40815237"])
    text = f"key={keys[7]} hex={keys[7].encode().hex()} code=40815237 end"
    scrubbed = scrub(text, pattern)
    assert keys[7] not in scrubbed and "40815237" not in scrubbed
    assert scrubbed.startswith("key=•") and scrubbed.endswith(" end")
