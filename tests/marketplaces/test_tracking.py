"""Parcels tracked through the marketplace they were sold on, end to end against the stand-ins:
order synced -> shipment with the marketplace as carrier -> the sweep calls the marketplace's
tracking endpoint (signed as documented, with the merchant's own tokens) -> events stored -> the
merchant's CS alert enqueued; an auth failure fails those checks with backoff and leaves the
other carriers of the sweep alone."""

from __future__ import annotations

import pytest
from sqlmodel import select

from carriers.base import Status as S
from notifier import alerts
from notifier.orders import shopee
from notifier.orders.parse_contract import Marketplace, page_orders
from notifier.orders.poller import poll_sources, receive
from notifier.orders.schema import ShipmentIn, installed_carriers, marketplace_trackers
from notifier.pipeline.poll import sweep
from notifier.store.models import Notification, Order, Recipient, Shipment
from notifier.store.models import TrackingEvent as EventRow
from notifier.testing import ScriptedCarrier
from tests.factories import parcel, result
from tests.marketplaces.shopee_standin import PARTNER_ID, PARTNER_KEY, SHOP_ID
from tests.marketplaces.standin import hexmac
from tests.marketplaces.test_shopee_sync import entry as shopee_entry
from tests.marketplaces.test_tiktok_lazada_sync import lazada_entry, tiktok_entry
from tests.orders.helpers import set_settings

BRAND = {"name": "Batik Sekar", "cs_email": "cs@sekar.example"}
INFO = "/api/v2/logistics/get_tracking_info"


def shipments(rt, carrier: str) -> list[Shipment]:
    with rt.sessions() as session:
        stmt = select(Shipment).where(Shipment.carrier == carrier).order_by(Shipment.id)
        return list(session.exec(stmt))


def events(rt, shipment_id: int) -> list[EventRow]:
    with rt.sessions() as session:
        stmt = select(EventRow).where(EventRow.shipment_id == shipment_id)
        return list(session.exec(stmt.order_by(EventRow.seq)))


def other_carriers(rt) -> ScriptedCarrier:
    """The store's other parcels go to binderbyte: scripted here (they answer not found)."""
    scripted = ScriptedCarrier()
    rt.carriers.install("binderbyte", scripted)
    return scripted


def test_the_marketplaces_track_but_are_not_carriers():
    assert marketplace_trackers() == {"shopee", "tiktok_shop", "lazada"}
    assert not marketplace_trackers() & installed_carriers()  # `carriers list` is unchanged
    assert ShipmentIn(carrier="shopee", tracking_number="GHN1234", package="OFG1").package == "OFG1"


@pytest.mark.parametrize(
    ("setting", "carrier"),
    [(None, "shopee"), ("fallback", "shopee"), (True, "shopee"), ("never", None)],
)
def test_a_parcel_no_carrier_tracks_goes_to_the_marketplace(setting, carrier):
    parcels = [
        {"carrier_name": name, "tracking_number": number, "tracking_url": None}
        for name, number in (("J&T Express", "JP2611269001"), ("Giao Hàng Nhanh", "GHN2611269001"))
    ]
    for p, package in zip(parcels, ("OFG1", "OFG2"), strict=True):
        p["package"] = package  # type: ignore[typeddict-unknown-key]
    store = [{"external_id": "261201AAAA0009", "shipments": parcels}]
    market = Marketplace.of("shopee", setting)
    [order], errors, warnings = page_orders(store, market=market)  # type: ignore[arg-type]
    found = {(s.carrier, s.courier, s.tracking_number, s.package) for s in order.shipments}
    jnt = ("binderbyte", "jnt", "JP2611269001", None)
    if setting is True:  # always: even a parcel binderbyte could track
        jnt = ("shopee", None, "JP2611269001", "OFG1")
    if carrier is None:
        assert found == {jnt} and len(warnings) == 1 and "GHN2611269001" in warnings[0]
    else:
        assert found == {jnt, (carrier, None, "GHN2611269001", "OFG2")} and warnings == []
    assert errors == []


async def test_shopee_parcel_tracked_through_shopee_alerts_the_cs(rt, merchant, shopee_server):
    standin = shopee_server.app
    set_settings(rt, merchant, brand=BRAND, sources=[shopee_entry(shopee_server)])
    other_carriers(rt)
    await poll_sources(rt)
    [ghn] = shipments(rt, "shopee")
    assert (ghn.tracking_number, ghn.package, ghn.courier) == ("GHN2611260004", "OFG4B", "")

    stats = await sweep(rt)

    [call] = [c for c in standin.calls if c.path == INFO]
    q = call.params
    assert (q["order_sn"], q["package_number"], q["shop_id"]) == (
        "261201AAAA0004",
        "OFG4B",
        str(SHOP_ID),
    )
    signed = f"{PARTNER_ID}{INFO}{q['timestamp']}access-0{SHOP_ID}"
    assert q["sign"] == hexmac(PARTNER_KEY, signed) and q["access_token"] == "access-0"
    assert standin.problems == [] and stats.failures == 0
    [ghn] = shipments(rt, "shopee")
    assert (ghn.status, ghn.raw_status) == ("exception", "LOGISTICS_DELIVERY_FAILED")
    assert ghn.consecutive_failures == 0 and ghn.next_check_at is not None
    [event] = events(rt, ghn.id)
    assert (event.status, event.raw_code) == ("failed_attempt", "FAILED_DELIVERED")
    assert event.description == "包裹正退回物流中心"

    # The buyer is masked: no shopper message; the shop's CS gets the alert.
    assert alerts.scan(rt) >= 1
    with rt.sessions() as session:
        made = session.exec(select(Notification).where(Notification.shipment_id == ghn.id)).all()
        cs = {session.get(Recipient, n.recipient_id).email for n in made}
    assert {n.trigger for n in made} <= {"alert_exception", "alert_failed_attempt"}
    assert "alert_exception" in {n.trigger for n in made} and cs == {"cs@sekar.example"}


async def test_tiktok_and_lazada_parcels_tracked_through_their_marketplace(
    rt, merchant, tiktok_server, lazada_server
):
    lazada_server.app.trace_as_orders = True
    sources = [
        tiktok_entry(tiktok_server, track_via_marketplace="always"),
        lazada_entry(lazada_server, track_via_marketplace="always"),
    ]
    set_settings(rt, merchant, brand=BRAND, sources=sources)
    scripted = other_carriers(rt)
    await poll_sources(rt)
    tiktok, lazada = shipments(rt, "tiktok_shop"), shipments(rt, "lazada")
    assert sorted(s.tracking_number for s in tiktok) == [
        "004126110301",
        "CGK2611260103",
        "JP2611260102",
    ]
    assert sorted((s.tracking_number, s.package) for s in lazada) == [
        ("CGK2611260204", "FP4912530821801041"),
        ("JP2611260203", "FP4912530821801030"),
        ("NLIDAP2611260204", "FP4912530821801040"),
    ]

    stats = await sweep(rt)

    assert stats.failures == 0 and scripted.calls == []
    tts_calls = [c for c in tiktok_server.app.calls if c.path.endswith("/tracking")]
    assert sorted(c.path for c in tts_calls) == [  # one call per order, not per parcel
        "/fulfillment/202309/orders/576461413038700002/tracking",
        "/fulfillment/202309/orders/576461413038700003/tracking",
    ]
    assert {c.token for c in tts_calls} == {"access-0"} and tiktok_server.app.problems == []
    for shipment in shipments(rt, "tiktok_shop"):
        assert [e.description for e in events(rt, shipment.id)] == [
            "Paket sedang dalam perjalanan",
            "Paket telah diterima",
        ]
    traces = [c for c in lazada_server.app.calls if c.path == "/logistic/order/trace"]
    assert sorted(c.params["order_id"] for c in traces) == ["491253082180103", "491253082180104"]
    assert lazada_server.app.problems == []
    for shipment in shipments(rt, "lazada"):
        assert shipment.status == "info_received", shipment
        assert [e.raw_code for e in events(rt, shipment.id)] == ["ready_to"]


async def test_an_auth_failure_fails_those_checks_with_backoff_only(rt, merchant, shopee_server):
    standin = shopee_server.app
    set_settings(rt, merchant, brand=BRAND, sources=[shopee_entry(shopee_server)])
    other_carriers(rt)
    await poll_sources(rt)
    mine = parcel(rt, merchant, number="JX0301")  # another carrier's parcel, same sweep
    rt.carriers.get("scripted").answers["JX0301"] = result(  # type: ignore[attr-defined]
        "JX0301", S.IN_TRANSIT, ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket di hub")
    )
    standin.tokens.access_valid = False  # the seller revoked the app, or the token expired

    stats = await sweep(rt)

    now = rt.clock.now()
    [ghn] = shipments(rt, "shopee")
    assert ghn.status == "pending" and ghn.consecutive_failures == 1
    assert "auth refused" in (ghn.last_error or "") and "error_auth" in (ghn.last_error or "")
    assert ghn.next_check_at is not None and ghn.next_check_at > now  # backoff
    assert events(rt, ghn.id) == [] and standin.tokens.refreshes == 0  # the sweep never renews
    with rt.sessions() as session:
        other = session.get(Shipment, mine.id)
    assert (other.status, other.consecutive_failures) == ("in_transit", 0)
    assert len(events(rt, mine.id)) == 1 and stats.failures == 1


async def test_a_source_removed_from_the_settings_fails_its_parcels(rt, merchant, shopee_server):
    set_settings(rt, merchant, sources=[shopee_entry(shopee_server)])
    other_carriers(rt)
    await poll_sources(rt)
    set_settings(rt, merchant, sources=[])
    await sweep(rt)
    [ghn] = shipments(rt, "shopee")
    assert ghn.consecutive_failures == 1 and "no enabled shopee source" in (ghn.last_error or "")
    with rt.sessions() as session:
        order = session.get(Order, ghn.order_id)
    assert order.external_id == "261201AAAA0004"


async def test_throttling_waits_as_told_and_an_unknown_package_is_not_a_failure(
    rt, merchant, shopee_server
):
    standin = shopee_server.app
    set_settings(rt, merchant, sources=[shopee_entry(shopee_server)])
    other_carriers(rt)
    await poll_sources(rt)
    standin.throttle_next = 1  # error_too_many_request
    await sweep(rt)
    [ghn] = shipments(rt, "shopee")
    assert ghn.consecutive_failures == 1 and "error_too_many_request" in (ghn.last_error or "")
    assert ghn.next_check_at is not None
    waited = (ghn.next_check_at - rt.clock.now()).total_seconds()
    assert waited >= max(60, rt.settings.poll.backoff_base * 0.5)  # backoff, >= Retry-After

    # Shopee no longer knows the package: a per-parcel answer, the check itself succeeded.
    del standin.resi[("261201AAAA0004", "OFG4B")]
    with rt.sessions() as session, session.begin():
        row = session.get(Shipment, ghn.id)
        row.next_check_at = rt.clock.now()
        session.add(row)
    await sweep(rt)
    [ghn] = shipments(rt, "shopee")
    assert ghn.consecutive_failures == 0 and ghn.status == "pending"
    assert "package_not_exist" in (ghn.last_error or "")


async def test_a_pushed_tracking_number_is_tracked_through_the_marketplace_too(
    rt, merchant, shopee_server
):
    set_settings(rt, merchant, sources=[shopee_entry(shopee_server)])
    other_carriers(rt)
    await poll_sources(rt)

    def push(sn: str, package: str, number: str) -> dict:
        data = {"ordersn": sn, "package_number": package, "tracking_no": number}
        return {"shop_id": SHOP_ID, "code": 4, "timestamp": 1764558000, "data": data}

    pushed = [push("261201AAAA0004", "OFG4B", "GHN2611260004")]  # known: the same parcel
    pushed.append(push("261201AAAA0001", "OFG1", "GHN2611260001"))  # a new resi
    stores = [o for body in pushed for o in shopee.parse(body)]
    done = receive(rt, merchant, "shopee", ["push-1"], stores)
    assert (done.created, done.updated, done.errors) == (0, 1, [])
    assert not [w for w in done.warnings if "left out" in w]
    assert sorted((s.tracking_number, s.package, s.courier) for s in shipments(rt, "shopee")) == [
        ("GHN2611260001", "OFG1", ""),
        ("GHN2611260004", "OFG4B", ""),
    ]
