"""Every Shopify sample read field by field; the same order over GraphQL reads the same; error
bodies are one-line errors."""

from __future__ import annotations

import pytest

from notifier.orders import shopify_parse
from notifier.orders.parse_contract import BodyError, contract, order_in
from notifier.orders.shopify import parse
from tests.sources.conftest import sample
from tests.sources.graphql_shape import order_node

USPS_URL = "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=1Z2345"
UPS_URL = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums="
BOB = {"name": "Bob Norman", "email": "bob.norman@mail.example.com", "phone": "+557734881234"}
REFUND_509 = {
    "id": "509562969",
    "status": "completed",
    "store_status": "success",
    "amount": "209.00",
    "currency": "USD",
    "reason": "it broke during shipping",
    "created_at": "2024-04-02T08:59:11-05:00",
}
ORDER_450 = {
    "external_id": "450789469",
    "status": "paid",  # partially_refunded: paid, with a refund told on its own
    "paid_at": "2008-01-10T11:00:00-05:00",
    "customer": BOB,
    "shipments": [
        {"carrier": "usps", "courier": None, "tracking_number": "1Z2345", "tracking_url": USPS_URL}
    ],
    "refunds": [REFUND_509],
    "returns": [],
}


@pytest.mark.parametrize(
    "name",
    ["rest_order_get.json", "rest_orders_list_updated_at_min.json", "rest_order_cancel.json"],
)
def test_rest_orders(name):
    (got,) = parse(sample(f"shopify/{name}"))
    assert contract(got) == ORDER_450
    assert got["order_number"] == "#1001"
    assert (got["currency"], got["total"]) == ("USD", "598.94")
    assert got["customer"]["locale"] is None
    assert got["updated_at"] == "2008-01-10T11:00:00-05:00"


def test_rest_order_becomes_an_order_in_with_its_refund_status():
    order, warnings = order_in(parse(sample("shopify/rest_order_get.json"))[0], country="ID")
    assert warnings == []
    assert (order.external_id, order.number, order.status) == ("450789469", "#1001", "paid")
    assert order.refund_status == "completed" and order.return_status is None
    assert order.total_minor == 59894 and order.customer.email == BOB["email"]
    (parcel,) = order.shipments
    assert (parcel.carrier, parcel.courier, parcel.tracking_number) == ("usps", None, "1Z2345")
    assert parcel.tracking_url == USPS_URL  # the store's own link is kept


def test_graphql_reads_the_same_order_as_rest():
    rest = sample("shopify/rest_order_get.json")["order"]
    body = {
        "data": {
            "orders": {
                "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo0NTB9"},
                "nodes": [order_node(rest)],
            }
        },
        "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": 40}},
    }
    (graphql,) = parse(body)
    (restful,) = parse({"order": rest})
    assert graphql == restful
    edges = {"data": {"orders": {"edges": [{"cursor": "a", "node": order_node(rest)}]}}}
    assert parse(edges) == [restful]
    assert parse({"data": {"order": order_node(rest)}}) == [restful]


def test_graphql_payment_time_comes_from_the_first_successful_sale_or_capture():
    node = order_node(sample("shopify/rest_order_get.json")["order"])
    node["transactions"] = [
        {"kind": "AUTHORIZATION", "status": "SUCCESS", "processedAt": "2026-11-30T01:00:00Z"},
        {"kind": "CAPTURE", "status": "FAILURE", "processedAt": "2026-11-30T02:00:00Z"},
        {"kind": "CAPTURE", "status": "SUCCESS", "processedAt": "2026-11-30T03:00:00Z"},
    ]
    node["returns"] = {"nodes": [{"id": "gid://shopify/Return/7", "status": "REQUESTED"}]}
    (got,) = parse({"data": {"order": node}})
    assert got["paid_at"] == "2026-11-30T03:00:00+00:00"
    assert got["returns"] == [{"id": "7", "status": "requested", "store_status": "requested"}]


def test_fulfillment_update_tracking():
    (got,) = parse(sample("shopify/rest_fulfillment_update_tracking.json"))
    assert contract(got) == {
        "external_id": "450789469",
        "status": None,
        "paid_at": None,
        "customer": {"name": None, "email": None, "phone": None},
        "shipments": [
            {
                "carrier": "ups",
                "courier": None,
                "tracking_number": "1Z001985YW99744790",
                "tracking_url": UPS_URL + "1Z001985YW99744790",
            }
        ],
        "refunds": [],
        "returns": [],
    }
    assert got["order_number"] == "#1001"  # from the fulfillment's name "#1001.1"


def test_fulfillments_list():
    (got,) = parse(sample("shopify/rest_fulfillments_list.json"))
    assert got["external_id"] == "450789469"
    assert contract(got)["shipments"] == ORDER_450["shipments"]


def test_fulfillments_create_webhook_names_the_shopper_and_the_order():
    (got,) = parse(sample("shopify/webhook_fulfillments_create.json"))
    assert contract(got) == {
        "external_id": "820982911946154508",
        "status": None,  # a fulfillment says nothing about payment
        "paid_at": None,
        "customer": {"name": "Steve Shipper", "email": "jon@example.com", "phone": "555-555-SHIP"},
        "shipments": [
            {
                "carrier": "ups",
                "courier": None,
                "tracking_number": "1Z827WK74630",  # stored upper case, without spaces
                "tracking_url": UPS_URL + "1z827wk74630",
            }
        ],
        "refunds": [],
        "returns": [],
    }
    assert got["order_number"] == "#9999"
    # "555-555-SHIP" is no phone number in Indonesia: left out, the email still reaches Jon.
    order, warnings = order_in(got, country="ID")
    assert order.customer.phone is None and order.customer.email == "jon@example.com"
    assert len(warnings) == 1 and "phone left out" in warnings[0]


def test_refunds_list():
    (got,) = parse(sample("shopify/rest_refunds_list.json"))
    assert got["external_id"] == "450789469"
    assert got["refunds"] == [REFUND_509]
    assert got.get("shipments", []) == [] and "status" not in got


def test_refunds_create_webhook():
    (got,) = parse(sample("shopify/webhook_refunds_create.json"))
    assert got["external_id"] == "820982911946154508"
    assert got["refunds"] == [
        {
            "id": "890088186047892319",
            "status": "completed",
            "store_status": "success,success",
            "amount": "85.00",  # 75.00 + 10.00, both refund transactions succeeded
            "currency": "USD",  # the transactions name none; the refund's money sets do
            "reason": "Things were damaged",
            "created_at": "2021-12-31T19:00:00-05:00",
        }
    ]
    assert got["returns"] == []  # "return": null
    assert order_in(got)[0].refund_status == "completed"


def test_transactions_list_gives_the_payment_time_and_the_refund():
    (got,) = parse(sample("shopify/rest_transactions_list.json"))
    assert got["external_id"] == "450789469"
    assert got["paid_at"] == "2005-08-05T10:22:51-04:00"  # the capture, not the authorization
    assert [(r["id"], r["status"], r["amount"]) for r in got["refunds"]] == [
        ("179259969", "completed", "209.00")
    ]


@pytest.mark.parametrize(
    ("name", "status", "ours"),
    [
        ("webhook_returns_approve.json", "open", "approved"),
        ("webhook_returns_close.json", "closed", "completed"),
    ],
)
def test_returns_webhooks(name, status, ours):
    (got,) = parse(sample(f"shopify/{name}"))
    assert got["external_id"] == "4783296544821"
    assert got["returns"] == [{"id": "123134564567890", "status": ours, "store_status": status}]
    assert order_in(got)[0].return_status == ours


@pytest.mark.parametrize(
    ("raw", "ours"),
    [("requested", "requested"), ("declined", "rejected"), ("canceled", None)],
)
def test_every_return_status(raw, ours):
    body = {"id": 9, "admin_graphql_api_id": "gid://shopify/Return/9", "status": raw, "order_id": 5}
    assert parse(body)[0]["returns"][0]["status"] == ours


@pytest.mark.parametrize(
    "name",
    [
        "rest_fulfillment_event_create_in_transit.json",
        "rest_fulfillment_events_list.json",
        "rest_fulfillment_orders_list.json",
    ],
)
def test_bodies_without_order_facts_give_no_orders(name):
    assert parse(sample(f"shopify/{name}")) == []


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ({"errors": "Not Found"}, "Shopify error: Not Found"),
        (
            {"errors": "[API] Invalid API key or access token (unrecognized login)"},
            "Shopify error: [API] Invalid API key",
        ),
        ({"errors": {"order": ["is invalid"]}}, "Shopify error: order is invalid"),
        (
            {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": None}},
            },
            "Shopify error: Throttled (THROTTLED)",
        ),
        ("a string", "not a Shopify body"),
    ],
)
def test_error_bodies(body, line):
    with pytest.raises(BodyError) as caught:
        parse(body)
    assert str(caught.value).startswith(line) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("cancelled", "financial", "fulfillment", "ours"),
    [
        (True, "paid", "fulfilled", "cancelled"),
        (False, "refunded", None, "refunded"),
        (False, "voided", None, "cancelled"),
        (False, "paid", "fulfilled", "fulfilled"),
        (False, "paid", "partial", "processing"),
        (False, "partially_refunded", None, "paid"),
        (False, "authorized", None, "pending"),
        (False, "pending", None, "pending"),
        (False, "something_new", None, None),
    ],
)
def test_order_status(cancelled, financial, fulfillment, ours):
    assert shopify_parse.order_status(cancelled, financial, fulfillment or "") == ours


def test_a_cancelled_fulfillment_has_no_parcel_and_every_number_is_a_parcel():
    f = {
        "status": "success",
        "tracking_company": "JNE",
        "tracking_numbers": ["JP0000000001", "JP0000000002"],
        "tracking_urls": ["https://jne.example/1"],
    }
    assert [(p["tracking_number"], p["tracking_url"]) for p in shopify_parse.rest_parcels(f)] == [
        ("JP0000000001", "https://jne.example/1"),
        ("JP0000000002", None),
    ]
    assert shopify_parse.rest_parcels(f | {"status": "cancelled"}) == []
