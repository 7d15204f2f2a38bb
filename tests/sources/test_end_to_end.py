"""The whole path: an order store (the Shopify stand-in, over GraphQL) -> orders and one shipment
per parcel -> the carrier (the simulator, found from the numbers because the store's carrier name
means nothing to us) -> the shopper's messages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from carriers.simulator.server import serve_in_thread
from notifier.orders.poller import poll_sources
from notifier.orders.shopify import ShopifySource
from notifier.pipeline import dispatch, poll
from notifier.settings import CarrierSettings
from notifier.store.models import Shipment
from notifier.testing_providers import serve
from tests.conftest import START
from tests.orders.helpers import set_settings
from tests.sources.standins import ShopifyStandIn, shopify_order

pytestmark = pytest.mark.slow

COURIER = "Kurir Simulator"  # no carrier of ours by that name: detection from the number


@pytest.fixture
def simulator(clock):
    server = serve_in_thread(now=clock.now)
    yield server
    server.stop()


@pytest.fixture
def store():
    updated = START - timedelta(hours=1)
    stand_in = ShopifyStandIn(
        [
            shopify_order(1, updated, parcels=[(COURIER, "SIMNRM0001")]),
            shopify_order(2, updated, parcels=[(COURIER, "SIMNRM0002"), (COURIER, "SIMFAT0003")]),
        ]
    )
    with serve(stand_in.app()) as served:
        stand_in.url = served.url
        yield stand_in


async def test_store_to_shipment_to_carrier_to_message(rt, merchant, clock, simulator, store):
    rt.settings.carriers["simulator"] = CarrierSettings(api_base=simulator.url, timeout=5.0)
    entry = {"id": "shopify", "shop": "sekar", "access_token": store.token, "api_base": store.url}
    set_settings(rt, merchant, sources=[entry])

    stats = await poll_sources(rt)
    assert (stats["created"], stats["failed"]) == (2, 0)
    with rt.sessions() as session:
        parcels = session.exec(select(Shipment).order_by(Shipment.tracking_number)).all()
    assert [(p.carrier, p.tracking_number) for p in parcels] == [
        ("simulator", "SIMFAT0003"),
        ("simulator", "SIMNRM0001"),
        ("simulator", "SIMNRM0002"),
    ]
    assert parcels[1].tracking_url == "https://shop.example/track/SIMNRM0001"  # the store's own

    for _ in range(7 * 8):  # a week of virtual time, a sweep and a send every three hours
        await poll.sweep(rt)
        await dispatch.dispatch(rt)
        clock.advance(hours=3)
        if _ % 8 == 0:
            await poll_sources(rt)  # the store is polled too: nothing new, nothing repeated

    sent = rt.extra["sender"].sent
    email = Counter(
        m.trigger for m in sent if m.channel == "email" and m.to == "shopper1@example.com"
    )
    assert email["order_confirmed"] == 1 and email["shipped"] == 1 and email["delivered"] == 1
    second = Counter(
        m.trigger for m in sent if m.channel == "email" and m.to == "shopper2@example.com"
    )
    assert second["order_confirmed"] == 1 and second["shipped"] == 2 and second["delivered"] == 2
    assert second["failed_attempt"] >= 1  # SIMFAT: nobody home the first time
    keys = [m.dedupe_key for m in sent]
    assert len(keys) == len(set(keys))  # nothing sent twice
    with rt.sessions() as session:
        assert {p.status for p in session.exec(select(Shipment))} == {"delivered"}


def test_the_store_name_really_is_unknown():
    from notifier.orders.carrier_names import known_name

    assert known_name(COURIER) is None and ShopifySource.id == "shopify"
