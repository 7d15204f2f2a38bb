"""The merchant REST API: pushing orders and parcels, reading them back, and who may do what."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from notifier.store.models import Notification, Order, Recipient, Shipment
from tests.orders.helpers import add_merchant, count, messages, order_body

SEKAR = {"Authorization": "Bearer tok-sekar"}
MAWAR = {"Authorization": "Bearer tok-mawar"}


@pytest.fixture
async def client(rt, merchant):
    from notifier.web.api import router

    app = FastAPI()
    app.state.runtime = rt
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_same_order_twice_is_one_order_one_parcel_one_message_each(rt, client):
    first = await client.post("/api/v1/orders", json=order_body(), headers=SEKAR)
    assert first.status_code == 201, first.text
    again = await client.post("/api/v1/orders", json=order_body(), headers=SEKAR)
    assert again.status_code == 200
    assert (first.json()["result"], again.json()["result"]) == ("created", "unchanged")

    assert count(rt, Order) == 1 and count(rt, Shipment) == 1 and count(rt, Recipient) == 1
    assert messages(rt) == [
        ("order_confirmed", "email", "pending"),
        ("order_confirmed", "whatsapp", "pending"),
        ("shipped", "email", "pending"),
        ("shipped", "whatsapp", "pending"),
    ]
    order = again.json()
    assert order["customer"]["phone"] == "+6281234567890"  # 0812-3456-7890 in Indonesia
    parcel = order["shipments"][0]
    assert parcel["tracking_number"] == "JP1234567890" and parcel["courier"] == "jne"
    with rt.sessions() as session:
        shipment = session.exec(select(Shipment)).one()
    assert parcel["tracking_page_url"] == f"http://127.0.0.1:8080/t/{shipment.public_token}"
    assert shipment.next_check_at == rt.clock.now() and shipment.status == "pending"
    assert order["total"] == "150000" and order["currency"] == "IDR"


async def test_order_paid_later_is_confirmed_then_and_only_once(rt, client, clock):
    pending = order_body(status="pending", parcels=())
    assert (await client.post("/api/v1/orders", json=pending, headers=SEKAR)).status_code == 201
    assert messages(rt) == []  # nothing to tell before payment

    clock.advance(hours=2)
    paid = order_body(status="paid", parcels=())
    reply = await client.post("/api/v1/orders", json=paid, headers=SEKAR)
    assert reply.status_code == 200 and reply.json()["result"] == "updated"
    assert reply.json()["paid_at"].startswith("2026-12-01T05:00")  # learnt of it now
    assert messages(rt) == [
        ("order_confirmed", "email", "pending"),
        ("order_confirmed", "whatsapp", "pending"),
    ]

    again = await client.post("/api/v1/orders", json=paid, headers=SEKAR)
    assert again.json()["result"] == "unchanged" and len(messages(rt)) == 2


async def test_parcels_added_later_are_announced_once(rt, client):
    await client.post("/api/v1/orders", json=order_body(parcels=()), headers=SEKAR)
    parcel = {"carrier": "binderbyte", "courier": "jne", "tracking_number": "jp 9988 7766 55"}
    added = await client.post("/api/v1/orders/1001/shipments", json=parcel, headers=SEKAR)
    assert added.status_code == 201, added.text
    assert [s["tracking_number"] for s in added.json()["shipments"]] == ["JP9988776655"]
    again = await client.post("/api/v1/orders/1001/shipments", json=parcel, headers=SEKAR)
    assert again.status_code == 200 and count(rt, Shipment) == 1

    second = {"carrier": "simulator", "tracking_number": "SIM-0002"}
    await client.post("/api/v1/orders/1001/shipments", json=second, headers=SEKAR)
    shipped = [m for m in messages(rt) if m[0] == "shipped"]
    assert len(shipped) == 4  # two parcels, email and WhatsApp each

    order = (await client.get("/api/v1/orders/1001", headers=SEKAR)).json()
    assert [(s["status"], s["events"], s["polling"]) for s in order["shipments"]] == [
        ("pending", 0, True),
        ("pending", 0, True),
    ]
    assert {(n["trigger"], n["channel"], n["state"]) for n in order["notifications"]} == {
        ("order_confirmed", "email", "pending"),
        ("order_confirmed", "whatsapp", "pending"),
        ("shipped", "email", "pending"),
        ("shipped", "whatsapp", "pending"),
    }
    assert {n["tracking_number"] for n in order["notifications"] if n["trigger"] == "shipped"} == {
        "JP9988776655",
        "SIM-0002",
    }


async def test_a_merchant_never_sees_or_changes_another_merchants_order(rt, client):
    add_merchant(rt, "mawar", "tok-mawar")
    await client.post("/api/v1/orders", json=order_body(), headers=SEKAR)

    assert (await client.get("/api/v1/orders/1001", headers=MAWAR)).status_code == 404
    parcel = {"carrier": "simulator", "tracking_number": "SIM-9999"}
    stolen = await client.post("/api/v1/orders/1001/shipments", json=parcel, headers=MAWAR)
    assert stolen.status_code == 404 and count(rt, Shipment) == 1
    # the same external id at another shop is that shop's own order
    own = await client.post("/api/v1/orders", json=order_body(parcels=()), headers=MAWAR)
    assert own.status_code == 201 and count(rt, Order) == 2
    sekar = (await client.get("/api/v1/orders/1001", headers=SEKAR)).json()
    assert len(sekar["shipments"]) == 1 and len(sekar["notifications"]) == 4
    assert (await client.get("/api/v1/orders/404", headers=SEKAR)).status_code == 404


BAD_TOKENS = [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dG9rLXNla2FyOg=="}]


async def test_without_a_valid_token_nothing_is_read_or_written(rt, client):
    for headers in BAD_TOKENS:
        post = await client.post("/api/v1/orders", json=order_body(), headers=headers)
        get = await client.get("/api/v1/orders/1001", headers=headers)
        ship = await client.post(
            "/api/v1/orders/1001/shipments",
            json={"carrier": "simulator", "tracking_number": "SIM-1"},
            headers=headers,
        )
        assert (post.status_code, get.status_code, ship.status_code) == (401, 401, 401), headers
    assert count(rt, Order) == 0


BAD_INPUT = [  # (change to the body, where the error must point, what it must say)
    ({"customer": {"phone": "0812"}}, ["body", "customer", "phone"], "too short"),
    ({"customer": {"phone": "call me"}}, ["body", "customer", "phone"], "not a phone number"),
    ({"customer": {"phone": "+999 123"}}, ["body", "customer", "phone"], "country code"),
    ({"customer": {"email": "rina@gmail"}}, ["body", "customer", "email"], "period"),
    (
        {"customer": {"timezone": "Asia/Jakrta"}},
        ["body", "customer", "timezone"],
        "unknown IANA time zone",
    ),
    ({"customer": {"locale": "indonesian"}}, ["body", "customer", "locale"], "locale"),
    (
        {"shipments": [{"carrier": "jne", "tracking_number": "JP1234567890"}]},
        ["body", "shipments", 0, "carrier"],
        "unknown carrier 'jne'",
    ),
    (
        {"shipments": [{"carrier": "simulator", "tracking_number": "no!"}]},
        ["body", "shipments", 0, "tracking_number"],
        "tracking numbers",
    ),
    ({"currency": "RPH"}, ["body", "currency"], "ISO 4217"),
    ({"total": "150000.5"}, ["body", "total"], "IDR amounts have 0 decimal places"),
    ({"status": "shipped"}, ["body", "status"], "'paid'"),
    ({"paid_at": "kemarin"}, ["body", "paid_at"], "datetime"),
]


async def test_bad_input_is_422_naming_the_field(rt, client):
    for change, loc, says in BAD_INPUT:
        body = order_body()
        for key, value in change.items():
            body[key] = body[key] | value if isinstance(value, dict) else value
        reply = await client.post("/api/v1/orders", json=body, headers=SEKAR)
        assert reply.status_code == 422, change
        errors = reply.json()["detail"]
        assert [e["loc"] for e in errors] == [loc], change
        assert says in errors[0]["msg"], errors
    assert count(rt, Order) == 0 and count(rt, Recipient) == 0


async def test_a_tracking_number_of_another_order_is_refused(rt, client):
    await client.post("/api/v1/orders", json=order_body("1001"), headers=SEKAR)
    reply = await client.post("/api/v1/orders", json=order_body("1002"), headers=SEKAR)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "shipments", 0, "tracking_number"]
    assert "already belongs to order 1001" in reply.json()["detail"][0]["msg"]
    parcel = {"carrier": "binderbyte", "courier": "jne", "tracking_number": "JP1234567890"}
    await client.post("/api/v1/orders", json=order_body("1003", parcels=()), headers=SEKAR)
    reply = await client.post("/api/v1/orders/1003/shipments", json=parcel, headers=SEKAR)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "tracking_number"]
    assert count(rt, Order) == 2


async def test_a_landline_gets_email_only_with_a_warning(rt, client):
    body = order_body(phone="+62 21 5550 1234")
    reply = await client.post("/api/v1/orders", json=body, headers=SEKAR)
    assert reply.status_code == 201
    assert reply.json()["warnings"] == ["landline: SMS/WhatsApp will not be sent"]
    assert reply.json()["customer"]["phone_kind"] == "landline"
    with rt.sessions() as session:
        rows = session.exec(select(Notification).where(Notification.channel == "whatsapp")).all()
    assert {r.state for r in rows} == {"suppressed"}
    assert all("landline" in (r.last_error or "") for r in rows)
    assert ("shipped", "email", "pending") in messages(rt)


async def test_order_ids_with_slashes_work_in_paths(rt, client):
    await client.post("/api/v1/orders", json=order_body("INV/2026/77", parcels=()), headers=SEKAR)
    parcel = {"carrier": "simulator", "tracking_number": "SIM-77"}
    added = await client.post("/api/v1/orders/INV/2026/77/shipments", json=parcel, headers=SEKAR)
    assert added.status_code == 201
    got = await client.get("/api/v1/orders/INV/2026/77", headers=SEKAR)
    assert got.status_code == 200 and got.json()["shipments"][0]["tracking_number"] == "SIM-77"
