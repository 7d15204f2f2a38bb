"""Every marketplace sample read field by field: ``parse`` (the ``sources parse`` contract),
``order_in`` (what intake stores: masked contacts and untrackable parcels left out with a
warning) and the logistics traces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from notifier.orders import lazada, shopee, tiktok_shop
from notifier.orders.parse_contract import BodyError, contract, order_in
from tests.marketplaces.standin import sample


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


NOBODY = {"name": None, "email": None, "phone": None}


def test_shopee_order_detail():
    body = sample("shopee/order_get_order_detail.json")
    [order] = shopee.parse(body)
    assert contract(order) == {
        "external_id": "2404098R48U37H",
        "status": "completed",
        "paid_at": iso(1712817766),
        "customer": NOBODY,  # "P******n", "******64": masked by Shopee
        "shipments": [],  # the detail names the courier, the resi comes from get_tracking_number
        "refunds": [],
        "returns": [],
    }
    assert (order["currency"], order["total"], order["updated_at"]) == (
        "VND",
        "32119",
        iso(1713139948),
    )
    raw = body["response"]["order_list"][0]
    assert shopee.packages(raw) == [("OFG166300791210964", "5-Day Delivery (SPX)")]
    stored, warnings = order_in(order, country="ID")
    assert (stored.status, stored.currency, stored.total_minor) == ("completed", "VND", 32119)
    assert stored.customer.phone is None and stored.customer.email is None and warnings == []


def test_shopee_order_list_and_shipment_list_name_orders_only():
    listed = shopee.parse(sample("shopee/order_get_order_list.json"))
    assert [o["external_id"] for o in listed] == [
        "201218V2Y6E59M",
        "201218V2W2SG1E",
        "201218V2VJJC70",
        "201218V2TEURPF",
        "201218UXWNTUNP",
        "201218UWFYSCF1",
        "201215MPRFUUNN",
        "201215MCR3V9N8",
        "201214JASXYXY6",
        "201214JAJXU6G7",
    ]
    assert all(set(o) == {"external_id"} for o in listed)  # nothing else is said
    shipping = shopee.parse(sample("shopee/order_get_shipment_list.json"))
    assert [o["external_id"] for o in shipping] == [
        "2003160SXK2A3T",
        "200313Q1GR98GC",
        "201228RDKTYMXV",
        "201228RDQN04K7",
        "201228RDQN04K8",
    ]
    with_status = {"response": {"order_list": [{"order_sn": "X1", "order_status": "SHIPPED"}]}}
    assert shopee.parse(with_status | {"error": ""})[0]["status"] == "fulfilled"


def test_shopee_return_list():
    [order] = shopee.parse(sample("shopee/returns_get_return_list.json"))
    assert contract(order) == {
        "external_id": "200203C6W0AR27",
        "status": None,
        "paid_at": None,
        "customer": NOBODY,
        "shipments": [],
        "refunds": [
            {
                "id": "200203171852695",
                "status": None,  # CANCELLED: the buyer withdrew; nothing to tell
                "store_status": "CANCELLED",
                "amount": "1409",
                "currency": "SGD",
                "reason": "return reason",
                "created_at": iso(1580721513),
            }
        ],
        "returns": [
            {
                "id": "200203171852695",
                "status": None,
                "store_status": "CANCELLED",
                "tracking_number": "RNSHS00177569",
            }
        ],
    }
    assert order["updated_at"] == iso(1580729377)
    accepted = sample("shopee/returns_get_return_list.json")
    accepted["response"]["return"][0] |= {"status": "ACCEPTED", "return_solution": 1}
    [refund_only] = shopee.parse(accepted)
    assert "returns" not in refund_only and refund_only["refunds"][0]["status"] == "pending"
    stored, _ = order_in(refund_only)
    assert (stored.return_status, stored.refund_status) == (None, "pending")


def test_shopee_pushes_lost_and_live():
    [order] = shopee.parse(sample("shopee/push_get_lost_push_message.json"))
    assert order == {
        "external_id": "220810QSK8S7BX",
        "status": "processing",
        "updated_at": iso(1660123127),
    }
    tracking_push = {"shop_id": 1, "code": 4, "timestamp": 1, "data": {"ordersn": "A1"}}
    tracking_push["data"] |= {"package_number": "P1", "tracking_no": "JP1234567890"}
    [parcel] = shopee.parse(tracking_push)
    assert parcel["shipments"] == [  # the package: for tracking through Shopee
        {"carrier_name": None, "tracking_number": "JP1234567890", "tracking_url": None}
        | {"package": "P1"}
    ]
    assert shopee.parse({"shop_id": 1, "code": 12, "timestamp": 1, "data": {}}) == []


@pytest.mark.parametrize(
    "name",
    [
        "logistics_get_tracking_number.json",
        "logistics_get_tracking_info.json",
        "public_refresh_access_token.json",
    ],
)
def test_shopee_bodies_without_orders(name):
    assert shopee.parse(sample(f"shopee/{name}")) == []


def test_shopee_tracking_info():
    result = shopee.parse_tracking_info(sample("shopee/logistics_get_tracking_info.json"))
    assert result.as_dict() == {
        "carrier": "shopee",
        "tracking_number": None,
        "status": "exception",  # LOGISTICS_DELIVERY_FAILED: the parcel is going back
        "estimated_delivery": None,
        "events": [
            {
                "status": "failed_attempt",
                "time": iso(1726561500),
                "location": None,
                "description": "包裹正退回物流中心",
            }
        ],
    }
    assert result.raw_status == "LOGISTICS_DELIVERY_FAILED"
    assert result.events[0].raw_code == "FAILED_DELIVERED"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"error": "error_auth", "message": "Invalid access_token.", "request_id": "r"},
            "Shopee error error_auth: Invalid access_token.",
        ),
        (
            {"error": "order.order_list_invalid_time", "message": "Start time must be earlier"},
            "Shopee error order.order_list_invalid_time: Start time must be earlier",
        ),
        ([], "not a Shopee body (expected a JSON object)"),
        ({"orders": []}, "not a Shopee body (no response object)"),
    ],
)
def test_shopee_error_bodies(body: Any, message: str):
    with pytest.raises(BodyError) as err:
        shopee.parse(body)
    assert str(err.value) == message


def test_tiktok_order_example():
    raw = sample("tiktok-shop/order_detail_doc_example_order.json")
    [order] = tiktok_shop.parse(raw)
    assert contract(order) == {
        "external_id": "576461413038785752",
        "status": "pending",  # UNPAID
        "paid_at": iso(1619611563),
        # "(+1)213-***-1234" is masked; the email is TikTok's relay for its own chat
        "customer": {"name": "Zay", "email": None, "phone": None},
        "shipments": [
            {"carrier": None, "courier": None, "tracking_number": "JX12345", "tracking_url": None}
        ],
        "refunds": [],
        "returns": [],
    }
    assert (order["currency"], order["total"], order["updated_at"]) == (
        "IDR",
        "5000",
        iso(1619621355),
    )
    stored, warnings = order_in(order, country="ID")
    assert stored.shipments == [] and stored.total_minor == 5000 and stored.customer.name == "Zay"
    assert warnings == [
        "order 576461413038785752: parcel JX12345 (TT Virtual express) left out: "
        "carrier not recognised and the number does not tell"
    ]
    wrapped = {"code": 0, "message": "Success", "data": {"orders": [raw], "total_count": 1}}
    assert tiktok_shop.parse(wrapped) == [order]


def test_tiktok_webhook_and_returns():
    [order] = tiktok_shop.parse(sample("tiktok-shop/webhook_order_status_change_doc.json"))
    assert order == {
        "external_id": "576486316948490001",
        "status": "pending",
        "updated_at": iso(1644412885),
    }
    body = {"code": 0, "data": {"return_orders": [{
        "return_id": "R1", "order_id": "O1", "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "return_type": "RETURN_AND_REFUND", "return_tracking_number": "JP5550001111",
        "refund_amount": {"currency": "IDR", "refund_total": "150000"},
        "return_reason_text": "Rusak", "create_time": 1700000000, "update_time": 1700000500,
    }]}}  # fmt: skip
    [back] = tiktok_shop.parse(body)
    assert back["returns"] == [
        {"id": "R1", "status": "completed", "store_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
         "tracking_number": "JP5550001111"}
    ]  # fmt: skip
    assert back["refunds"][0] | {} == {
        "id": "R1", "status": "completed", "store_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "amount": "150000", "currency": "IDR", "reason": "Rusak", "created_at": iso(1700000000),
    }  # fmt: skip
    with pytest.raises(BodyError, match="TikTok Shop error 105002: Expired credentials"):
        tiktok_shop.parse({"code": 105002, "message": "Expired credentials", "data": {}})
    assert tiktok_shop.parse({"code": 0, "data": {"shops": []}}) == []


def test_tiktok_tracking_reads_the_words_oldest_first():
    body = {"code": 0, "data": {"tracking": [
        {"description": "Paket telah diterima oleh Budi", "update_time_millis": 1700007200000},
        {"description": "Paket sedang dikirim", "update_time_millis": 1700003600000},
    ]}}  # fmt: skip
    result = tiktok_shop.parse_tracking(body, "JP2611260102")
    assert [e.time for e in result.events] == [
        datetime.fromtimestamp(1700003600, UTC),
        datetime.fromtimestamp(1700007200, UTC),
    ]
    assert result.status.value == "delivered" and result.tracking_number == "JP2611260102"


def test_lazada_orders_get():
    [order] = lazada.parse(sample("lazada/orders_get.json"))
    assert contract(order) == {
        "external_id": "491253082180001",
        "status": None,  # the example's statuses list is empty
        "paid_at": None,
        "customer": {"name": "Ha Hung last_name", "email": None, "phone": None},  # "6****67"
        "shipments": [],  # parcels come with the items
        "refunds": [],
        "returns": [],
    }
    assert (order["order_number"], order["updated_at"]) == (
        "491253082180001",
        "2018-02-09T22:44:30+08:00",
    )
    assert lazada.parse(sample("lazada/logistic_order_trace.json")) == []


def test_lazada_statuses_and_items():
    order = sample("lazada/orders_get.json")
    cases = {("pending",): "paid", ("canceled", "canceled"): "cancelled",
             ("delivered", "canceled"): "fulfilled", ("failed_delivery",): None,
             ("confirmed",): "completed", ("ready_to_ship", "unpaid"): "processing"}  # fmt: skip
    for statuses, ours in cases.items():
        order["data"]["orders"][0] |= {"statuses": list(statuses), "payment_method": "DANA"}
        assert lazada.parse(order)[0]["status"] == ours, statuses
    order["data"]["orders"][0] |= {"statuses": ["pending"], "payment_method": "COD"}
    assert lazada.parse(order)[0]["status"] == "processing"
    items = {"code": "0", "data": [{"order_id": "32793", "order_items": [
        {"status": "shipped", "tracking_code": "JP1", "currency": "IDR",
         "shipment_provider": "Pickup: LEX ID, Delivery: J&T Express",
         "payment_time": "1697193374592"},
        {"status": "shipped", "tracking_code": "JP1", "shipment_provider": "LEX ID"},
        {"status": "pending", "tracking_code": "null", "shipment_provider": "null"},
    ]}]}  # fmt: skip
    [parsed] = lazada.parse(items)
    assert parsed == {
        "external_id": "32793",
        "shipments": [
            {"carrier_name": "J&T Express", "tracking_number": "JP1", "tracking_url": None}
        ],
        "status": "fulfilled",
        "paid_at": datetime.fromtimestamp(1697193374.592, UTC).isoformat(),
        "currency": "IDR",
    }
    with pytest.raises(BodyError, match="Lazada error IllegalAccessToken"):
        lazada.parse({"type": "ISV", "code": "IllegalAccessToken", "message": "invalid"})


def test_lazada_trace():
    [result] = lazada.parse_trace(sample("lazada/logistic_order_trace.json"))
    assert result.as_dict() == {
        "carrier": "lazada",
        "tracking_number": "NLXSG20300914",
        "status": "info_received",
        "estimated_delivery": None,
        "events": [
            {
                "status": "info_received",  # detail_type ready_to: packed, not yet handed over
                "time": datetime.fromtimestamp(1625987646.597, UTC).isoformat(),
                "location": None,
                "description": "Your parcel has been packed and ready to be handed over to our "
                "shipping provider.",
            }
        ],
    }
    assert result.events[0].raw_code == "ready_to"
