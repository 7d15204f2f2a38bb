"""Reading WooCommerce REST v3 bodies into StoreOrders (pure), tracking plugins included.

Bodies (woocommerce.github.io/woocommerce-rest-api-docs, wp-api-v3 ``_orders.md``,
``_order-refunds.md``, ``_order-notes.md``, ``_webhooks.md``): an order or a list of orders (also
the body of ``order.*`` webhooks); a refund or a list of refunds, a note or a list of notes, and
Shipment Tracking items (``/wc-shipment-tracking/v3/orders/<id>/shipment-trackings``), which
name their order only in ``_links.up``; an error ``{"code", "message", "data": {"status"}}``
raises BodyError; anything else (a providers list, ``{"id"}`` of ``order.deleted``) gives ``[]``.

Statuses: pending and on-hold (awaiting payment or confirmation) and failed (payment failed,
the shopper may retry) -> pending; processing (paid, not shipped) -> processing; completed ->
completed; cancelled and trash -> cancelled; refunded -> refunded; the shipping plugins' shipped
-> fulfilled, partial-shipped -> processing, delivered -> completed; any other slug (a plugin's)
-> None, so the stored status is kept. ``paid_at`` is ``date_paid_gmt`` (UTC; ``date_paid`` in
the site's time when only that is given); payment is never inferred from the status (a completed
order may have ``date_paid: null``).

Tracking, from order ``meta_data`` (and line item meta), as the plugins store it:

* ``_wc_shipment_tracking_items`` (WooCommerce Shipment Tracking, and zorem's Advanced Shipment
  Tracking, which writes the same key): ``[{tracking_provider, custom_tracking_provider,
  custom_tracking_link, tracking_number, date_shipped, tracking_id}]``; the provider is a slug or
  name of a predefined provider, else ``custom_tracking_provider`` with its own link;
* ``_aftership_tracking_items`` (AfterShip): ``[{slug, tracking_number, ...}]``, and the older
  ``_aftership_tracking_number`` / ``_aftership_tracking_provider_name``;
* YITH Order & Shipment Tracking: ``ywot_tracking_code``, ``ywot_carrier_name`` (or
  ``ywot_carrier_id``), ``ywot_carrier_url`` (with or without a leading underscore);
* VillaTheme Orders Tracking: line item meta ``_vi_wot_order_item_tracking_data``, a JSON list of
  ``{tracking_number, carrier_name, carrier_slug, carrier_url}`` whose last entry is current;
* the common single keys ``_tracking_number`` / ``tracking_number`` with ``_tracking_provider``
  / ``tracking_provider`` and ``_tracking_url`` / ``tracking_url``;
* order notes that name a tracking number ("Resi JNE: JP1234567890", "AWB 1Z...",
  "tracking number ... via J&T"): merchants without a plugin type it there.

Refunds: an order's ``refunds[{id, refund, total: "-10.00"}]`` are ``processed`` (the shop
recorded them); the refunds endpoint says more: ``refunded_payment`` true means the gateway
returned the money (``completed``), false that it was recorded only (``processed``). WooCommerce
core has no returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from notifier.orders.carrier_names import known_name
from notifier.orders.parse_contract import (
    BodyError,
    StoreCustomer,
    StoreOrder,
    StoreParcel,
    StoreRefund,
    amount,
    iso_time,
    text,
)
from notifier.orders.schema import OrderStatus

STATUSES: dict[str, OrderStatus] = {
    "pending": "pending",
    "on-hold": "pending",
    "failed": "pending",
    "checkout-draft": "pending",
    "processing": "processing",
    "completed": "completed",
    "cancelled": "cancelled",
    "trash": "cancelled",
    "refunded": "refunded",
    "shipped": "fulfilled",
    "partial-shipped": "processing",
    "partially-shipped": "processing",
    "delivered": "completed",
}
SHIPPED = frozenset({"completed", "shipped", "partial-shipped", "partially-shipped", "delivered"})
_NOTE_KEYWORD = re.compile(
    r"\b(?:no\.?\s*resi|nomor\s*resi|resi|awb|waybill|tracking(?:\s*(?:number|no|code))?|lacak)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
NOTE_WINDOW = 6  # words after a keyword where the number may stand ("resi J&T Express: JD...")


def parse(body: Any) -> list[StoreOrder]:
    """The StoreOrders of one WooCommerce REST v3 body (see the module documentation)."""
    if isinstance(body, dict):
        if "code" in body and "message" in body and "id" not in body:
            status = (
                (body.get("data") or {}).get("status")
                if isinstance(body.get("data"), dict)
                else None
            )
            raise BodyError(
                f"WooCommerce error {body['code']}: {body['message']}"
                + (f" (HTTP {status})" if status else "")
            )
        items: list[Any] = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise BodyError(f"not a WooCommerce body: a JSON {type(body).__name__}")
    orders = [order(i) for i in items if isinstance(i, dict) and _is_order(i)]
    parts = [_child(i) for i in items if isinstance(i, dict) and not _is_order(i)]
    return [*filter(None, orders), *merge(p for p in parts if p)]


def _is_order(item: dict[str, Any]) -> bool:
    return "order_key" in item or "billing" in item or ("number" in item and "line_items" in item)


def order(o: dict[str, Any]) -> StoreOrder | None:
    """One order of ``GET /orders`` (or an ``order.*`` webhook body)."""
    oid = text(o.get("id"))
    if oid is None:
        return None
    slug = (text(o.get("status")) or "").lower().removeprefix("wc-")
    return {
        "external_id": oid,
        "order_number": text(o.get("number")),
        "status": STATUSES.get(slug),
        "paid_at": iso_time(o.get("date_paid_gmt"), utc=True) or iso_time(o.get("date_paid")),
        "currency": text(o.get("currency")),
        "total": amount(o.get("total")),
        "customer": _customer(o),
        "shipments": tracking(o),
        "refunds": [_order_refund(r, text(o.get("currency"))) for r in _dicts(o.get("refunds"))],
        "returns": [],
        "updated_at": iso_time(o.get("date_modified_gmt"), utc=True),
    }


def shipped_without_tracking(o: dict[str, Any]) -> bool:
    """Whether an order looks shipped but names no parcel (its notes may: worth a look)."""
    slug = (text(o.get("status")) or "").lower().removeprefix("wc-")
    return slug in SHIPPED and not tracking(o)


def _customer(o: dict[str, Any]) -> StoreCustomer:
    billing, shipping = _dict(o.get("billing")), _dict(o.get("shipping"))
    name = " ".join(filter(None, (text(billing.get(k)) for k in ("first_name", "last_name"))))
    ship_name = " ".join(filter(None, (text(shipping.get(k)) for k in ("first_name", "last_name"))))
    return {
        "name": name or ship_name or None,
        "email": text(billing.get("email")),
        "phone": text(billing.get("phone")) or text(shipping.get("phone")),
    }


def _order_refund(r: dict[str, Any], currency: str | None) -> StoreRefund:
    return {
        "id": text(r.get("id")) or "",
        "status": "processed",
        "store_status": None,
        "amount": amount(r.get("total")),
        "currency": currency,
        "reason": text(r.get("refund")) or text(r.get("reason")),
        "created_at": None,
    }


def refund(r: dict[str, Any], currency: str | None = None) -> StoreRefund:
    """One item of ``GET /orders/<id>/refunds``."""
    paid_back = r.get("refunded_payment")
    return {
        "id": text(r.get("id")) or "",
        "status": "completed" if paid_back is True else "processed",
        "store_status": "refunded_payment" if paid_back is True else "recorded",
        "amount": amount(r.get("amount")),
        "currency": currency,
        "reason": text(r.get("reason")),
        "created_at": iso_time(r.get("date_created_gmt"), utc=True)
        or iso_time(r.get("date_created")),
    }


# --------------------------------------------------------------------------- tracking plugins


def tracking(o: dict[str, Any]) -> list[StoreParcel]:
    """Every parcel the order's meta names, once per tracking number (first reading wins)."""
    meta = _meta(o.get("meta_data"))
    found: list[StoreParcel | None] = []
    found += [_st_item(i) for i in _dicts(_decoded(meta.get("_wc_shipment_tracking_items")))]
    found += [_aftership_item(i) for i in _dicts(_decoded(meta.get("_aftership_tracking_items")))]
    found.append(
        _single(meta, "_aftership_tracking_number", "_aftership_tracking_provider_name", "")
    )
    for prefix in ("ywot_", "_ywot_"):
        name = _first(meta.get(f"{prefix}carrier_name"), meta.get(f"{prefix}carrier_id"))
        found.append(
            _parcel(name, meta.get(f"{prefix}tracking_code"), meta.get(f"{prefix}carrier_url"))
        )
    for item in _dicts(o.get("line_items")):
        entries = _dicts(
            _decoded(_meta(item.get("meta_data")).get("_vi_wot_order_item_tracking_data"))
        )
        if entries:
            last = entries[-1]
            name = _first(last.get("carrier_name"), last.get("carrier_slug"))
            found.append(_parcel(name, last.get("tracking_number"), last.get("carrier_url")))
    for prefix in ("_", ""):
        found.append(
            _single(
                meta,
                f"{prefix}tracking_number",
                f"{prefix}tracking_provider",
                f"{prefix}tracking_url",
            )
        )
    return unique(found)


def unique(parcels: Iterable[StoreParcel | None]) -> list[StoreParcel]:
    seen: dict[str, StoreParcel] = {}
    for parcel in parcels:
        if parcel is not None:
            seen.setdefault("".join(parcel["tracking_number"].split()).upper(), parcel)
    return list(seen.values())


def _st_item(i: dict[str, Any]) -> StoreParcel | None:
    name = _first(
        i.get("custom_tracking_provider"),
        i.get("formatted_tracking_provider"),
        i.get("tracking_provider"),
    )
    link = _first(
        i.get("custom_tracking_link"), i.get("formatted_tracking_link"), i.get("tracking_link")
    )
    return _parcel(name, i.get("tracking_number"), link)


def _aftership_item(i: dict[str, Any]) -> StoreParcel | None:
    return _parcel(_first(i.get("slug"), i.get("carrier_name")), i.get("tracking_number"), None)


def _single(meta: dict[str, Any], number: str, name: str, url: str) -> StoreParcel | None:
    return _parcel(meta.get(name), meta.get(number), meta.get(url) if url else None)


def _parcel(name: Any, number: Any, url: Any) -> StoreParcel | None:
    value = text(number)
    if value is None:
        return None
    link = "".join((text(url) or "").split())  # some plugins wrap long links with newlines
    return {
        "carrier_name": text(name),
        "tracking_number": value,
        "tracking_url": link if link.startswith(("http://", "https://")) else None,
    }


def note_parcels(note: str) -> list[StoreParcel]:
    """Parcels a merchant typed into an order note: a tracking number within a few words after
    a keyword (resi, AWB, tracking number...), with the first carrier name the note mentions."""
    numbers = []
    for keyword in _NOTE_KEYWORD.finditer(note):
        tokens = _TOKEN.findall(note[keyword.end() :])[:NOTE_WINDOW]
        numbers += [t for t in tokens[:NOTE_WINDOW] if _looks_like_number(t)][:1]
    if not numbers:
        return []
    words = re.findall(r"[A-Za-z&]+", note)
    phrases = [" ".join(words[i : i + n]) for n in (3, 2, 1) for i in range(len(words))]
    name = next((p for p in phrases if known_name(p)), None)
    return unique(_parcel(name, n, None) for n in numbers)


def _looks_like_number(token: str) -> bool:
    digits = sum(c.isdigit() for c in token)
    return 6 <= len(token) <= 40 and digits >= 4


# --------------------------------------------------------------------------- child resources


def _child(item: dict[str, Any]) -> StoreOrder | None:
    """A refund, note or tracking item of one order, as a fragment of that order."""
    oid = _up_id(item)
    if oid is None:
        return None
    if "refunded_payment" in item or ("amount" in item and "refunded_by" in item):
        return {"external_id": oid, "refunds": [refund(item)]}
    if "note" in item and "author" in item:
        parcels = note_parcels(text(item.get("note")) or "")
        return {"external_id": oid, "shipments": parcels} if parcels else None
    if "tracking_number" in item:
        parcel = _st_item(item)
        return {"external_id": oid, "shipments": [parcel]} if parcel else None
    return None


def merge(parts: Iterable[StoreOrder]) -> list[StoreOrder]:
    """Fragments of the same order merged (lists joined, first value of the others kept)."""
    merged: dict[str, StoreOrder] = {}
    for part in parts:
        into = merged.setdefault(part["external_id"], {"external_id": part["external_id"]})
        for key, value in part.items():
            have: Any = into.get(key)
            if isinstance(value, list):
                into[key] = [*(have or []), *value]  # type: ignore[literal-required]
            elif value and not have:
                into[key] = value  # type: ignore[literal-required]
    return list(merged.values())


def _up_id(item: dict[str, Any]) -> str | None:
    """The order a child resource belongs to: ``order_id``, else its ``_links.up`` href."""
    direct = text(item.get("order_id"))
    if direct:
        return direct
    for link in _dicts(_dict(item.get("_links")).get("up")):
        found = re.search(r"/orders/(\d+)/?$", text(link.get("href")) or "")
        if found:
            return found.group(1)
    return None


# --------------------------------------------------------------------------- small readers


def _meta(value: Any) -> dict[str, Any]:
    """``meta_data[{id, key, value}]`` as {key: value} (the last entry of a key wins)."""
    return {str(m.get("key")): m.get("value") for m in _dicts(value) if m.get("key")}


def _decoded(value: Any) -> Any:
    """Meta values written as JSON text by some plugins, decoded; others as they are."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _dicts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = (
            list(value.values()) if all(isinstance(v, dict) for v in value.values()) else [value]
        )
    return [v for v in value or [] if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(*values: Any) -> str | None:
    return next((t for t in (text(v) for v in values) if t), None)
