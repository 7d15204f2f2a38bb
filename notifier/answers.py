"""What we write back about a shopper's message, in their language. Pure: no I/O.

The answers to the shopper (:func:`keyword_reply`, :func:`status_reply`, :func:`default_reply`)
and the email that hands their message to the shop's people (:func:`forward_text`), for what
:func:`notifier.replies.understand` made of it.

The answer texts are short, GSM-7 only (no dashes, curly quotes or emoji, so an SMS stays one
encoding) and in the empathetic tone Indonesian shoppers expect ("Mohon maaf atas
ketidaknyamanannya" rather than a policy reference). Merchants may replace the default and
out-of-hours replies in their settings (``replies.default``, ``replies.out_of_hours``, each a
text or ``{"id": ..., "en": ...}``, with ``{shop}``, ``{hours}`` and ``{cs}`` placeholders).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from notifier import formatting
from notifier.hours import describe_hours, is_open
from notifier.replies import Intent, Understanding, canonical, reply_locale

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
