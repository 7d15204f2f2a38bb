"""Reading Shopify bodies into StoreOrders (pure): the GraphQL Admin API and REST Admin API 2024-04.

Both shapes give the same StoreOrder for the same order; the external id is the numeric order id
(REST ``id``, GraphQL ``legacyResourceId`` or the tail of ``gid://shopify/Order/<id>``), which is
also what webhooks carry, so an order polled over GraphQL and pushed over REST is one order.

Bodies read (shopify.dev/docs/api/admin-rest/2024-04/resources/{order,fulfillment,refund,
transaction}; shopify.dev/docs/api/webhooks/2026-07 payload samples; admin-graphql Order, Refund,
Return, Fulfillment, FulfillmentTrackingInfo, OrderTransaction):

* orders: ``{"orders": [...]}``, ``{"order": {...}}``, an ``orders/*`` webhook (the order itself),
  GraphQL ``{"data": {"orders": <connection>}}`` / ``{"data": {"order": {...}}}``;
* parcels: ``{"fulfillments": [...]}``, ``{"fulfillment": {...}}``, ``fulfillments/*`` webhooks;
  one parcel per tracking number (``tracking_numbers`` with ``tracking_urls`` by position); a
  cancelled fulfillment has no parcel. Parcels are keyed on tracking data, never on
  ``shipment_status`` (the documented fulfillments/create sample is "pending" with tracking set);
* money: ``{"refunds": [...]}``, ``refunds/create`` (``order_id`` at the root, ``return`` inside),
  ``{"transactions": [...]}``; a refund is ``completed`` once a refund transaction succeeded,
  ``pending`` while one is pending, ``failed`` when all failed, ``processed`` without any
  (restock or store credit only);
* returns: ``returns/*`` webhooks and GraphQL ``Order.returns``: REQUESTED -> requested,
  OPEN -> approved, DECLINED -> rejected, CLOSED -> completed, CANCELED -> no status of ours;
* errors: ``{"errors": ...}`` (REST string or object, GraphQL list; THROTTLED included) and
  ``{"error": ...}`` raise BodyError; fulfillment events and fulfillment orders say nothing we
  keep (tracking comes from the carrier) and give ``[]``.

Order status: cancelled (``cancelled_at``) > refunded > voided (cancelled) > fulfilled >
partially fulfilled (processing) > paid, partially paid or partially refunded (paid) > pending.
``paid_at`` is the first successful sale or capture when the body carries transactions, else
``processed_at`` once the financial status says paid (checkout time; REST orders carry no
payment time of their own).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from notifier.orders.parse_contract import (
    BodyError,
    RefundStatus,
    ReturnStatus,
    StoreCustomer,
    StoreOrder,
    StoreParcel,
    StoreRefund,
    StoreReturn,
    amount,
    iso_time,
    text,
)
from notifier.orders.schema import OrderStatus

PAID = frozenset({"paid", "partially_paid", "partially_refunded", "refunded"})
RETURNS: dict[str, ReturnStatus | None] = {
    "requested": "requested",
    "open": "approved",
    "declined": "rejected",
    "closed": "completed",
    "canceled": None,
    "cancelled": None,
}


def parse(body: Any) -> list[StoreOrder]:
    """The StoreOrders of one Shopify body (see the module documentation)."""
    if isinstance(body, list) and not body:
        return []
    if not isinstance(body, dict):
        raise BodyError(f"not a Shopify body: a JSON {type(body).__name__}")
    _raise_errors(body)
    if "data" in body:
        from notifier.orders.shopify_graphql import read  # it builds on this module's readers

        return read(body.get("data"))
    if "id" in body:  # a webhook payload is the resource itself
        return _webhook(body)
    for key, read in _WRAPPED.items():
        if key in body:
            return read(body[key])
    return []


def _raise_errors(body: dict[str, Any]) -> None:
    errors = body.get("errors") or body.get("error")
    if not errors or body.get("data"):
        return
    if isinstance(errors, list):
        first = errors[0]
        message = first.get("message") if isinstance(first, dict) else first
        code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
        raise BodyError(f"Shopify error: {message}" + (f" ({code})" if code else ""))
    if isinstance(errors, dict):
        field, reasons = next(iter(errors.items()))
        reason = reasons[0] if isinstance(reasons, list) and reasons else reasons
        raise BodyError(f"Shopify error: {field} {reason}")
    raise BodyError(f"Shopify error: {' '.join(str(errors).split())[:200]}")


def _webhook(body: dict[str, Any]) -> list[StoreOrder]:
    """A webhook payload is the resource itself; tell which from its fields."""
    gid = str(body.get("admin_graphql_api_id") or "")
    if gid.startswith("gid://shopify/Return/") or "return_line_items" in body:
        return _fragments([body], _return_fragment)
    if "order_id" in body and ("refund_line_items" in body or "order_adjustments" in body):
        return _fragments([body], _refund_fragment)
    if "order_id" in body and _has_tracking(body):
        return _fragments([body], _fulfillment_fragment)
    if gid.startswith("gid://shopify/Order/") or ("line_items" in body and "order_number" in body):
        return _listed([body])
    return []


def _has_tracking(body: dict[str, Any]) -> bool:
    return any(k in body for k in ("tracking_number", "tracking_numbers", "tracking_company"))


# --------------------------------------------------------------------------- REST orders


def _listed(value: Any) -> list[StoreOrder]:
    items = value if isinstance(value, list) else [value]
    return [o for o in (rest_order(i) for i in items if isinstance(i, dict)) if o]


def rest_order(o: dict[str, Any]) -> StoreOrder | None:
    """One REST order (``orders.json`` item, ``order`` or an ``orders/*`` webhook)."""
    oid = text(o.get("id"))
    if oid is None:
        return None
    financial = (text(o.get("financial_status")) or "").lower()
    fulfillment = (text(o.get("fulfillment_status")) or "").lower()
    currency = text(o.get("currency"))
    returns = [read_return(r) for r in _items(o.get("returns"))]
    return {
        "external_id": oid,
        "order_number": text(o.get("name")) or text(o.get("order_number")),
        "status": order_status(bool(o.get("cancelled_at")), financial, fulfillment),
        "paid_at": iso_time(o.get("processed_at")) if financial in PAID else None,
        "currency": currency,
        "total": amount(o.get("total_price")),
        "customer": _rest_customer(o),
        "shipments": [p for f in _items(o.get("fulfillments")) for p in rest_parcels(f)],
        "refunds": [_refund(r, currency) for r in _items(o.get("refunds"))],
        "returns": [r for r in returns if r],
        "updated_at": iso_time(o.get("updated_at")),
    }


def order_status(cancelled: bool, financial: str, fulfillment: str) -> OrderStatus | None:
    """Our order status from Shopify's financial and fulfillment statuses (lower case)."""
    if cancelled:
        return "cancelled"
    if financial == "refunded":
        return "refunded"
    if financial == "voided":
        return "cancelled"
    if fulfillment == "fulfilled":
        return "fulfilled"
    if fulfillment in ("partial", "partially_fulfilled", "in_progress"):
        return "processing"
    if financial in PAID:
        return "paid"
    if financial in ("", "pending", "authorized", "expired"):
        return "pending"
    return None


def _rest_customer(o: dict[str, Any]) -> StoreCustomer:
    customer = as_dict(o.get("customer"))
    shipping, billing = as_dict(o.get("shipping_address")), as_dict(o.get("billing_address"))
    full = " ".join(filter(None, (text(customer.get(k)) for k in ("first_name", "last_name"))))
    return {
        "name": full or text(shipping.get("name")) or text(billing.get("name")),
        "email": text(o.get("email"))
        or text(o.get("contact_email"))
        or text(customer.get("email")),
        "phone": first_text(
            o.get("phone"), customer.get("phone"), shipping.get("phone"), billing.get("phone")
        ),
        "locale": text(o.get("customer_locale")),
    }


def rest_parcels(f: dict[str, Any]) -> list[StoreParcel]:
    """A fulfillment's parcels: one per tracking number, with the URL at the same position."""
    if (text(f.get("status")) or "").lower() == "cancelled":
        return []
    numbers = [text(n) for n in f.get("tracking_numbers") or []] or [text(f.get("tracking_number"))]
    urls = [text(u) for u in f.get("tracking_urls") or []] or [text(f.get("tracking_url"))]
    company = text(f.get("tracking_company"))
    return [
        {
            "carrier_name": company,
            "tracking_number": n,
            "tracking_url": urls[i] if i < len(urls) else None,
        }
        for i, n in enumerate(numbers)
        if n
    ]


def _refund(r: dict[str, Any], currency: str | None) -> StoreRefund:
    txs = [t for t in _items(r.get("transactions")) if lower(t.get("kind")) in ("refund", "")]
    total = sum((Decimal(amount(t.get("amount")) or 0) for t in txs), Decimal(0))
    tx_currency = next((text(t.get("currency")) for t in txs if text(t.get("currency"))), None)
    return {
        "id": text(r.get("id")) or "",
        "status": refund_status(lower(t.get("status")) for t in txs),
        "store_status": ",".join(lower(t.get("status")) for t in txs) or None,
        "amount": str(total) if txs else None,
        "currency": tx_currency or currency or _set_currency(r),
        "reason": text(r.get("note")),
        "created_at": iso_time(r.get("processed_at")) or iso_time(r.get("created_at")),
    }


def refund_status(statuses: Iterable[str]) -> RefundStatus | None:
    """A refund's status from its refund transactions' statuses (lower case)."""
    seen = [s for s in statuses]
    if not seen:
        return "processed"
    if any(s in ("pending", "awaiting_response") for s in seen):
        return "pending"
    if "success" in seen:
        return "completed"
    if all(s in ("failure", "error") for s in seen):
        return "failed"
    return None


def read_return(r: Any) -> StoreReturn | None:
    if not isinstance(r, dict) or text(r.get("id")) is None:
        return None
    raw = lower(r.get("status"))
    return {
        "id": gid_tail(text(r.get("id")) or ""),
        "status": RETURNS.get(raw),
        "store_status": raw or None,
    }


# --------------------------------------------------------------------------- REST fragments


def _order_id(item: dict[str, Any]) -> str | None:
    order = as_dict(item.get("order"))
    return text(item.get("order_id")) or gid_tail(text(order.get("id")) or "") or None


def _fragments(items: Iterable[Any], read: Any) -> list[StoreOrder]:
    """Fragments of orders from child resources, merged per order id (first seen first)."""
    merged: dict[str, StoreOrder] = {}
    for item in items:
        if not isinstance(item, dict) or _order_id(item) is None:
            continue
        part: StoreOrder = read(item)
        into = merged.setdefault(part["external_id"], {"external_id": part["external_id"]})
        for key, value in part.items():
            have: Any = into.get(key)
            if isinstance(value, list):
                into[key] = [*(have or []), *value]  # type: ignore[literal-required]
            elif value and not have:
                into[key] = value  # type: ignore[literal-required]
    return list(merged.values())


def _fulfillment_fragment(f: dict[str, Any]) -> StoreOrder:
    name = text(f.get("name")) or ""
    destination = as_dict(f.get("destination"))
    return {
        "external_id": _order_id(f) or "",
        # A fulfillment is named after its order: "#9999.1" belongs to "#9999".
        "order_number": name.rsplit(".", 1)[0] if name.startswith("#") and "." in name else None,
        "customer": {
            "name": text(destination.get("name")),
            "email": text(f.get("email")),
            "phone": text(destination.get("phone")),
        },
        "shipments": rest_parcels(f),
    }


def _refund_fragment(r: dict[str, Any]) -> StoreOrder:
    returned = read_return(r.get("return"))
    return {
        "external_id": _order_id(r) or "",
        "refunds": [_refund(r, None)],
        "returns": [returned] if returned else [],
    }


def _return_fragment(r: dict[str, Any]) -> StoreOrder:
    returned = read_return(r)
    return {"external_id": _order_id(r) or "", "returns": [returned] if returned else []}


def _transactions_fragment(t: dict[str, Any]) -> StoreOrder:
    kind, status = lower(t.get("kind")), lower(t.get("status"))
    part: StoreOrder = {"external_id": _order_id(t) or ""}
    when = iso_time(t.get("processed_at")) or iso_time(t.get("created_at"))
    if kind in ("sale", "capture") and status == "success":
        part["paid_at"] = when
    if kind == "refund":
        part["refunds"] = [
            {
                "id": text(t.get("id")) or "",
                "status": refund_status([status]),
                "store_status": status or None,
                "amount": amount(t.get("amount")),
                "currency": text(t.get("currency")),
                "reason": text(t.get("message")),
                "created_at": when,
            }
        ]
    return part


_WRAPPED: dict[str, Any] = {
    "orders": _listed,
    "order": _listed,
    "fulfillments": lambda v: _fragments(_items(v), _fulfillment_fragment),
    "fulfillment": lambda v: _fragments(_items(v), _fulfillment_fragment),
    "refunds": lambda v: _fragments(_items(v), _refund_fragment),
    "refund": lambda v: _fragments(_items(v), _refund_fragment),
    "transactions": lambda v: _fragments(_items(v), _transactions_fragment),
    "transaction": lambda v: _fragments(_items(v), _transactions_fragment),
}


# --------------------------------------------------------------------------- small readers


def _items(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, dict)]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def lower(value: Any) -> str:
    return (text(value) or "").lower()


def first_text(*values: Any) -> str | None:
    return next((t for t in (text(v) for v in values) if t), None)


def gid_tail(gid: str) -> str:
    """``gid://shopify/Order/450789469`` -> ``450789469`` (a plain id stays as it is)."""
    return gid.rsplit("/", 1)[-1].split("?", 1)[0] if gid else ""


def _set_currency(r: dict[str, Any]) -> str | None:
    for value in r.values():
        code = as_dict(as_dict(value).get("shop_money")).get("currency_code")
        if text(code) and text(code) != "XXX":
            return text(code)
    return None
