"""An SMTP flood of many-part mails, as an attacker sends it: its own process, so its own CPU.

``python -m bench.smtp_flood HOST PORT CLIENTS MAILS [PARTS [TO]]`` opens CLIENTS connections,
each sending MAILS mails of PARTS tiny MIME parts (default 30,000: about 1.4 MB) to TO (default
``x+flood@inbox.test``), and prints ``flooding <bytes>`` once, then each reply code as it comes
(250, or the refusal's code). PARTS ``big:N`` sends plain mails of N bytes instead.
Used by tests/test_inbound_smtp_limits.py and ``python -m bench reliability``.
"""

from __future__ import annotations

import smtplib
import sys
import threading

__all__ = ["big_mail", "many_parts"]


def many_parts(count: int) -> bytes:
    """A mail of ``count`` one-line text parts in one multipart/mixed."""
    part = b"--b\r\nContent-Type: text/plain\r\n\r\nx%d\r\n"
    head = b"Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    return head + b"".join(part % i for i in range(count)) + b"--b--\r\n"


def big_mail(size: int) -> bytes:
    """A plain mail of about ``size`` bytes of 76-character lines, its code at the end."""
    line = b"x" * 74 + b"\r\n"
    return b"Subject: big\r\n\r\n" + line * (size // len(line)) + b"Your code is 123456\r\n"


_PRINT = threading.Lock()


def _say(*words: object) -> None:
    """One whole line (threads print at once)."""
    with _PRINT:
        sys.stdout.write(" ".join(map(str, words)) + "\n")
        sys.stdout.flush()


def _client(host: str, port: int, mails: int, flood: bytes, to: str) -> None:
    try:
        _send(host, port, mails, flood, to)
    except (OSError, smtplib.SMTPServerDisconnected) as exc:  # the server went away
        _say("gone", type(exc).__name__)


def _send(host: str, port: int, mails: int, flood: bytes, to: str) -> None:
    with smtplib.SMTP(host, port, timeout=120) as smtp:
        for _ in range(mails):
            try:
                smtp.sendmail("flood@evil.test", [to], flood)
                _say(250)
            except smtplib.SMTPResponseException as refused:
                _say(refused.smtp_code)
            except smtplib.SMTPRecipientsRefused as refused:
                _say(*(code for code, _ in refused.recipients.values()))


def main(argv: list[str]) -> None:
    host, port, clients, mails = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    kind = argv[4] if len(argv) > 4 else "30000"
    flood = big_mail(int(kind[4:])) if kind.startswith("big:") else many_parts(int(kind))
    to = argv[5] if len(argv) > 5 else "x+flood@inbox.test"
    threads = [
        threading.Thread(target=_client, args=(host, port, mails, flood, to))
        for _ in range(clients)
    ]
    _say("flooding", len(flood))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
