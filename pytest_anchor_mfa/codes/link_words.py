# ruff: noqa: RUF001 (words of other scripts, on purpose)
"""The words that tell the link a message asks the reader to open from the links around it.

``ACTION`` finds a call to act (verify, confirm, reset, sign in, approve...) in English,
German, French, Spanish, Portuguese, Italian, Dutch, Polish, Swedish, Turkish, Russian,
Japanese, Chinese and Korean; ``DECOY`` the links a mail carries besides (unsubscribe,
privacy, terms, help, "view in browser", preferences); ``SOCIAL`` the hosts of social
networks; ``URL_ACTION`` a URL path that names an action. Latin-script words are matched at
a word's start (stems: ``confirm`` covers confirm, confirmar, confirmez...), other scripts
anywhere. All patterns are alternations of literals (linear time) and match lower-case text:
callers lower the text first, which is several times faster than ``re.IGNORECASE``.
"""

from __future__ import annotations

import re

__all__ = ["ACTION", "DECOY", "DECOY_URL", "SOCIAL", "URL_ACTION"]

_LATIN_ACTIONS = (
    # verify / confirm / activate / validate
    r"verif|vérif|confirm|bestätig|bevestig|potwierd|bekräfta|doğrula|onayla|activ|aktivi"
    r"|ativ|attiv|activeer|aktywuj|validat|valider|validez|validar|convalid"
    # reset / recover / set a password
    r"|reset|zurücksetz|réinitialis|restablec|redefin|reimposta|herstel|opnieuw instellen"
    r"|zresetuj|återställ|sıfırla|recover|wiederherstell|récupér|recuper|choose a new"
    r"|set (?:a |your )?(?:new )?password|new password|neues passwort|nouveau mot de passe"
    r"|nueva contraseña|nova senha|nuova password|nieuw wachtwoord|nowe hasło"
    # sign in / log in / magic link
    r"|sign[ -]?in|log[ -]?in|logon|anmeld|einlogg|se connecter|connexion|connectez"
    r"|iniciar sesi|inicia sesi|inicie sesi|acceder|accede|entrar|accedi|inlogg|aanmeld"
    r"|zaloguj|logga in|giriş yap|magic[ -]link"
    # approve / authorize / accept / continue / click here
    r"|approv|genehmig|freigeb|aprob|aprov|approuv|goedkeur|zatwierd|authori[sz]|autori[sz]"
    r"|accept|akzeptier|aceptar|aceitar|join|beitreten|rejoindre|continu|fortfahren"
    r"|click here|click the (?:button|link)|klicken sie|hier klicken|cliquez|haz clic"
    r"|haga clic|clique aqui|clicca|klik hier|kliknij"
)
_OTHER_ACTIONS = (
    "подтверд|активир|сброс|восстанов|войти|вход|нажмите|確認|認証|有効|リセット|再設定"
    "|ログイン|サインイン|承認|验证|驗證|确认|激活|重置|登录|登入|批准|확인|인증|재설정|로그인"
)
ACTION = re.compile(rf"\b(?:{_LATIN_ACTIONS})|{_OTHER_ACTIONS}")
"""A call to act, in a link's text or the words before it."""

_LATIN_DECOYS = (
    r"unsubscri|abbestell|abmeld|désinscri|desinscri|désabonn|darse de baja|desuscrib"
    r"|cancelar (?:la )?suscrip|descadastr|disiscriv|annulla (?:l'|la )?iscri|afmeld"
    r"|uitschrijv|wypisz|avregistr|privacy|datenschutz|confidentialit|privacidad|privacidade"
    r"|riservatezza|privacybeleid|prywatno|terms|nutzungsbedingung|agb\b|conditions"
    r"|condiciones|termos|termini|voorwaarden|regulamin|impressum|imprint|legal notice"
    r"|mentions légales|aviso legal|help|hilfe|aide|ayuda|ajuda|aiuto|support|faq\b"
    r"|contact|kontakt|contacto|contato|contatt|view (?:this |it |the )?(?:e-?mail |message )?"
    r"(?:online|in (?:your |a |the )?(?:web )?browser)|web ?version|online[ -]version"
    r"|im browser|dans (?:votre|le) navigateur|en (?:tu|el|su) navegador|no navegador"
    r"|nel browser|in je browser|w przeglądarce|trouble viewing|preferences|einstellungen"
    r"|préférences"
    r"|preferencias|preferências|preferenze|voorkeuren|manage (?:your )?(?:notification"
    r"|e-?mail|subscription)|notification settings|follow us|folge uns|suivez-nous|síguenos"
    r"|siga-nos|seguici|volg ons|blog\b|careers?\b|jobs\b|download (?:the |our )?app"
    r"|app store|google play|revok|revoca|widerruf|révoqu|wasn't you|was not you"
    r"|didn't request|did not request|not initiate|report (?:this|it)"
)
_OTHER_DECOYS = (
    "в браузере|ブラウザで表示|在浏览器|отписат|配信停止|退订|退訂|구독 취소|수신거부"
    "|プライバシー|隐私|隱私|개인정보"
)
DECOY = re.compile(rf"\b(?:{_LATIN_DECOYS})|{_OTHER_DECOYS}")
"""A link that is not what the message asks for, by its text or the words right before it."""

DECOY_URL = re.compile(
    r"\b(?:unsubscri\w*|abmelden|optout|opt-out|opt_out|privacy|datenschutz|terms|legal"
    r"|impressum|tos|help|support|faq|contact|preferences|settings/notifications"
    r"|view-?in-?browser|webversion|web-version|newsletter|blog|careers|jobs|download"
    r"|app-?store|revoke)\b"
)
"""The same, seen in a URL's host or path (never its query: a token may hold anything)."""

SOCIAL = re.compile(
    r"(?:^|\.)(?:facebook\.com|fb\.com|twitter\.com|x\.com|linkedin\.com|instagram\.com"
    r"|youtube\.com|youtu\.be|tiktok\.com|pinterest\.com|discord\.gg|t\.me|threads\.net"
    r"|mastodon\.social|bsky\.app|vk\.com|weibo\.com|line\.me|apps\.apple\.com"
    r"|play\.google\.com|itunes\.apple\.com)\Z"
)
"""Hosts of social networks and app stores (the footer's icons)."""

URL_ACTION = re.compile(
    r"verif|confirm|activat|validat|reset|recover|password|passwd|magic|login|log-in|signin"
    r"|sign-in|sign_in|auth|approv|token|invit|accept|callback|action|ticket|key=|code="
)
"""A URL (path or query) that names what it does: ``/verify-email?token=...``."""
