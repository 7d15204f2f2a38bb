"""Locale-aware formatting for message templates (Babel), as pure functions and Jinja filters.

Every pure function takes its locale (and time zone where times are involved) explicitly and is
memoized: the same ETA or order total is formatted for thousands of shoppers, and Babel's
formatters cost tens of microseconds each, which matters on the render hot path.

The Jinja filters registered by :func:`register` read the locale and the shopper's time zone of
the render in progress from the render context (key :data:`RENDER_KEY`, set by
:mod:`notifier.templating`), so templates simply write ``{{ shipment.eta | date }}``.

Output never contains no-break or narrow no-break spaces (CLDR uses them in times and amounts):
they are replaced by plain spaces so that an SMS stays GSM-7.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_time as _babel_time
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

LONG_DATE = "EEEE, d MMMM y"  # "Senin, 1 Desember 2025" / "Monday, 1 December 2025"
SHORT_DATE = "d MMM"  # "3 Des" / "3 Dec": short enough for an SMS
RENDER_KEY = "_render"
"""Render-context key holding the :class:`RenderLocale` of the render in progress."""

_CACHE = 4096  # memoized results per formatter
# ISO 4217 gives IDR two minor units, but Indonesian prices are never written with sen, and
# every Indonesian shopper knows "Rp", whatever the language of the message.
_WHOLE_UNITS = frozenset({"IDR"})
_SYMBOLS = {"IDR": "Rp"}
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})

Number = Decimal | int | float

STATUS_LABELS: dict[str, dict[str, str]] = {
    "pending": {"id": "Menunggu info pengiriman", "en": "Awaiting shipping info"},
    "info_received": {"id": "Resi sudah terbit", "en": "Shipping label created"},
    "in_transit": {"id": "Dalam perjalanan", "en": "In transit"},
    "out_for_delivery": {"id": "Sedang diantar kurir", "en": "Out for delivery"},
    "failed_attempt": {"id": "Gagal diantar", "en": "Delivery attempt failed"},
    "available_for_pickup": {"id": "Siap diambil", "en": "Ready for pickup"},
    "delivered": {"id": "Sudah diterima", "en": "Delivered"},
    "exception": {"id": "Ada kendala pengiriman", "en": "Delivery issue"},
    "returned_to_sender": {"id": "Dikembalikan ke pengirim", "en": "Returned to sender"},
    "expired": {"id": "Tidak ada kabar terbaru", "en": "No recent updates"},
}
"""Labels of the normalized tracking statuses (see ``carriers.base.Status``)."""

RETURN_LABELS: dict[str, dict[str, str]] = {
    "requested": {"id": "Pengajuan retur diterima", "en": "Return requested"},
    "approved": {"id": "Retur disetujui", "en": "Return approved"},
    "rejected": {"id": "Retur belum dapat disetujui", "en": "Return not approved"},
    "in_transit": {"id": "Barang retur dalam perjalanan", "en": "Return on its way to us"},
    "received": {"id": "Barang retur sudah kami terima", "en": "Return received"},
    "completed": {"id": "Retur selesai", "en": "Return completed"},
}
"""Labels of the return statuses an order store reports."""

REFUND_LABELS: dict[str, dict[str, str]] = {
    "requested": {"id": "Pengajuan refund diterima", "en": "Refund requested"},
    "pending": {"id": "Refund sedang diproses", "en": "Refund in progress"},
    "approved": {"id": "Refund disetujui", "en": "Refund approved"},
    "processed": {"id": "Refund sudah diproses", "en": "Refund issued"},
    "completed": {"id": "Dana sudah dikembalikan", "en": "Refund completed"},
    "rejected": {"id": "Refund belum dapat disetujui", "en": "Refund not approved"},
    "failed": {"id": "Refund gagal diproses", "en": "Refund could not be completed"},
}
"""Labels of the refund statuses an order store reports."""


@dataclass(frozen=True, slots=True)
class RenderLocale:
    """The locale and IANA time zone a render formats for."""

    locale: str
    timezone: str


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    return Locale.parse(code.replace("-", "_"))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require(value: object, what: str) -> None:
    if value is None:
        raise ValueError(f"{what} got None; guard optional values with {{% if ... %}}")


def _local(value: datetime, tz: str) -> datetime:
    """``value`` in zone ``tz``. Naive datetimes are taken as wall-clock time in ``tz``:
    carriers that omit the offset report the local time of the scan."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_zone(tz))
    return value.astimezone(_zone(tz))


@lru_cache(maxsize=_CACHE)
def format_date(
    value: date | datetime, locale: str, tz: str | None = None, pattern: str = LONG_DATE
) -> str:
    """A date as ``pattern`` (default "Senin, 1 Desember 2025"); datetimes are first moved to
    ``tz``. Raises ValueError on None, TypeError on other types."""
    _require(value, "date")
    if isinstance(value, datetime):
        value = _local(value, tz).date() if tz else value.date()
    if not isinstance(value, date):
        raise TypeError(f"date expects a date, got {type(value).__name__}")
    return _babel_date(value, pattern, locale=_locale(locale)).translate(_SPACES)


def format_short_date(value: date | datetime, locale: str, tz: str | None = None) -> str:
    """A compact date for SMS and subjects: "3 Des" / "3 Dec"."""
    return format_date(value, locale, tz, SHORT_DATE)


@lru_cache(maxsize=256)
def _short_zone(local: datetime, tz: str, locale: str) -> str:
    """The zone abbreviation Babel knows ("WIB", "WITA", "EST"), or "" when it only has an
    offset such as "+0700" (then the time alone reads better).

    ``tz`` is part of the cache key: aware datetimes of one instant are equal in every zone.
    """
    name = _babel_datetime(local, "z", locale=_locale(locale))
    return "" if name[:1] in "+-" or name.startswith(("GMT", "UTC")) else name


@lru_cache(maxsize=_CACHE)
def format_time(value: datetime, locale: str, tz: str) -> str:
    """The time of ``value`` in zone ``tz``: "14.30 WIB" (id), "2:30 PM" (en)."""
    _require(value, "time")
    if not isinstance(value, datetime):
        raise TypeError(f"time expects a datetime, got {type(value).__name__}")
    local = _local(value, tz)
    text = _babel_time(local, "short", locale=_locale(locale)).translate(_SPACES)
    zone = _short_zone(local, tz, locale)
    return f"{text} {zone}" if zone else text


def format_datetime(value: datetime, locale: str, tz: str) -> str:
    """Short date and time in zone ``tz``: "3 Des 14.30 WIB" / "3 Dec 2:30 PM"."""
    _require(value, "datetime")
    if not isinstance(value, datetime):
        raise TypeError(f"datetime expects a datetime, got {type(value).__name__}")
    return f"{format_short_date(value, locale, tz)} {format_time(value, locale, tz)}"


@lru_cache(maxsize=_CACHE)
def format_money(amount: Number, currency: str | None, locale: str) -> str:
    """An amount in major units: "Rp150.000" (id), "Rp150,000" (en), "US$12,50" (id).

    IDR is shown in whole rupiah; other currencies with their ISO 4217 digits. Without a
    currency the bare number is formatted with the locale's separators.
    """
    _require(amount, "money")
    loc = _locale(locale)
    if currency is None:
        return format_decimal(amount, locale=loc).translate(_SPACES)
    code = currency.upper()
    if code in _WHOLE_UNITS:
        number = format_decimal(amount, "#,##0", locale=loc)
        return f"{_SYMBOLS.get(code, code)}{number}".translate(_SPACES)
    return format_currency(amount, code, locale=loc).translate(_SPACES)


def _label(table: dict[str, dict[str, str]], status: str, locale: str) -> str:
    """The localized label, English for other locales, the humanized code when unknown."""
    _require(status, "label")
    labels = table.get(str(status))
    if labels is None:
        return str(status).replace("_", " ")
    return labels.get(_language(locale)) or labels["en"]


def _language(locale: str) -> str:
    return locale.replace("_", "-").split("-")[0].lower()


def status_label(status: str, locale: str) -> str:
    """Label of a normalized tracking status: "Sedang diantar kurir" / "Out for delivery"."""
    return _label(STATUS_LABELS, status, locale)


def return_label(status: str, locale: str) -> str:
    """Label of a return status (requested, approved, rejected, in_transit, received,
    completed)."""
    return _label(RETURN_LABELS, status, locale)


def refund_label(status: str, locale: str) -> str:
    """Label of a refund status (requested, pending, approved, processed, completed,
    rejected, failed)."""
    return _label(REFUND_LABELS, status, locale)


@lru_cache(maxsize=256)
def format_phone(e164: str) -> str:
    """An E.164 number for people to read: "+62 812-3456-7890" (unchanged if unparseable)."""
    _require(e164, "phone")
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def wa_link(e164: str) -> str:
    """A click-to-chat link for a WhatsApp number: "https://wa.me/6281234567890"."""
    _require(e164, "wa_link")
    digits = "".join(ch for ch in str(e164) if ch.isdigit())
    return f"https://wa.me/{digits}"


# --- Jinja filters: the same functions, reading locale and time zone from the render -----------


def _render_locale(ctx: Context) -> RenderLocale:
    value = ctx.get(RENDER_KEY)
    if not isinstance(value, RenderLocale):
        raise RuntimeError("formatting filters need the render locale in the context")
    return value


@pass_context
def _date_filter(ctx: Context, value: date | datetime, pattern: str = LONG_DATE) -> str:
    r = _render_locale(ctx)
    return format_date(value, r.locale, r.timezone, pattern)


@pass_context
def _short_date_filter(ctx: Context, value: date | datetime) -> str:
    r = _render_locale(ctx)
    return format_short_date(value, r.locale, r.timezone)


@pass_context
def _datetime_filter(ctx: Context, value: datetime) -> str:
    r = _render_locale(ctx)
    return format_datetime(value, r.locale, r.timezone)


@pass_context
def _time_filter(ctx: Context, value: datetime) -> str:
    r = _render_locale(ctx)
    return format_time(value, r.locale, r.timezone)


@pass_context
def _money_filter(ctx: Context, amount: Number, currency: str | None = None) -> str:
    return format_money(amount, currency, _render_locale(ctx).locale)


@pass_context
def _status_filter(ctx: Context, status: str) -> str:
    return status_label(status, _render_locale(ctx).locale)


@pass_context
def _return_filter(ctx: Context, status: str) -> str:
    return return_label(status, _render_locale(ctx).locale)


@pass_context
def _refund_filter(ctx: Context, status: str) -> str:
    return refund_label(status, _render_locale(ctx).locale)


FILTERS: dict[str, Any] = {
    "date": _date_filter,
    "short_date": _short_date_filter,
    "datetime": _datetime_filter,
    "time": _time_filter,
    "money": _money_filter,
    "status_label": _status_filter,
    "return_label": _return_filter,
    "refund_label": _refund_filter,
    "phone": format_phone,
    "wa_link": wa_link,
}
"""Filter name -> callable, as registered in the template environments."""


def register(filters: dict[str, Any]) -> None:
    """Add the formatting filters to a Jinja environment's ``filters`` mapping."""
    filters.update(FILTERS)
