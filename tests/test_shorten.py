"""``shorten``: the one way a value from outside is fitted into a message or a log line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_anchor_mfa.redact import shorten


def test_a_short_value_is_kept_on_one_line() -> None:
    assert shorten("alice@app.test", 40) == "alice@app.test"
    assert shorten("  line1\r\n\tline2  ", 40) == "line1 line2"
    assert shorten("a\x00b\x1b[31mc\u200bd", 40) == "a b [31mc d"
    assert shorten(ValueError("bad\nvalue"), 40) == "bad value"
    assert shorten(None, 10) == "None"


def test_a_long_value_is_cut_to_the_limit_with_an_ellipsis() -> None:
    assert shorten("x" * 10, 10) == "x" * 10
    assert shorten("x" * 11, 10) == "x" * 9 + "…"
    assert shorten("word " * 100, 12) == "word word w…"


def test_quote_shows_the_escaped_value_cut_to_the_limit() -> None:
    assert shorten("a\nb", 60, quote=True) == "'a\\nb'"
    assert shorten("", 60, quote=True) == "''"
    assert shorten("x" * 100, 10, quote=True) == "'xxxxxxxx…"


@given(text=st.text(max_size=300), limit=st.integers(1, 120), quote=st.booleans())
def test_the_result_is_always_one_printable_line_within_the_limit(
    text: str, limit: int, quote: bool
) -> None:
    line = shorten(text, limit, quote=quote)
    assert len(line) <= limit and line.isprintable()
    if not quote:
        assert line == " ".join(line.split())
