"""The order look-up (``/t``): redirects, split orders, the same vague answer for every miss,
and its rate limits per client address and per order number."""

from __future__ import annotations

import httpx
import pytest

from notifier.web import lookup
from notifier.web.ratelimit import RateLimiter
from tests.factories import parcel
from tests.web.shopper.helpers import (
    SHOPPER_EMAIL,
    FakeTime,
    rina,
)

# --- the look-up -------------------------------------------------------------------------------


def limit(app, time: FakeTime | None = None) -> FakeTime:
    time = time or FakeTime()
    app.state.lookup_limiter = RateLimiter(lookup.LOOKUP_RULES, now=time)
    return time


async def test_the_look_up_form(client):
    page = await client.get("/t")
    assert page.status_code == 200
    assert '<label for="order">Order number</label>' in page.text
    assert '<form method="post" action="/t"' in page.text
    indonesian = await client.get("/t?lang=id")
    assert '<label for="order">Nomor pesanan</label>' in indonesian.text


@pytest.mark.parametrize(
    ("order", "contact"),
    [
        ("INV/JX0001", "+6281298765432"),
        ("inv/jx0001", "0812-9876-5432"),
        (" INV/JX0001 ", "62 812 9876 5432"),
        ("INV/JX0001", "Rina.Wulandari@Example.com"),
    ],
)
async def test_a_look_up_redirects_to_the_parcel(rt, shop, client, order, contact):
    sh = rina(rt, shop)
    found = await client.post("/t", data={"order": order, "contact": contact})
    assert found.status_code == 303 and found.headers["location"] == f"/t/{sh.public_token}"


async def test_a_look_up_lists_the_parcels_of_a_split_order(rt, shop, client):
    from notifier.links import new_public_token
    from notifier.store.models import Shipment

    first = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        second = Shipment(
            merchant_id=shop.id,
            order_id=first.order_id,
            carrier="scripted",
            tracking_number="JX0009",
            public_token=new_public_token(),
            created_at=rt.clock.now(),
            updated_at=rt.clock.now(),
        )
        session.add(second)
    page = await client.post("/t", data={"order": "INV/JX0001", "contact": SHOPPER_EMAIL})
    assert page.status_code == 200
    assert f'href="/t/{first.public_token}' in page.text
    assert f'href="/t/{second.public_token}' in page.text


async def test_the_same_vague_answer_for_every_miss(rt, shop, client):
    rina(rt, shop)
    wrong_contact = await client.post("/t", data={"order": "INV/JX0001", "contact": "0811000000"})
    no_such_order = await client.post("/t", data={"order": "INV/NOPE", "contact": "0811000000"})
    other_email = await client.post("/t", data={"order": "INV/JX0001", "contact": "x@y.example"})
    bodies = {
        r.text.replace("INV/JX0001", "INV/NOPE").replace("x@y.example", "0811000000")
        for r in (wrong_contact, no_such_order, other_email)
    }
    assert len(bodies) == 1
    assert {r.status_code for r in (wrong_contact, no_such_order, other_email)} == {200}
    assert "We couldn&#39;t find an order with those details" in wrong_contact.text


async def test_two_shops_with_the_same_order_number(rt, shop, client):
    from tests.orders.helpers import add_merchant

    mawar = add_merchant(rt, "mawar", "tok-mawar")
    ours = rina(rt, shop)
    theirs = parcel(rt, mawar, number="JX0001", phone="+6281377778888", email="budi@example.com")
    for contact, sh in ((SHOPPER_EMAIL, ours), ("budi@example.com", theirs)):
        found = await client.post("/t", data={"order": "INV/JX0001", "contact": contact})
        assert found.status_code == 303 and found.headers["location"] == f"/t/{sh.public_token}"


async def test_an_order_not_shipped_yet(rt, shop, client):
    sh = rina(rt, shop)
    with rt.sessions() as session, session.begin():
        from notifier.store.models import Shipment

        session.delete(session.get(Shipment, sh.id))
    page = await client.post(
        "/t", data={"order": "INV/JX0001", "contact": SHOPPER_EMAIL, "lang": "id"}
    )
    assert page.status_code == 200
    assert "Pesanan INV/JX0001 dari Batik Sekar" in page.text and "sedang disiapkan" in page.text


async def test_a_look_up_without_details_asks_for_them(client):
    page = await client.post("/t", data={"order": " ", "contact": ""})
    assert page.status_code == 422 and 'aria-invalid="true"' in page.text


async def test_look_ups_are_limited_per_client_address(rt, shop, app, client):
    time = limit(app)
    for attempt in range(5):
        answer = await client.post("/t", data={"order": f"INV/{attempt}", "contact": "0811000000"})
        assert answer.status_code == 200
    refused = await client.post("/t", data={"order": "INV/9", "contact": "0811000000"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many attempts" in refused.text and "seconds" in refused.text
    time.now += 61
    assert (await client.post("/t", data={"order": "INV/9", "contact": "081"})).status_code == 200


async def test_look_ups_are_limited_per_order_number_across_addresses(rt, shop, app):
    limit(app)
    for n in range(6):
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{n}", 1000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            answer = await c.post("/t", data={"order": f"#inv/jx000{1}", "contact": f"081{n}"})
        assert answer.status_code == (429 if n == 5 else 200)


async def test_the_hourly_limit(rt, shop, app, client):
    time = limit(app)
    for n in range(20):
        answer = await client.post("/t", data={"order": f"INV/{n}", "contact": "0811000000"})
        assert answer.status_code == 200
        time.now += 15  # 4 a minute: under the minute rule
    refused = await client.post("/t", data={"order": "INV/x", "contact": "0811000000"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 60
    assert "minutes" in refused.text
