"""What the shopper's pages show: the read model of the tracking page (and of the parcels an
order look-up lists, :mod:`notifier.web.lookup`).

:func:`load` reads one parcel with its order, shop, shopper and sibling parcels (one query) and
its events (a second); :func:`view` turns that into a :class:`TrackingView` with no I/O. The
view holds facts and codes; the wording (Indonesian, English) belongs to the pages.

Privacy: the view carries the shopper's FIRST name only, never the full name, phone, email or
address (the store keeps no address; the carrier's scan locations are shown as the carrier gave
them). Channels are named, not their addresses.

The merchant settings the pages read (``Merchant.settings``; every key optional, an invalid
value is ignored rather than breaking the page)::

    brand:
      name:         str   shown as the page's title (default: the merchant's account name)
      logo_url:     str   https:// image, shown at most 48 px high (the only remote asset)
      color:        str   "#RGB" or "#RRGGBB": header and progress colour; text on it is
                          black or white, whichever contrasts more
      cs_whatsapp:  str   E.164 ("+6281234567890"): the "Chat on WhatsApp" button
      cs_email:     str   a mailto: link
      website:      str   http(s):// link to the shop
    faq:               [{q: str, a: str, locale?: "id" | "en"}]  shipping/returns questions;
                       items with a locale show only in that language; at most FAQ_MAX_ITEMS,
                       q cut at FAQ_MAX_Q and a at FAQ_MAX_A characters; blank lines in ``a``
                       separate paragraphs
    return_policy_url: str   http(s):// link under the FAQ
    opening_hours:     {"mon-fri": "08:00-17:00", ...}  (see notifier.hours)  shown by the
                       WhatsApp button, with "closed now" outside them
    notify.channels, trigger_channels:  which channels the preferences list
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import phonenumbers
from sqlmodel import Session, col, select

from notifier.store.models import Merchant, Order, Recipient, Shipment, TrackingEvent

STEPS = ("ordered", "shipped", "in_transit", "out_for_delivery", "delivered")
# The step each normal status stands on (exception, expired, returned: see progress()).
STEP_OF = {
    "pending": 1,  # a tracking number exists: the shop has shipped, the carrier not scanned yet
    "info_received": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "failed_attempt": 3,
    "available_for_pickup": 3,
    "delivered": 4,
}
# Statuses that replace the label of the step they stand on, and how loudly.
TONES = {
    "failed_attempt": "alert",
    "exception": "alert",
    "returned_to_sender": "alert",
    "available_for_pickup": "info",
    "expired": "muted",
    "delivered": "ok",
}
FINAL = frozenset({"delivered", "returned_to_sender"})
# Caps that keep the page under 50 KB with every field at its cap (a test builds that page).
MAX_EVENTS = 30  # newest shown; the carrier's own page has the rest
EVENT_MAX_TEXT = 240  # characters of a scan's description (carriers write 30-120)
EVENT_MAX_PLACE = 80  # characters of a scan's location
MAX_PARCELS = 20  # sibling parcels listed
FAQ_MAX_ITEMS = 10
FAQ_MAX_Q = 160  # characters
FAQ_MAX_A = 800  # characters
FIRST_NAME_MAX = 40  # characters
WEB_SOURCES = frozenset({"tracking_page", "unsubscribe_link"})  # opt-outs the web may undo
CHANNELS = ("whatsapp", "sms", "email")  # the order the preferences list them in
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_PARAGRAPHS = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    logo_url: str | None = None
    color: str | None = None  # "#rrggbb"
    on_color: str = "#ffffff"  # text on the brand colour
    cs_whatsapp: str | None = None  # E.164
    cs_email: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class FaqItem:
    q: str
    a: tuple[str, ...]  # paragraphs


@dataclass(frozen=True, slots=True)
class Shop:
    brand: Brand
    faq: tuple[FaqItem, ...] = ()
    return_policy_url: str | None = None
    hours: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # one of STEPS
    state: str  # done, current, todo
    status: str | None = None  # the status shown instead of the step's own label
    tone: str = ""  # alert, info, muted, ok


@dataclass(frozen=True, slots=True)
class Event:
    time: datetime | None
    status: str
    description: str
    location: str | None


@dataclass(frozen=True, slots=True)
class Parcel:
    token: str
    carrier: str
    courier: str
    number: str
    status: str


@dataclass(frozen=True, slots=True)
class ChannelPref:
    channel: str
    on: bool
    can_turn_on: bool  # off by the shopper on the web; else a STOP keyword or the provider
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """A parcel as read by :func:`load`."""

    shipment: Shipment
    order: Order
    merchant: Merchant
    recipient: Recipient | None
    parcels: tuple[Parcel, ...]  # every parcel of the order, this one included
    events: tuple[TrackingEvent, ...]  # newest first


@dataclass(frozen=True, slots=True)
class TrackingView:
    """Everything the tracking page shows."""

    token: str
    shop: Shop
    first_name: str
    status: str
    steps: tuple[Step, ...]
    eta: date | None
    eta_passed: bool
    delayed: bool
    delivered_at: datetime | None
    carrier: str
    courier: str
    number: str
    order_number: str
    events: tuple[Event, ...]
    hidden_events: int
    parcels: tuple[Parcel, ...]  # the order's other parcels
    preferences: tuple[ChannelPref, ...]
    last_location: str | None


def load(session: Session, token: str) -> Found | None:
    """The parcel behind a tracking token, or None. Two queries: the order's parcels with the
    order, shop and shopper; then this parcel's events."""
    order_of = select(Shipment.order_id).where(Shipment.public_token == token).scalar_subquery()
    rows = session.exec(
        select(Shipment, Order, Merchant, Recipient)
        .join(Order, col(Shipment.order_id) == col(Order.id))
        .join(Merchant, col(Shipment.merchant_id) == col(Merchant.id))
        .outerjoin(Recipient, col(Order.recipient_id) == col(Recipient.id))
        .where(col(Shipment.order_id) == order_of)
        .order_by(col(Shipment.id))
        .limit(MAX_PARCELS + 1)
    ).all()
    mine = next((row for row in rows if row[0].public_token == token), None)
    if mine is None:
        return None
    shipment, order, merchant, recipient = mine
    events = session.exec(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(col(TrackingEvent.time).desc(), col(TrackingEvent.seq).desc())
        .limit(MAX_EVENTS + 200)  # enough to know how many are hidden without reading them all
    ).all()
    parcels = tuple(
        Parcel(s.public_token, s.carrier, s.courier, s.tracking_number, s.status) for s, *_ in rows
    )
    return Found(shipment, order, merchant, recipient, parcels, tuple(_newest_first(events)))


def _newest_first(events: Sequence[TrackingEvent]) -> list[TrackingEvent]:
    """By time, newest first; events without a time (rare) after the timed ones, in the
    carrier's order. Databases disagree on where NULLs sort, so this is done here."""
    timed = sorted(
        (e for e in events if e.time),
        key=lambda e: (e.time, e.seq, e.id or 0),
        reverse=True,
    )
    return timed + sorted((e for e in events if not e.time), key=lambda e: -e.seq)


def view(found: Found, channels: Sequence[str], today: date, locale: str) -> TrackingView:
    """The page's content. ``channels`` are the channels the shop sends on; ``today`` is the
    date in the shopper's zone (whether the ETA has passed); ``locale`` picks FAQ items."""
    sh, rec = found.shipment, found.recipient
    history = [e.status for e in found.events]
    shown = found.events[:MAX_EVENTS]
    final = sh.status in FINAL
    return TrackingView(
        token=sh.public_token,
        shop=read_shop(found.merchant.name, found.merchant.settings or {}, locale),
        first_name=first_name(rec.name if rec else ""),
        status=sh.status,
        steps=progress(sh.status, history),
        eta=None if final else sh.eta,
        eta_passed=bool(sh.eta and not final and sh.eta < today),
        delayed=bool(sh.delay_open and not final),
        delivered_at=sh.delivered_at if sh.status == "delivered" else None,
        carrier=sh.carrier,
        courier=sh.courier,
        number=sh.tracking_number,
        order_number=found.order.order_number,
        events=tuple(
            Event(
                e.time,
                e.status,
                _text(e.description, EVENT_MAX_TEXT),
                _text(e.location, EVENT_MAX_PLACE) or None,
            )
            for e in shown
        ),
        hidden_events=len(found.events) - len(shown),
        parcels=tuple(p for p in found.parcels if p.token != sh.public_token)[:MAX_PARCELS],
        preferences=preferences(channels, rec),
        last_location=next((e.location for e in found.events if e.location), None),
    )


def progress(status: str, history: Sequence[str]) -> tuple[Step, ...]:
    """The five steps for ``status``. A normal status stands on its step. An exception or a
    parcel gone quiet stands on the furthest step its events reached; a returned parcel ends
    on the last step, labelled "returned". Failed attempts, pickups and those three replace the
    label of the step they stand on and carry a tone."""
    if status in STEP_OF:
        at = STEP_OF[status]
    else:
        reached = [STEP_OF[s] for s in history if s in STEP_OF]
        at = len(STEPS) - 1 if status == "returned_to_sender" else max(reached, default=1)
    steps = []
    for index, key in enumerate(STEPS):
        state = "done" if index < at else "current" if index == at else "todo"
        replaced = index == at and status in TONES and status != "delivered"
        steps.append(
            Step(
                key,
                state,
                status if replaced else None,
                TONES.get(status, "") if index == at else "",
            )
        )
    return tuple(steps)


def first_name(name: str) -> str:
    """The first word of the shopper's name, at most FIRST_NAME_MAX characters."""
    words = (name or "").split()
    return words[0][:FIRST_NAME_MAX] if words else ""


def preferences(channels: Sequence[str], rec: Recipient | None) -> tuple[ChannelPref, ...]:
    """The channels the shop sends on that can reach this shopper, with their state."""
    if rec is None:
        return ()
    found = []
    for channel in CHANNELS:
        if channel not in channels or not _reachable(channel, rec):
            continue
        source = getattr(rec, f"{channel}_opt_out_source")
        off = getattr(rec, f"{channel}_opt_out_at") is not None
        found.append(ChannelPref(channel, not off, not off or source in WEB_SOURCES, source))
    return tuple(found)


def _reachable(channel: str, rec: Recipient) -> bool:
    if channel == "email":
        return bool(rec.email)
    return bool(rec.phone) and rec.phone_kind != "landline"


def shop_channels(merchant: Merchant, defaults: Sequence[str]) -> list[str]:
    """Every channel the shop sends on: its ``notify.channels`` (else the defaults) and any
    channel one of its ``trigger_channels`` overrides adds."""
    settings = merchant.settings or {}
    own = (settings.get("notify") or {}).get("channels")
    channels = list(own if isinstance(own, list) else defaults)
    for listed in (settings.get("trigger_channels") or {}).values():
        channels += [c for c in listed or () if c not in channels]
    return channels


# --- shop settings -----------------------------------------------------------------------------


def read_shop(default_name: str, settings: Mapping[str, Any], locale: str | None = None) -> Shop:
    """The brand, FAQ and links from ``Merchant.settings`` (module docstring); values of the
    wrong kind are left out. ``locale`` filters FAQ items that name one."""
    found = settings.get("brand")
    brand: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    color = _color(brand.get("color"))
    hours = settings.get("opening_hours")
    return Shop(
        brand=Brand(
            name=_text(brand.get("name"), 200) or default_name,
            logo_url=web_url(brand.get("logo_url"), https=True),
            color=color,
            on_color=_on_color(color) if color else "#ffffff",
            cs_whatsapp=_e164(brand.get("cs_whatsapp")),
            cs_email=_email(brand.get("cs_email")),
            website=web_url(brand.get("website")),
        ),
        faq=_faq(settings.get("faq"), locale),
        return_policy_url=web_url(settings.get("return_policy_url")),
        hours=hours if isinstance(hours, Mapping) and hours else None,
    )


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = value.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def web_url(value: Any, *, https: bool = False) -> str | None:
    """``value`` if it is an http(s) URL (https only when asked) of sane length, else None."""
    if not isinstance(value, str) or len(value) > 500 or any(c.isspace() for c in value):
        return None
    allowed = ("https://",) if https else ("https://", "http://")
    return value if value.lower().startswith(allowed) else None


def _color(value: Any) -> str | None:
    if not isinstance(value, str) or not _COLOR.match(value.strip()):
        return None
    hexa = value.strip().lower()[1:]
    return "#" + (hexa if len(hexa) == 6 else "".join(c * 2 for c in hexa))


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _on_color(color: str) -> str:
    """White or near-black, whichever has the higher contrast ratio on ``color``."""
    lum = _luminance(color)
    on_white = 1.05 / (lum + 0.05)
    on_black = (lum + 0.05) / (_luminance("#111111") + 0.05)
    return "#ffffff" if on_white >= on_black else "#111111"


def _e164(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 320:
        return None
    local, at, domain = value.strip().partition("@")
    return value.strip() if at and local and "." in domain and " " not in value else None


def _faq(value: Any, locale: str | None) -> tuple[FaqItem, ...]:
    if not isinstance(value, list):
        return ()
    items = []
    for entry in value:
        if not isinstance(entry, Mapping) or (locale and entry.get("locale") not in (None, locale)):
            continue
        q, a = _text(entry.get("q"), FAQ_MAX_Q), _text(entry.get("a"), FAQ_MAX_A)
        if q and a:
            items.append(FaqItem(q, tuple(p.strip() for p in _PARAGRAPHS.split(a) if p.strip())))
    return tuple(items[:FAQ_MAX_ITEMS])


def whatsapp_url(e164: str, text: str) -> str:
    """``https://wa.me/<digits>?text=...``: a chat with the shop, the message typed for the
    shopper (WhatsApp's documented click-to-chat link)."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"
