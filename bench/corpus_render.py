# ruff: noqa: B023, E501, RUF005, RUF015, RUF034
# (closures called at once inside their loop; template strings and values kept on one line)
"""Render the real-products corpus: ``python -m bench.corpus_render [--out FILE]``.

Every message of ``tests/corpus/real_messages.jsonl`` is rendered here from a real product's own
template or translation file, read from a snapshot of the product's public repository, with
realistic values (dates, IP addresses, device names, expiry minutes, order numbers) filled in
the way the product fills them. Nothing of the products is committed: only the rendered messages,
each with its source (``owner/name@commit:path#key``).

Snapshots are bare git directories ``<mirrors>/<owner>+<name>/repo`` (``--mirrors``, default
``/work/.mirror``); files of repositories too large to snapshot are read from plain copies under
``<files>/<owner>+<name>/<path>`` (``--files``). The values come from a seeded random generator,
so a run on the same snapshots gives the same corpus.
"""

from __future__ import annotations

import argparse
import ast
import functools
import html
import json
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

MIRRORS = Path("/work/.mirror")
FILES = Path("/work/.corpus-files")
OUT = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "real_messages.jsonl"


@dataclass
class Entry:
    id: str
    product: str
    lang: str
    kind: str  # "sms", "email"
    expected: str | None
    source: list[str]
    rule: str = "digits:6"  # "digits:N" or "pattern:<regex>"
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    note: str = ""


# --- reading sources -------------------------------------------------------------------------


@dataclass
class Repo:
    name: str  # owner/name
    args: argparse.Namespace = field(repr=False)

    @functools.cached_property
    def git_dir(self) -> Path:
        return self.args.mirrors / self.name.replace("/", "+") / "repo"

    @functools.cached_property
    def commit(self) -> str:
        if self.git_dir.exists():
            out = subprocess.run(
                ["git", f"--git-dir={self.git_dir}", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            )
            return out.stdout.strip()[:12]
        stamp = self.args.files / self.name.replace("/", "+") / "COMMIT"
        return stamp.read_text().strip()[:12] if stamp.exists() else "unknown"

    def read(self, path: str) -> str:
        if self.git_dir.exists():
            out = subprocess.run(
                ["git", f"--git-dir={self.git_dir}", "show", f"HEAD:{path}"],
                capture_output=True,
                check=True,
            )
            return out.stdout.decode("utf-8")
        return (self.args.files / self.name.replace("/", "+") / path).read_text("utf-8")

    def ls(self, path: str) -> list[str]:
        if self.git_dir.exists():
            out = subprocess.run(
                ["git", f"--git-dir={self.git_dir}", "ls-tree", "--name-only", f"HEAD:{path}"],
                capture_output=True,
                text=True,
                check=True,
            )
            return out.stdout.split()
        return sorted(
            p.name for p in (self.args.files / self.name.replace("/", "+") / path).iterdir()
        )

    def src(self, path: str, key: str = "") -> str:
        return f"{self.name}@{self.commit}:{path}" + (f"#{key}" if key else "")


def po_strings(text: str) -> dict[str, str]:
    """msgid -> msgstr of a gettext .po file (plural forms: the first)."""
    out: dict[str, str] = {}
    msgid = msgstr = None
    current: str | None = None

    def flush() -> None:
        if msgid and msgstr:
            out[msgid] = msgstr

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, current = ast.literal_eval(line[6:]), None, "id"
        elif line.startswith(("msgstr ", "msgstr[0] ")):
            msgstr, current = ast.literal_eval(line.split(" ", 1)[1]), "str"
        elif line.startswith("msgstr["):
            current = None
        elif line.startswith('"') and current:
            if current == "id":
                msgid = (msgid or "") + ast.literal_eval(line)
            else:
                msgstr = (msgstr or "") + ast.literal_eval(line)
        elif not line:
            flush()
            msgid = msgstr = current = None
    flush()
    return out


def yaml_strings(text: str) -> dict[str, str]:
    import yaml

    data = yaml.safe_load(text)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(node, str):
            flat[prefix] = node

    walk("", data)
    return flat


# --- values ----------------------------------------------------------------------------------

_FIRST = [
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sofia",
    "Mateo",
    "Chloé",
    "Yuki",
    "Wei",
    "Olga",
    "Piotr",
    "Giulia",
    "Daan",
    "Joana",
    "Emre",
    "Minji",
    "Omar",
    "Hannah",
    "Noah",
    "Léa",
]
_DEVICES = [
    "Chrome on Windows",
    "Firefox on Ubuntu",
    "Safari on iPhone",
    "Edge on Windows 11",
    "Chrome 131 on macOS 15.1",
    "Samsung Internet on Android 14",
]
_CITIES = [
    "Berlin, Germany",
    "Lyon, France",
    "Madrid, Spain",
    "São Paulo, Brazil",
    "Tokyo, Japan",
    "Warsaw, Poland",
    "Rotterdam, Netherlands",
    "Istanbul, Türkiye",
    "Seoul, South Korea",
]
_APPS = ["Acme Cloud", "Nordlicht", "Kairos", "Pixel Forge", "Bookly", "Greenleaf", "Orbit HR"]
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class Values:
    """Realistic values for one message, from a generator seeded by the entry id."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        r = self.rng
        self.first = r.choice(_FIRST)
        self.user = f"{self.first.lower()}.{r.choice(['weber', 'martin', 'garcia', 'rossi', 'kowalski', 'tanaka', 'li', 'yilmaz', 'kim', 'silva'])}"
        self.email = f"{self.user}@{r.choice(['gmail.com', 'example.org', 'posteo.de', 'outlook.com', 'mail.ru'])}"
        self.app = r.choice(_APPS)
        self.domain = self.app.lower().replace(" ", "") + r.choice([".com", ".io", ".de", ".app"])
        self.ip = f"{r.choice([31, 46, 77, 85, 91, 178, 185, 203])}.{r.randint(1, 254)}.{r.randint(1, 254)}.{r.randint(1, 254)}"
        self.device = r.choice(_DEVICES)
        self.city = r.choice(_CITIES)
        self.minutes = r.choice([5, 10, 15, 30])
        self.date = f"{r.randint(2024, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        self.time = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
        self.year = str(r.randint(2024, 2026))

    def digits(self, n: int = 6) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def alnum(self, n: int, alphabet: str = _ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))


def fill(template: str, values: dict[str, str]) -> str:
    """Substitute placeholders of the usual template syntaxes by name, then drop control tags."""

    def lookup(name: str, whole: str) -> str:
        key = name.strip().lstrip(".").split("|")[0].strip()
        for candidate in (key, key.lower(), key.split(".")[-1], key.split(".")[-1].lower()):
            if candidate in values:
                return values[candidate]
        return whole if key not in _DROP else ""

    patterns = [
        r"\{\{\{\s*([\w.]+)\s*\}\}\}",  # {{{ x }}}
        r"\{\{\s*([.\w]+(?:\s*\|[^}]*)?)\s*\}\}",  # {{ .Code }} {{ code|safe }}
        r"%\((\w+)\)s",  # %(token)s
        r"\$\{(\w+)\}",  # ${code}
        r"%\{(\w+)\}",  # %{code}
        r"\{\$a->(\w+)\}",  # {$a->code}
        r"(?<![\w{])\{(\w+)\}(?!\})",  # {code}
        r"(?<![\w:]):([a-z_]+)\b",  # :code (Laravel)
    ]
    for pattern in patterns:
        template = re.sub(pattern, lambda m: lookup(m.group(1), m.group()), template)
    template = re.sub(
        r"\{%.*?%\}|\{\{[#/^!][^}]*\}\}|\{\{-?\s*(?:end|else|if|range|define|template|block)\b[^}]*\}\}",
        "",
        template,
        flags=re.S,
    )
    return template


_DROP = {"preheader", "previewWhitespace"}


def positional(template: str, *args: str) -> str:
    """printf/.NET style positional placeholders: %s, %1$s, {0}."""
    items = iter(args)
    template = re.sub(r"%(\d)\$s", lambda m: args[int(m.group(1)) - 1], template)
    template = re.sub(r"\{(\d)\}", lambda m: args[int(m.group(1))], template)
    return re.sub(r"%[sd]", lambda m: next(items), template)


# --- products --------------------------------------------------------------------------------

Product = Callable[["Ctx"], Iterator[Entry]]
PRODUCTS: list[Product] = []


def product(fn: Product) -> Product:
    PRODUCTS.append(fn)
    return fn


@dataclass
class Ctx:
    args: argparse.Namespace

    def repo(self, name: str) -> Repo:
        return Repo(name, self.args)

    def has(self, name: str) -> bool:
        repo = self.repo(name)
        return repo.git_dir.exists() or (self.args.files / name.replace("/", "+")).exists()


def strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


WIRE_LANGS = [
    "en",
    "de",
    "fr",
    "es-ES",
    "it",
    "ja",
    "pl",
    "pt-BR",
    "ru",
    "tr",
    "ar",
    "zh-TW",
    "uk",
    "lt",
]


@product
def wire(ctx: Ctx) -> Iterator[Entry]:
    """Wire (wire-server): e-mail verification and login codes, HTML + text, per language."""
    repo = ctx.repo("wireapp/wire-server")
    base = "libs/wire-subsystems/templates"
    for i, lang in enumerate(WIRE_LANGS):
        kind = ["verification-login", "verification", "verification-delete-team"][i % 3]
        v = Values(f"wire-{lang}-{kind}")
        code = v.digits(6)
        values = {
            "code": code,
            "email": v.email,
            "brand": "Wire",
            "brand_url": "https://wire.com",
            "brand_label_url": "wire.com",
            "brand_logo": "https://wire.com/p/img/email/logo-email-black.png",
            "support": "https://support.wire.com",
            "legal": "https://wire.com/legal/",
            "misuse": "misuse@wire.com",
            "copyright": "© WIRE SWISS GmbH",
            "name": v.first,
            "url": f"https://account.wire.com/verify/?key=Hs8LnQ2fXk&code={code}",
        }
        path = f"{base}/{lang}/user/email/{kind}"
        try:
            text = repo.read(f"{path}.txt")
        except subprocess.CalledProcessError:
            continue
        yield Entry(
            id=f"wire-{kind}-{lang}",
            product="Wire",
            lang=lang.split("-")[0],
            kind="email",
            expected=code,
            source=[
                repo.src(f"{path}-subject.txt"),
                repo.src(f"{path}.txt"),
                repo.src(f"{path}.html"),
            ],
            subject=fill(repo.read(f"{path}-subject.txt"), values).strip(),
            text=fill(text, values),
            html=fill(repo.read(f"{path}.html"), values),
        )


@product
def hanko(ctx: Ctx) -> Iterator[Entry]:
    """Hanko: passcode e-mails (login, e-mail verification, recovery), text + HTML, 9 languages."""
    repo = ctx.repo("teamhanko/hanko")
    layout = repo.read("backend/mail/templates/layout.html.tmpl")
    code_block = re.search(r'\{\{define "code"\}\}(.*?)\{\{end\}\}', layout, re.S).group(1)
    layout_body = re.search(r'\{\{define "layout"\}\}(.*?)\{\{end\}\}', layout, re.S).group(1)
    for i, lang in enumerate(["en", "de", "fr", "it", "nl", "pl", "pt-BR", "zh-CN"]):
        kind, subject_key = [
            ("login", "subject_login"),
            ("email_verification", "subject_email_verification"),
            ("recovery", "subject_recovery"),
        ][i % 3]
        v = Values(f"hanko-{lang}-{kind}")
        code = v.digits(6)
        strings = {
            k.split(".")[0]: s
            for k, s in yaml_strings(
                repo.read(f"backend/mail/locales/passcode.{lang}.yaml")
            ).items()
            if k.endswith(".other")
        }
        values = {"Code": code, "ServiceName": v.app, "TTL": str(v.minutes), "Subject": ""}

        def t(text: str) -> str:
            return re.sub(
                r'\{\{t "(\w+)" \.\}\}', lambda m: fill(strings[m.group(1)], values), text
            )

        subject = fill(strings[subject_key], values)
        values["Subject"] = subject
        text = t(repo.read(f"backend/mail/templates/{kind}.txt.tmpl")).replace("{{ .Code }}", code)
        content = repo.read(f"backend/mail/templates/{kind}.html.tmpl")
        content = re.search(r'\{\{define "content"\}\}(.*?)\{\{end\}\}', content, re.S).group(1)
        content = t(content.replace('{{template "code" .Code}}', code_block.replace("{{.}}", code)))
        page = fill(layout_body.replace('{{template "content" .}}', content), values)
        yield Entry(
            id=f"hanko-{kind}-{lang}",
            product="Hanko",
            lang=lang.split("-")[0],
            kind="email",
            expected=code,
            source=[
                repo.src(f"backend/mail/locales/passcode.{lang}.yaml"),
                repo.src(f"backend/mail/templates/{kind}.html.tmpl"),
            ],
            subject=subject,
            text=text,
            html=page,
        )


@product
def django_two_factor(ctx: Ctx) -> Iterator[Entry]:
    """django-two-factor-auth: the Twilio SMS "Your OTP token is ..." in its translations."""
    repo = ctx.repo("jazzband/django-two-factor-auth")
    for lang in [
        "en",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pl",
        "pt_BR",
        "ru",
        "tr",
        "ja",
        "zh_CN",
        "ar",
    ]:
        v = Values(f"dtfa-{lang}")
        code = v.digits(6)
        path = f"two_factor/locale/{lang}/LC_MESSAGES/django.po"
        message = po_strings(repo.read(path)).get(
            "Your OTP token is %(token)s", "Your OTP token is %(token)s"
        )
        yield Entry(
            id=f"django-two-factor-sms-{lang}",
            product="django-two-factor-auth",
            lang=lang.split("_")[0],
            kind="sms",
            expected=code,
            source=[
                repo.src("two_factor/templates/two_factor/twilio/sms_message.html"),
                repo.src(path, "Your OTP token is"),
            ],
            text=fill(message, {"token": code}),
        )


ALLAUTH_RULE = "pattern:[A-Z0-9]{4}-[A-Z0-9]{4}"


@product
def allauth(ctx: Ctx) -> Iterator[Entry]:
    """django-allauth: "login by code" / e-mail verification code e-mails (text), translations."""
    repo = ctx.repo("pennersr/django-allauth")
    templates = {
        "login_code": repo.read("allauth/templates/account/email/login_code_message.txt"),
        "email_confirmation_code": repo.read(
            "allauth/templates/account/email/email_confirmation_code_message.txt"
        )
        if "email_confirmation_code_message.txt" in repo.ls("allauth/templates/account/email/")
        else None,
    }
    base = repo.read("allauth/templates/account/email/base_message.txt")
    for i, lang in enumerate(
        ["en", "de", "fr", "es", "it", "nl", "pl", "pt_BR", "ru", "tr", "ja", "ko", "zh_Hans", "ar"]
    ):
        kind = (
            "login_code"
            if i % 2 == 0 or templates["email_confirmation_code"] is None
            else "email_confirmation_code"
        )
        v = Values(f"allauth-{lang}-{kind}")
        alphabet = _LETTERS if i % 4 == 3 else _ALNUM  # a letters-only code now and then
        code = v.alnum(4, alphabet) + "-" + v.alnum(4, alphabet)
        path = f"allauth/locale/{lang}/LC_MESSAGES/django.po"
        strings = po_strings(repo.read(path))

        def trans(m: re.Match[str]) -> str:
            msgid = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", m.group(1))
            return strings.get(msgid, msgid)

        body = templates[kind]
        content = re.search(
            r"\{% block content %\}(.*?)\{% endblock content %\}", body, re.S
        ).group(1)
        message = base.replace("{% block content %}{% endblock content %}", content)
        message = re.sub(
            r"\{% blocktrans(?:late)?[^%]*%\}(.*?)\{% endblocktrans(?:late)? %\}",
            trans,
            message,
            flags=re.S,
        )
        message = re.sub(
            r"\{% load [^%]*%\}\n?|\{% (?:end)?autoescape[^%]*%\}\n?|\{% extends [^%]*%\}\n?",
            "",
            message,
        )
        values = {"code": code, "site_name": v.app, "site_domain": v.domain}
        subject_src = repo.read(f"allauth/templates/account/email/{kind}_subject.txt")
        subject = re.sub(
            r"\{% blocktrans(?:late)?[^%]*%\}(.*?)\{% endblocktrans(?:late)? %\}",
            trans,
            subject_src,
            flags=re.S,
        )
        subject = f"[{v.domain}] " + fill(subject, values).strip()
        yield Entry(
            id=f"allauth-{kind}-{lang}",
            product="django-allauth",
            lang=lang.split("_")[0],
            kind="email",
            expected=code,
            rule=ALLAUTH_RULE,
            source=[
                repo.src(f"allauth/templates/account/email/{kind}_message.txt"),
                repo.src(path),
            ],
            subject=subject,
            text=fill(message, values).strip() + "\n",
        )


@product
def appwrite(ctx: Ctx) -> Iterator[Entry]:
    """Appwrite: e-mail OTP session and MFA challenge e-mails (HTML), 13 languages."""
    repo = ctx.repo("appwrite/appwrite")
    base = repo.read("app/config/locale/templates/email-base.tpl")
    inner = repo.read("app/config/locale/templates/email-otp.tpl")
    en = json.loads(repo.read("app/config/locale/translations/en.json"))
    for i, lang in enumerate(
        ["en", "de", "fr", "es", "it", "nl", "pl", "pt-br", "ru", "tr", "ja", "ko", "zh-cn", "ar"]
    ):
        v = Values(f"appwrite-{lang}")
        code = v.digits(6)
        kind = "otpSession" if i % 2 == 0 else "mfaChallenge"
        strings = {**en, **json.loads(repo.read(f"app/config/locale/translations/{lang}.json"))}

        def s(key: str) -> str:
            return strings.get(f"emails.{kind}.{key}", en.get(f"emails.{kind}.{key}", ""))

        values = {
            "project": v.app,
            "user": v.first,
            "otp": code,
            "agentClient": "Chrome 131.0",
            "agentDevice": "desktop",
            "agentOs": "Windows 10",
            "phrase": "Brave Tiger",
            "b": "<strong>",
            "/b": "</strong>",
            "direction": "rtl" if lang == "ar" else "ltr",
        }
        body = inner
        for key in ("hello", "description", "clientInfo", "thanks", "signature", "securityPhrase"):
            part = s(key) if (key != "securityPhrase" or i % 4 == 0) else ""
            body = body.replace(
                "{{" + key + "}}", part.replace("{{b}}", "<strong>").replace("{{/b}}", "</strong>")
            )
        body = fill(body, values)
        page = (
            base.replace("{{body}}", body)
            .replace("{{preview}}", fill(s("preview"), values))
            .replace("{{previewWhitespace}}", "&#847; &zwnj; &nbsp; " * 20)
        )
        page = fill(page, values)
        yield Entry(
            id=f"appwrite-{kind}-{lang}",
            product="Appwrite",
            lang=lang.split("-")[0],
            kind="email",
            expected=code,
            source=[
                repo.src("app/config/locale/templates/email-otp.tpl"),
                repo.src(f"app/config/locale/translations/{lang}.json", f"emails.{kind}"),
            ],
            subject=fill(s("subject"), values),
            html=page,
        )


def handlebars(template: str, partials: Callable[[str], str], values: dict[str, str]) -> str:
    """Enough Handlebars for mail templates: partials, layout blocks, ``{{x}}``, comments."""

    def layout(m: re.Match[str]) -> str:
        return (
            partials(m.group(1))
            .replace("{{>@partial-block}}", m.group(2))
            .replace("{{> @partial-block}}", m.group(2))
        )

    for _ in range(3):
        template = re.sub(r"\{\{#>\s*(\w+)\s*\}\}(.*?)\{\{/\1\}\}", layout, template, flags=re.S)
        template = re.sub(r"\{\{>\s*([\w/]+)\s*\}\}", lambda m: partials(m.group(1)), template)
    template = re.sub(r"\{\{!--.*?--\}\}|\{\{![^}]*\}\}", "", template, flags=re.S)
    return fill(template.lstrip("\ufeff"), values)


@product
def vaultwarden(ctx: Ctx) -> Iterator[Entry]:
    """Vaultwarden: the two-step login e-mail (text + HTML); the first line is its subject."""
    repo = ctx.repo("dani-garcia/vaultwarden")
    base = "src/static/templates/email/"
    for name in ["twofactor_email"]:  # verify_email carries a link, not a code
        v = Values(f"vaultwarden-{name}")
        code = v.digits(6)
        values = {
            "token": code,
            "url": "https://vault.example.org",
            "img_src": "https://vault.example.org/vw_static/",
            "user_id": "3f6d2c1e",
            "email": v.email,
        }

        def partial(name: str) -> str:
            return repo.read(f"src/static/templates/{name}.hbs")

        text = handlebars(repo.read(f"{base}{name}.hbs"), partial, values)
        page = handlebars(repo.read(f"{base}{name}.html.hbs"), partial, values)
        subject, _, text = text.partition("\n<!---------------->\n")
        if "token" not in repo.read(f"{base}{name}.hbs"):
            continue
        yield Entry(
            id=f"vaultwarden-{name}",
            product="Vaultwarden",
            lang="en",
            kind="email",
            expected=code,
            source=[repo.src(f"{base}{name}.hbs"), repo.src(f"{base}{name}.html.hbs")],
            subject=subject,
            text=text,
            html=page.partition("\n<!---------------->\n")[2],
        )


@product
def bitwarden(ctx: Ctx) -> Iterator[Entry]:
    """Bitwarden server: two-step login and OTP e-mails (Handlebars, text + HTML)."""
    repo = ctx.repo("bitwarden/server")
    base = "src/Core/MailTemplates/Handlebars/"
    layouts = {
        "FullHtmlLayout": "Layouts/Full.html.hbs",
        "BasicTextLayout": "Layouts/Basic.text.hbs",
        "FullTextLayout": "Layouts/Full.text.hbs",
        "FullUpdatedHtmlLayout": "Layouts/FullUpdated.html.hbs",
        "FullUpdatedTextLayout": "Layouts/FullUpdated.text.hbs",
    }

    def partial(name: str) -> str:
        return repo.read(base + layouts[name]) if name in layouts else ""

    names = [
        n
        for n in ["Auth/TwoFactorEmail", "Auth/OTPEmail", "TwoFactorEmail", "OTPEmail"]
        if f"{n.split('/')[-1]}.text.hbs"
        in repo.ls(base + (n.rsplit("/", 1)[0] if "/" in n else ""))
    ]
    for name in names:
        v = Values(f"bitwarden-{name}")
        code = v.digits(6)
        values = {
            "Token": code,
            "EmailTotpAction": "logging in",
            "AccountEmail": v.email,
            "TheDate": "Tuesday, March 4, 2025",
            "TheTime": "14:32",
            "TimeZone": "UTC",
            "DeviceIp": v.ip,
            "DeviceType": "Chrome Extension",
            "CurrentYear": "2025",
            "WebVaultUrl": "https://vault.bitwarden.com",
            "SiteName": "Bitwarden",
        }
        text = handlebars(repo.read(f"{base}{name}.text.hbs"), partial, values)
        page = handlebars(repo.read(f"{base}{name}.html.hbs"), partial, values)
        yield Entry(
            id=f"bitwarden-{name.split('/')[-1]}",
            product="Bitwarden",
            lang="en",
            kind="email",
            expected=code,
            source=[repo.src(f"{base}{name}.text.hbs"), repo.src(f"{base}{name}.html.hbs")],
            subject="Your Bitwarden Verification Code"
            if "TwoFactor" in name
            else "Your Bitwarden Verification Code",
            text=text,
            html=page,
        )


def go_const(source: str, name: str) -> str:
    return re.search(rf"const {name} = `(.*?)`", source, re.S).group(1)


@product
def supabase(ctx: Ctx) -> Iterator[Entry]:
    """Supabase Auth: the reauthentication e-mail and the default SMS OTP message."""
    repo = ctx.repo("supabase/auth")
    path = "internal/mailer/templatemailer/templatemailer.go"
    v = Values("supabase-reauth")
    code = v.digits(6)
    yield Entry(
        id="supabase-reauthenticate",
        product="Supabase Auth",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src(path, "defaultReauthenticateMail")],
        subject="Confirm reauthentication",
        html=fill(go_const(repo.read(path), "defaultReauthenticateMail"), {"Token": code}),
    )
    conf = repo.read("internal/conf/configuration.go")
    template = re.search(r'SMSTemplate = "([^"]+)"', conf).group(1)
    v = Values("supabase-sms")
    code = v.digits(6)
    yield Entry(
        id="supabase-sms",
        product="Supabase Auth",
        lang="en",
        kind="sms",
        expected=code,
        source=[repo.src("internal/conf/configuration.go", "SMSTemplate")],
        text=fill(template, {"Code": code}),
    )


@product
def kratos(ctx: Ctx) -> Iterator[Entry]:
    """Ory Kratos: the courier's code e-mails (text + HTML) and SMS (with the WebOTP line)."""
    repo = ctx.repo("ory/kratos")
    base = "courier/template/courier/builtin/templates/"
    for flow in ["login_code", "registration_code", "recovery_code", "verification_code"]:
        v = Values(f"kratos-{flow}")
        code = v.digits(6)
        field = {
            "login_code": "LoginCode",
            "registration_code": "RegistrationCode",
            "recovery_code": "RecoveryCode",
            "verification_code": "VerificationCode",
        }[flow]
        values = {
            field: code,
            "ExpiresInMinutes": str(v.minutes),
            "RequestURLDomain": f"auth.{v.domain}",
            "To": v.email,
            "VerificationURL": f"https://auth.{v.domain}/self-service/verification?flow=8d1c6c3e-4b1f-4c1a-9d7e-2b6f2e7a9c10&code={code}",
            "RequestURL": f"https://auth.{v.domain}/self-service/{flow.split('_')[0]}/browser",
        }
        d = f"{base}{flow}/valid/"
        yield Entry(
            id=f"kratos-{flow}-email",
            product="Ory Kratos",
            lang="en",
            kind="email",
            expected=code,
            source=[
                repo.src(d + "email.subject.gotmpl"),
                repo.src(d + "email.body.gotmpl"),
                repo.src(d + "email.body.plaintext.gotmpl"),
            ],
            subject=fill(repo.read(d + "email.subject.gotmpl"), values).strip(),
            text=fill(repo.read(d + "email.body.plaintext.gotmpl"), values),
            html=fill(repo.read(d + "email.body.gotmpl"), values),
        )
        try:
            sms = repo.read(d + "sms.body.gotmpl")
        except subprocess.CalledProcessError:
            continue
        v = Values(f"kratos-{flow}-sms")
        code = v.digits(6)
        values[field] = code
        yield Entry(
            id=f"kratos-{flow}-sms",
            product="Ory Kratos",
            lang="en",
            kind="sms",
            expected=code,
            source=[repo.src(d + "sms.body.gotmpl")],
            text=fill(sms, values).strip(),
        )


@product
def authelia(ctx: Ctx) -> Iterator[Entry]:
    """Authelia: the one-time code e-mail for identity verification (8 upper-case characters)."""
    repo = ctx.repo("authelia/authelia")
    base = "internal/templates/embed/notification/IdentityVerificationOTC"
    for n in range(3):
        v = Values(f"authelia-{n}")
        code = v.alnum(8, "ABCDEFGHJKLMNPQRTUVWYXZ2346789" if n else "ABCDEFGHJKLMNPQRTUVWYXZ")
        values = {
            "OneTimeCode": code,
            "DisplayName": v.first + " Weber",
            "Domain": f"auth.{v.domain}",
            "RemoteIP": v.ip,
            "RevocationLinkURL": f"https://auth.{v.domain}/revoke/one-time-code?id=5a9f7c1e-8d2b-4f0a-b3c6-1e2d3f4a5b6c",
            "Title": "Confirm your identity",
            "LinkURL": "",
            "LinkText": "",
            "RevocationLinkText": "Revoke",
        }
        yield Entry(
            id=f"authelia-otc-{n}",
            product="Authelia",
            lang="en",
            kind="email",
            expected=code,
            rule="pattern:[A-Z0-9]{8}",
            source=[repo.src(base + ".txt"), repo.src(base + ".html")],
            subject="[Authelia] Confirm your identity",
            text=fill(repo.read(base + ".txt"), values),
            html=fill(repo.read(base + ".html"), values),
        )


@product
def pocketbase(ctx: Ctx) -> Iterator[Entry]:
    """PocketBase: the default OTP e-mail (8 digits)."""
    repo = ctx.repo("pocketbase/pocketbase")
    path = "core/collection_model_auth_templates.go"
    source = repo.read(path)
    block = re.search(r"var defaultOTPTemplate = EmailTemplate\{(.*?)\n\}", source, re.S).group(1)
    parts = re.findall(r"`([^`]*)`|\" \+ (\w+)|(\w+) \+ `|\"([^\"]*)\"", block)
    body = re.search(r"Body: `(.*)`,", block, re.S).group(1)
    v = Values("pocketbase-otp")
    code = v.digits(8)
    body = re.sub(
        r"` \+ (\w+) \+ `",
        lambda m: {"EmailPlaceholderOTP": code, "EmailPlaceholderAppName": v.app}.get(
            m.group(1), ""
        ),
        body,
    )
    yield Entry(
        id="pocketbase-otp",
        product="PocketBase",
        lang="en",
        kind="email",
        expected=code,
        rule="digits:8",
        source=[repo.src(path, "defaultOTPTemplate")],
        subject=f"OTP for {v.app}",
        html=body,
    )
    del parts


@product
def flask_security(ctx: Ctx) -> Iterator[Entry]:
    """Flask-Security: the two-factor e-mail and the unified sign-in SMS, translated."""
    repo = ctx.repo("pallets-eco/flask-security")
    tmpl = repo.read("flask_security/templates/security/email/two_factor_instructions.txt")
    for i, lang in enumerate(
        [
            "en",
            "de_DE",
            "fr_FR",
            "es_ES",
            "it_IT",
            "nl_NL",
            "pl_PL",
            "pt_BR",
            "ru_RU",
            "tr_TR",
            "ja_JP",
            "zh_Hans_CN",
            "ar",
        ]
    ):
        v = Values(f"flask-security-{lang}")
        code = v.digits(6)
        path = f"flask_security/translations/{lang}/LC_MESSAGES/flask_security.po"
        strings = po_strings(repo.read(path)) if lang != "en" else {}

        def tr(m: re.Match[str]) -> str:
            msgid = m.group(1)
            return strings.get(msgid, msgid)

        if i % 2 == 0:
            text = re.sub(r'\{\{ _fsdomain\(["\'](.*?)["\'](?:, [^)]*)?\) \}\}', tr, tmpl)
            text = fill(
                text,
                {
                    "username": v.user,
                    "token": code,
                    "within": "2 minutes" if lang == "en" else "120",
                },
            )
            yield Entry(
                id=f"flask-security-2fa-email-{lang}",
                product="Flask-Security",
                lang=lang.split("_")[0],
                kind="email",
                expected=code,
                source=[
                    repo.src("flask_security/templates/security/email/two_factor_instructions.txt"),
                    repo.src(path),
                ],
                subject=strings.get("Two-factor Login", "Two-factor Login"),
                text=text,
            )
        else:
            msgid = "Use this code to sign in: %(code)s"
            yield Entry(
                id=f"flask-security-sms-{lang}",
                product="Flask-Security",
                lang=lang.split("_")[0],
                kind="sms",
                expected=code,
                source=[repo.src(path, msgid)],
                text=fill(strings.get(msgid, msgid), {"code": code}),
            )


@product
def casdoor(ctx: Ctx) -> Iterator[Entry]:
    """Casdoor: the default HTML verification-code e-mail and its default text content."""
    repo = ctx.repo("casdoor/casdoor")
    setting = repo.read("web/src/Setting.js")
    page = re.search(
        r"function getDefaultHtmlEmailContent\(\) \{\s*return `(.*?)`;", setting, re.S
    ).group(1)
    v = Values("casdoor-html")
    code = v.digits(6)
    page = page.replace("${StaticBaseUrl}", "https://cdn.casbin.org").replace(
        "%{user.friendlyName}", v.first
    )
    page = re.sub(r"<reset-link>.*?</reset-link>", "", page, flags=re.S).replace("%s", code)
    yield Entry(
        id="casdoor-email-html",
        product="Casdoor",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src("web/src/Setting.js", "getDefaultHtmlEmailContent")],
        subject="Casdoor Verification Code",
        html=page,
    )
    text = re.search(
        r'// "(You have requested a verification code at Casdoor[^"]*)"',
        repo.read("object/verification.go"),
    ).group(1)
    v = Values("casdoor-text")
    code = v.digits(6)
    yield Entry(
        id="casdoor-email-text",
        product="Casdoor",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src("object/verification.go", "provider.Content default")],
        subject="Casdoor Verification Code",
        text=text.replace("%s", code),
    )


@product
def wordpress_two_factor(ctx: Ctx) -> Iterator[Entry]:
    """WordPress Two Factor plugin: the e-mail token (8 digits), IP address and user login."""
    repo = ctx.repo("WordPress/two-factor")
    path = "providers/class-two-factor-email.php"
    src = repo.read(path)
    strings = re.findall(
        r"__\( '((?:[^'\\]|\\.)*)', 'two-factor' \)",
        src[src.index("function generate_and_email_token") :],
    )
    subject_t, intro, expire, ip_line = strings[:4]
    for n in range(2):
        v = Values(f"wp-two-factor-{n}")
        code = v.digits(8)
        parts = [
            intro,
            code,
            positional(expire.replace("%d", "%s"), str(v.minutes)),
            positional(ip_line.replace("\\'", "'"), v.ip, v.user),
        ]
        yield Entry(
            id=f"wordpress-two-factor-email-{n}",
            product="WordPress Two Factor",
            lang="en",
            kind="email",
            expected=code,
            rule="digits:8",
            source=[repo.src(path, "generate_and_email_token")],
            subject=positional(subject_t, v.app),
            text="\n\n".join(parts),
        )


@product
def sydent(ctx: Ctx) -> Iterator[Entry]:
    """Sydent (Matrix identity server): the default SMS body template."""
    repo = ctx.repo("matrix-org/sydent")
    template = re.search(
        r'"bodyTemplate": "([^"]+)"', repo.read("sydent/config/__init__.py")
    ).group(1)
    v = Values("sydent-sms")
    code = v.digits(6)
    yield Entry(
        id="sydent-sms",
        product="Sydent",
        lang="en",
        kind="sms",
        expected=code,
        source=[repo.src("sydent/config/__init__.py", "bodyTemplate")],
        text=fill(template, {"token": code}),
    )


@product
def twofactor_gateway(ctx: Ctx) -> Iterator[Entry]:
    """Nextcloud Two-Factor Gateway: the SMS / messenger text, translated."""
    repo = ctx.repo("nextcloud/twofactor_gateway")
    for lang in [
        "en",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pl",
        "pt_BR",
        "ru",
        "tr",
        "ja",
        "ko",
        "zh_CN",
        "ar",
        "cs",
        "sv",
    ]:
        v = Values(f"twofactor-gateway-{lang}")
        code = v.digits(6)
        msgid = "%s is your Nextcloud authentication code"
        if lang == "en":
            message, src = msgid, repo.src("lib/Provider/Gateway/AGateway.php", msgid)
        else:
            try:
                strings = json.loads(repo.read(f"l10n/{lang}.json"))["translations"]
            except subprocess.CalledProcessError:
                continue
            if msgid not in strings:
                continue
            message, src = strings[msgid], repo.src(f"l10n/{lang}.json", msgid)
        yield Entry(
            id=f"twofactor-gateway-sms-{lang}",
            product="Nextcloud Two-Factor Gateway",
            lang=lang.split("_")[0],
            kind="sms",
            expected=code,
            source=[src],
            text=positional(message, code),
        )


@product
def nextcloud_twofactor_email(ctx: Ctx) -> Iterator[Entry]:
    """Nextcloud Two-Factor Email: the code e-mail, assembled from translated sentences."""
    repo = ctx.repo("datenschutz-individuell/twofactor_email")
    path = "lib/Service/AppSettings.php"
    src = repo.read(path)
    chunk = src[src.index('return "{logo}') :]
    chunk = chunk[: chunk.index(";")]
    for lang in [
        "en",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pl",
        "pt_BR",
        "ru",
        "tr",
        "ja",
        "ko",
        "zh_CN",
        "ar",
    ]:
        v = Values(f"nc-twofactor-email-{lang}")
        code = v.digits(6)
        strings = json.loads(repo.read(f"l10n/{lang}.json"))["translations"] if lang != "en" else {}
        pieces = []
        for literal, msgid in re.findall(
            r'"((?:[^"\\]|\\.)*)"|->t\(\'((?:[^\'\\]|\\.)*)\'\)', chunk
        ):
            pieces.append(
                literal.encode().decode("unicode_escape") if literal else strings.get(msgid, msgid)
            )
        text = "".join(pieces).replace("{logo}", v.app).replace("{cloud}", f"cloud.{v.domain}")
        text = text.replace("{code}", code).replace("{validity}", str(v.minutes))
        subject = positional(
            strings.get("Login attempt for %s", "Login attempt for %s"), f"cloud.{v.domain}"
        )
        yield Entry(
            id=f"nextcloud-twofactor-email-{lang}",
            product="Nextcloud Two-Factor Email",
            lang=lang.split("_")[0],
            kind="email",
            expected=code,
            source=[repo.src(path, "getEMailBody default"), repo.src(f"l10n/{lang}.json")],
            subject=subject,
            text=text,
        )


@product
def hasura_auth(ctx: Ctx) -> Iterator[Entry]:
    """Nhost Auth (hasura-auth): the sign-in OTP e-mail (HTML) and the passwordless SMS."""
    repo = ctx.repo("nhost/hasura-auth")
    for lang in repo.ls("email-templates"):
        if lang in ("generator", "test") or "signin-otp" not in repo.ls(f"email-templates/{lang}"):
            continue
        v = Values(f"hasura-auth-{lang}")
        code = v.digits(6)
        values = {
            "ticket": code,
            "code": code,
            "redirectTo": f"https://app.{v.domain}",
            "displayName": v.first,
            "email": v.email,
            "locale": lang,
        }
        d = f"email-templates/{lang}/"
        yield Entry(
            id=f"nhost-signin-otp-{lang}",
            product="Nhost Auth",
            lang=lang,
            kind="email",
            expected=code,
            source=[repo.src(d + "signin-otp/body.html"), repo.src(d + "signin-otp/subject.txt")],
            subject=fill(repo.read(d + "signin-otp/subject.txt"), values).strip(),
            html=fill(repo.read(d + "signin-otp/body.html"), values),
        )
        v = Values(f"hasura-auth-sms-{lang}")
        code = v.digits(6)
        yield Entry(
            id=f"nhost-sms-{lang}",
            product="Nhost Auth",
            lang=lang,
            kind="sms",
            expected=code,
            source=[repo.src(d + "signin-passwordless-sms/body.txt")],
            text=fill(repo.read(d + "signin-passwordless-sms/body.txt"), {"code": code}).strip(),
        )


@product
def logto(ctx: Ctx) -> Iterator[Entry]:
    """Logto: the default sign-in templates of its e-mail and SMS connectors."""
    repo = ctx.repo("logto-io/logto")
    for connector, kind in [
        ("connector-smtp", "email"),
        ("connector-twilio-sms", "sms"),
        ("connector-mailgun", "email"),
    ]:
        path = f"packages/connectors/{connector}/src/constant.ts"
        src = repo.read(path)
        block = src[src.index("sign-in verification code is {{code}}") - 200 :]
        content = re.search(r"(?:content|html):\s*'([^']*)'", block).group(1)
        subject = re.search(r"subject: '([^']*)'", block)
        v = Values(f"logto-{connector}")
        code = v.digits(6)
        yield Entry(
            id=f"logto-{connector}",
            product="Logto",
            lang="en",
            kind=kind,
            expected=code,
            source=[repo.src(path, "SignIn template")],
            subject=fill(subject.group(1), {"code": code}) if subject and kind == "email" else None,
            text=fill(content, {"code": code}) if connector != "connector-mailgun" else None,
            html=fill(content, {"code": code}) if connector == "connector-mailgun" else None,
        )


@product
def plane(ctx: Ctx) -> Iterator[Entry]:
    """Plane: the magic sign-in code e-mail (HTML; the code is in the subject too)."""
    repo = ctx.repo("makeplane/plane")
    path = "apps/api/templates/emails/auth/magic_signin.html"
    v = Values("plane-magic")
    code = str(100000 + v.rng.randrange(900000))
    task = repo.read("apps/api/plane/bgtasks/magic_link_code_task.py")
    subject = re.search(r'subject = f"([^"]+)"', task).group(1).replace("{token}", code)
    yield Entry(
        id="plane-magic-signin",
        product="Plane",
        lang="en",
        kind="email",
        expected=code,
        source=[
            repo.src(path),
            repo.src("apps/api/plane/bgtasks/magic_link_code_task.py", "subject"),
        ],
        subject=subject,
        html=fill(
            repo.read(path),
            {"code": code, "email": v.email, "current_site": f"https://plane.{v.domain}"},
        ),
    )


@product
def outline(ctx: Ctx) -> Iterator[Entry]:
    """Outline: the sign-in verification code e-mail (text rendering), translated."""
    repo = ctx.repo("outline/outline")
    path = "server/emails/templates/SigninEmail.tsx"
    src = repo.read(path)
    body = src[src.rindex("return `", 0, src.index("Enter this verification code")) + 8 :]
    body = body[: body.index("`;")]
    for lang in [
        "en_US",
        "de_DE",
        "fr_FR",
        "es_ES",
        "it_IT",
        "nl_NL",
        "pl_PL",
        "pt_BR",
        "tr_TR",
        "ja_JP",
        "ko_KR",
        "zh_CN",
    ]:
        v = Values(f"outline-{lang}")
        code = v.digits(6)
        strings = json.loads(repo.read(f"shared/i18n/locales/{lang}/translation.json"))
        text = re.sub(
            r'\$\{this\.t\("([^"]+)"\)\}', lambda m: strings.get(m.group(1)) or m.group(1), body
        )
        text = text.replace("${verificationCode}", code).replace(
            "${teamUrl}", f"https://{v.app.lower().replace(' ', '')}.getoutline.com"
        )
        yield Entry(
            id=f"outline-signin-code-{lang}",
            product="Outline",
            lang=lang.split("_")[0],
            kind="email",
            expected=code,
            source=[
                repo.src(path, "renderAsText"),
                repo.src(f"shared/i18n/locales/{lang}/translation.json"),
            ],
            subject=strings.get("Sign in verification code") or "Sign in verification code",
            text=text,
        )


@product
def token_only(ctx: Ctx) -> Iterator[Entry]:
    """Defaults whose whole body is the code: privacyIDEA and LinOTP e-mail/SMS tokens, django-otp."""
    cases = [
        (
            "privacyidea/privacyidea",
            "privacyidea/lib/tokens/emailtoken.py",
            "privacyIDEA",
            "email",
            "<otp>",
            "Your OTP",
            "digits:6",
        ),
        (
            "privacyidea/privacyidea",
            "privacyidea/lib/tokens/smstoken.py",
            "privacyIDEA",
            "sms",
            "<otp>",
            None,
            "digits:6",
        ),
        (
            "LinOTP/LinOTP",
            "linotp/provider/emailprovider/__init__.py",
            "LinOTP",
            "email",
            "<otp>",
            "Your OTP",
            "digits:6",
        ),
        (
            "django-otp/django-otp",
            "src/django_otp/plugins/otp_email/templates/otp/email/token.txt",
            "django-otp",
            "email",
            "{{ token }}",
            "OTP token",
            "digits:6",
        ),
        (
            "django-otp/django-otp-twilio",
            "src/otp_twilio/conf.py",
            "django-otp-twilio",
            "sms",
            "{token}",
            None,
            "digits:6",
        ),
    ]
    for name, path, product_name, kind, template, subject, rule in cases:
        repo = ctx.repo(name)
        if template not in repo.read(path):
            continue
        v = Values(f"token-only-{name}-{kind}")
        code = v.digits(6)
        yield Entry(
            id=f"{product_name.lower()}-{kind}-default",
            product=product_name,
            lang="en",
            kind=kind,
            expected=code,
            rule=rule,
            source=[repo.src(path, "default message")],
            subject=subject,
            text=template.replace("<otp>", code)
            .replace("{{ token }}", code)
            .replace("{token}", code)
            + "\n",
        )


@product
def django_mfa2(ctx: Ctx) -> Iterator[Entry]:
    """django-mfa2: the e-mail token template (HTML)."""
    repo = ctx.repo("mkalioby/django-mfa2")
    path = "mfa/templates/Email/mfa_email_token_template.html"
    v = Values("django-mfa2")
    code = v.digits(6)
    yield Entry(
        id="django-mfa2-email",
        product="django-mfa2",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src(path)],
        subject="OTP",
        html=fill(
            repo.read(path), {"user.get_username": v.user, "get_username": v.user, "otp": code}
        ),
    )


@product
def supertokens(ctx: Ctx) -> Iterator[Entry]:
    """SuperTokens: the passwordless OTP e-mail (HTML) and SMS (Twilio)."""
    repo = ctx.repo("supertokens/supertokens-node")
    base = "lib/ts/recipe/passwordless/"
    src = repo.read(base + "emaildelivery/services/smtp/passwordlessLogin.ts")
    start = src.index("function getPasswordlessLoginOTPBody")
    body = src[src.index("return `", start) + 8 :]
    body = body[: body.index("`;")]
    v = Values("supertokens-email")
    code = v.digits(6)
    body = fill(
        body,
        {"appName": v.app, "email": v.email, "codeLifetime": "15 minutes", "userInputCode": code},
    )
    yield Entry(
        id="supertokens-otp-email",
        product="SuperTokens",
        lang="en",
        kind="email",
        expected=code,
        source=[
            repo.src(
                base + "emaildelivery/services/smtp/passwordlessLogin.ts",
                "getPasswordlessLoginOTPBody",
            )
        ],
        subject="Login to your account",
        html=body,
    )
    sms = repo.read(base + "smsdelivery/services/twilio/passwordlessLogin.ts")
    v = Values("supertokens-sms")
    code = v.digits(6)
    for literal in re.findall(r"message \+= `([^`]*)`", sms):
        if "userInputCode" in literal and "urlWithLinkCode" in literal:
            text = fill(
                literal,
                {
                    "userInputCode": code,
                    "appName": v.app,
                    "urlWithLinkCode": f"https://{v.domain}/auth/verify?preAuthSessionId=Hc8dLq2xZ&tenantId=public#Wq8xT2nKv",
                },
            )
            text += (
                fill(
                    [x for x in re.findall(r"message \+= `([^`]*)`", sms) if "expire" in x.lower()][
                        0
                    ],
                    {"humaniseMilliseconds(codeLifetime)": "15 minutes"},
                )
                if "expire" in sms.lower()
                else ""
            )
            yield Entry(
                id="supertokens-otp-sms",
                product="SuperTokens",
                lang="en",
                kind="sms",
                expected=code,
                source=[
                    repo.src(
                        base + "smsdelivery/services/twilio/passwordlessLogin.ts",
                        "getPasswordlessLoginSmsBody",
                    )
                ],
                text=re.sub(r"\$\{[^}]+\}", "15 minutes", text),
            )
            break


@product
def scheb_2fa(ctx: Ctx) -> Iterator[Entry]:
    """scheb/2fa (Symfony): the default auth-code mailer; the body is the code alone."""
    repo = ctx.repo("scheb/2fa")
    path = "src/email/Mailer/SymfonyAuthCodeMailer.php"
    subject = re.search(r"->subject\('([^']+)'\)", repo.read(path)).group(1)
    v = Values("scheb-2fa")
    code = v.digits(6)
    yield Entry(
        id="scheb-2fa-email",
        product="scheb/2fa",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src(path, "sendAuthCode")],
        subject=subject,
        text=code,
    )


@product
def atproto(ctx: Ctx) -> Iterator[Entry]:
    """Bluesky PDS (atproto): the e-mails that carry a token like ``k3x7a-bq2zp``."""
    repo = ctx.repo("bluesky-social/atproto")
    base = "packages/pds/src/mailer/templates/"
    for name in [
        "reset-password",
        "confirm-email",
        "update-email",
        "delete-account",
        "plc-operation",
    ]:
        v = Values(f"atproto-{name}")
        token = (
            v.alnum(5, "abcdefghijklmnopqrstuvwxyz234567")
            + "-"
            + v.alnum(5, "abcdefghijklmnopqrstuvwxyz234567")
        )
        values = {
            "token": token,
            "handle": f"{v.user}.bsky.social",
            "config.serviceName": "Bluesky",
            "serviceName": "Bluesky",
            "config.logoUrl": "https://bsky.social/about/images/logo.png",
            "logoUrl": "https://bsky.social/about/images/logo.png",
            "config.primaryColor": "#1083fe",
            "primaryColor": "#1083fe",
            "config.homeUrl": "https://bsky.social",
            "homeUrl": "https://bsky.social",
            "config.markUrl": "https://bsky.social/about/images/mark.png",
            "markUrl": "https://bsky.social/about/images/mark.png",
        }
        page = fill(
            re.sub(
                r"\{\{#if [^}]*\}\}|\{\{/if\}\}|\{\{else\}\}", "", repo.read(base + name + ".hbs")
            ),
            values,
        )
        title = re.search(r"<title>([^<]*)</title>", page)
        yield Entry(
            id=f"atproto-{name}",
            product="Bluesky PDS",
            lang="en",
            kind="email",
            expected=token,
            rule="pattern:[a-z2-7]{5}-[a-z2-7]{5}",
            source=[repo.src(base + name + ".hbs")],
            subject=title.group(1) if title else name.replace("-", " ").title(),
            html=page,
        )


@product
def pocket_id(ctx: Ctx) -> Iterator[Entry]:
    """Pocket ID: the one-time access (login code) e-mail, text and HTML."""
    repo = ctx.repo("pocket-id/pocket-id")
    base = "backend/resources/email-templates/one-time-access_"
    for n in range(2):
        v = Values(f"pocket-id-{n}")
        code = (
            v.alnum(6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
            if n
            else v.digits(6)
        )
        values = {
            "AppName": "Pocket ID",
            "Data.LoginLink": f"https://id.{v.domain}/lc",
            "LoginLink": f"https://id.{v.domain}/lc",
            "Data.Code": code,
            "Code": code,
            "Data.ExpirationString": "15 minutes",
            "ExpirationString": "15 minutes",
            "Data.LoginLinkWithCode": f"https://id.{v.domain}/lc/{code}",
            "LoginLinkWithCode": f"https://id.{v.domain}/lc/{code}",
            "LogoURL": f"https://id.{v.domain}/api/application-images/logo",
            "Subject": "Login Code",
        }
        yield Entry(
            id=f"pocket-id-one-time-access-{n}",
            product="Pocket ID",
            lang="en",
            kind="email",
            expected=code,
            rule="digits:6" if not n else "pattern:[A-Za-z0-9]{6}",
            source=[repo.src(base + "text.tmpl"), repo.src(base + "html.tmpl")],
            subject="Login Code",
            text=fill(repo.read(base + "text.tmpl"), values),
            html=fill(repo.read(base + "html.tmpl"), values),
        )


def php_array(text: str) -> dict[str, str]:
    return {
        k: v.replace("\\'", "'") for k, v in re.findall(r"'(\w+)'\s*=>\s*'((?:[^'\\]|\\.)*)'", text)
    }


@product
def spatie_otp(ctx: Ctx) -> Iterator[Entry]:
    """spatie/laravel-one-time-passwords: the notification mail (Markdown mail), translated."""
    repo = ctx.repo("spatie/laravel-one-time-passwords")
    view = repo.read("resources/views/mail.blade.php")
    for lang in repo.ls("resources/lang"):
        v = Values(f"spatie-otp-{lang}")
        code = v.digits(6)
        strings = php_array(repo.read(f"resources/lang/{lang}/notifications.php"))
        text = re.sub(
            r"\{\{ __\('one-time-passwords::notifications\.(\w+)'.*?\}\}",
            lambda m: strings.get(m.group(1), ""),
            view,
        )
        text = (
            text.replace("{{ $oneTimePassword->password }}", code)
            .replace("<x-mail::message>", "")
            .replace("</x-mail::message>", "")
        )
        text = fill(text, {"url": f"https://{v.domain}", "oneTimePassword": code}).strip()
        yield Entry(
            id=f"spatie-otp-{lang}",
            product="spatie/laravel-one-time-passwords",
            lang=lang.split("_")[0],
            kind="email",
            expected=code,
            source=[
                repo.src("resources/views/mail.blade.php"),
                repo.src(f"resources/lang/{lang}/notifications.php"),
            ],
            subject=fill(strings["mail_subject"], {"oneTimePassword": code}),
            text=text,
        )


@product
def espocrm(ctx: Ctx) -> Iterator[Entry]:
    """EspoCRM: the two-factor e-mail (its templates) and SMS (its translations)."""
    repo = ctx.repo("espocrm/espocrm")
    base = "application/Espo/Resources/templates/twoFactorCode/"
    for lang in repo.ls(base):
        v = Values(f"espocrm-email-{lang}")
        code = v.digits(6)
        yield Entry(
            id=f"espocrm-2fa-email-{lang}",
            product="EspoCRM",
            lang=lang.split("_")[0],
            kind="email",
            expected=code,
            source=[repo.src(f"{base}{lang}/body.tpl"), repo.src(f"{base}{lang}/subject.tpl")],
            subject=repo.read(f"{base}{lang}/subject.tpl").strip(),
            html=fill(repo.read(f"{base}{lang}/body.tpl"), {"code": code}),
        )
    for lang in [
        "en_US",
        "fr_FR",
        "es_ES",
        "pl_PL",
        "pt_BR",
        "nl_NL",
        "tr_TR",
        "ja_JP",
        "zh_CN",
        "ar_AR",
        "uk_UA",
    ]:
        path = f"application/Espo/Resources/i18n/{lang}/User.json"
        message = json.loads(repo.read(path)).get("messages", {}).get("yourAuthenticationCode")
        if not message:
            continue
        v = Values(f"espocrm-sms-{lang}")
        code = v.digits(6)
        yield Entry(
            id=f"espocrm-2fa-sms-{lang}",
            product="EspoCRM",
            lang=lang.split("_")[0],
            kind="sms",
            expected=code,
            source=[repo.src(path, "messages.yourAuthenticationCode")],
            text=message.replace("{code}", code),
        )


@product
def rallly(ctx: Ctx) -> Iterator[Entry]:
    """Rallly: the 6-digit code e-mail for registration (React e-mail), translated."""
    repo = ctx.repo("lukevella/rallly")
    for lang in ["en", "de", "fr", "es", "it", "nl", "pl", "pt-BR", "ru", "zh", "cs", "sv"]:
        v = Values(f"rallly-{lang}")
        code = v.digits(6)
        path = f"packages/emails/locales/{lang}/emails.json"
        s = {
            **json.loads(repo.read("packages/emails/locales/en/emails.json")),
            **json.loads(repo.read(path)),
        }
        page = (
            f'<html><body><div style="display:none">{s["register_preview"].replace("{code}", code)}</div>'
            f'<img src="https://rallly.co/logo.png" width="150"><h1>{s["register_heading"]}</h1><p>{s["register_text"]}</p>'
            f'<p id="code" style="font-size:24px;font-weight:bold;letter-spacing:4px">{code}</p>'
            f'<p style="color:#6B7280">{s["register_codeValid"]}</p></body></html>'
        )
        yield Entry(
            id=f"rallly-register-{lang}",
            product="Rallly",
            lang=lang.split("-")[0],
            kind="email",
            expected=code,
            source=[
                repo.src("packages/emails/src/templates/register.tsx"),
                repo.src(path, "register_*"),
            ],
            subject=s["register_subject"],
            html=page,
        )


@product
def dub(ctx: Ctx) -> Iterator[Entry]:
    """Dub: the sign-up verification e-mail (React e-mail, rendered as its text)."""
    repo = ctx.repo("dubinc/dub")
    path = "packages/email/src/templates/verify-email.tsx"
    src = repo.read(path)
    texts = [
        " ".join(t.split())
        for t in re.findall(r">\s*([^<>{}]*[A-Za-z][^<>{}]*)\s*<", src[src.index("return (") :])
    ]
    v = Values("dub-verify")
    code = v.digits(6)
    text = "\n\n".join(t if t else code for t in texts) + f"\n\n{code}\n"
    lines = [t for t in texts if t]
    text = "\n\n".join(lines[:2] + [code] + lines[2:])
    yield Entry(
        id="dub-verify-email",
        product="Dub",
        lang="en",
        kind="email",
        expected=code,
        source=[repo.src(path)],
        subject="Your Dub Verification Code",
        text=text,
    )


@product
def saved_excerpts(ctx: Ctx) -> Iterator[Entry]:
    """Products whose repositories are too large to snapshot: files read one by one (``--files``)."""
    if ctx.has("goauthentik/authentik"):
        repo = ctx.repo("goauthentik/authentik")
        path = "authentik/stages/authenticator_email/templates/email/email_otp.html"
        v = Values("authentik-email-otp")
        code = v.digits(6)
        body = re.sub(
            r"\{% blocktrans[^%]*%\}\s*(.*?)\s*\{% endblocktrans %\}",
            lambda m: " ".join(m.group(1).split()),
            repo.read(path),
            flags=re.S,
        )
        body = re.search(
            r"\{% block content %\}(.*?)\{% endblock %\}.*?\{% block sub_content %\}(.*?)\{% endblock %\}",
            body,
            re.S,
        )
        page = f"<html><body><table>{body.group(1)}{body.group(2)}</table></body></html>"
        yield Entry(
            id="authentik-email-otp",
            product="authentik",
            lang="en",
            kind="email",
            expected=code,
            source=[repo.src(path)],
            subject="authentik Sign-in code",
            html=fill(page, {"username": v.user, "token": code, "expires": "14 minutes"}),
        )
    if ctx.has("TryGhost/Ghost"):
        repo = ctx.repo("TryGhost/Ghost")
        path = "ghost/core/core/server/services/auth/session/emails/signin.js"
        src = repo.read(path)
        page = src[src.index("`") + 1 : src.rindex("`")]
        for n in range(2):
            v = Values(f"ghost-signin-{n}")
            code = v.digits(6)
            values = {
                "siteTitle": v.app,
                "siteLogo": f"https://{v.domain}/content/images/logo.png",
                "token": code,
                "siteUrl": f"https://{v.domain}/",
                "siteDomain": v.domain,
                "email": v.email,
                "deviceDetails.device": v.device,
                "deviceDetails.location": v.city,
                "deviceDetails.time": f"{v.date} {v.time}",
            }
            out = re.sub(
                r"\$\{t\((['\"])(.*?)\1(?:, \{[^}]*\}[^)]*)?\)\}", lambda m: m.group(2), page
            )
            out = re.sub(
                r"\$\{is2FARequired \? '' : t\('([^']*)'\)\}",
                lambda m: "" if n else m.group(1),
                out,
            )
            out = re.sub(r"\$\{([\w.]+)\}", lambda m: values.get(m.group(1), ""), out)
            out = out.replace("{siteTitle}", v.app)
            yield Entry(
                id=f"ghost-signin-{n}",
                product="Ghost",
                lang="en",
                kind="email",
                expected=code,
                source=[repo.src(path)],
                subject=f"🔑 Your verification code for {v.app}",
                html=out,
            )
    if ctx.has("home-assistant/core"):
        repo = ctx.repo("home-assistant/core")
        path = "homeassistant/auth/mfa_modules/notify.py"
        template = re.search(
            r'default="(\{\} is your Home Assistant login code)"', repo.read(path)
        ).group(1)
        v = Values("home-assistant-notify")
        code = v.digits(6)
        yield Entry(
            id="home-assistant-notify-mfa",
            product="Home Assistant",
            lang="en",
            kind="sms",
            expected=code,
            source=[repo.src(path, "CONF_MESSAGE default")],
            text=template.format(code),
        )

    if ctx.has("moodle/moodle"):
        repo = ctx.repo("moodle/moodle")
        path = "admin/tool/mfa/factor/sms/lang/en/factor_sms.php"
        template = re.search(r"\$string\['smsstring'\] = '(.*?)';", repo.read(path), re.S).group(1)
        for n in range(2):
            v = Values(f"moodle-sms-{n}")
            code = v.digits(6)
            text = (
                template.replace("{$a->code}", code)
                .replace("{$a->fullname}", f"{v.app} LMS")
                .replace("{$a->url}", f"learn.{v.domain}")
            )
            yield Entry(
                id=f"moodle-mfa-sms-{n}",
                product="Moodle",
                lang="en",
                kind="sms",
                expected=code,
                source=[repo.src(path, "smsstring")],
                text=text,
            )
    if ctx.has("joomla/joomla-cms"):
        repo = ctx.repo("joomla/joomla-cms")
        path = "administrator/language/en-GB/plg_multifactorauth_email.ini"
        strings = dict(re.findall(r'^(\w+)="(.*)"$', repo.read(path), re.M))
        v = Values("joomla-mfa-email")
        code = v.digits(6)
        values = {"SITENAME": v.app, "CODE": code}
        yield Entry(
            id="joomla-mfa-email",
            product="Joomla",
            lang="en",
            kind="email",
            expected=code,
            source=[repo.src(path, "PLG_MULTIFACTORAUTH_EMAIL_EMAIL_*")],
            subject=fill(strings["PLG_MULTIFACTORAUTH_EMAIL_EMAIL_SUBJECT"], values),
            text=fill(strings["PLG_MULTIFACTORAUTH_EMAIL_EMAIL_BODY"], values),
        )
    if ctx.has("opf/openproject"):
        repo = ctx.repo("opf/openproject")
        path = "modules/two_factor_authentication/config/locales/en.yml"
        template = yaml_strings(repo.read(path))[
            "en.two_factor_authentication.text_otp_delivery_message_sms"
        ]
        v = Values("openproject-sms")
        code = v.digits(6)
        yield Entry(
            id="openproject-otp-sms",
            product="OpenProject",
            lang="en",
            kind="sms",
            expected=code,
            source=[repo.src(path, "text_otp_delivery_message_sms")],
            text=fill(template, {"app_title": "OpenProject", "token": code}),
        )


# --- output ----------------------------------------------------------------------------------


_UNFILLED = re.compile(r".{0,30}(?:\{\{|\{%|%\(\w+\)s|\$\{\w+\}).{0,30}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus_render", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--mirrors", type=Path, default=MIRRORS)
    parser.add_argument("--files", type=Path, default=FILES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    ctx = Ctx(args)
    entries: list[Entry] = []
    for make in PRODUCTS:
        try:
            entries.extend(make(ctx))
        except (
            subprocess.CalledProcessError,
            OSError,
            ValueError,
            KeyError,
            AttributeError,
        ) as exc:
            print(f"skipped {make.__name__}: {exc}", file=sys.stderr)
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for e in entries:
        for body in (e.subject, e.text, e.html):
            left = _UNFILLED.search(body or "")
            if left:
                print(f"warning: {e.id}: unfilled placeholder: {left.group()!r}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for e in entries:
            out.write(
                json.dumps(
                    {k: v for k, v in asdict(e).items() if v not in (None, "")}, ensure_ascii=False
                )
                + "\n"
            )
    products = {e.product for e in entries}
    langs = {e.lang for e in entries}
    print(
        f"{len(entries)} messages, {len(products)} products, {len(langs)} languages -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
