# ruff: noqa: RUF001, RUF003  (Turkish and CJK code words on purpose)
"""The words around a number that say whether it is an MFA code (English, German, French,
Spanish, Portuguese, Italian, Dutch, Polish, Russian, Ukrainian, Turkish, Arabic; Japanese,
Chinese and Korean by substring, as those scripts do not separate words with spaces).

Words are looked up in sets rather than matched by one large case-insensitive regex: such a
regex tries every alternative at every position and cost ~100 µs per 120-character window,
while a lookup per word costs well under a microsecond. Words arrive lower-cased, stripped of
surrounding punctuation; ``previous`` is the word before it, for two-word labels ("sign in",
"promo code", "order number", "ending in").
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Label", "classify", "label_token", "word_of"]


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


class Label(Enum):
    NONE = 0
    STRONG = 1
    """A code word: "code", "OTP", "PIN", "Bestätigungscode", "código", "one-time"."""
    WEAK = 2
    """A word that often labels a code: "verification", "sécurité", "login", "senha"."""
    ANTI = 3
    """Labels a number that is not a code: "order", "Ref", "Tel", "promo code", "Rechnung"."""
    ANTI_NEAR = 4
    """Not a code only right before the number: "Account: 123456", "No. 123456"."""


_STRONG = _set(
    "code codes passcode otp totp pin tan mtan smstan pushtan 2fa mfa one-time onetime "
    "einmalcode einmal-code einmalpasswort einmalkennwort einmal-pin two-factor 2-step "
    "two-step zwei-faktor código códigos codigo codigos "
    # it, nl, pl, ru, uk, tr, ar
    "codice codici inlogcode kod kodu kodem kody kodów kodzie код кода коду кодом коды "
    "пин-код kodu kodunuz kodunuzu kodun kodunu şifreniz tek-kullanımlık رمز الرمز رمزك "
    "كود الكود الرمزي"
)
_STRONG_PAIRS = frozenset(
    [
        ("one", "time"),
        ("two", "factor"),
        ("usage", "unique"),
        ("uso", "único"),
        ("uso", "unico"),
        ("solo", "uso"),
        ("único", "uso"),
        ("usa", "e"),
        ("una", "tantum"),
        ("jednorazowy", "kod"),
        ("одноразовый", "пароль"),
        ("tek", "kullanımlık"),
    ]
)
_WEAK = _set(
    "verification verify verifizierung vérification verificación verificacion verificação "
    "verificacao confirmation confirmación confirmação bestätigung security sicherheit "
    "sécurité seguridad segurança seguranca login log-in sign-in signin anmeldung connexion "
    "sesión sessão acesso acceso authentication authentifizierung authentification "
    "autenticación autenticação password passwort kennwort passe senha contraseña clave "
    "token verifica accesso autenticazione sicurezza verificatie inloggen aanmelden "
    "beveiliging weryfikacyjny logowania uwierzytelniania bezpieczeństwa "
    "подтверждения проверки входа аутентификации безопасности підтвердження "
    "doğrulama giriş güvenlik التحقق تحقق الدخول"
)
_WEAK_PREFIXES = (
    "verif",
    "vérif",
    "bestätig",
    "authenti",
    "autenti",
    "sicherheit",
    "anmeld",
    "weryfik",
    "uwierzyteln",
    "подтвержд",
    "аутентиф",
    "doğrula",
)
# Japanese, Chinese, Korean: a code word anywhere inside a token ("認証コードは", "验证码：").
_CJK_STRONG = (
    "コード",
    "パスコード",
    "ワンタイム",
    "確認番号",
    "認証番号",
    "暗証番号",
    "验证码",
    "驗證碼",
    "校验码",
    "动态码",
    "代码",
    "代碼",
    "密码",
    "口令",
    "코드",
    "인증번호",
    "인증 번호",
    "otp",
)
_CJK_WEAK = (
    "認証",
    "確認",
    "トークン",
    "ログイン",
    "验证",
    "驗證",
    "登录",
    "登入",
    "인증",
    "로그인",
    "확인",
)
_WEAK_PAIRS = frozenset([("sign", "in"), ("log", "in")])
_ANTI = _set(
    # Orders, tickets, references, invoices, bookings, parcels.
    "order orders ordine ticket ref reference invoice booking reservation receipt tracking "
    "shipment parcel claim sku serial iban bic swift id ids cep plz postleitzahl bestellung "
    "auftrag rechnung vorgang referenz aktenzeichen buchung sendung commande facture "
    "référence reference réf dossier colis pedido factura fatura referencia referência "
    "protocolo encomenda reserva "
    # Telephones.
    "tel phone telephone call fax hotline mobile cell telefon téléphone tél teléfono llame "
    "telefone ligue whatsapp "
    # Codes that are not MFA codes: promo, postal, error, tracking.
    "promo discount coupon voucher gift referral invitation zip postal postcode zipcode area "
    "country error status product qr barcode color colour hex tax promocional promotionnel "
    "réduction descuento desconto cupón cupom rastreo rastreamento seguimiento suivi barras "
    "erro erreur gutschein rabatt fehler "
    # it, nl, pl, ru, tr, ar, ja, zh, ko: orders, invoices, telephones.
    "ordine fattura telefono bestelling factuur telefoon zamówienie zamówienia faktura "
    "заказ заказа счёт счет телефон sipariş siparişi fatura telefon الطلب طلب هاتف "
    "注文 注文番号 订单 訂單 电话 電話 주문 전화"
)
# German compounds: "Bestellnummer", "Gutscheincode", "Kundenkonto", "Telefonnummer".
_ANTI_PREFIXES = (
    "bestell",
    "auftrag",
    "rechnung",
    "vorgang",
    "referenz",
    "buchung",
    "sendung",
    "kunden",
    "gutschein",
    "rabatt",
    "fehler",
    "aktions",
    "telefon",
    "mitglied",
    "promo",
    "post",
)
_ANTI_SUFFIXES = ("nummer",)
_CODE_MODIFIERS = _set(
    "promo discount coupon voucher gift referral invitation zip postal post area country "
    "error status tracking product qr bar color colour hex tax swift sort reference ref source "
    "html"
)
_ANTI_NEAR = _set(
    "account acct compte cuenta conta konto customer client cliente kunde member case card "
    "no nr n nº n° número numero numéro number nummer numer номер numarası numara رقم"
)
# "<first> <word>": the pair labels something that is not a code.
_ANTI_PAIRS = frozenset(
    [(first, "number") for first in ("account", "customer", "member", "case", "card")]
    + [(first, "confirmation") for first in ("booking", "order", "reservation")]
    + [("ending", "in"), ("ending", "with"), ("endet", "auf"), ("terminant", "par")]
    + [(first, "en") for first in ("terminada", "terminado", "terminando")]
    + [(first, "em") for first in ("terminada", "terminado", "terminando")]
)


def classify(word: str, previous: str = "") -> Label:
    """What ``word`` (lower case, no surrounding punctuation) says about the number after it."""
    if word and not word.isascii() and _has_cjk(word):
        return _classify_cjk(word)
    pair = (previous, word)
    if pair in _ANTI_PAIRS:
        return Label.ANTI
    if word in _STRONG or pair in _STRONG_PAIRS:
        # "promo code", "zip code", "QR code": the first word decides.
        return Label.ANTI if previous in _CODE_MODIFIERS else Label.STRONG
    if word in _ANTI:
        return Label.ANTI
    if word.startswith(_ANTI_PREFIXES) or word.endswith(_ANTI_SUFFIXES):
        return Label.ANTI
    if word.endswith(("code", "codes", "kod", "kodu", "код", "кода")) or word.startswith(
        ("einmal", "codice", "kodu", "kod-")
    ):
        return Label.STRONG  # Sicherheitscode, Zugangscode, Einmalpasswort
    if word in _WEAK or pair in _WEAK_PAIRS or word.startswith(_WEAK_PREFIXES):
        return Label.WEAK
    if word in _ANTI_NEAR:
        return Label.ANTI_NEAR
    return Label.NONE


def _has_cjk(word: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in word)


def _classify_cjk(word: str) -> Label:
    if any(key in word for key in _CJK_STRONG):
        return Label.STRONG
    if any(key in word for key in _CJK_WEAK):
        return Label.WEAK
    return Label.NONE


_PUNCTUATION = ".,:;!?()[]{}<>\"'«»“”\u2018\u2019*#|=°/-"
# Labels written with a full stop that does not end the sentence: "Ref. 123", "Tel. 030 ...".
_ABBREVIATIONS = _set("ref réf no nr n nº n° tel tél fax acct inv")


def word_of(token: str) -> str:
    """A whitespace-separated token without its surrounding punctuation: ``"(code):"`` -> code."""
    return token.strip(_PUNCTUATION)


def label_token(token: str, previous: str = "") -> Label:
    """:func:`classify` for raw lower-case tokens: "order." ends a sentence, "Nr." does not."""
    word = word_of(token)
    if previous and _ends_sentence(previous, word_of(previous)):
        previous = ""  # "Source. Code 123456": no "source code" across two sentences
    label = classify(word, word_of(previous))
    if label in (Label.ANTI, Label.ANTI_NEAR) and _ends_sentence(token, word):
        return Label.NONE  # "... your order. 123456 is your code"
    return label


def _ends_sentence(token: str, word: str) -> bool:
    abbreviation = word in _ABBREVIATIONS or word.rsplit("-", 1)[-1] in _ABBREVIATIONS
    return token.rstrip(")\"'»”").endswith(".") and not abbreviation
