"""Every WooCommerce sample read field by field; tracking from each plugin's meta (the sample
order with the meta each plugin writes, shapes from the research note: no real dump exists) and
from notes; error bodies are one-line errors."""

from __future__ import annotations

import copy
import json

import pytest

from notifier.orders import woocommerce_parse as wp
from notifier.orders.parse_contract import BodyError, contract, order_in
from notifier.orders.woocommerce import parse
from tests.sources.conftest import sample

JOHN = {"name": "John Doe", "email": "john.doe@example.com", "phone": "(555) 555-5555"}
ORDER_727 = {
    "external_id": "727",
    "status": "processing",
    "paid_at": "2017-03-22T19:28:08+00:00",  # date_paid_gmt, UTC
    "customer": JOHN,
    "shipments": [],
    "refunds": [],
    "returns": [],
}
TNT_LINK = (
    "http://www.tnt.com/webtracker/tracking.do?requestType=GEN&searchType=CON&respLang=en&"
    "respCountry=GENERIC&sourceID=1&sourceCountry=ww&cons=12345678&navigation=1&genericSiteIdent="
)


def test_order_get():
    (got,) = parse(sample("woocommerce/wc_v3_order_get.json"))
    assert contract(got) == ORDER_727
    assert (got["order_number"], got["currency"], got["total"]) == ("727", "USD", "29.35")
    assert got["updated_at"] == "2017-03-22T19:28:08+00:00"


def test_orders_list():
    first, second = parse(sample("woocommerce/wc_v3_orders_list.json"))
    assert contract(first) == ORDER_727
    assert contract(second) == {
        "external_id": "723",
        "status": "completed",
        "paid_at": None,  # completed but date_paid null: payment is not inferred from status
        "customer": {
            "name": "João Silva",
            "email": "joao.silva@example.com",
            "phone": "(11) 1111-1111",
        },
        "shipments": [],
        "refunds": [
            {
                "id": "726",
                "status": "processed",
                "store_status": None,
                "amount": "10.00",  # "-10.00" in the order
                "currency": "USD",
                "reason": None,
                "created_at": None,
            },
            {
                "id": "724",
                "status": "processed",
                "store_status": None,
                "amount": "9.00",
                "currency": "USD",
                "reason": None,
                "created_at": None,
            },
        ],
        "returns": [],
    }
    assert order_in(second)[0].refund_status == "processed"


def test_refund_get_and_list_belong_to_their_order():
    (one,) = parse(sample("woocommerce/wc_v3_refund_get.json"))
    (both,) = parse(sample("woocommerce/wc_v3_refunds_list.json"))
    assert one["external_id"] == both["external_id"] == "723"  # from _links.up
    assert one["refunds"] == [
        {
            "id": "726",
            "status": "processed",  # refunded_payment false: recorded, no gateway refund
            "store_status": "recorded",
            "amount": "10.00",
            "currency": None,
            "reason": None,
            "created_at": "2017-03-21T20:07:11+00:00",
        }
    ]
    assert [(r["id"], r["amount"]) for r in both["refunds"]] == [("726", "10.00"), ("724", "9.00")]
    paid_back = wp.refund({"id": 5, "amount": "3.00", "refunded_payment": True}, "IDR")
    assert (paid_back["status"], paid_back["currency"]) == ("completed", "IDR")


def test_shipment_tracking_item_with_a_wrapped_link():
    (got,) = parse(sample("woocommerce/shipment_tracking_v1_create_response.json"))
    assert got["external_id"] == "4497"
    assert got["shipments"] == [
        {
            "carrier_name": "TNT Express (consignment)",
            "tracking_number": "12345678",
            "tracking_url": TNT_LINK,
        }
    ]
    # No installed carrier tracks TNT and "12345678" tells nothing: the parcel is reported.
    assert contract(got)["shipments"][0]["carrier"] is None
    order, warnings = order_in(got)
    assert (
        order.shipments == []
        and "parcel 12345678 (TNT Express (consignment)) left out" in warnings[0]
    )


@pytest.mark.parametrize(
    "name", ["wc_v3_order_notes_list.json", "shipment_tracking_providers_shortened.json"]
)
def test_bodies_without_order_facts_give_no_orders(name):
    assert parse(sample(f"woocommerce/{name}")) == []


def with_meta(*meta, items=None):
    """The sample order 727 carrying the meta a tracking plugin writes."""
    order = copy.deepcopy(sample("woocommerce/wc_v3_order_get.json"))
    order["meta_data"] += [{"id": 90 + i, "key": k, "value": v} for i, (k, v) in enumerate(meta)]
    for item, extra in zip(order["line_items"], items or [], strict=False):
        item["meta_data"] += extra
    return order


PLUGINS = [
    (  # WooCommerce Shipment Tracking / AST: a predefined provider
        [
            (
                "_wc_shipment_tracking_items",
                [
                    {
                        "tracking_provider": "jne",
                        "custom_tracking_provider": "",
                        "custom_tracking_link": "",
                        "tracking_number": "JP1234567890",
                        "date_shipped": "1701388800",
                        "tracking_id": "a1b2",
                    }
                ],
            )
        ],
        None,
        [("binderbyte", "jne", "JP1234567890", None)],
    ),
    (  # ... a custom provider with its own link, stored as JSON text
        [
            (
                "_wc_shipment_tracking_items",
                json.dumps(
                    [
                        {
                            "tracking_provider": "",
                            "custom_tracking_provider": "SiCepat REG",
                            "custom_tracking_link": "https://sicepat.example/t/004123456789",
                            "tracking_number": "004123456789",
                            "date_shipped": 1701388800,
                        }
                    ]
                ),
            )
        ],
        None,
        [("binderbyte", "sicepat", "004123456789", "https://sicepat.example/t/004123456789")],
    ),
    (  # AfterShip
        [
            (
                "_aftership_tracking_items",
                [{"slug": "usps", "tracking_number": "9400111899223100001234"}],
            )
        ],
        None,
        [("usps", None, "9400111899223100001234", None)],
    ),
    (  # AfterShip, older single keys
        [
            ("_aftership_tracking_number", "1Z999AA10123456784"),
            ("_aftership_tracking_provider_name", "UPS"),
        ],
        None,
        [("ups", None, "1Z999AA10123456784", None)],
    ),
    (  # YITH Order & Shipment Tracking
        [
            ("ywot_tracking_code", "JD0123456789"),
            ("ywot_carrier_name", "J&T Express"),
            ("ywot_carrier_url", "https://jet.example/track"),
        ],
        None,
        [("binderbyte", "jnt", "JD0123456789", "https://jet.example/track")],
    ),
    (  # VillaTheme Orders Tracking: per line item, the last entry is current
        [],
        [
            [
                {
                    "id": 7,
                    "key": "_vi_wot_order_item_tracking_data",
                    "value": json.dumps(
                        [
                            {"tracking_number": "OLD000000001", "carrier_name": "JNE"},
                            {
                                "tracking_number": "SIMNRM0001",
                                "carrier_slug": "simulator-express",
                                "carrier_url": "https://sim.example/SIMNRM0001",
                            },
                        ]
                    ),
                }
            ]
        ],
        [("simulator", None, "SIMNRM0001", "https://sim.example/SIMNRM0001")],
    ),
    (  # the common single keys
        [("_tracking_number", "JP9999999999"), ("_tracking_provider", "JNE YES")],
        None,
        [("binderbyte", "jne", "JP9999999999", None)],
    ),
]


@pytest.mark.parametrize(("meta", "items", "parcels"), PLUGINS)
def test_tracking_plugins(meta, items, parcels):
    (got,) = parse(with_meta(*meta, items=items))
    shipments = contract(got)["shipments"]
    assert [
        (s["carrier"], s["courier"], s["tracking_number"], s["tracking_url"]) for s in shipments
    ] == parcels


def test_two_plugins_naming_the_same_parcel_make_one_and_the_merchants_aggregator_is_used():
    order = with_meta(
        (
            "_wc_shipment_tracking_items",
            [{"tracking_provider": "JNE", "tracking_number": "JP1234567890"}],
        ),
        ("_tracking_number", "jp 1234567890"),
        ("ywot_tracking_code", "JP2222222222"),
        ("ywot_carrier_name", "JNE"),
    )
    (got,) = parse(order)
    got_in, _ = order_in(got, aggregator="biteship")
    assert [(s.carrier, s.courier, s.tracking_number) for s in got_in.shipments] == [
        ("biteship", "jne", "JP1234567890"),
        ("biteship", "jne", "JP2222222222"),
    ]


@pytest.mark.parametrize(
    ("note", "parcel"),
    [
        ("Pesanan dikirim via JNE, resi: JP1234567890", ("JNE", "JP1234567890")),
        ("No. Resi J&T Express JD0123456789 ya kak", ("J&T Express", "JD0123456789")),
        ("Tracking number 1Z999AA10123456784 (UPS)", ("UPS", "1Z999AA10123456784")),
        ("Order status changed from On hold to Completed.", None),
        ("Order ok!!!", None),
    ],
)
def test_tracking_typed_into_a_note(note, parcel):
    found = wp.note_parcels(note)
    assert [(p["carrier_name"], p["tracking_number"]) for p in found] == (
        [parcel] if parcel else []
    )


def test_a_note_body_with_a_tracking_number_belongs_to_its_order():
    notes = sample("woocommerce/wc_v3_order_notes_list.json")
    notes[0]["note"] = "Dikirim pakai AnterAja, no resi 10000123456789"
    (got,) = parse(notes)
    assert (
        got["external_id"] == "723" and got["shipments"][0]["tracking_number"] == "10000123456789"
    )


@pytest.mark.parametrize(
    ("slug", "ours"),
    [
        ("pending", "pending"),
        ("on-hold", "pending"),
        ("failed", "pending"),
        ("processing", "processing"),
        ("completed", "completed"),
        ("cancelled", "cancelled"),
        ("trash", "cancelled"),
        ("refunded", "refunded"),
        ("shipped", "fulfilled"),
        ("wc-partial-shipped", "processing"),
        ("delivered", "completed"),
        ("some-plugin-status", None),
    ],
)
def test_statuses(slug, ours):
    order = sample("woocommerce/wc_v3_order_get.json") | {"status": slug}
    assert parse(order)[0]["status"] == ours


def test_local_payment_time_without_gmt_stays_naive_for_the_merchants_zone():
    order = sample("woocommerce/wc_v3_order_get.json") | {"date_paid_gmt": None}
    assert parse(order)[0]["paid_at"] == "2017-03-22T16:28:08"


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            {
                "code": "woocommerce_rest_shop_order_invalid_id",
                "message": "Invalid ID.",
                "data": {"status": 404},
            },
            "WooCommerce error woocommerce_rest_shop_order_invalid_id: Invalid ID. (HTTP 404)",
        ),
        (
            {
                "code": "woocommerce_rest_authentication_error",
                "message": "Consumer key is missing.",
                "data": {"status": 401},
            },
            "WooCommerce error woocommerce_rest_authentication_error: "
            "Consumer key is missing. (HTTP 401)",
        ),
        (42, "not a WooCommerce body: a JSON int"),
    ],
)
def test_error_bodies(body, line):
    with pytest.raises(
        BodyError,
        match="^" + line.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.") + "$",
    ):
        parse(body)
