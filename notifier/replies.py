"""Understanding and answering what shoppers write to us over SMS and WhatsApp. Pure: no I/O.

:func:`understand` reads one message and says what the shopper wants: a keyword (opt out, opt
back in, help), a question about a parcel, or anything else (which goes to the shop's people).
The pattern tables below are data, in Indonesian and English, written for the way shoppers
really type: "paketnya udh sampe mana kak?", "dmn paket sy", "where's my order", a bare resi.
Messages about a problem with the goods (damaged, wrong item, refund, cancel) are never answered
by a bot: they go to a human even when they name a parcel.

The answer texts are short, GSM-7 only (no dashes, curly quotes or emoji, so an SMS stays one
encoding) and in the empathetic tone Indonesian shoppers expect ("Mohon maaf atas
ketidaknyamanannya" rather than a policy reference). Merchants may replace the default and
out-of-hours replies in their settings (``replies.default``, ``replies.out_of_hours``, each a
text or ``{"id": ..., "en": ...}``, with ``{shop}``, ``{hours}`` and ``{cs}`` placeholders).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from notifier import formatting
from notifier.hours import describe_hours, is_open

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


# --- Answers ---------------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "opt_out": "Baik, Kak. Anda tidak akan menerima pesan {channel} dari {shop} lagi. "
        "Jika berubah pikiran, balas MULAI kapan saja.",
        "cancel": " Ingin membatalkan pesanan? Hubungi CS kami{cs}.",
        "opt_in": "Terima kasih, Kak! Anda akan kembali menerima kabar pengiriman lewat {channel} "
        "dari {shop}. Balas BERHENTI kapan saja untuk berhenti.",
        "help": "{shop}: kabar pengiriman pesanan Anda. Balas CEK RESI untuk status paket "
        "terbaru, atau BERHENTI untuk berhenti menerima pesan.{cs_line}",
        "cs_line": " Butuh bantuan? Hubungi CS kami{cs}.",
        "default": "Terima kasih sudah menghubungi {shop}, Kak. Pesan Anda sudah kami terima dan "
        "akan segera dibalas oleh tim kami. Untuk cek status paket kapan saja, balas CEK RESI.",
        "out_of_hours": "Terima kasih sudah menghubungi {shop}, Kak. Saat ini kami sedang di luar "
        "jam operasional ({hours}). Pesan Anda sudah kami catat dan akan kami balas secepatnya di "
        "jam kerja berikutnya. Mohon maaf membuat Anda menunggu. Untuk cek status paket kapan "
        "saja, balas CEK RESI.",
        "chat_cs": " Untuk bantuan langsung, chat CS kami di {cs_link}",
        "hello": "Halo Kak {name}, ini kabar pesanan {order} dari {shop}:",
        "hello_anon": "Halo Kak, ini kabar pesanan {order} dari {shop}:",
        "status": "Status: {status}",
        "status_done": "Status: {status} ({when})",
        "carrier": "Kurir: {carrier}, resi {number}",
        "eta": "Perkiraan tiba: {eta}",
        "last": "Update terakhir ({when}): {event}",
        "link": "Lacak paket: {url}",
        "sorry": "Mohon maaf atas ketidaknyamanannya, Kak. Kami ikut memantau paket ini dan akan "
        "segera mengabari Anda begitu ada perkembangan.",
        "others": "Ada {count} pesanan lain atas nomor ini; balas dengan nomor resi atau nomor "
        "pesanan untuk mengecek yang lain.",
        "preparing": "Halo Kak{name_sp}, pesanan {order} dari {shop} sudah kami terima dan sedang "
        "kami siapkan. Nomor resi akan kami kirimkan begitu paket diserahkan ke kurir.",
        "not_found": "Maaf, Kak, kami belum menemukan pesanan untuk nomor ini. Balas dengan "
        "nomor pesanan atau nomor resi Anda, ya.",
        "us": "kami",
    },
    "en": {
        "opt_out": "Done: you will not receive any more {channel} messages from {shop}. "
        "Changed your mind? Reply START at any time.",
        "cancel": " Want to cancel an order? Contact our customer service{cs}.",
        "opt_in": "Welcome back! You will receive shipping updates by {channel} from {shop} "
        "again. Reply STOP at any time to opt out.",
        "help": "{shop}: shipping updates for your orders. Reply STATUS for your latest parcel, "
        "or STOP to opt out.{cs_line}",
        "cs_line": " Need help? Contact our customer service{cs}.",
        "default": "Thanks for contacting {shop}. We have received your message and our team "
        "will reply soon. To check your parcel at any time, reply STATUS.",
        "out_of_hours": "Thanks for contacting {shop}. We are outside our opening hours right "
        "now ({hours}). We have noted your message and will reply as soon as we are back. "
        "Sorry to keep you waiting. To check your parcel at any time, reply STATUS.",
        "chat_cs": " For direct help, chat with our customer service at {cs_link}",
        "hello": "Hi {name}, here is the latest on your order {order} from {shop}:",
        "hello_anon": "Hi, here is the latest on your order {order} from {shop}:",
        "status": "Status: {status}",
        "status_done": "Status: {status} ({when})",
        "carrier": "Carrier: {carrier}, tracking number {number}",
        "eta": "Estimated delivery: {eta}",
        "last": "Latest update ({when}): {event}",
        "link": "Track your parcel: {url}",
        "sorry": "We are sorry for the inconvenience. We are keeping an eye on this parcel and "
        "will update you as soon as anything changes.",
        "others": "There are {count} other orders for this number; reply with a tracking or "
        "order number to check another one.",
        "preparing": "Hi{name_sp}, we have your order {order} from {shop} and are getting it "
        "ready. We will send you the tracking number as soon as the parcel is handed to the "
        "carrier.",
        "not_found": "Sorry, we could not find an order for this number. Please reply with your "
        "order or tracking number.",
        "us": "us",
    },
}
CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "email": "email"}
# Statuses (and an open delay) that deserve an apology, not just a label.
TROUBLE = frozenset({"failed_attempt", "exception", "returned_to_sender", "expired"})


@dataclass(frozen=True, slots=True)
class Shop:
    """The merchant as replies need it: name, language, zone and its own settings."""

    name: str
    locale: str
    timezone: str
    settings: Mapping[str, Any]

    @property
    def brand(self) -> Mapping[str, Any]:
        return self.settings.get("brand") or {}

    def contact(self) -> str:
        """ " di https://wa.me/62..." or " di halo@toko.example" (or "" without one)."""
        if self.brand.get("cs_whatsapp"):
            return f": {formatting.wa_link(self.brand['cs_whatsapp'])}"
        if self.brand.get("cs_email"):
            return f": {self.brand['cs_email']}"
        return ""


@dataclass(frozen=True, slots=True)
class Parcel:
    """One order of the shopper and its parcel (``status`` None: no parcel yet)."""

    order_number: str
    status: str | None = None
    carrier_name: str | None = None
    tracking_number: str | None = None
    eta: date | None = None
    delivered_at: datetime | None = None
    delay_open: bool = False
    tracking_url: str | None = None
    last_event_at: datetime | None = None
    last_event: str | None = None  # description, location

    def numbers(self) -> set[str]:
        return {canonical(n) for n in (self.order_number, self.tracking_number) if n}


def pick_parcel(parcels: Sequence[Parcel], references: Sequence[str]) -> Parcel | None:
    """The parcel a message names, else the newest (``parcels`` come newest first)."""
    for parcel in parcels:
        if parcel.numbers() & set(references):
            return parcel
    return parcels[0] if parcels else None


def keyword_reply(u: Understanding, locale: str, channel: str, shop: Shop | None) -> str:
    """The confirmation of an opt-out or opt-in, or the help text."""
    t = TEXTS[locale]
    values = {
        "channel": CHANNEL_NAMES.get(channel, channel),
        "shop": shop.name if shop else t["us"],
        "cs": shop.contact() if shop else "",
    }
    if u.intent is Intent.HELP:
        values["cs_line"] = t["cs_line"].format(**values) if values["cs"] else ""
        return t["help"].format(**values)
    text = t[u.intent.value].format(**values)
    if u.intent is Intent.OPT_OUT and u.keyword == "CANCEL" and values["cs"]:
        text += t["cancel"].format(**values)
    return text


def status_reply(
    parcel: Parcel | None,
    *,
    locale: str,
    tz: str,
    shop: Shop | None,
    first_name: str = "",
    others: int = 0,
    compact: bool = False,
) -> str:
    """The parcel's status, ETA and tracking link; ``compact`` (SMS) leaves out the latest scan
    and the hint about other orders to save segments."""
    t = TEXTS[locale]
    if parcel is None or shop is None:
        return t["not_found"]
    values = {"name": first_name, "order": parcel.order_number, "shop": shop.name}
    if parcel.status is None:
        return t["preparing"].format(name_sp=f" {first_name}" if first_name else "", **values)
    lines = [t["hello" if first_name else "hello_anon"].format(**values)]
    label = formatting.status_label(parcel.status, locale)
    if parcel.status == "delivered" and parcel.delivered_at:
        when = formatting.format_datetime(parcel.delivered_at, locale, tz)
        lines.append(t["status_done"].format(status=label, when=when))
    else:
        lines.append(t["status"].format(status=label))
    if parcel.tracking_number:
        lines.append(
            t["carrier"].format(carrier=parcel.carrier_name, number=parcel.tracking_number)
        )
    if parcel.eta and parcel.status != "delivered":
        lines.append(t["eta"].format(eta=formatting.format_date(parcel.eta, locale)))
    if parcel.last_event and parcel.last_event_at and not compact:
        when = formatting.format_datetime(parcel.last_event_at, locale, tz)
        lines.append(t["last"].format(when=when, event=parcel.last_event))
    if parcel.status in TROUBLE or (parcel.delay_open and parcel.status != "delivered"):
        lines.append(t["sorry"])
    if parcel.tracking_url:
        lines.append(t["link"].format(url=parcel.tracking_url))
    if others and not compact:
        lines.append(t["others"].format(count=others))
    return "\n".join(lines)


def default_reply(shop: Shop, locale: str, now: datetime, *, forwarded: bool) -> str:
    """The shop's answer to anything else: its out-of-hours text outside its opening hours,
    else its default text: the merchant's own (one text, or per language), else ours. Without
    a forward to a person, our default points the shopper to the shop's CS WhatsApp."""
    hours = shop.settings.get("opening_hours") or None
    closed = hours is not None and not is_open(hours, now, shop.timezone)
    kind = "out_of_hours" if closed else "default"
    own = (shop.settings.get("replies") or {}).get(kind)
    if isinstance(own, Mapping):  # per language: a language it lacks gets our text
        own = own.get(locale)
    values = {
        "shop": shop.name,
        "hours": describe_hours(hours, locale) if hours else "",
        "cs": shop.contact(),
    }
    if own:
        return _fill(str(own), values)
    text = TEXTS[locale][kind].format(**values)
    cs_whatsapp = shop.brand.get("cs_whatsapp")
    if not forwarded and cs_whatsapp:
        text += TEXTS[locale]["chat_cs"].format(cs_link=formatting.wa_link(cs_whatsapp))
    return text


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{shop}``-style placeholders we know; leave any other braces as written."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


# --- Forwarding to the shop's people --------------------------------------------------------

FINAL = frozenset({"delivered", "returned_to_sender", "expired"})
"""Parcel statuses with nothing more to come (not counted as "other orders" to check)."""

FORWARD: dict[str, dict[str, str]] = {
    "id": {
        "subject": "Pesan {channel} dari pembeli: {who}",
        "intro": "Pesan baru dari pembeli lewat {channel}, diterima {when}{closed}.",
        "closed": " (di luar jam operasional)",
        "from": "Dari: {who}",
        "reply_whatsapp": "Balas lewat WhatsApp: {link}",
        "reply_sms": "Balas lewat SMS atau telepon: {phone}",
        "message": "Pesan:",
        "empty": "(tanpa teks, mungkin gambar atau lampiran)",
        "parcel": "Pesanan terakhirnya di toko Anda: {order}{shipment}",
        "shipment": ", {carrier} resi {number}, status: {status}. Lacak: {url}",
        "footer": "Diteruskan otomatis oleh shipment-notifier; mohon balas langsung ke pembeli.",
    },
    "en": {
        "subject": "{channel} message from a shopper: {who}",
        "intro": "A shopper wrote to you on {channel}, received {when}{closed}.",
        "closed": " (outside opening hours)",
        "from": "From: {who}",
        "reply_whatsapp": "Reply on WhatsApp: {link}",
        "reply_sms": "Reply by SMS or call: {phone}",
        "message": "Message:",
        "empty": "(no text; perhaps a picture or an attachment)",
        "parcel": "Their latest order with your shop: {order}{shipment}",
        "shipment": ", {carrier} tracking number {number}, status: {status}. Track: {url}",
        "footer": "Forwarded by shipment-notifier; please answer the shopper directly.",
    },
}


def forward_text(
    *,
    shop: Shop,
    channel: str,
    phone: str,
    name: str,
    body: str,
    received_at: datetime,
    parcel: Parcel | None,
) -> tuple[str, str]:
    """Subject and text of the email that hands a shopper's message to the shop's CS, in the
    shop's language: who wrote (with a wa.me link to answer), when, what, and their latest
    order."""
    locale = reply_locale(shop.locale)
    t, channel_name = FORWARD[locale], CHANNEL_NAMES.get(channel, channel)
    number = formatting.format_phone(phone) if phone.startswith("+") else phone
    who = f"{name} ({number})" if name else number
    closed = not is_open(shop.settings.get("opening_hours") or None, received_at, shop.timezone)
    when = formatting.format_datetime(received_at, locale, shop.timezone)
    lines = [
        t["intro"].format(channel=channel_name, when=when, closed=t["closed"] if closed else ""),
        "",
        t["from"].format(who=who),
        t["reply_whatsapp"].format(link=formatting.wa_link(phone))
        if channel == "whatsapp" and phone.startswith("+")
        else t["reply_sms"].format(phone=number),
        "",
        t["message"],
        *(f"> {line}" for line in (body.strip() or t["empty"]).splitlines()),
    ]
    if parcel is not None:
        shipment = ""
        if parcel.status is not None:
            shipment = t["shipment"].format(
                carrier=parcel.carrier_name,
                number=parcel.tracking_number,
                status=formatting.status_label(parcel.status, locale),
                url=parcel.tracking_url,
            )
        lines += ["", t["parcel"].format(order=parcel.order_number, shipment=shipment)]
    lines += ["", t["footer"]]
    return t["subject"].format(channel=channel_name, who=who), "\n".join(lines)
