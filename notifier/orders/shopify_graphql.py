"""Shopify's GraphQL Admin API: the queries the ``shopify`` source sends, and the reading of the
``Order`` nodes they return into StoreOrders (pure).

Fields (shopify.dev/docs/api/admin-graphql/latest: objects Order, Fulfillment,
FulfillmentTrackingInfo, Refund, Return, OrderTransaction; enums OrderDisplayFinancialStatus,
OrderDisplayFulfillmentStatus, ReturnStatus, OrderTransactionKind/Status): enums arrive upper
case and are read with the REST mapping of :mod:`notifier.orders.shopify_parse`
(``displayFinancialStatus: PARTIALLY_REFUNDED`` is the REST ``partially_refunded``); the external
id is ``legacyResourceId`` (the REST and webhook id), else the tail of the ``gid://`` id;
connections are read as ``nodes`` or ``edges[].node``, lists as they are.

The order query asks for what the notifications need and little else, so a page of
:data:`notifier.orders.shopify.PAGE_GRAPHQL` orders stays well under the 1,000-point limit of a
single query: ``transactions`` for the payment time (the first successful SALE or CAPTURE),
``fulfillments.trackingInfo`` for parcels (company, number, the store's URL), ``refunds`` with
their transactions, ``returns`` with their status.
"""

from __future__ import annotations

from typing import Any

from notifier.orders.parse_contract import (
    StoreCustomer,
    StoreOrder,
    StoreParcel,
    StoreRefund,
    amount,
    iso_time,
    text,
)
from notifier.orders.shopify_parse import (
    PAID,
    as_dict,
    first_text,
    gid_tail,
    lower,
    order_status,
    read_return,
    refund_status,
)

ORDER_FIELDS = """
  id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus currencyCode customerLocale
  totalPriceSet { shopMoney { amount currencyCode } }
  customer { firstName lastName displayName }
  shippingAddress { name phone }
  billingAddress { phone }
  transactions(first: 5) { kind status processedAt }
  fulfillments(first: 10) { status trackingInfo(first: 5) { company number url } }
  refunds(first: 5) {
    id legacyResourceId createdAt note
    totalRefundedSet { shopMoney { amount currencyCode } }
    transactions(first: 3) { nodes { kind status processedAt } }
  }
  returns(first: 5) { nodes { id name status } }
"""
ORDERS_QUERY = (
    "query SyncOrders($first: Int!, $after: String, $query: String) {\n"
    "  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {\n"
    "    pageInfo { hasNextPage endCursor }\n"
    f"    nodes {{ {ORDER_FIELDS} }}\n"
    "  }\n}"
)
SHOP_QUERY = "query Shop { shop { name myshopifyDomain } }"


def read(data: Any) -> list[StoreOrder]:
    """The orders of a GraphQL ``data``: the ``orders`` connection, ``order``, ``node(s)``."""
    if not isinstance(data, dict):
        return []
    found = nodes(data.get("orders")) + [data[k] for k in ("order", "node") if data.get(k)]
    found += nodes(data.get("nodes"))
    return [o for o in (graphql_order(n) for n in found if isinstance(n, dict)) if o]


def graphql_order(o: dict[str, Any]) -> StoreOrder | None:
    """One GraphQL ``Order`` node (the fields the query asks)."""
    oid = text(o.get("legacyResourceId")) or gid_tail(text(o.get("id")) or "")
    if not oid:
        return None
    financial = lower(o.get("displayFinancialStatus"))
    fulfillment = lower(o.get("displayFulfillmentStatus"))
    money = as_dict(as_dict(o.get("totalPriceSet")).get("shopMoney"))
    currency = text(o.get("currencyCode")) or text(money.get("currencyCode"))
    paid_at = _first_payment(o.get("transactions"))
    if paid_at is None and financial in PAID:
        paid_at = iso_time(o.get("processedAt"))
    returns = [read_return(r) for r in nodes(o.get("returns"))]
    return {
        "external_id": oid,
        "order_number": text(o.get("name")),
        "status": order_status(bool(o.get("cancelledAt")), financial, fulfillment),
        "paid_at": paid_at,
        "currency": currency,
        "total": amount(money.get("amount")),
        "customer": _graphql_customer(o),
        "shipments": [p for f in nodes(o.get("fulfillments")) for p in _graphql_parcels(f)],
        "refunds": [_graphql_refund(r, currency) for r in nodes(o.get("refunds"))],
        "returns": [r for r in returns if r],
        "updated_at": iso_time(o.get("updatedAt")),
    }


def _graphql_customer(o: dict[str, Any]) -> StoreCustomer:
    customer = as_dict(o.get("customer"))
    shipping, billing = as_dict(o.get("shippingAddress")), as_dict(o.get("billingAddress"))
    full = " ".join(filter(None, (text(customer.get(k)) for k in ("firstName", "lastName"))))
    email = as_dict(customer.get("defaultEmailAddress")).get("emailAddress")
    phone = as_dict(customer.get("defaultPhoneNumber")).get("phoneNumber")
    return {
        "name": full or text(customer.get("displayName")) or text(shipping.get("name")),
        "email": text(o.get("email")) or text(email) or text(customer.get("email")),
        "phone": first_text(o.get("phone"), phone, shipping.get("phone"), billing.get("phone")),
        "locale": text(o.get("customerLocale")),
    }


def _graphql_parcels(f: dict[str, Any]) -> list[StoreParcel]:
    if lower(f.get("status")) == "cancelled":
        return []
    return [
        {
            "carrier_name": text(t.get("company")),
            "tracking_number": text(t.get("number")) or "",
            "tracking_url": text(t.get("url")),
        }
        for t in nodes(f.get("trackingInfo"))
        if isinstance(t, dict) and text(t.get("number"))
    ]


def _graphql_refund(r: dict[str, Any], currency: str | None) -> StoreRefund:
    txs = [t for t in nodes(r.get("transactions")) if lower(t.get("kind")) in ("refund", "")]
    money = as_dict(as_dict(r.get("totalRefundedSet")).get("shopMoney"))
    return {
        "id": text(r.get("legacyResourceId")) or gid_tail(text(r.get("id")) or ""),
        "status": refund_status(lower(t.get("status")) for t in txs),
        "store_status": ",".join(lower(t.get("status")) for t in txs) or None,
        "amount": amount(money.get("amount")),
        "currency": text(money.get("currencyCode")) or currency,
        "reason": text(r.get("note")),
        "created_at": iso_time(r.get("createdAt")),
    }


def _first_payment(transactions: Any) -> str | None:
    times = [
        iso_time(t.get("processedAt")) or iso_time(t.get("createdAt"))
        for t in nodes(transactions)
        if lower(t.get("kind")) in ("sale", "capture") and lower(t.get("status")) == "success"
    ]
    return min((t for t in times if t), default=None)


def nodes(value: Any) -> list[Any]:
    """A list, a connection's ``nodes``, or its ``edges[].node``."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        if isinstance(value.get("nodes"), list):
            return nodes(value["nodes"])
        edges = value.get("edges") or []
        return [e["node"] for e in edges if isinstance(as_dict(e).get("node"), dict)]
    return []
