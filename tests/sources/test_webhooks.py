"""Store webhooks through the whole app: Shopify (X-Shopify-Hmac-Sha256) and WooCommerce
(X-WC-Webhook-Signature) bodies signed, tampered, signed with the wrong secret, unsigned,
replayed; what each topic stores."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from sqlmodel import select

from notifier.orders import shopify, woocommerce
from notifier.orders.base import WebhookRejected
from notifier.store.models import Order, ProviderEvent, Shipment
from notifier.web.app import create_app
from tests.orders.helpers import count, messages, set_settings
from tests.sources.conftest import sample_bytes

SHOPIFY_SECRET = "shpss_0123456789abcdef"
WOO_ENTRY = {"id": "woocommerce", "url": "https://toko.example", "consumer_key": "ck",
             "consumer_secret": "cs"}  # fmt: skip
WOO_SECRET = "w00-s3cret with spaces & symbols"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
async def client(rt, merchant):
    set_settings(
        rt,
        merchant,
        aggregator="biteship",
        sources=[
            {
                "id": "shopify",
                "shop": "sekar",
                "access_token": "x",
                "webhook_secret": SHOPIFY_SECRET,
            },
            WOO_ENTRY | {"webhook_secret": WOO_SECRET},
        ],
    )
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def shopify_headers(body: bytes, *, topic: str, delivery: str, secret: str = SHOPIFY_SECRET):
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": "sekar.myshopify.com",
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Event-Id": "event-" + delivery,
    }


async def post_shopify(client, body: bytes, **kw):
    return await client.post(
        "/webhooks/orders/shopify/sekar", content=body, headers=shopify_headers(body, **kw)
    )


FULFILLMENT = sample_bytes("shopify/webhook_fulfillments_create.json")
REFUND = sample_bytes("shopify/webhook_refunds_create.json")


async def test_a_signed_fulfillment_creates_the_order_and_its_parcel(client, rt):
    answer = await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="d-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied" and answer.json()["created"] == 1
    with rt.sessions() as session:
        order = session.exec(select(Order)).one()
        parcel = session.exec(select(Shipment)).one()
    assert (order.external_id, order.order_number, order.source) == (
        "820982911946154508",
        "#9999",
        "shopify",
    )
    assert (parcel.carrier, parcel.tracking_number) == ("ups", "1Z827WK74630")
    assert parcel.tracking_url.startswith("https://www.ups.com/WebTracking")
    assert ("shipped", "email", "pending") in messages(rt)  # Jon is told by email
    assert "phone left out" in answer.json()["warnings"][0]  # "555-555-SHIP"


SIGNED = shopify_headers(FULFILLMENT, topic="fulfillments/create", delivery="d")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (FULFILLMENT.replace(b"1z827wk74630", b"1z827wk74631"), SIGNED),
        (FULFILLMENT, SIGNED | {"X-Shopify-Hmac-Sha256": sign("another-app-secret", FULFILLMENT)}),
        (FULFILLMENT, {"X-Shopify-Topic": "fulfillments/create", "X-Shopify-Webhook-Id": "d"}),
        (FULFILLMENT, SIGNED | {"X-Shopify-Hmac-Sha256": "bm9wZQ=="}),
    ],
    ids=["tampered", "wrong-secret", "unsigned", "garbage-signature"],
)
async def test_bad_signatures_change_nothing(client, rt, body, headers):
    answer = await client.post("/webhooks/orders/shopify/sekar", content=body, headers=headers)
    assert answer.status_code == 403
    assert count(rt, Order) == 0 and count(rt, ProviderEvent) == 0


async def test_a_replay_changes_nothing(client, rt):
    first = await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="d-1")
    told = messages(rt)
    again = await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="d-1")
    # the same body under a new delivery id (a captured request replayed) is recognised too
    other = await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="d-2")
    assert first.json()["status"] == "applied"
    assert again.json()["status"] == other.json()["status"] == "replay"
    assert messages(rt) == told and count(rt, Order) == 1


async def test_a_refund_for_an_unknown_order_waits_for_the_poll_and_then_is_told(client, rt):
    early = await post_shopify(client, REFUND, topic="refunds/create", delivery="r-1")
    assert early.json()["status"] == "ignored" and early.json()["skipped"] == 1
    await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="f-1")
    late = await post_shopify(client, REFUND, topic="refunds/create", delivery="r-2")
    # the same body was seen (and skipped) before: a replay by content
    assert late.json()["status"] == "replay"
    changed = json.loads(REFUND) | {"id": 1}
    body = json.dumps(changed).encode()
    refund = await post_shopify(client, body, topic="refunds/create", delivery="r-3")
    assert refund.json()["status"] == "applied" and refund.json()["updated"] == 1
    with rt.sessions() as session:
        assert session.exec(select(Order)).one().refund_status == "completed"
    assert ("refund_update", "email", "pending") in messages(rt)


async def test_returns_webhook_sets_the_return_status(client, rt):
    await post_shopify(client, FULFILLMENT, topic="fulfillments/create", delivery="f-1")
    body = json.loads(sample_bytes("shopify/webhook_returns_approve.json"))
    body["order"]["id"] = 820982911946154508
    raw = json.dumps(body).encode()
    answer = await post_shopify(client, raw, topic="returns/approve", delivery="ret-1")
    assert answer.json()["status"] == "applied"
    with rt.sessions() as session:
        assert session.exec(select(Order)).one().return_status == "approved"
    assert ("return_update", "email", "pending") in messages(rt)


def woo_headers(body: bytes, *, secret: str = WOO_SECRET, delivery: str = "1"):
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://toko.example/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": sign(secret, body),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


WOO_ORDER = sample_bytes("woocommerce/wc_v3_order_get.json")


async def test_woocommerce_order_webhook(client, rt):
    answer = await client.post(
        "/webhooks/orders/woocommerce/sekar", content=WOO_ORDER, headers=woo_headers(WOO_ORDER)
    )
    assert answer.status_code == 200 and answer.json()["created"] == 1
    with rt.sessions() as session:
        order = session.exec(select(Order)).one()
    assert (order.external_id, order.status, order.source) == ("727", "processing", "woocommerce")
    # WooCommerce gives every delivery attempt a new id: the order's state is the event
    again = await client.post(
        "/webhooks/orders/woocommerce/sekar",
        content=WOO_ORDER,
        headers=woo_headers(WOO_ORDER, delivery="2"),
    )
    assert again.json()["status"] == "replay"
    assert (
        woocommerce.webhook_event_id(WOO_ORDER, woo_headers(WOO_ORDER))
        == "12:727:2017-03-22T19:28:08"
    )


@pytest.mark.parametrize(
    "headers",
    [
        woo_headers(WOO_ORDER.replace(b"John", b"Jane")),
        woo_headers(WOO_ORDER, secret="not-the-secret"),
        {"X-WC-Webhook-Topic": "order.updated"},
    ],
    ids=["tampered", "wrong-secret", "unsigned"],
)
async def test_woocommerce_bad_signatures(client, rt, headers):
    answer = await client.post(
        "/webhooks/orders/woocommerce/sekar", content=WOO_ORDER, headers=headers
    )
    assert answer.status_code == 403 and count(rt, Order) == 0


async def test_woocommerce_ping_and_errors(client, rt, merchant):
    ping = await client.post(
        "/webhooks/orders/woocommerce/sekar",
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200 and ping.json() == {"status": "pong"}
    junk = b"{not json"
    bad = await client.post(
        "/webhooks/orders/woocommerce/sekar", content=junk, headers=woo_headers(junk)
    )
    assert bad.status_code == 400 and "not JSON" in bad.json()["detail"]
    unknown = await client.post(
        "/webhooks/orders/woocommerce/nobody", content=WOO_ORDER, headers=woo_headers(WOO_ORDER)
    )
    assert unknown.status_code == 404
    inbox = await client.post("/webhooks/orders/inbox/sekar", content=b"{}")
    assert inbox.status_code == 404  # the inbox source does not push
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    too_big = await client.post(
        "/webhooks/orders/woocommerce/sekar", content=big, headers=woo_headers(big)
    )
    assert too_big.status_code == 413
    set_settings(rt, merchant, sources=[WOO_ENTRY])
    unset = await client.post(
        "/webhooks/orders/woocommerce/sekar", content=WOO_ORDER, headers=woo_headers(WOO_ORDER)
    )
    assert unset.status_code == 403 and "webhook_secret" in unset.json()["detail"]
    assert count(rt, Order) == 0


def test_verify_functions_directly():
    body = b'{"id": 1}'
    shopify.verify_webhook(body, {"x-shopify-hmac-sha256": sign("s", body)}, "s")  # any case
    with pytest.raises(WebhookRejected):
        shopify.verify_webhook(body, {"X-Shopify-Hmac-Sha256": sign("s", body + b" ")}, "s")
    with pytest.raises(WebhookRejected):
        woocommerce.verify_webhook(body, {"X-WC-Webhook-Signature": sign("s", body)}, "")
    assert shopify.webhook_event_id(body, {"X-Shopify-Webhook-Id": " b54557e4 "}) == "b54557e4"
    assert shopify.webhook_event_id(body, {}).startswith("sha256:")
