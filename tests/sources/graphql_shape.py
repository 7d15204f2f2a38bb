"""A REST order written as the GraphQL Admin API's ``Order`` node with the fields the source asks
for (admin-graphql Order, Fulfillment, FulfillmentTrackingInfo, Refund, OrderTransaction).

No real GraphQL order response is public (research note, gap 1), so the GraphQL tests use the
REST sample order re-expressed field by field: ``legacyResourceId`` = ``id``, enums upper-cased
(``displayFinancialStatus: PARTIALLY_REFUNDED``), ``trackingInfo`` from ``tracking_numbers`` /
``tracking_urls``, ``totalRefundedSet`` from the refund transactions, connections as ``nodes``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}


def money(amount: str | None, currency: str | None) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def order_node(o: dict[str, Any]) -> dict[str, Any]:
    customer = o.get("customer") or {}
    shipping = o.get("shipping_address") or {}
    return {
        "id": f"gid://shopify/Order/{o['id']}",
        "legacyResourceId": str(o["id"]),
        "name": o.get("name"),
        "email": o.get("email"),
        "phone": o.get("phone"),
        "createdAt": o.get("created_at"),
        "updatedAt": o.get("updated_at"),
        "processedAt": o.get("processed_at"),
        "cancelledAt": o.get("cancelled_at"),
        "displayFinancialStatus": (o.get("financial_status") or "").upper() or None,
        "displayFulfillmentStatus": FULFILLMENT[o.get("fulfillment_status")],
        "currencyCode": o.get("currency"),
        "customerLocale": o.get("customer_locale"),
        "totalPriceSet": money(o.get("total_price"), o.get("currency")),
        "customer": {
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "displayName": " ".join(
                filter(None, (customer.get("first_name"), customer.get("last_name")))
            ),
        },
        "shippingAddress": {"name": shipping.get("name"), "phone": shipping.get("phone")},
        "billingAddress": {"phone": (o.get("billing_address") or {}).get("phone")},
        "transactions": [],
        "fulfillments": [_fulfillment(f) for f in o.get("fulfillments") or []],
        "refunds": [_refund(r, o.get("currency")) for r in o.get("refunds") or []],
        "returns": {"nodes": []},
    }


def _fulfillment(f: dict[str, Any]) -> dict[str, Any]:
    numbers = f.get("tracking_numbers") or [f.get("tracking_number")]
    urls = f.get("tracking_urls") or [f.get("tracking_url")]
    return {
        "status": (f.get("status") or "").upper(),
        "trackingInfo": [
            {
                "company": f.get("tracking_company"),
                "number": n,
                "url": urls[i] if i < len(urls) else None,
            }
            for i, n in enumerate(numbers)
        ],
    }


def _refund(r: dict[str, Any], currency: str | None) -> dict[str, Any]:
    txs = r.get("transactions") or []
    total = sum((Decimal(t["amount"]) for t in txs), Decimal(0))
    return {
        "id": f"gid://shopify/Refund/{r['id']}",
        "legacyResourceId": str(r["id"]),
        "createdAt": r.get("created_at"),
        "note": r.get("note"),
        "totalRefundedSet": money(str(total), currency),
        "transactions": {
            "nodes": [
                {
                    "kind": (t.get("kind") or "").upper(),
                    "status": (t.get("status") or "").upper(),
                    "processedAt": t.get("processed_at"),
                }
                for t in txs
            ]
        },
    }
