"""Understanding what shoppers write to us over SMS and WhatsApp. Pure: no I/O.

:func:`understand` reads one message and says what the shopper wants: a keyword (opt out, opt
back in, help), a question about a parcel, or anything else (which goes to the shop's people).
The pattern tables below are data, in Indonesian and English, written for the way shoppers
really type: "paketnya udh sampe mana kak?", "dmn paket sy", "where's my order", a bare resi.
Messages about a problem with the goods (damaged, wrong item, refund, cancel) are never answered
by a bot: they go to a human even when they name a parcel. :func:`reply_locale` picks the
language to answer in; the answers themselves are in :mod:`notifier.answers`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

LANGUAGES = ("id", "en")


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    STATUS = "status"  # a question about a parcel: answered at once with its status
    OTHER = "other"  # anything else: the shop's reply, and a human reads it


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- Keywords: the whole message, case and spaces ignored -----------------------------------

KEYWORDS: dict[str, tuple[Intent, str | None]] = {
    # Twilio's own opt-out words on long codes (it blocks the number itself on SMS), plus the
    # Indonesian ones for WhatsApp, where nobody filters them for us.
    "STOP": (Intent.OPT_OUT, None),
    "STOPALL": (Intent.OPT_OUT, None),
    "UNSUBSCRIBE": (Intent.OPT_OUT, "en"),
    "CANCEL": (Intent.OPT_OUT, None),
    "END": (Intent.OPT_OUT, "en"),
    "QUIT": (Intent.OPT_OUT, "en"),
    "REVOKE": (Intent.OPT_OUT, "en"),
    "OPTOUT": (Intent.OPT_OUT, "en"),
    "BERHENTI": (Intent.OPT_OUT, "id"),
    "BERHENTILANGGANAN": (Intent.OPT_OUT, "id"),
    "START": (Intent.OPT_IN, None),
    "UNSTOP": (Intent.OPT_IN, "en"),
    "MULAI": (Intent.OPT_IN, "id"),
    "HELP": (Intent.HELP, "en"),
    "INFO": (Intent.HELP, None),
    "BANTUAN": (Intent.HELP, "id"),
}
"""Keyword -> (intent, language it reveals). "STOP ALL" and "stop." match STOPALL and STOP."""

# Twilio Advanced Opt-Out tells us what it decided (custom keywords, "YES"...): we follow it.
OPT_OUT_TYPES = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}

# --- Questions about a parcel ---------------------------------------------------------------

# Chat spellings -> one word, applied per token after lower-casing.
SLANG = {
    "sy": "saya", "aku": "saya", "ak": "saya", "gw": "saya", "gue": "saya", "q": "saya",
    "dmn": "dimana", "dmana": "dimana", "dimn": "dimana", "mn": "mana",
    "udh": "sudah", "udah": "sudah", "sdh": "sudah", "dah": "sudah", "uda": "sudah",
    "blm": "belum", "blom": "belum", "belom": "belum", "lom": "belum",
    "sampe": "sampai", "nyampe": "sampai", "nyampai": "sampai", "smp": "sampai", "sampek": "sampai",
    "brg": "barang", "pkt": "paket", "kpn": "kapan", "gmn": "gimana", "bagaimana": "gimana",
    "pesenan": "pesanan", "psnan": "pesanan", "orderan": "order", "dkirim": "dikirim",
    "dikirimkan": "dikirim", "nomer": "nomor", "kak": "kak", "ka": "kak", "kk": "kak",
    "wheres": "where is", "whats": "what is", "havent": "have not", "hasnt": "has not",
    "didnt": "did not", "isnt": "is not", "wont": "will not", "pls": "please", "plz": "please",
}  # fmt: skip
_NOUNS_ID = "paket|pesanan|barang|kiriman|order|pengiriman|resi"
_SLOW = "lama|lambat|telat|terlambat"
_NOUNS_EN = "order|parcel|package|delivery|shipment|item|items|stuff"
_OWNED = re.compile(rf"^({_NOUNS_ID})(nya|ku|mu|kah)$")  # "paketnya", "pesananku" -> the noun

STATUS_PATTERNS: tuple[tuple[str, str | None], ...] = (
    # (regex over the normalized text, the language it reveals)
    (r"\bcek (resi|paket|pesanan|order|status|kiriman|barang|pengiriman)\b", "id"),
    (r"\b(lacak|melacak)\b", "id"),
    (r"\bresi\b", "id"),
    (rf"\b({_NOUNS_ID})\b.*\b(dimana|mana|posisi|status|kapan|gimana|belum|{_SLOW})\b", "id"),
    (rf"\b(dimana|posisi|status|kapan|{_SLOW})\b.*\b({_NOUNS_ID})\b", "id"),
    (r"\bsampai mana\b", "id"),
    (r"\bkapan (sampai|tiba|datang|dikirim|diantar|diterima)\b", "id"),
    (r"\bbelum (sampai|datang|diterima|terima|dikirim|tiba|diantar)\b", "id"),
    (r"\b(dikirim|sampai|datang|diantar) belum\b", "id"),
    (r"\b(estimasi|perkiraan) (sampai|tiba|pengiriman|datang)\b", "id"),
    (r"^(cek )?status( (saya|nya|please))?$", None),
    (r"\b(tracking|track)\b", None),
    (rf"\bwhere (is|are)? ?(my|the|our) ({_NOUNS_EN})s?\b", "en"),
    (rf"\b({_NOUNS_EN}|shipping|tracking) (status|update|updates|info)\b", "en"),
    (r"\bwhen (will|does|is|do|would|can|should)\b.*\b(arrive|come|be delivered|deliver|ship|"
     r"shipped|get here|reach|be here)\b", "en"),
    (r"\b(not|never|not yet) (arrived|received|come|got|gotten|delivered|here)\b", "en"),
    (rf"\b({_NOUNS_EN})\b.*\b(late|delayed|stuck|taking so long|taking too long)\b", "en"),
    (r"\beta\b", "en"),
    (rf"\bany (update|updates|news) (on|about) (my|the) ({_NOUNS_EN})\b", "en"),
)  # fmt: skip
# These read as a status question only when asked ("sudah dikirim?"), not when told
# ("sudah sampai, makasih").
STATUS_QUESTIONS: tuple[tuple[str, str | None], ...] = (
    (r"\b(sudah|apa|apakah) (dikirim|sampai|diantar|datang)\b", "id"),
    (r"\b(has|have|was|is) (my |the |it |our )?(order |parcel |package |it )?(been )?(shipped|"
     r"sent|dispatched|delivered|arrived)\b", "en"),
)  # fmt: skip
_STATUS = tuple((re.compile(rx), lang) for rx, lang in STATUS_PATTERNS)
_ASKED = tuple((re.compile(rx), lang) for rx, lang in STATUS_QUESTIONS)

# A problem with the goods or the money needs a person, even if a parcel is named.
PROBLEM_WORDS = re.compile(
    r"\b(rusak|pecah|cacat|penyok|basah|sobek|robek|salah|kurang|hilang|retur|refund|tukar|"
    r"komplain|komplen|kecewa|batal|batalkan|ganti rugi|uang kembali|dana kembali|return|"
    r"returned|exchange|damaged|broken|wrong|missing|lost|complain|complaint|cancel|cancelled)\b"
)
# A message that is only an order/tracking number plus these words is a status question.
FILLER = _wordset(
    "cek resi no nomor order pesanan paket kiriman barang status lacak tracking track kak min "
    "admin gan sis pak bu tolong mohon please ini itu saya my the is for of check invoice inv "
    "halo hai hi hello ya dong ok nya untuk dengan number"
)
# Words that tell the language (ambiguous ones such as "order", "status", "ok" are left out).
MARKERS = {
    "id": _wordset(
        "saya kak kakak min paket pesanan barang kiriman resi dimana mana sudah belum kapan "
        "sampai apa tolong mohon terima kasih makasih ya yang dan tidak gak nggak ga bisa mau "
        "dong halo selamat pagi siang sore malam cek lacak gimana ada ini itu dikirim tiba "
        "datang berhenti mulai bantuan"
    ),
    "en": _wordset(
        "my where is are when will arrive the please thanks thank you hello hi has have been "
        "shipped not yet what can delivered package parcel did does it i we our stop help"
    ),
}
# Order and tracking numbers: 4+ characters with 3+ digits ("JP1234567890", "INV/2026/001").
_REFERENCE = re.compile(r"#?\b[A-Za-z0-9][A-Za-z0-9/\-.]{3,39}")


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message asks for, the language it is in (None when it does not say), the keyword
    that matched and any order/tracking numbers it contains (canonical, see :func:`canonical`)."""

    intent: Intent
    language: str | None = None
    keyword: str | None = None
    references: tuple[str, ...] = ()


def canonical(number: str) -> str:
    """An order or tracking number for comparison: upper case, no spaces or leading '#'."""
    return re.sub(r"\s+", "", number).upper().lstrip("#").rstrip(".-/")


def understand(text: str, *, opt_out_type: str | None = None) -> Understanding:
    """What the shopper wants. ``opt_out_type`` is Twilio's Advanced Opt-Out verdict, if any."""
    keyword = re.sub(r"[\s.!,]+", "", text).upper()
    if opt_out_type and opt_out_type.upper() in OPT_OUT_TYPES:
        lang = KEYWORDS.get(keyword, (None, None))[1]
        return Understanding(OPT_OUT_TYPES[opt_out_type.upper()], lang, keyword or None)
    if keyword in KEYWORDS:
        intent, lang = KEYWORDS[keyword]
        return Understanding(intent, lang, keyword)
    refs: list[str] = []
    rest = _REFERENCE.sub(lambda m: _take_reference(m.group(0), refs), text)
    words = normalize(rest)
    language = _language(words)
    if PROBLEM_WORDS.search(words):
        return Understanding(Intent.OTHER, language, references=tuple(refs))
    patterns = _STATUS + _ASKED if "?" in text else _STATUS
    for pattern, lang in patterns:
        if pattern.search(words):
            return Understanding(Intent.STATUS, language or lang, references=tuple(refs))
    if refs and set(words.split()) <= FILLER:
        return Understanding(Intent.STATUS, language, references=tuple(refs))
    return Understanding(Intent.OTHER, language, references=tuple(refs))


def _take_reference(token: str, refs: list[str]) -> str:
    number = canonical(token)
    if len(number) >= 4 and sum(ch.isdigit() for ch in number) >= 3:
        refs.append(number)
        return " "
    return token


def normalize(text: str) -> str:
    """Lower case, accents and punctuation gone, chat spellings and "-nya" nouns folded."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    plain = re.sub(r"['’`]", "", plain)
    plain = re.sub(r"[^a-z0-9]+", " ", plain)
    words = []
    for word in plain.split():
        owned = _OWNED.match(word)
        words.append(owned.group(1) if owned else SLANG.get(word, word))
    return re.sub(r"\bdi mana\b", "dimana", " ".join(words))


def _language(words: str) -> str | None:
    tokens = words.split()
    scores = {lang: sum(t in markers for t in tokens) for lang, markers in MARKERS.items()}
    if scores["id"] == scores["en"]:
        return None
    return "id" if scores["id"] > scores["en"] else "en"


def reply_locale(said: str | None, *preferred: str | None) -> str:
    """The language to answer in: the message's own, else the first known preference, else id."""
    for tag in (said, *preferred):
        lang = (tag or "").replace("_", "-").split("-")[0].lower()
        lang = "id" if lang == "in" else lang  # the legacy code for Indonesian
        if lang in LANGUAGES:
            return lang
    return "id"
