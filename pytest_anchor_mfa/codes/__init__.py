"""MFA codes as values: what a valid code looks like, finding codes in messages, TOTP, masking.

``rule`` (``CodeRule``, ``code_from_data``), ``extract`` (codes in text, HTML and e-mail, with
``vocabulary`` and ``html_text``), ``links`` (the link a mail asks to open: verification,
magic sign-in, reset; with ``link_words``), ``masking`` (event data with masked reprs) and
``totp`` (RFC 6238 codes, one per time step). No I/O: the inbound adapters, the plugin and the leak
guard all build on this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .rule import CodeRule, code_from_data

if TYPE_CHECKING:
    from .extract import CodeCandidate, best_code, extract_codes, extract_from_message
    from .links import LinkCandidate, LinkRule, best_link, extract_links

# The extractor (its vocabulary, patterns and HTML parser) loads on first use: the plugin's
# start-up needs only ``CodeRule``.
_LAZY = dict.fromkeys(
    ("CodeCandidate", "best_code", "extract_codes", "extract_from_message"), ".extract"
)
_LAZY.update(dict.fromkeys(("LinkCandidate", "LinkRule", "best_link", "extract_links"), ".links"))

__all__ = [
    "CodeCandidate",
    "CodeRule",
    "LinkCandidate",
    "LinkRule",
    "best_code",
    "best_link",
    "code_from_data",
    "extract_codes",
    "extract_from_message",
    "extract_links",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
