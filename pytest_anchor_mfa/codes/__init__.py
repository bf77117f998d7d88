"""MFA codes as values: what a valid code looks like, finding codes in messages, TOTP, masking.

``rule`` (``CodeRule``, ``code_from_data``), ``extract`` (codes in text, HTML and e-mail, with
``vocabulary`` and ``html_text``), ``masking`` (event data with masked reprs) and ``totp``
(RFC 6238 codes, one per time step). No I/O: the inbound adapters, the plugin and the leak
guard all build on this.
"""

from __future__ import annotations

from .extract import CodeCandidate, best_code, extract_codes, extract_from_message
from .rule import CodeRule, code_from_data

__all__ = [
    "CodeCandidate",
    "CodeRule",
    "best_code",
    "code_from_data",
    "extract_codes",
    "extract_from_message",
]
