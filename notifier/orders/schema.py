"""What an order looks like on the way in: the REST body, one JSON Lines record, and what every
order-store source produces.

Validation here needs nothing about the merchant: strings are trimmed, tracking numbers
normalized, carriers, time zones, locales, currencies and emails checked, and each problem is
reported on its own field. Two things depend on the merchant and are finished by
:func:`notifier.orders.intake.ingest`: phone numbers (read in the merchant's country) and naive
datetimes (read in the merchant's time zone).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from notifier import plugins
from notifier.errors import InputError
from notifier.orders.contact import normalize_email
from notifier.pipeline.compose import MINOR_DIGITS

OrderStatus = Literal[
    "pending", "paid", "processing", "fulfilled", "completed", "cancelled", "refunded"
]
# Orders whose parcels are not worth telling about (and not worth polling: see intake).
CANCELLED_STATUSES = frozenset({"cancelled"})

MAX_SHIPMENTS = 50  # parcels per order; more is a data error, not a real order
_TRACKING = re.compile(r"^[A-Z0-9][A-Z0-9\-]{3,63}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")
_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|\d{3}))?$")
_SPACES = re.compile(r"\s+")


@cache
def installed_carriers() -> frozenset[str]:
    """Carrier ids registered as ``notifier.carriers`` entry points (read once per process)."""
    return frozenset(plugins.names("carriers"))


@cache
def marketplace_trackers() -> frozenset[str]:
    """Order-source ids whose marketplace tracks parcels itself (the source has ``track``):
    a shipment may name one as its carrier (:mod:`notifier.pipeline.marketplace`). A source
    that fails to load is left out here (``notifier doctor`` reports it)."""
    found = set()
    for name in plugins.names("order_sources"):
        try:
            cls = plugins.load_source(name)
        except Exception:  # a broken plugin is reported by ``notifier doctor``
            cls = None
        if callable(getattr(cls, "track", None)):
            found.add(name)
    return frozenset(found) - installed_carriers()


def _fail(kind: str, message: str) -> PydanticCustomError:
    """A field error whose text is ``message`` as it is (user input may hold braces)."""
    return PydanticCustomError(kind, "{reason}", {"reason": message})


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class CustomerIn(_In):
    """The shopper. Any of the contact fields may be missing; none at all means no messages."""

    name: str = Field("", max_length=200)
    phone: str | None = Field(None, max_length=40, description="any common format; see intake")
    email: str | None = Field(None, max_length=320)
    locale: str | None = Field(None, description='"id", "en", "id-ID"')
    timezone: str | None = Field(None, description='IANA zone, e.g. "Asia/Makassar"')

    _blanks = field_validator("phone", "email", "locale", "timezone", mode="before")(_blank_to_none)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return normalize_email(v)
        except InputError as err:
            raise _fail("email", str(err)) from err

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str | None) -> str | None:
        return None if v is None else normalize_locale(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        check_timezone(v)
        return v


class ShipmentIn(_In):
    """One parcel: the carrier (an installed carrier id), the aggregator's courier code when the
    carrier is an aggregator (``binderbyte`` + ``jne``), and the tracking number (resi)."""

    carrier: str | None = Field(
        None,
        description="an installed carrier id, e.g. binderbyte, fedex; left out: detected from "
        "the number (and the courier), with the merchant's preferred aggregator",
    )
    courier: str | None = Field(None, description="the aggregator's courier code, e.g. jne")
    tracking_number: str
    tracking_url: str | None = Field(None, max_length=500, description="the store's own link")
    package: str | None = Field(
        None,
        max_length=64,
        description="the marketplace's own parcel id (Shopee package_number), when the "
        "carrier is a marketplace that tracks the parcel itself (shopee, tiktok_shop, lazada)",
    )

    _blanks = field_validator("courier", "tracking_url", "package", mode="before")(_blank_to_none)

    @field_validator("carrier")
    @classmethod
    def _carrier(cls, v: str | None) -> str | None:
        if v is None:
            return None
        carrier = v.lower()
        known = installed_carriers() | marketplace_trackers()
        if carrier not in known:
            installed = ", ".join(sorted(known)) or "none"
            raise _fail("unknown_carrier", f"unknown carrier {v!r} (installed: {installed})")
        return carrier

    @field_validator("courier")
    @classmethod
    def _courier(cls, v: str | None) -> str | None:
        if v is None:
            return None
        courier = v.lower()
        if not _CODE.match(courier):
            raise _fail("courier", "courier codes are lower-case letters, digits, - and _")
        return courier

    @field_validator("tracking_number", mode="before")
    @classmethod
    def _tracking_number(cls, v: Any) -> Any:
        if not isinstance(v, str):
            return v
        number = _SPACES.sub("", v).upper()
        if not _TRACKING.match(number):
            raise _fail(
                "tracking_number", f"tracking numbers are 4-64 letters, digits or '-' (got {v!r})"
            )
        return number

    @field_validator("tracking_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+\S*$", v):
            raise _fail("url", "must be an http:// or https:// address")
        return v


class OrderIn(_In):
    """One order as the merchant's store knows it. Re-sending it is harmless (idempotent on
    ``external_id``); shipments are added, never removed."""

    external_id: str = Field(min_length=1, max_length=128, description="the store's order id")
    order_number: str | None = Field(
        None, max_length=128, description="what the shopper sees; the external id when left out"
    )
    status: OrderStatus | None = Field(None, description="kept as it was when left out")
    paid_at: datetime | None = Field(
        None, description="ISO 8601; without an offset it is read in the merchant's time zone"
    )
    currency: str | None = Field(None, description="ISO 4217, e.g. IDR")
    total: Decimal | None = Field(None, ge=0, description="in major units: 150000 IDR, 12.50 USD")
    customer: CustomerIn = Field(default_factory=CustomerIn)
    shipments: list[ShipmentIn] = Field(default_factory=list, max_length=MAX_SHIPMENTS)
    return_status: str | None = Field(None, max_length=32)
    refund_status: str | None = Field(None, max_length=32)

    _blanks = field_validator(
        "order_number",
        "status",
        "paid_at",
        "currency",
        "total",
        "return_status",
        "refund_status",
        mode="before",
    )(_blank_to_none)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is None:
            return None
        code = v.upper()
        if code not in _currencies():
            raise _fail("currency", f"{v!r} is not an ISO 4217 currency code")
        return code

    @field_validator("total")
    @classmethod
    def _total(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if v is None or "currency" not in info.data:  # a bad currency has its own error
            return v
        currency = info.data["currency"]
        if currency is None:
            raise _fail("currency_missing", "a total needs a currency (ISO 4217 code)")
        digits = minor_digits(currency)
        if v.scaleb(digits) != v.scaleb(digits).to_integral_value():
            raise _fail("total_precision", f"{currency} amounts have {digits} decimal places here")
        return v

    @field_validator("return_status", "refund_status")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v is not None else None

    @property
    def number(self) -> str:
        """The order number the shopper sees (the external id when the store has none)."""
        return self.order_number or self.external_id

    @property
    def is_paid(self) -> bool:
        return self.status == "paid" or self.paid_at is not None

    @property
    def total_minor(self) -> int | None:
        """The total in the currency's minor unit, as the store keeps it."""
        if self.total is None or self.currency is None:
            return None
        return int(self.total.scaleb(minor_digits(self.currency)))

    def paid_at_in(self, zone: tzinfo) -> datetime | None:
        """``paid_at`` as an aware datetime; a naive one is read in ``zone``."""
        return aware(self.paid_at, zone)


def aware(moment: datetime | None, zone: tzinfo) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone)


def minor_digits(currency: str) -> int:
    """Decimal places of ``currency`` as the store keeps it (the same table messages use)."""
    return MINOR_DIGITS.get(currency.upper(), 2)


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def normalize_locale(value: str) -> str:
    """``id``, ``id_ID``, ``ID-id`` -> ``id`` / ``id-ID``; a locale Babel does not know fails."""
    found = _LOCALE.match(value.strip())
    if not found:
        raise _fail("locale", f'locales look like "id", "en" or "id-ID" (got {value!r})')
    language, region = found.group(1).lower(), (found.group(2) or "").upper()
    try:
        Locale.parse(f"{language}_{region}" if region else language)
    except (UnknownLocaleError, ValueError) as err:
        raise _fail("locale", f"unknown locale {value!r}") from err
    return f"{language}-{region}" if region else language


def check_timezone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; fails with a field error when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise _fail("timezone", f"unknown IANA time zone {name!r} (e.g. Asia/Jakarta)") from err
