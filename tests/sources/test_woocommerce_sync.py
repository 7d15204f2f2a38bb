"""The woocommerce source against a local stand-in of the REST API v3: newest-first pages to
``X-WP-TotalPages``, refunds and notes fetched when they matter, stores without
``orderby=modified`` or that drop the Authorization header, a restart mid-sync, and an order
modified while we page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from notifier.orders.base import SyncCursor
from notifier.orders.poller import poll_sources
from notifier.orders.woocommerce import WooCommerceSource
from notifier.store.models import Order, Shipment
from notifier.testing_providers import serve
from tests.conftest import START
from tests.orders.helpers import count, messages, set_settings
from tests.sources.conftest import sample
from tests.sources.helpers import cursor_of
from tests.sources.standins import WooStandIn, woo_order

BASE = START - timedelta(days=1)


def catalogue() -> list[dict]:
    """Seven orders: five shipped with JNE in Shipment Tracking's meta, one completed with the
    resi only in a note, one refunded (two refunds, one paid back by the gateway)."""
    orders = [
        woo_order(i, BASE + timedelta(minutes=i), tracking=[("jne", f"JP{i:010d}")])
        for i in range(1, 6)
    ]
    orders.append(woo_order(6, BASE + timedelta(minutes=6), status="completed"))
    refunded = woo_order(7, BASE + timedelta(minutes=7), status="refunded")
    refunded["refunds"] = [{"id": 726, "refund": "", "total": "-10.00"}]
    return [*orders, refunded]


@pytest.fixture
def store():
    stand_in = WooStandIn(catalogue())
    note = sample("woocommerce/wc_v3_order_notes_list.json")[0] | {
        "note": "Pesanan dikirim dengan SiCepat REG, resi: 004123456789"
    }
    stand_in.notes[3006] = [note]
    refunds = sample("woocommerce/wc_v3_refunds_list.json")
    refunds[0]["refunded_payment"] = True
    stand_in.refunds[3007] = refunds
    with serve(stand_in.app()) as served:
        stand_in.url = served.url
        yield stand_in


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    async def instant(self, seconds):
        return None

    monkeypatch.setattr(WooCommerceSource, "_sleep", instant)


def configure(rt, merchant, store, **extra):
    entry = {"id": "woocommerce", "url": store.url, "consumer_key": store.keys[0],
             "consumer_secret": store.keys[1], "per_page": 3, **extra}  # fmt: skip
    set_settings(rt, merchant, sources=[entry])


async def test_sync_reads_every_order_with_its_parcels_refunds_and_notes(rt, merchant, store):
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert (stats["created"], stats["pages"], stats["failed"], stats["rejected"]) == (7, 3, 0, 0)
    assert store.calls == [
        "orders page=1 n=3 by=modified",  # 3007, 3006, 3005: newest first
        "refunds 3007",
        "notes 3006",  # completed, no tracking meta: the resi is in a note
        "orders page=2 n=3 by=modified",
        "orders page=3 n=1 by=modified",
    ]
    with rt.sessions() as session:
        orders = {o.external_id: o for o in session.exec(select(Order))}
        parcels = {s.tracking_number: s for s in session.exec(select(Shipment))}
    assert orders["3001"].status == "processing" and orders["3001"].paid_at is not None
    assert orders["3006"].status == "completed"
    assert (orders["3007"].status, orders["3007"].refund_status) == ("refunded", "processed")
    assert (parcels["004123456789"].carrier, parcels["004123456789"].courier) == (
        "binderbyte",  # no aggregator chosen: the first that lists SiCepat
        "sicepat",
    )
    assert len(parcels) == 6 and parcels["JP0000000001"].courier == "jne"
    saved = SyncCursor.load(cursor_of(rt, merchant, "woocommerce").cursor)
    assert saved.high == "2026-11-30T03:07:00Z" and saved.pos is None and saved.mode is None
    assert ("refund_update", "email", "pending") in messages(rt)
    assert len(messages(rt)) == (7 + 6 + 1) * 2


async def test_a_store_without_orderby_modified_is_read_by_date(rt, merchant, store):
    store.orderby_modified = False
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert stats["created"] == 7 and stats["failed"] == 0
    assert SyncCursor.load(cursor_of(rt, merchant, "woocommerce").cursor).mode == "date"
    store.calls.clear()
    await poll_sources(rt)  # remembered: no refused call first
    assert store.calls[0] == "orders page=1 n=3 by=date"


async def test_a_server_dropping_authorization_gets_the_keys_in_the_query(rt, merchant, store):
    store.header_auth = False
    configure(rt, merchant, store)
    stats = await poll_sources(rt)
    assert stats["created"] == 7 and stats["failed"] == 0


async def test_wrong_keys_are_reported(rt, merchant, store):
    configure(rt, merchant, store, consumer_secret="cs_wrong")
    stats = await poll_sources(rt)
    assert stats["failed"] == 1
    assert "credentials refused (HTTP 401)" in cursor_of(rt, merchant, "woocommerce").last_error


async def test_a_restart_mid_sync_neither_misses_nor_repeats(rt, merchant, store):
    configure(rt, merchant, store)
    store.after_page = lambda page: setattr(store, "fail_next", 3) if page == 1 else None
    stats = await poll_sources(rt)
    assert (stats["created"], stats["failed"]) == (3, 1)
    row = cursor_of(rt, merchant, "woocommerce")
    assert "HTTP 502" in row.last_error and SyncCursor.load(row.cursor).pos == "2"

    store.after_page = None
    stats = await poll_sources(rt)
    assert (stats["created"], stats["unchanged"], stats["failed"]) == (4, 0, 0)
    assert count(rt, Order) == 7 and count(rt, Shipment) == 6
    told = messages(rt)
    # each told once on email and WhatsApp: 7 confirmations, 6 parcels shipped, 1 refund
    assert len(told) == (7 + 6 + 1) * 2

    stats = await poll_sources(rt)  # next pass: the overlap window again, nothing new
    assert (stats["created"], stats["updated"], stats["notifications"]) == (0, 0, 0)
    assert messages(rt) == told


async def test_an_order_modified_while_we_page_is_not_lost(rt, merchant, store):
    configure(rt, merchant, store)
    oldest = next(o for o in store.orders if o["id"] == 3001)

    def ship_late(page: int) -> None:
        if page == 1:  # the oldest order (page 3) gets a new parcel and moves to the front
            oldest["date_modified_gmt"] = (START - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
            oldest["meta_data"][-1]["value"].append(
                {"tracking_provider": "jne", "tracking_number": "JP5555555555"}
            )

    store.after_page = ship_late
    stats = await poll_sources(rt)
    # every other order is read: pages shifted down and repeated one, never skipped one
    assert stats["created"] == 6 and count(rt, Order) == 6
    store.after_page = None
    stats = await poll_sources(rt)  # the next pass starts before the moved order's new time
    assert stats["created"] == 1 and count(rt, Shipment) == 7


async def test_check(rt, store):
    source = WooCommerceSource(
        {"url": store.url, "consumer_key": store.keys[0], "consumer_secret": store.keys[1]}
    )
    assert await source.check(rt.clock.now()) == "7 order(s) in the store, REST v3"
    await source.aclose()


def test_settings_are_checked_without_io():
    keys = {"consumer_key": "ck", "consumer_secret": "cs"}
    with pytest.raises(Exception, match='"url"'):
        WooCommerceSource(keys)
    with pytest.raises(Exception, match="must be https"):
        WooCommerceSource({"url": "http://toko.example", **keys})
    with pytest.raises(Exception, match="consumer_secret"):
        WooCommerceSource({"url": "https://toko.example", "consumer_key": "ck"})
    assert WooCommerceSource({"url": "https://toko.example/", **keys}).per_page == 100
