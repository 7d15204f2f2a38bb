"""Carrier names as order stores write them -> our ``(carrier, courier)``: a table and a choice.

Stores name the carrier in free text: Shopify's ``tracking_company`` ("USPS", "DHL Express",
"JNE"), a WooCommerce tracking plugin's provider ("jne", "j-t-express", a custom "JNE REG"), a
marketplace's ``shipping_carrier`` ("J&T Express", "SPX Express"). :func:`choose` reads them so:

1. A carrier we have a direct API for (:data:`DIRECT_NAMES`: UPS, FedEx, USPS, DHL, Canada Post)
   is that carrier, no courier.
2. An Indonesian courier (every name, alias and aggregator code in
   :data:`carriers.indonesia.COURIERS`) is tracked through an aggregator with our courier code:
   the merchant's ``settings["aggregator"]`` (a carrier id, or a list, most wanted first) when
   it is installed and lists that courier, else the first of :data:`AGGREGATORS` that does. A
   worldwide aggregator (AfterShip, 17TRACK, TrackingMore) the merchant chose gets no courier
   (it detects the courier itself; our codes are not its slugs).
3. Anything else, or no name, falls back to detection from the number
   (:func:`carriers.detect.resolve_carrier`, the same preference).
4. Nothing fits: no carrier, and :attr:`Choice.how` says why (the caller reports the parcel).

Names are compared without case, spaces or punctuation ("J&T Express" = "j-t-express"), and
service words after the name are dropped ("JNE REG", "SiCepat BEST", "Pos Kilat Khusus").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from carriers import indonesia as idn
from carriers.detect import INDONESIAN, WORLDWIDE, CarrierNotDetected, resolve_carrier

AGGREGATORS = INDONESIAN  # default order for Indonesian couriers: binderbyte, biteship, rajaongkir

# Our direct carrier id -> the names stores use for it (Shopify's supported tracking companies,
# WooCommerce Shipment Tracking's provider names and slugs, what merchants type).
# fmt: off
_DIRECT: dict[str, tuple[str, ...]] = {
    "ups": ("UPS", "United Parcel Service", "UPS Ground", "UPS Express", "UPS Freight",
            "UPS Next Day Air", "UPS 2nd Day Air", "UPS Worldwide", "UPS SurePost"),
    "fedex": ("FedEx", "Federal Express", "FedEx Ground", "FedEx Express", "FedEx Home Delivery",
              "FedEx SmartPost", "FedEx Ground Economy", "FedEx International", "FedEx Freight"),
    "usps": ("USPS", "United States Postal Service", "U.S. Postal Service", "US Postal Service",
             "US Mail", "USPS Priority Mail", "USPS First Class Mail", "USPS Ground Advantage"),
    "dhl": ("DHL", "DHL Express", "DHL eCommerce", "DHL eCommerce Asia", "DHL Parcel",
            "DHL Global Mail", "DHL US", "DHL Paket", "DHL Express Indonesia", "DHL Worldwide"),
    "canadapost": ("Canada Post", "Postes Canada", "Canada Post Postes Canada", "Canada Post Corp"),
}
# Words that name a service level, not the carrier: dropped from the end of a name.
_SERVICES = """
    reg regular yes oke ons sds best halu ez eco economy express exp hemat standard std instant
    sameday same day nextday next cargo kilat khusus trucking jtr super gokil priority service
    layanan paket kurir courier ekspres ekonomi reguler biasa kargo
"""
SERVICE_WORDS = frozenset(_SERVICES.split())
# fmt: on


def _key(value: str) -> str:
    """Names compare without case, spaces or punctuation: "J&T Express" -> "jtexpress"."""
    return re.sub(r"[^0-9a-z]+", "", value.casefold().replace("&", ""))


DIRECT_NAMES: dict[str, str] = {
    _key(name): carrier for carrier, names in _DIRECT.items() for name in (carrier, *names)
}


def _courier_index() -> dict[str, idn.Courier]:
    out: dict[str, idn.Courier] = {}
    for courier in idn.COURIERS:
        codes = (courier.binderbyte, courier.biteship, courier.rajaongkir)
        for name in (courier.code, courier.name, *courier.aliases, *(c for c in codes if c)):
            out.setdefault(_key(name), courier)
    return out


COURIER_NAMES: dict[str, idn.Courier] = _courier_index()


@dataclass(frozen=True, slots=True)
class Choice:
    """How to track one parcel: ``carrier`` None when nothing can (``how`` says why)."""

    carrier: str | None
    courier: str | None
    how: str  # "named", "detected from the number", or the reason nothing fits


def preference(aggregator: Any) -> tuple[str, ...]:
    """The merchant's aggregators (a carrier id or a list of them), then :data:`AGGREGATORS`."""
    chosen: Iterable[Any] = [aggregator] if isinstance(aggregator, str) else aggregator or []
    wanted = [str(a).strip().lower() for a in chosen if str(a).strip()]
    return tuple(dict.fromkeys([*wanted, *AGGREGATORS]))


def _installed() -> frozenset[str]:
    from notifier.orders.schema import installed_carriers

    return installed_carriers()


def known_name(name: str | None) -> tuple[str, str | None] | None:
    """("direct", carrier) or ("courier", our courier code) for a name we know; else None."""
    if not name or not name.strip():
        return None
    for candidate in _readings(name):
        key = _key(candidate)
        if key in DIRECT_NAMES:
            return "direct", DIRECT_NAMES[key]
        if key in COURIER_NAMES:
            return "courier", COURIER_NAMES[key].code
    return None


def _readings(name: str) -> list[str]:
    """The name, then without trailing service words, then what is inside parentheses."""
    out = [name]
    words = re.split(r"[\s\-_/.,:]+", re.sub(r"\(.*?\)", " ", name).strip())
    while len(words) > 1 and words[-1].casefold() in SERVICE_WORDS:
        words.pop()
        out.append(" ".join(words))
    if words:
        out.append(" ".join(words))
    out += re.findall(r"\(([^)]+)\)", name)
    return out


def choose(
    name: str | None,
    number: str,
    *,
    aggregator: Any = None,
    installed: frozenset[str] | None = None,
) -> Choice:
    """The carrier (and courier) to track ``number`` with, from the store's carrier ``name``
    and the merchant's ``aggregator`` preference (see the module documentation)."""
    have = _installed() if installed is None else installed
    wanted = preference(aggregator)
    known = known_name(name)
    if known and known[0] == "direct" and known[1] in have:
        return Choice(known[1], None, "named")
    if known and known[0] == "courier":
        courier = known[1]
        for api in wanted:
            if api in have and _lists(api, courier):
                return Choice(api, None if api in WORLDWIDE else courier, "named")
    return _detect(number, known[1] if known and known[0] == "courier" else None, have, wanted)


def _lists(api: str, courier: str | None) -> bool:
    if api in WORLDWIDE:
        return True
    found = next((c for c in idn.COURIERS if c.code == courier), None)
    return found is not None and api in INDONESIAN and bool(getattr(found, api))


def _detect(
    number: str, courier: str | None, have: frozenset[str], wanted: tuple[str, ...]
) -> Choice:
    try:
        carrier, found = resolve_carrier(None, courier, number, have, wanted)
    except CarrierNotDetected:
        # A worldwide aggregator the merchant chose detects couriers we cannot.
        for api in wanted:
            if api in WORLDWIDE and api in have:
                return Choice(api, None, f"left to {api} to detect")
        what = f"no installed carrier tracks {courier}" if courier else "carrier not recognised"
        return Choice(None, courier, f"{what} and the number does not tell")
    return Choice(carrier, found, "detected from the number")
