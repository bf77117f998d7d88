# ruff: noqa: E501 (the mail layout is HTML, one element a line)
"""Render ``tests/link_corpus.json``: link-bearing mails from real products' own templates.

Run by hand (``python tests/render_link_corpus.py``), not by the tests: it needs
Flask-Security-Too installed (its templates and ``.mo`` translations are used as shipped) and
bare git snapshots of the other products under ``/work/.mirror`` (``ory/kratos``,
``authelia/authelia``, ``supabase/auth``, ``appwrite/appwrite``, ``tigrish/devise-i18n``,
``pocketbase/pocketbase``), read with ``git show``; ZITADEL's message texts from a cache
file (see ``zitadel_entries``). Only the rendered messages
and their sources (repository + path) are kept in the JSON; no third party's template is
copied into this repository.

Each message is the product's own body, rendered with realistic values, most of them inside
a mail layout of ours that adds the usual decoys (a logo linking home, "view in browser",
help, privacy, terms, unsubscribe, social links, a ``mailto:``, a tracking pixel), worded in
the message's language. ``expected`` is the link the message asks the reader to open.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import flask_security
import jinja2
from babel.support import Translations

OUT = Path(__file__).with_name("link_corpus.json")
MIRROR = Path("/work/.mirror")
FS_DIR = Path(flask_security.__file__).parent
FS_REPO = "pallets-eco/flask-security"
FS_PATH = "flask_security/templates/security/email/"

FOOTER_WORDS = {
    "en": ("View in browser", "Help center", "Privacy", "Terms", "Unsubscribe"),
    "de": ("Im Browser ansehen", "Hilfe", "Datenschutz", "AGB", "Abmelden"),
    "fr": (
        "Afficher dans le navigateur",
        "Aide",
        "Confidentialité",
        "Conditions",
        "Se désinscrire",
    ),
    "es": ("Ver en el navegador", "Ayuda", "Privacidad", "Condiciones", "Darse de baja"),
    "pt": ("Ver no navegador", "Ajuda", "Privacidade", "Termos", "Descadastrar"),
    "it": ("Visualizza nel browser", "Aiuto", "Privacy", "Termini", "Disiscriviti"),
    "nl": ("Bekijk in je browser", "Help", "Privacybeleid", "Voorwaarden", "Uitschrijven"),
    "ru": ("Открыть в браузере", "Помощь", "Конфиденциальность", "Условия", "Отписаться"),
    "pl": ("Zobacz w przeglądarce", "Pomoc", "Prywatność", "Regulamin", "Wypisz się"),
    "ja": ("ブラウザで表示", "ヘルプ", "プライバシー", "利用規約", "配信停止"),
}


def token(seed: str, length: int = 40) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return ("Wy" + digest)[:length]


def html_layout(body: str, *, host: str, lang: str, subject: str, seed: str) -> str:
    view, help_, privacy, terms, unsubscribe = FOOTER_WORDS[lang]
    mid = token(seed + "m", 12)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(subject)}</title>
<style>body{{font-family:Helvetica,Arial,sans-serif}} .btn{{background:#1a73e8;color:#fff}}
a{{color:#1a73e8}} .footer a{{color:#888}}</style></head>
<body><div style="display:none;max-height:0;overflow:hidden">{html.escape(subject)}</div>
<table width="100%" role="presentation"><tr><td align="left">
<a href="https://{host}/?utm_source=email&amp;utm_medium=logo"><img src="https://cdn.{host}/brand/logo.png" alt="Example" width="120"></a>
</td><td align="right"><a href="https://{host}/mail/view/{mid}?lang={lang}">{view}</a></td></tr>
<tr><td colspan="2" style="padding:24px">
{body}
</td></tr>
<tr><td colspan="2" class="footer" style="font-size:12px;color:#888">
<a href="https://{host}/help?utm_source=email">{help_}</a> &middot;
<a href="https://{host}/legal/privacy">{privacy}</a> &middot;
<a href="https://{host}/legal/terms">{terms}</a> &middot;
<a href="https://{host}/account/notifications/unsubscribe?u={mid}&amp;list=security">{unsubscribe}</a><br>
<a href="https://twitter.com/example"><img src="https://cdn.{host}/icons/tw.png" alt="Twitter"></a>
<a href="https://www.linkedin.com/company/example"><img src="https://cdn.{host}/icons/in.png" alt="LinkedIn"></a>
<a href="mailto:support@{host}">support@{host}</a> &middot; <a href="tel:+18005318722">+1 800 531 8722</a>
</td></tr></table>
<img src="https://t.{host}/o/{mid}.gif" width="1" height="1" alt="">
</body></html>
"""


def text_layout(body: str, *, host: str, lang: str, seed: str) -> str:
    view, help_, _, _, unsubscribe = FOOTER_WORDS[lang]
    mid = token(seed + "m", 12)
    return (
        f"{view}: https://{host}/mail/view/{mid}\n\n{body.strip()}\n\n-- \n"
        f"{help_}: https://{host}/help\n{unsubscribe}: <https://{host}/account/notifications/"
        f"unsubscribe?u={mid}>\n"
    )


def entry(
    id_: str,
    *,
    repo: str,
    path: str,
    kind: str,
    lang: str,
    subject: str,
    expected: str,
    text: str | None = None,
    html_body: str | None = None,
    layout: bool,
) -> dict[str, Any]:
    return {
        "id": id_,
        "source": {"repo": repo, "path": path},
        "kind": kind,
        "lang": lang,
        "layout": "ours (decoy links)" if layout else "none (the product's own body only)",
        "subject": subject,
        "text": text,
        "html": html_body,
        "expected": expected,
    }


# --- Flask-Security-Too ----------------------------------------------------------------------

FS_LANGS = {
    "en": None,
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "pt": "pt_BR",
    "it": "it_IT",
    "nl": "nl_NL",
    "ru": "ru_RU",
    "pl": "pl_PL",
    "ja": "ja_JP",
}
# template, kind, link variable, URL path, subject
FS_TEMPLATES = [
    ("reset_instructions", "password reset", "reset_link", "/reset/", "Password reset"),
    (
        "confirmation_instructions",
        "e-mail confirmation",
        "confirmation_link",
        "/confirm/",
        "Please confirm your email",
    ),
    ("login_instructions", "magic link", "login_link", "/login/", "Login instructions"),
    ("welcome", "e-mail confirmation", "confirmation_link", "/confirm/", "Welcome"),
    (
        "change_email_instructions",
        "e-mail confirmation",
        "link",
        "/change-email/",
        "Confirm your new email address",
    ),
    ("us_instructions", "magic link", "login_link", "/us-verify-link?email=", "Your code"),
]
FS_PLAN = {
    "reset_instructions": {"html": ["en", "de", "fr", "es", "ja", "pt"], "txt": ["en", "de", "ru"]},
    "confirmation_instructions": {"html": ["en", "it", "nl", "ru", "pl"], "txt": ["en", "fr"]},
    "login_instructions": {"html": ["en", "de", "es"], "txt": ["en"]},
    "welcome": {"html": ["en", "fr", "ja"], "txt": ["de"]},
    "change_email_instructions": {"html": ["en"], "txt": ["en", "es"]},
    "us_instructions": {"html": ["en", "de"], "txt": []},
}


def flask_security_entries() -> list[dict[str, Any]]:
    out = []
    for name, kind, variable, path, subject in FS_TEMPLATES:
        for flavour, langs in FS_PLAN[name].items():
            for lang in langs:
                out.append(_flask_security(name, kind, variable, path, subject, flavour, lang))
    return out


def _flask_security(
    name: str, kind: str, variable: str, path: str, subject: str, flavour: str, lang: str
) -> dict[str, Any]:
    locale = FS_LANGS[lang]
    translations = (
        Translations.load(str(FS_DIR / "translations"), [locale], domain="flask_security")
        if locale
        else Translations()
    )

    def fsdomain(message: str, **kwargs: object) -> str:
        return translations.gettext(message) % kwargs if kwargs else translations.gettext(message)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(FS_DIR / "templates")),
        autoescape=flavour == "html",
    )
    seed = f"fs-{name}-{flavour}-{lang}"
    host = "app.example.com"
    if "?" in path:
        link = f"https://{host}{path}ann%40example.com&code={token(seed, 32)}"
    else:
        link = f"https://{host}{path}{token(seed, 64)}"
    user = {"email": "ann@example.com", "username": "ann"}
    context = {
        variable: link,
        "login_token": "482913",
        "user": user,
        "username": "ann",
        "within": "5 days" if lang == "en" else "5 Tage" if lang == "de" else "5 d",
        "security": {"confirmable": True},
        "_fsdomain": fsdomain,
    }
    body = env.get_template(f"security/email/{name}.{flavour}").render(context)
    layout = not (name == "reset_instructions" and lang == "en")
    id_ = f"flask-security-{name}-{flavour}-{lang}"
    source = f"{FS_PATH}{name}.{flavour} + flask_security/translations/{locale or 'en'}"
    if flavour == "html":
        document = (
            html_layout(body, host=host, lang=lang, subject=subject, seed=seed) if layout else body
        )
        return entry(
            id_,
            repo=FS_REPO,
            path=source,
            kind=kind,
            lang=lang,
            subject=subject,
            expected=link,
            html_body=document,
            layout=layout,
        )
    document = text_layout(body, host=host, lang=lang, seed=seed) if layout else body
    return entry(
        id_,
        repo=FS_REPO,
        path=source,
        kind=kind,
        lang=lang,
        subject=subject,
        expected=link,
        text=document,
        layout=layout,
    )


# --- Go templates (Ory Kratos, Authelia, Supabase Auth) -------------------------------------


def git_show(repo: str, path: str) -> str:
    git_dir = MIRROR / repo.replace("/", "+") / "repo"
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def go_render(template: str, values: dict[str, str], *, escape: bool) -> str:
    for key, value in values.items():
        shown = html.escape(value) if escape else value
        for form in (f"{{{{ .{key} }}}}", f"{{{{.{key}}}}}"):
            template = template.replace(form, shown)
    return template


KRATOS = "courier/template/courier/builtin/templates/"


def kratos_entries() -> list[dict[str, Any]]:
    out = []
    host = "auth.example.com"
    for flow, variable, kind, url_path in (
        ("verification", "VerificationURL", "e-mail confirmation", "/self-service/verification"),
        ("recovery", "RecoveryURL", "password reset", "/self-service/recovery"),
    ):
        seed = f"kratos-{flow}"
        link = f"https://{host}{url_path}?flow=5b3a8c2e-1f4d-4a7b-9c6e-2d8f1a3b7c9e&token={token(seed, 32)}"
        subject = git_show("ory/kratos", f"{KRATOS}{flow}/valid/email.subject.gotmpl").strip()
        values = {variable: link, "ExpiresInMinutes": "60"}
        for flavour, file in (
            ("html", "email.body.gotmpl"),
            ("text", "email.body.plaintext.gotmpl"),
        ):
            body = go_render(
                git_show("ory/kratos", f"{KRATOS}{flow}/valid/{file}"),
                values,
                escape=flavour == "html",
            )
            layout = flavour == "html"
            document = (
                html_layout(
                    body.replace("\n\n", "<br><br>"),
                    host=host,
                    lang="en",
                    subject=subject,
                    seed=seed,
                )
                if flavour == "html"
                else body
            )
            out.append(
                entry(
                    f"kratos-{flow}-{flavour}",
                    repo="ory/kratos",
                    path=f"{KRATOS}{flow}/valid/{file}",
                    kind=kind,
                    lang="en",
                    subject=subject,
                    expected=link,
                    html_body=document if flavour == "html" else None,
                    text=document if flavour == "text" else None,
                    layout=layout,
                )
            )
    return out


AUTHELIA = "internal/templates/embed/notification/IdentityVerificationJWT."


def authelia_entries() -> list[dict[str, Any]]:
    host = "auth.example.com"
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + token("authelia-jwt", 60) + "." + token("sig", 43)
    )
    link = f"https://{host}/reset-password/step2?token={jwt}"
    revoke = (
        f"https://{host}/revoke/reset-password?id=8f3e2a1c-4b5d-4e6f-9a7b-1c2d3e4f5a6b&token={jwt}"
    )
    values = {
        "Title": "Reset your password",
        "DisplayName": "Ann Example",
        "Domain": host,
        "LinkURL": link,
        "LinkText": "Reset",
        "RevocationLinkURL": revoke,
        "RevocationLinkText": "Revoke",
        "RemoteIP": "192.0.2.10",
    }
    out = []
    for flavour in ("html", "txt"):
        body = go_render(
            git_show("authelia/authelia", AUTHELIA + flavour), values, escape=flavour == "html"
        )
        out.append(
            entry(
                f"authelia-identity-verification-{flavour}",
                repo="authelia/authelia",
                path=AUTHELIA + flavour,
                kind="password reset",
                lang="en",
                subject="Reset your password",
                expected=link,
                html_body=body if flavour == "html" else None,
                text=body if flavour == "txt" else None,
                layout=False,
            )
        )
    return out


SUPABASE = "internal/mailer/templatemailer/templatemailer.go"


def supabase_entries() -> list[dict[str, Any]]:
    source = git_show("supabase/auth", SUPABASE)
    out = []
    host = "xyzcompany.supabase.co"
    for const, kind, subject, kind_type in (
        ("defaultInviteMail", "invitation", "You've been invited", "invite"),
        ("defaultConfirmationMail", "e-mail confirmation", "Confirm your email address", "signup"),
        ("defaultRecoveryMail", "password reset", "Reset your password", "recovery"),
        ("defaultMagicLinkMail", "magic link", "Your sign-in link", "magiclink"),
        (
            "defaultEmailChangeMail",
            "e-mail confirmation",
            "Confirm your new email address",
            "email_change",
        ),
    ):
        template = source.split(f"const {const} = `", 1)[1].split("`", 1)[0]
        seed = f"supabase-{const}"
        link = (
            f"https://{host}/auth/v1/verify?token=pkce_{token(seed, 56)}&type={kind_type}"
            "&redirect_to=https://app.example.com/welcome"
        )
        body = go_render(
            template, {"ConfirmationURL": link, "NewEmail": "ann@new.example.com"}, escape=True
        )
        layout = const != "defaultMagicLinkMail"
        document = (
            html_layout(body, host="example.com", lang="en", subject=subject, seed=seed)
            if layout
            else body
        )
        out.append(
            entry(
                f"supabase-{kind_type}",
                repo="supabase/auth",
                path=f"{SUPABASE} ({const})",
                kind=kind,
                lang="en",
                subject=subject,
                expected=link,
                html_body=document,
                layout=layout,
            )
        )
    return out


# --- Appwrite (its branded layout has the decoys: logo, social icons, terms, privacy) -------

APPWRITE = "app/config/locale/"
APPWRITE_PLAN = {
    # translation key, template, kind, path of the link, languages
    "verification": (
        "email-inner-base.tpl",
        "e-mail confirmation",
        "/verify-email",
        ["en", "de", "fr", "ja", "pt-br", "ko"],
    ),
    "recovery": (
        "email-inner-base.tpl",
        "password reset",
        "/reset-password",
        ["en", "es", "ru", "zh-cn", "it", "tr"],
    ),
    "magicSession": ("email-magic-url.tpl", "magic link", "/auth/magic", ["en", "de", "ja", "nl"]),
    "invitation": ("email-inner-base.tpl", "invitation", "/join-team", ["en", "pl"]),
}


def _appwrite_words(lang: str, key: str) -> dict[str, str]:
    english = json.loads(git_show("appwrite/appwrite", f"{APPWRITE}translations/en.json"))
    local = json.loads(git_show("appwrite/appwrite", f"{APPWRITE}translations/{lang}.json"))
    prefix = f"emails.{key}."
    return {
        name.removeprefix(prefix): local.get(name) or text
        for name, text in english.items()
        if name.startswith(prefix)
    }


def _mustache(template: str, values: dict[str, str]) -> str:
    for _ in range(3):  # values hold placeholders too ({{project}} in a sentence)
        for key, value in values.items():
            template = template.replace("{{" + key + "}}", value)
    return template


def appwrite_entries() -> list[dict[str, Any]]:
    out = []
    base = git_show("appwrite/appwrite", f"{APPWRITE}templates/email-base-styled.tpl")
    for key, (inner_file, kind, path, langs) in APPWRITE_PLAN.items():
        inner = git_show("appwrite/appwrite", f"{APPWRITE}templates/{inner_file}")
        for lang in langs:
            seed = f"appwrite-{key}-{lang}"
            link = (
                f"https://todo.example.com{path}?userId=6650f2a1b3c4d5e6f7a8&secret="
                f"{token(seed, 64)}&expire=2025-05-01+12%3A00%3A00.000"
            )
            if key == "invitation":
                link += "&membershipId=6650f2a1c9d8e7f6a5b4&teamId=6650f29e11aa22bb33cc"
            words = _appwrite_words(lang, key)
            values = {
                **words,
                "b": "<strong>",
                "/b": "</strong>",
                "user": "Ann",
                "project": "Todo",
                "team": "Design",
                "owner": "Bob",
                "agentClient": "Chrome 124",
                "agentDevice": "desktop",
                "agentOs": "Linux",
                "phrase": "Brave Falcon",
                "redirect": html.escape(link),
            }
            body = _mustache(inner, values)
            document = _mustache(
                base,
                {
                    "body": body,
                    "preview": words.get("preview", ""),
                    "previewWhitespace": "",
                    "heading": words.get("heading", words.get("subject", "")),
                    "accentColor": "#fd366e",
                    "logoUrl": "https://cloud.appwrite.io/images/mails/logo.png",
                    "platform": "Appwrite",
                    "twitter": "https://twitter.com/appwrite",
                    "discord": "https://appwrite.io/discord",
                    "github": "https://github.com/appwrite",
                    "terms": "https://appwrite.io/terms",
                    "privacy": "https://appwrite.io/privacy",
                    "year": "2025",
                    "direction": "ltr",
                    "project": "Todo",
                    "team": "Design",
                },
            )
            out.append(
                entry(
                    f"appwrite-{key}-{lang}",
                    repo="appwrite/appwrite",
                    path=f"{APPWRITE}templates/{inner_file} in email-base-styled.tpl + "
                    f"{APPWRITE}translations/{lang}.json",
                    kind=kind,
                    lang=lang,
                    subject=_mustache(words["subject"], values),
                    expected=link,
                    html_body=document,
                    layout=False,
                )
            )
    return out


# --- devise-i18n (Devise's mailer views, translated) ----------------------------------------

DEVISE = "app/views/devise/mailer/"
DEVISE_PLAN = {
    "confirmation_instructions": (
        "e-mail confirmation",
        "/users/confirmation?confirmation_token=",
        ["es", "fr", "ja", "zh-CN", "sv", "uk"],
    ),
    "reset_password_instructions": (
        "password reset",
        "/users/password/edit?reset_password_token=",
        ["de", "pt-BR", "ko", "nl", "ar", "cs"],
    ),
    "unlock_instructions": ("account unlock", "/users/unlock?unlock_token=", ["it", "pl", "tr"]),
}


def devise_entries() -> list[dict[str, Any]]:
    import yaml

    out = []
    for name, (kind, path, langs) in DEVISE_PLAN.items():
        view = git_show("tigrish/devise-i18n", f"{DEVISE}{name}.html.erb")
        for lang in langs:
            locale = yaml.safe_load(git_show("tigrish/devise-i18n", f"rails/locales/{lang}.yml"))
            words = locale[lang]["devise"]["mailer"][name]
            link = f"https://shop.example.com{path}{token(f'devise-{name}-{lang}', 20)}"
            body = view
            body = re.sub(
                r"<%= link_to t\('\.action'\), [^%]*%>",
                f'<a href="{html.escape(link)}">{html.escape(words["action"])}</a>',
                body,
            )
            body = re.sub(
                r"<%= t\('\.(\w+)'(?:, [^)]*)?\) %>",
                lambda m, words=words: html.escape(
                    words.get(m.group(1), "").replace("%{recipient}", "ann@example.com")
                ),
                body,
            )
            layout = name != "unlock_instructions"
            short = lang.split("-")[0].lower()
            document = (
                html_layout(
                    body,
                    host="shop.example.com",
                    lang=short if short in FOOTER_WORDS else "en",
                    subject=words["subject"],
                    seed=link,
                )
                if layout
                else body
            )
            out.append(
                entry(
                    f"devise-{name}-{lang}",
                    repo="tigrish/devise-i18n",
                    path=f"{DEVISE}{name}.html.erb + rails/locales/{lang}.yml",
                    kind=kind,
                    lang=lang,
                    subject=words["subject"],
                    expected=link,
                    html_body=document,
                    layout=layout,
                )
            )
    return out


# --- PocketBase (default auth mail templates; the token is in the URL's fragment) -----------

POCKETBASE = "core/collection_model_auth_templates.go"


def _go_string(code: str, placeholders: dict[str, str]) -> str:
    """A Go string expression of literals and constants (``"a" + Name + `b```), evaluated."""
    pieces = re.findall(r'`([^`]*)`|"([^"]*)"|(EmailPlaceholder\w+)', code)
    return "".join(a or b or placeholders[c] for a, b, c in pieces)


def pocketbase_entries() -> list[dict[str, Any]]:
    source = git_show("pocketbase/pocketbase", POCKETBASE)
    out = []
    for variable, kind in (
        ("defaultVerificationTemplate", "e-mail confirmation"),
        ("defaultResetPasswordTemplate", "password reset"),
        ("defaultConfirmEmailChangeTemplate", "e-mail confirmation"),
    ):
        block = source.split(f"var {variable} = EmailTemplate{{", 1)[1].split("\n}", 1)[0]
        jwt = "eyJhbGciOiJIUzI1NiJ9." + token(variable, 80) + "." + token(variable + "s", 43)
        placeholders = {
            "EmailPlaceholderAppName": "Acme",
            "EmailPlaceholderAppURL": "https://acme.example.com",
            "EmailPlaceholderToken": jwt,
        }
        subject_go, body_go = block.split("Body:", 1)

        subject = _go_string(subject_go.split("Subject:", 1)[1], placeholders)
        body = _go_string(body_go, placeholders)
        link = re.search(r'href="([^"]+)"', body).group(1)
        document = html_layout(
            body, host="acme.example.com", lang="en", subject=subject, seed=variable
        )
        out.append(
            entry(
                f"pocketbase-{variable}",
                repo="pocketbase/pocketbase",
                path=f"{POCKETBASE} ({variable})",
                kind=kind,
                lang="en",
                subject=subject,
                expected=link,
                html_body=document,
                layout=True,
            )
        )
    return out


# --- ZITADEL (its own message texts, in our layout: its MJML template is not reproduced) ----

ZITADEL_CACHE = Path(os.environ.get("LINK_CORPUS_CACHE", "/tmp/link-corpus-cache"))
ZITADEL_LINKS = {
    "InitCode": (
        "account setup",
        "/ui/login/user/init?userID={u}&loginname=ann&code={c}&orgID={o}&passwordset=false",
    ),
    "PasswordReset": ("password reset", "/ui/login/password/init?userID={u}&code={c}&orgID={o}"),
    "VerifyEmail": (
        "e-mail confirmation",
        "/ui/login/mail/verification?userID={u}&code={c}&orgID={o}",
    ),
    "PasswordlessRegistration": (
        "device registration",
        "/ui/login/login/passwordless/init?userID={u}&orgID={o}&codeID={i}&code={c}",
    ),
    "InviteUser": ("invitation", "/ui/v2/login/verify?userId={u}&code={c}&invite=true"),
}


def zitadel_entries() -> list[dict[str, Any]]:
    """The texts were read (``read_file``) from the repository at the commits named in the
    cache's ``_source`` into ``$LINK_CORPUS_CACHE/zitadel_i18n.json`` (not committed)."""
    texts = json.loads((ZITADEL_CACHE / "zitadel_i18n.json").read_text(encoding="utf-8"))
    out = []
    for lang, messages in texts.items():
        if lang.startswith("_"):
            continue
        for name, words in messages.items():
            kind, path = ZITADEL_LINKS[name]
            seed = f"zitadel-{name}-{lang}"
            link = "https://acme-x7k2p.zitadel.cloud" + path.format(
                u="283746562838469871",
                o="283746562838403335",
                i="283749126538463919",
                c=token(seed, 6).upper(),
            )
            values = {
                "FirstName": "Ann",
                "LastName": "Example",
                "DisplayName": "Ann Example",
                "PreferredLoginName": "ann@acme.example",
                "Code": token(seed, 6).upper(),
                "ApplicationName": "Acme",
            }
            filled = {key: html.unescape(_go_fields(text, values)) for key, text in words.items()}
            body = (
                f"<p>{html.escape(filled['Greeting'])}</p><p>{filled['Text']}</p>"
                f'<p><a href="{html.escape(link)}" style="background:#5469d4;color:#fff;'
                f'padding:12px 24px;border-radius:6px">{html.escape(filled["ButtonText"])}</a></p>'
            )
            document = html_layout(
                body,
                host="acme.example",
                lang=lang if lang in FOOTER_WORDS else "en",
                subject=filled["Subject"],
                seed=seed,
            )
            out.append(
                entry(
                    f"zitadel-{name}-{lang}",
                    repo="zitadel/zitadel",
                    path=f"internal/notification/static/i18n/{lang}.yaml ({name}; texts only, "
                    "layout ours)",
                    kind=kind,
                    lang=lang,
                    subject=filled["Subject"],
                    expected=link,
                    html_body=document,
                    layout=True,
                )
            )
    return out


def _go_fields(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{ ?\.(\w+) ?\}\}", lambda m: values.get(m.group(1), ""), text)


def main() -> None:
    corpus = flask_security_entries() + kratos_entries() + authelia_entries() + supabase_entries()
    corpus += appwrite_entries() + devise_entries() + pocketbase_entries() + zitadel_entries()
    OUT.write_text(json.dumps(corpus, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(corpus)} messages written to {OUT}")


if __name__ == "__main__":
    main()
