"""A corpus of realistic messages that carry (or do not carry) an MFA code.

Written by hand for the extraction tests and the extraction bench (``bench/extraction.py``
imports it by path): SMS texts, plain-text and HTML-only e-mails, raw MIME messages
(multipart/alternative, quoted-printable, base64, legacy charsets), in English, German,
French, Spanish and Portuguese, each built around one of the traps a code finder falls into:
dates, times, phone numbers, amounts, order and ticket numbers, digits in addresses, URLs and
hex colours. Each sample has the code a person reading it would type, or ``None``.

``ADVERSARIAL`` holds inputs made to make a code finder slow (quadratic scans, backtracking):
the tests check they stay far from seconds, the bench times them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pytest_anchor_mfa.codes.rule import CodeRule

__all__ = ["ADVERSARIAL", "CORPUS", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One message: a ``text`` and/or ``html`` body, or a ``raw`` MIME message."""

    id: str
    expected: str | None
    text: str | None = None
    html: str | None = None
    raw: bytes | None = None
    rule: CodeRule | None = None

    @property
    def kind(self) -> str:
        if self.raw is not None:
            return "mime"
        return "html" if self.html is not None else "text"


# --- builders ------------------------------------------------------------------------------

_STYLE = """
<style type="text/css">
  body { margin: 0; background-color: #f4f4f7; color: #202123; font-family: Helvetica; }
  .btn { background: #10a37f; color: #fff; border-radius: 4px; }
  .code { font-size: 32px; letter-spacing: 6px; color: #123456; }
  @media only screen and (max-width: 600px) { .wrap { width: 100% !important; } }
</style>
"""


def html_mail(title: str, rows: str, *, footer: str = "", lang: str = "en") -> str:
    """A table-layout HTML mail like the ones transactional mail services send."""
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
<html lang="{lang}"><head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>{_STYLE}
<!--[if mso]><style>td {{ font-family: Arial; }}</style><![endif]-->
</head>
<body style="background-color:#f4f4f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" bgcolor="#f4f4f7">
<tr><td align="center" style="padding:24px 0;">
  <img src="https://cdn.mailer.example.net/logos/7f3a9c/202406/logo-4b1e90aa.png"
       width="120" height="36" alt="Example" style="display:block;border:0;">
</td></tr>
{rows}
<tr><td style="color:#8a8f98;font-size:12px;padding:24px;">{footer}</td></tr>
</table>
<img src="https://t.mailer.example.net/o/123456/7a8b9c0d1e2f.gif" width="1" height="1" alt="">
</body></html>
"""


def _crlf(text: str) -> bytes:
    # Raw 8-bit bodies are UTF-8 (declared "8bit"); the others are plain ASCII already.
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


# --- SMS -----------------------------------------------------------------------------------

_SMS = [
    Sample("sms-en-is-your-code", "482913", "482913 is your Example verification code."),
    Sample("sms-en-your-code-colon", "305174", "Your Example code: 305174. Don't share it."),
    Sample("sms-en-google-prefix", "719305", "G-719305 is your Google verification code."),
    Sample(
        "sms-en-android-hash",
        "604218",
        "<#> Your ExampleApp code is: 604218\nFA+9qCX9VSu",
    ),
    Sample(
        "sms-en-apple-origin-bound",
        "551092",
        "Your Example code is 551092.\n\n@login.example.com #551092",
    ),
    Sample("sms-en-dash-groups", "128455", "WhatsApp code 128-455\nYou can also tap this link."),
    Sample("sms-en-space-groups", "660913", "Your sign-in code is 660 913. Valid for 10 min."),
    Sample(
        "sms-en-pairs", "093847", "Example: 09 38 47 is your one-time passcode. Never share it."
    ),
    Sample(
        "sms-en-nbsp-groups", "771204", "Your verification code is 771\u00a0204 (expires 12:30)."
    ),
    Sample(
        "sms-en-call-phone-first",
        "284650",
        "Didn't request this? Call 800-531-8722. Your security code is 284650.",
    ),
    Sample(
        "sms-en-intl-phone",
        "901775",
        "Bank of Example: code 901775 to approve $1,234.00 at EXAMPLE STORE. "
        "Not you? Call +1 (555) 123-4567.",
    ),
    Sample(
        "sms-en-amount-six-digit",
        "330981",
        "Approve transfer of $123,456.00 to ACME LLC? Your OTP is 330981.",
    ),
    Sample(
        "sms-en-order-first",
        "417263",
        "Order #123456 is on its way. To change the delivery, log in with code 417263.",
    ),
    Sample(
        "sms-en-2fa-time",
        "825730",
        "[Example] 2FA code 825730, requested at 12:30:45 from Chrome on Windows.",
    ),
    Sample(
        "sms-en-mfa-bare",
        "152948",
        "Example MFA: 152948\nReply STOP to opt out",
    ),
    Sample(
        "sms-en-pin-4",
        "4821",
        "Your Example PIN is 4821. Sent 4/30/2025.",
        rule=CodeRule.digits(4),
    ),
    Sample(
        "sms-en-year-not-pin",
        None,
        "Happy new year 2025 from the Example team! Reply STOP to opt out.",
        rule=CodeRule.digits(4),
    ),
    Sample(
        "sms-en-card-ending",
        "7709",
        "Card ending in 5521: purchase of 89.90 EUR. Confirm with code 7709.",
        rule=CodeRule.digits(4),
    ),
    Sample(
        "sms-en-alnum-pattern",
        "K7Q2XM",
        "SECURE LOGIN: your code is K7Q2XM. Do not share.",
        rule=CodeRule.from_pattern(r"[A-Z0-9]{6}"),
    ),
    Sample("sms-de-code", "274019", "Ihr Bestätigungscode lautet 274019. Gültig für 10 Minuten."),
    Sample(
        "sms-de-tan",
        "58301942",
        "Ihre mTAN für die Überweisung von 1.250,00 € an M. Muster: 58301942",
        rule=CodeRule.digits(8),
    ),
    Sample(
        "sms-de-phone",
        "630518",
        "Ihr Einmalcode: 630518. Fragen? +49 30 1234567 (Mo-Fr 8-18 Uhr)",
    ),
    Sample(
        "sms-fr-code", "918264", "Votre code de vérification est : 918264. Il expire dans 5 min."
    ),
    Sample(
        "sms-fr-code-after",
        "402716",
        "402716 est votre code de sécurité Example. Ne le communiquez à personne.",
    ),
    Sample("sms-es-code", "735102", "Tu código de verificación de Example es 735102."),
    Sample(
        "sms-es-seguridad",
        "846029",
        "Example: no compartas este código. Código de seguridad: 846 029",
    ),
    Sample("sms-pt-code", "203958", "Seu código de verificação é 203958. Não o compartilhe."),
    Sample(
        "sms-pt-seguranca-pedido",
        "559120",
        "Pedido 123456 confirmado. Para acompanhar, use o código de segurança 559120.",
    ),
    Sample("sms-en-verify-after", "562018", "Use 562018 to verify your Example account."),
    Sample(
        "sms-en-reset-tollfree",
        "583920",
        "Example: your password reset code is 583920. Questions? 1-800-555-0199",
    ),
    Sample(
        "sms-en-bare-number",
        "390416",
        "Example\n390416",
    ),
    Sample(
        "sms-en-no-code-delivery",
        None,
        "Your parcel 123456 arrives today between 12:30 and 14:30. Track: exmpl.co/t/123456",
    ),
    Sample(
        "sms-en-no-code-appointment",
        None,
        "Reminder: appointment on 30.04.2025 at 09:15. Questions? Call 0800 123 456.",
    ),
]


# --- plain-text e-mail ---------------------------------------------------------------------

_TEXT = [
    Sample(
        "text-en-signin",
        "846102",
        "Hi Jane,\n\nSomeone (hopefully you) tried to sign in to Example on April 30, 2025 "
        "at 12:30 PM.\n\nYour sign-in code:\n\n    846102\n\nIf this wasn't you, reset your "
        "password at https://example.com/reset?u=123456&t=998877.\n\nExample Inc., 123 Market "
        "St, San Francisco, CA 94105\n",
    ),
    Sample(
        "text-en-ticket-and-code",
        "237590",
        "Support ticket 123456 has been updated.\n\nTo view it, confirm your identity with "
        "this verification code: 237590\n\n-- \nExample Support\nsupport+123456@example.com\n",
    ),
    Sample(
        "text-en-invoice-no-code",
        None,
        "Invoice INV-123456\nInvoice number: 654321\nDate: 2025-04-30\nAmount due: "
        "$123,456.00\nAccount number: 100200\n\nPay online: https://pay.example.com/i/654321\n",
    ),
    Sample(
        "text-en-ref-first",
        "618273",
        "Ref: 123456\n\nYour one-time password (OTP) is 618273. It is valid for 15 minutes.",
    ),
    Sample(
        "text-en-account-number-first",
        "372014",
        "Account number: 100234\nLogin code: 372014\nTime: 2025-04-30 12:30:45 UTC",
    ),
    Sample(
        "text-en-email-digits",
        "903116",
        "This message was sent to jane.doe123456@example.com.\n\nYour passcode is 903116.",
    ),
    Sample(
        "text-en-url-digits",
        "447821",
        "Click https://example.com/verify/123456?sig=7f3e9a to continue, or enter the code "
        "447821 on the sign-in page.",
    ),
    Sample(
        "text-en-thousands",
        "265310",
        "You have 1,234 points (worth 123.456 €). Security code: 265310",
    ),
    Sample(
        "text-en-newsletter-no-code",
        None,
        "SPRING SALE - up to 50% off!\nOffer ends 4/30/2025. Use promo code 123456 at "
        "checkout.\nCall us: 800-531-8722\n(c) 2025 Example Inc.\n",
    ),
    Sample(
        "text-de-anmeldung",
        "509318",
        "Hallo Max,\n\nIhr Sicherheitscode für die Anmeldung am 30.04.2025 um 12:30 Uhr "
        "lautet:\n\n509318\n\nBestellnummer 123456 ist davon nicht betroffen.\n\nViele Grüße\n"
        "Ihr Example-Team\nTel. +49 30 1234567\n",
    ),
    Sample(
        "text-de-kundennummer",
        "184263",
        "Kundennummer: 123456\nRechnungsnummer: 654321\n\nIhr Einmalcode lautet 184263.",
    ),
    Sample(
        "text-fr-commande",
        "730245",
        "Bonjour,\n\nCommande n° 123456 du 30/04/2025.\nVotre code de confirmation : 730245\n"
        "Montant : 123,45 €\n",
    ),
    Sample(
        "text-es-pedido",
        "614592",
        "Hola:\n\nTu pedido 123456 está en camino. Para cambiar la entrega, usa el código "
        "614592.\nTeléfono: +34 912 345 678\n",
    ),
    Sample(
        "text-pt-fatura",
        "827301",
        "Olá,\n\nFatura 123456 de 30/04/2025 no valor de R$ 123.456,00.\nCódigo de "
        "verificação: 827301\n",
    ),
    Sample(
        "text-en-code-first-line",
        "095531",
        "095531\n\nThat's your Example login code. It expires at 12:45.\n",
    ),
    Sample(
        "text-en-zero-width",
        "310928",
        "Your verification code is 310\u200b928.",
    ),
    Sample(
        "text-en-fullwidth",
        "582046",
        "Your code: \uff15\uff18\uff12\uff10\uff14\uff16",
    ),
    Sample(
        "text-en-8-digit-date-trap",
        "73019284",
        "Statement 20250430 is ready. Enter verification code 73019284 to open it.",
        rule=CodeRule.digits(8),
    ),
]


# --- HTML-only e-mail ----------------------------------------------------------------------

_CODE_ROW = """<tr><td style="padding:8px 24px;">
<p style="margin:0 0 16px;color:#202123;">{intro}</p>
<div class="code" style="font-size:32px;color:#10a37f;background:#fff;">{code}</div>
<p style="color:#6e6e80;">{outro}</p>
</td></tr>"""

_FOOTER_EN = (
    "Example Inc., 548 Market St #123456, San Francisco, CA 94104 &middot; "
    '<a href="https://example.com/unsubscribe?id=123456" style="color:#8a8f98">Unsubscribe'
    "</a> &middot; &copy; 2025 Example"
)


def _code_mail(title: str, intro: str, code: str, outro: str, footer: str = _FOOTER_EN) -> str:
    return html_mail(title, _CODE_ROW.format(intro=intro, code=code, outro=outro), footer=footer)


_HTML = [
    Sample(
        "html-en-code-box",
        "640218",
        html=_code_mail(
            "Your Example verification code",
            "Enter this code to finish signing in:",
            "640218",
            "This code expires in 10 minutes.",
        ),
    ),
    Sample(
        "html-en-spaced-spans",
        "718245",
        html=_code_mail(
            "Sign in to Example",
            "Your one-time code",
            "<span>718</span>&nbsp;<span>245</span>",
            "If you didn't request it, ignore this e-mail.",
        ),
    ),
    Sample(
        "html-en-letter-spaced-cells",
        "302918",
        html=html_mail(
            "Verify your e-mail",
            "<tr><td>Your verification code is:</td></tr><tr><td><strong>302918</strong></td></tr>",
        ),
    ),
    Sample(
        "html-en-title-has-code",
        "551773",
        html=_code_mail(
            "551773 is your Example code",
            "Use the code below.",
            "551773",
            "Sent at 12:30 on 2025-04-30.",
        ),
    ),
    Sample(
        "html-en-hex-colours-only",
        None,
        html=html_mail(
            "Welcome to Example",
            '<tr><td style="color:#202123;background:#123456;border:1px solid #fff">Welcome '
            "aboard! Your account is ready. Colours: #202123, #fff, #654321.</td></tr>",
        ),
    ),
    Sample(
        "html-en-order-receipt-no-code",
        None,
        html=html_mail(
            "Your receipt from Example",
            "<tr><td>Order number</td><td>123456</td></tr><tr><td>Date</td><td>30.04.2025"
            "</td></tr><tr><td>Total</td><td>$123,456.00</td></tr><tr><td>Questions? Call "
            "+1 (555) 123-4567</td></tr>",
        ),
    ),
    Sample(
        "html-en-receipt-with-code",
        "882104",
        html=html_mail(
            "Confirm your purchase",
            "<tr><td>Order number</td><td>123456</td></tr><tr><td>Total</td><td>"
            "$1,234.00</td></tr><tr><td>To confirm this purchase, enter the security code"
            "</td></tr><tr><td><b>882104</b></td></tr>",
        ),
    ),
    Sample(
        "html-en-script-and-comment",
        "495067",
        html="<html><head><script>var uid = 123456; track('654321');</script></head><body>"
        "<!-- build 777777 --><p>Your login code is <b>495067</b></p></body></html>",
    ),
    Sample(
        "html-en-link-with-code-in-url",
        "236690",
        html=_code_mail(
            "Confirm your e-mail",
            'Click <a href="https://example.com/confirm?code=236690">'
            "https://example.com/confirm?code=236690</a> or type the code:",
            "236690",
            "Thanks, the Example team",
        ),
    ),
    Sample(
        "html-en-preheader",
        "164209",
        html=html_mail(
            "Example",
            '<tr><td style="display:none;max-height:0;">Your code is 164209</td></tr>'
            '<tr><td><h1>Your code</h1><p style="font-size:28px">164209</p></td></tr>',
        ),
    ),
    Sample(
        "html-en-entities",
        "377508",
        html="<p>Your&nbsp;verification&nbsp;code&#58;&nbsp;&#51;&#55;&#55;&#53;&#48;&#56;</p>"
        "<p>&copy;&nbsp;2025 Example &amp; Co.</p>",
    ),
    Sample(
        "html-en-date-and-time-only",
        None,
        html=html_mail(
            "Your appointment",
            "<tr><td>Tuesday, 4/30/2025, 12:30 &ndash; 13:30 (CET)</td></tr>"
            "<tr><td>Meeting ID: 123 456 7890</td></tr>",
        ),
    ),
    Sample(
        "html-de-bestaetigung",
        "915473",
        html=html_mail(
            "Bestätigen Sie Ihre Anmeldung",
            "<tr><td><p>Hallo Max,</p><p>Ihr Bestätigungscode lautet:</p>"
            '<p style="font-size:30px;color:#202123">915&nbsp;473</p>'
            "<p>Bestellnummer: 123456 &middot; Rechnungsbetrag: 123.456 €</p></td></tr>",
            footer="Example GmbH, Musterstraße 1, 10115 Berlin &middot; Tel. +49 30 1234567",
            lang="de",
        ),
    ),
    Sample(
        "html-de-sicherheitscode-after",
        "206384",
        html="<div><strong>206384</strong> ist Ihr Sicherheitscode für Example.</div>"
        "<div>Gesendet am 30.04.2025 um 12:30:45</div>",
    ),
    Sample(
        "html-fr-securite",
        "583016",
        html=html_mail(
            "Votre code de sécurité",
            "<tr><td>Bonjour,<br>Voici votre code de sécurité&nbsp;:<br><b>583 016</b><br>"
            "Référence : 123456</td></tr>",
            footer="Example SAS &middot; 12 rue de la Paix, 75002 Paris &middot; "
            "Tél. : +33 1 23 45 67 89",
            lang="fr",
        ),
    ),
    Sample(
        "html-es-verificacion",
        "460172",
        html=html_mail(
            "Tu código de verificación",
            "<tr><td><p>Hola, tu código de verificación es:</p><h2>460172</h2>"
            "<p>Pedido n.º 123456 &middot; Total: 1.234,56 €</p></td></tr>",
            lang="es",
        ),
    ),
    Sample(
        "html-pt-seguranca",
        "391845",
        html=html_mail(
            "Código de segurança",
            "<tr><td><p>Olá! Use o código de segurança abaixo:</p><p><b>391-845</b></p>"
            "<p>Protocolo 123456 &middot; Atendimento: (11) 3456-7890</p></td></tr>",
            lang="pt",
        ),
    ),
    Sample(
        "html-en-both-bodies",
        "712093",
        text="Your Example code is 712093.",
        html=_code_mail("Example", "Your Example code is", "712093", "Thanks!"),
    ),
    Sample(
        "html-en-digit-boxes",
        "482913",
        html=html_mail(
            "Your login code",
            "<tr><td>Enter this code in the app:</td></tr><tr><td><table><tr>"
            + "".join(
                f'<td style="border:1px solid #d9d9e3;width:40px;font-size:28px">{d}</td>'
                for d in "482913"
            )
            + "</tr></table></td></tr><tr><td>Valid until 12:45 (UTC+2).</td></tr>",
        ),
    ),
    Sample(
        "html-en-dark-pattern-numbers",
        "148806",
        html=html_mail(
            "Security alert",
            "<tr><td>New sign-in from 192.168.100.200 on 2025-04-30T12:30:45Z.</td></tr>"
            "<tr><td>Device 123456 &middot; Build 20250430</td></tr>"
            "<tr><td>Enter your authentication code to continue: 148806</td></tr>",
        ),
    ),
]


# --- raw MIME messages ---------------------------------------------------------------------

_MIME = [
    Sample(
        "mime-en-alternative-qp-soft-break",
        "123456",
        raw=_crlf(
            """From: Example <no-reply@example.com>
To: jane@example.org
Subject: Your Example sign-in code
Date: Wed, 30 Apr 2025 12:30:45 +0000
Message-ID: <20250430123045.987654@mail.example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1_987654"

--b1_987654
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Hi Jane, someone is signing in to your Example account from Chrome (Windows) =
on 30.04.2025. Your sign-in code is 123=
456. It expires in 10 minutes.

--b1_987654
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html><body style=3D"color:#202123"><p>Your sign-in code is</p><p style=3D"f=
ont-size:28px">123=
456</p></body></html>

--b1_987654--
"""
        ),
    ),
    Sample(
        "mime-de-html-only-base64",
        "740139",
        raw=_crlf(
            """From: Example <noreply@example.de>
To: max@example.org
Subject: =?utf-8?b?SWhyIEJlc3TDpHRpZ3VuZ3Njb2Rl?=
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

"""
            + _b64(
                html_mail(
                    "Ihr Bestätigungscode",
                    "<tr><td>Ihr Bestätigungscode lautet:</td></tr>"
                    "<tr><td><b>740139</b></td></tr>"
                    "<tr><td>Bestellnummer 123456 &middot; 30.04.2025, 12:30 Uhr</td></tr>",
                    footer="Example GmbH &middot; Tel. +49 30 1234567",
                    lang="de",
                ).encode("utf-8")
            )
        ),
    ),
    Sample(
        "mime-de-latin1-qp",
        "482913",
        raw=_crlf(
            """From: Bank <info@bank.example.de>
Subject: =?iso-8859-1?q?Best=E4tigung_Ihrer_=DCberweisung?=
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Sehr geehrter Herr M=FCller,

f=FCr Ihre =DCberweisung =FCber 1.234,56 =80 (Auftrag 123456) lautet Ihr Best=
=E4tigungscode: 48=
2913

Mit freundlichen Gr=FC=DFen
Ihre Bank, Hotline 0800 123 4567
"""
        ),
    ),
    Sample(
        "mime-fr-cp1252-qp",
        "603184",
        raw=_crlf(
            """From: Example <contact@example.fr>
Subject: Votre code
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

Bonjour,

Montant : 123,45 =80 =96 commande n=B0 123456 du 30/04/2025.
Votre code de s=E9curit=E9 : 603184
=AB Ne communiquez jamais ce code =BB
"""
        ),
    ),
    Sample(
        "mime-en-code-in-subject-only",
        "274810",
        raw=_crlf(
            """From: Example <no-reply@example.com>
Subject: 274810 is your Example code
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Open the Example app to finish signing in. Request ID 20250430-123456.
"""
        ),
    ),
    Sample(
        "mime-en-attachment-ignored",
        "905621",
        raw=_crlf(
            """From: Billing <billing@example.com>
Subject: Invoice 123456 - confirm your payment
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

To release invoice 123456, enter the one-time code 905621.

--inner
Content-Type: text/html; charset=utf-8

<p>To release invoice 123456, enter the one-time code <b>905621</b>.</p>

--inner--

--outer
Content-Type: text/plain; charset=utf-8; name="invoice-654321.txt"
Content-Disposition: attachment; filename="invoice-654321.txt"

Invoice 654321
Customer code 777111
Total 111222

--outer--
"""
        ),
    ),
    Sample(
        "mime-es-qp-html-attributes",
        "318506",
        raw=_crlf(
            """From: Example <hola@example.es>
Subject: =?utf-8?q?Tu_c=C3=B3digo_de_verificaci=C3=B3n?=
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><head><style>.c{color:#202123;background:#fff}</style></head><body>
<table><tr><td style=3D"color:#123456;font-family:Arial">Tu c=C3=B3digo de =
verificaci=C3=B3n es:</td></tr>
<tr><td class=3D"c" style=3D"font-size:30px">318&nbsp;506</td></tr>
<tr><td><a href=3D"https://example.es/ayuda?ref=3D123456">Ayuda</a> &middot; =
Tel=C3=A9fono: +34 912 345 678</td></tr></table></body></html>
"""
        ),
    ),
    Sample(
        "mime-pt-base64-text",
        "664027",
        raw=_crlf(
            """From: Example <ola@example.com.br>
Subject: =?utf-8?b?Q8OzZGlnbyBkZSBhY2Vzc28=?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

"""
            + _b64(
                "Olá, Maria!\n\nSeu código de acesso é 664027.\nPedido 123456 · R$ 1.234,56\n"
                "Central: (11) 3456-7890 · 30/04/2025 às 12:30\n".encode()
            )
        ),
    ),
    Sample(
        "mime-en-order-confirmation-no-code",
        None,
        raw=_crlf(
            """From: Shop <orders@shop.example.com>
Subject: Order #123456 confirmed
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="x"

--x
Content-Type: text/plain; charset=utf-8

Thanks for your order #123456 placed on 2025-04-30 at 12:30.
Order total: $1,234.56. Tracking number: 1Z999AA10123456784.
Questions? Call 800-531-8722 or write to help123456@shop.example.com.

--x
Content-Type: text/html; charset=utf-8

<p style="color:#202123">Thanks for your order <b>#123456</b>.</p>
<p>Total: <b>$1,234.56</b></p>
<img src="https://cdn.shop.example.com/img/a1b2c3/123456.png">

--x--
"""
        ),
    ),
    Sample(
        "mime-fr-subject-q-encoding",
        "118274",
        raw=_crlf(
            """From: Example <contact@example.fr>
Subject: =?utf-8?q?Votre_code_de_v=C3=A9rification_:_118274?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Utilisez le code indiqué dans l'objet de ce message.
"""
        ),
    ),
    Sample(
        "mime-en-8bit-unknown-charset",
        "550719",
        raw=_crlf(
            """From: Example <no-reply@example.com>
Subject: Security code
MIME-Version: 1.0
Content-Type: text/plain; charset=x-unknown-charset
Content-Transfer-Encoding: 7bit

Your security code is 550719. Sent 2025-04-30 12:30:45.
"""
        ),
    ),
]

CORPUS: list[Sample] = [*_SMS, *_TEXT, *_HTML, *_MIME]

ADVERSARIAL: list[str] = [
    "<a" * 50_000,
    "<!--" * 25_000,
    "<style>" * 15_000,
    "1 " * 50_000,
    "1-" * 50_000,
    "123456 " * 15_000,
    "Ref: 123456\n" * 8_000,
    "a-" * 50_000,
    "@." * 50_000,
    "x" * 100_000,
    "code " * 20_000 + "123456",
]
