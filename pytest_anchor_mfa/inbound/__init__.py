"""Inbound adapters: the bridge from where a real app sends its MFA code to an event.

An app under test mails or texts its code (e-mail, SMS); the adapters (an SMTP inbox, SMS
webhooks: still to come) receive it, find the code in the message and signal the event a
waiting test is blocked on. For now the subpackage exports the extraction API.
"""

from __future__ import annotations

from .extract import CodeCandidate, best_code, extract_codes, extract_from_message
from .html_text import HtmlText, html_to_text

__all__ = [
    "CodeCandidate",
    "HtmlText",
    "best_code",
    "extract_codes",
    "extract_from_message",
    "html_to_text",
]
