"""Shopee pushes and TikTok Shop webhooks through the whole app: signed with the app's own
keys (Shopee over the callback URL as well), tampered, signed for another URL or with the wrong
secret, replayed; what each push changes on an order the poll brought."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from sqlmodel import select

from notifier.orders.poller import poll_sources
from notifier.store.models import Order, ProviderEvent, Shipment
from notifier.web.app import create_app
from tests.marketplaces import tiktok_standin as tts
from tests.marketplaces.shopee_standin import PARTNER_KEY, SHOP_ID
from tests.marketplaces.test_shopee_sync import entry as shopee_entry
from tests.marketplaces.test_tiktok_lazada_sync import tiktok_entry
from tests.orders.helpers import count, set_settings

SHOPEE_PATH = "/webhooks/orders/shopee/sekar"
TIKTOK_PATH = "/webhooks/orders/tiktok_shop/sekar"


def hex_hmac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def shopee_body(code: int, **data: Any) -> bytes:
    return json.dumps(
        {"shop_id": SHOP_ID, "code": code, "timestamp": 1764230400, "data": data}
    ).encode()


def tiktok_body(kind: int, notification: str | None = "7420001", **data: Any) -> bytes:
    body: dict[str, Any] = {"type": kind, "shop_id": "7494001", "timestamp": 1764230400}
    if notification:
        body["tts_notification_id"] = notification
    return json.dumps(body | {"data": data}).encode()


def order(rt, external_id: str) -> tuple[str, list[str]]:
    with rt.sessions() as session:
        row = session.exec(select(Order).where(Order.external_id == external_id)).one()
        parcels = session.exec(select(Shipment).where(Shipment.order_id == row.id)).all()
        return row.status, sorted(s.tracking_number for s in parcels)


@pytest.fixture
async def app_client(rt):
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def shopee(rt, merchant, shopee_server, app_client):
    """The shop's Shopee orders polled once; the client posts pushes signed for our URL."""
    set_settings(rt, merchant, sources=[shopee_entry(shopee_server)])
    assert (await poll_sources(rt))["created"] == 5
    url = rt.settings.server.public_url.rstrip("/") + SHOPEE_PATH

    async def post(body: bytes, *, key: str = PARTNER_KEY, signed_url: str = url, sent=None):
        signature = hex_hmac(key, signed_url.encode() + b"|" + body)
        return await app_client.post(
            SHOPEE_PATH, content=sent or body, headers={"Authorization": signature}
        )

    return post


@pytest.fixture
async def tiktok(rt, merchant, tiktok_server, app_client):
    set_settings(rt, merchant, sources=[tiktok_entry(tiktok_server)])
    assert (await poll_sources(rt))["created"] == 5

    async def post(body: bytes, *, secret: str = tts.APP_SECRET, sent=None):
        signature = hex_hmac(secret, tts.APP_KEY.encode() + body)
        return await app_client.post(
            TIKTOK_PATH, content=sent or body, headers={"Authorization": signature}
        )

    return post


# ----------------------------------------------------------------------------- Shopee


async def test_a_shopee_status_push_updates_the_order_at_once(rt, shopee):
    assert order(rt, "261201AAAA0002")[0] == "fulfilled"
    body = shopee_body(3, ordersn="261201AAAA0002", status="COMPLETED", update_time=1764230400)
    answer = await shopee(body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied" and answer.json()["updated"] == 1
    assert order(rt, "261201AAAA0002")[0] == "completed"


async def test_a_shopee_tracking_number_push_starts_tracking_the_parcel(rt, shopee):
    assert order(rt, "261201AAAA0001") == ("paid", [])
    body = shopee_body(4, ordersn="261201AAAA0001", package_number="PKG1", tracking_no="JP77001")
    answer = await shopee(body)
    assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text
    assert order(rt, "261201AAAA0001")[1] == ["JP77001"]


async def test_a_shopee_push_signed_for_another_url_or_tampered_changes_nothing(rt, shopee):
    body = shopee_body(3, ordersn="261201AAAA0002", status="CANCELLED", update_time=1764230400)
    other = await shopee(body, signed_url="https://elsewhere.example" + SHOPEE_PATH)
    tampered = await shopee(body, sent=body.replace(b"CANCELLED", b"COMPLETED"))
    wrong_key = await shopee(body, key=PARTNER_KEY + "x")
    assert [a.status_code for a in (other, tampered, wrong_key)] == [403, 403, 403]
    assert "Shopee push signature" in other.json()["detail"]
    assert order(rt, "261201AAAA0002")[0] == "fulfilled"
    assert count(rt, ProviderEvent) == 0


async def test_a_repeated_shopee_push_is_a_replay(rt, shopee):
    body = shopee_body(3, ordersn="261201AAAA0002", status="COMPLETED", update_time=1764230400)
    first, again = await shopee(body), await shopee(body)
    assert (first.json()["status"], again.json()["status"]) == ("applied", "replay")


async def test_a_shopee_push_about_another_order_or_topic_is_ignored(rt, shopee):
    unknown = shopee_body(3, ordersn="NOT-OURS", status="COMPLETED", update_time=1764230400)
    banned_item = shopee_body(6, item_id=1)
    for body in (unknown, banned_item):
        answer = await shopee(body)
        assert answer.status_code == 200 and answer.json()["status"] == "ignored", answer.text
    assert count(rt, Order) == 5  # the next poll brings an order we do not have


async def test_without_the_partner_key_no_push_is_believed(rt, merchant, shopee_server, shopee):
    keyless = {k: v for k, v in shopee_entry(shopee_server).items() if k != "partner_key"}
    set_settings(rt, merchant, sources=[keyless])
    body = shopee_body(3, ordersn="261201AAAA0002", status="COMPLETED", update_time=1764230400)
    answer = await shopee(body)
    assert answer.status_code == 403 and answer.json()["detail"] == (
        "no partner_key set for this source"
    )
    assert order(rt, "261201AAAA0002")[0] == "fulfilled"


# ----------------------------------------------------------------------------- TikTok Shop


async def test_a_tiktok_status_webhook_updates_the_order_at_once(rt, tiktok):
    assert order(rt, "576461413038700001")[0] == "paid"
    body = tiktok_body(1, order_id="576461413038700001", order_status="CANCEL",
                       update_time=1764230400)  # fmt: skip
    answer = await tiktok(body)
    assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text
    assert order(rt, "576461413038700001")[0] == "cancelled"


async def test_a_tiktok_webhook_with_the_wrong_secret_changes_nothing(rt, tiktok):
    body = tiktok_body(1, order_id="576461413038700001", order_status="CANCEL")
    wrong = await tiktok(body, secret=tts.APP_SECRET + "x")
    tampered = await tiktok(body, sent=body.replace(b"CANCEL", b"UNPAID"))
    assert (wrong.status_code, tampered.status_code) == (403, 403)
    assert order(rt, "576461413038700001")[0] == "paid"


async def test_a_tiktok_retry_is_known_by_its_notification_id(rt, tiktok):
    body = tiktok_body(1, order_id="576461413038700001", order_status="CANCEL")
    resent = body.replace(b"1764230400", b"1764230460")  # a retry, stamped anew
    first, again = await tiktok(body), await tiktok(resent)
    assert (first.json()["status"], again.json()["status"]) == ("applied", "replay")
    with rt.sessions() as session:
        ids = session.exec(select(ProviderEvent.event_id)).all()
    assert "tts:7420001" in ids


async def test_a_non_ascii_signature_is_refused_not_a_crash(rt, tiktok, app_client):
    body = tiktok_body(1, order_id="576461413038700001", order_status="CANCEL")
    answer = await app_client.post(
        TIKTOK_PATH, content=body, headers={"Authorization": b"\xe9" * 64}
    )
    assert answer.status_code == 403
    assert order(rt, "576461413038700001")[0] == "paid"
