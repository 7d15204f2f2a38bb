"""The shopify source against a local stand-in of the Admin API: GraphQL pages by end cursor,
the cost bucket is respected, a restart mid-sync neither misses nor repeats an order, late
updates inside the overlap window are read, and the REST adapter pages by ``Link``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from notifier.orders.base import SyncCursor
from notifier.orders.poller import poll_sources
from notifier.orders.shopify import ShopifySource
from notifier.store.models import Order, Shipment
from notifier.testing_providers import serve
from tests.conftest import START
from tests.orders.helpers import count, messages, set_settings
from tests.sources.helpers import cursor_of
from tests.sources.standins import ShopifyStandIn, iso, shopify_order

BASE = START - timedelta(days=2)  # store updates two days before "now"


@pytest.fixture
def store():
    stand_in = ShopifyStandIn([shopify_order(i, BASE + timedelta(minutes=i)) for i in range(1, 8)])
    with serve(stand_in.app()) as served:
        stand_in.url = served.url
        yield stand_in


@pytest.fixture
def slept(monkeypatch, store):
    """Waits the source asked for; each advances the stand-in's bucket clock instead."""
    waits: list[float] = []

    async def fake_sleep(self, seconds):
        waits.append(seconds)
        store.clock += seconds

    monkeypatch.setattr(ShopifySource, "_sleep", fake_sleep)
    monkeypatch.setattr(ShopifySource, "monotonic", lambda self: store.clock)
    return waits


def configure(rt, merchant, store, **extra):
    entry = {"id": "shopify", "shop": "sekar", "access_token": store.token, "api_base": store.url,
             "page_size": 3, **extra}  # fmt: skip
    set_settings(rt, merchant, sources=[entry], aggregator="biteship")


async def test_graphql_sync_pages_through_every_order_once(rt, merchant, store, slept):
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert (stats["created"], stats["pages"], stats["failed"], stats["rejected"]) == (7, 3, 0, 0)
    assert store.calls == [
        "orders after=False n=3",
        "orders after=True n=3",
        "orders after=True n=1",
    ]
    with rt.sessions() as session:
        orders = session.exec(select(Order).order_by(Order.external_id)).all()
        parcels = session.exec(select(Shipment)).all()
    assert [o.order_number for o in orders] == [f"#100{i}" for i in range(1, 8)]
    assert {o.status for o in orders} == {"paid"} and all(o.paid_at for o in orders)
    assert {(s.carrier, s.courier) for s in parcels} == {("biteship", "jne")}  # merchant's choice
    assert parcels[0].tracking_url == f"https://shop.example/track/{parcels[0].tracking_number}"
    # order_confirmed and shipped on email and WhatsApp, for each of the seven orders
    assert len(messages(rt)) == 7 * 2 * 2
    saved = SyncCursor.load(cursor_of(rt, merchant, "shopify").cursor)
    assert saved.high == iso(BASE + timedelta(minutes=7)) and saved.pos is None


async def test_a_restart_mid_sync_neither_misses_nor_repeats(rt, merchant, store, slept):
    configure(rt, merchant, store)
    # After page 1 the store goes down: page 2 fails on every try of this run.
    store.after_page = lambda n: setattr(store, "fail_next", 3) if n == 1 else None
    stats = await poll_sources(rt)
    assert (stats["created"], stats["failed"]) == (3, 1)
    row = cursor_of(rt, merchant, "shopify")
    assert "HTTP 500" in row.last_error
    assert SyncCursor.load(row.cursor).pos is not None  # stopped inside the pass, after page 1

    store.after_page = None
    stats = await poll_sources(rt)  # the restart resumes at page 2
    assert (stats["created"], stats["unchanged"], stats["failed"]) == (4, 0, 0)
    assert count(rt, Order) == 7 and count(rt, Shipment) == 7
    assert len(messages(rt)) == 7 * 2 * 2  # nothing told twice

    stats = await poll_sources(rt)  # a new pass re-reads the overlap window: changes nothing
    assert (stats["created"], stats["updated"], stats["notifications"]) == (0, 0, 0)
    assert stats["unchanged"] == 7  # all seven are within the last 15 minutes of updates
    assert len(messages(rt)) == 7 * 2 * 2


async def test_a_late_update_inside_the_overlap_window_is_read(rt, merchant, store, slept):
    configure(rt, merchant, store)
    await poll_sources(rt)
    late = store.orders[2]  # written late, stamped 5 minutes before the newest update we saw
    late["fulfillments"].append(
        late["fulfillments"][0]
        | {
            "id": 1,
            "tracking_number": "JP7777777777",
            "tracking_numbers": ["JP7777777777"],
        }
    )
    late["updated_at"] = iso(BASE + timedelta(minutes=2))
    stats = await poll_sources(rt)
    assert stats["updated"] == 1 and count(rt, Shipment) == 8
    assert messages(rt).count(("shipped", "email", "pending")) == 8  # the new parcel, once


async def test_the_cost_bucket_is_respected(rt, merchant, store, slept):
    store.max_available, store.available, store.restore_rate = 40.0, 40.0, 10.0
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert stats["created"] == 7 and stats["failed"] == 0
    # page 1 (32 requested) leaves 40 - 26 = 14: the source waits (32 - 14) / 10 s before page 2
    assert slept and slept[0] == pytest.approx(1.8, abs=0.05)
    assert store.throttled == 0  # paced before asking, never throttled


async def test_a_throttled_answer_is_waited_out(rt, merchant, store, slept):
    store.available = 10.0  # the bucket is nearly empty when we arrive
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert stats["created"] == 7 and store.throttled == 1
    # (32 - 10) / 100 points a second after THROTTLED; each page then leaves 32 - 26 = 6, so
    # the next one is paced by (32 - 6) / 100 before it is asked for, never throttled again
    assert slept == pytest.approx([0.22, 0.26, 0.26])


async def test_a_wait_longer_than_max_wait_is_left_to_the_next_run(rt, merchant, store, slept):
    store.available, store.restore_rate = 0.0, 0.5  # 64 s to refill what a page costs
    configure(rt, merchant, store, max_wait=10)
    stats = await poll_sources(rt)
    assert (stats["created"], stats["failed"]) == (0, 1)
    row = cursor_of(rt, merchant, "shopify")
    assert "THROTTLED" in row.last_error and row.cursor is None and slept == []


async def test_rest_adapter_pages_by_link_header(rt, merchant, store, slept):
    configure(rt, merchant, store, api="rest")
    stats = await poll_sources(rt)
    assert (stats["created"], stats["pages"]) == (7, 3)
    assert store.calls == ["rest after=False n=3", "rest after=True n=3", "rest after=True n=1"]
    assert len(messages(rt)) == 7 * 2 * 2


async def test_check_and_refused_credentials(rt, store, slept):
    source = ShopifySource({"shop": "sekar", "access_token": store.token, "api_base": store.url})
    assert await source.check(rt.clock.now()) == (
        "shop 'Toko Batik Sekar' (sekar.myshopify.com), GraphQL 2025-01"
    )
    await source.aclose()
    bad = ShopifySource({"shop": "sekar", "access_token": "nope", "api_base": store.url})
    with pytest.raises(Exception, match="credentials refused"):
        await bad.poll(None, rt.clock.now())
    await bad.aclose()


def test_settings_are_checked_without_io():
    with pytest.raises(Exception, match='"shop"'):
        ShopifySource({"access_token": "x"})
    with pytest.raises(Exception, match='"access_token"'):
        ShopifySource({"shop": "sekar"})
    assert ShopifySource({"shop": "Sekar", "access_token": "x"}).http.client.base_url.host == (
        "sekar.myshopify.com"
    )
