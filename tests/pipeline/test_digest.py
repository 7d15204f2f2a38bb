"""The per-order digest helpers: when held news is released, which leased rows make one message,
and what the message lists. Pure: jobs are built in memory."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from notifier.pipeline import digest
from notifier.pipeline.compose import Job
from notifier.store.models import Merchant, Notification, Order, Recipient, Shipment

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
RELEASE = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 18:00 in Jakarta
SHOP = Merchant(id=1, slug="sekar", name="Sekar", api_token_hash="x", settings={"digest": True})
PLAIN = Merchant(id=2, slug="mawar", name="Mawar", api_token_hash="y", settings={})


def job(
    nid, trigger, *, order=10, shipment=100, channel="email", merchant=SHOP, status="in_transit"
):
    n = Notification(id=nid, merchant_id=merchant.id, order_id=order, shipment_id=shipment,
                     recipient_id=5, trigger=trigger, channel=channel, dedupe_key=f"k{nid}",
                     not_before=RELEASE)  # fmt: skip
    sh = None
    if shipment is not None:
        sh = Shipment(id=shipment, merchant_id=merchant.id, order_id=order, carrier="biteship",
                      courier="jne", tracking_number=f"JP{shipment}", public_token=f"tok{shipment}",
                      status=status)  # fmt: skip
    order_row = Order(id=order, merchant_id=merchant.id, external_id=str(order), order_number="#1")
    return Job(n, order_row, merchant, Recipient(id=5, merchant_id=merchant.id), sh, None, None)


def test_release_is_the_next_digest_time_in_the_shoppers_zone():
    assert digest.release_at(NOW, JAKARTA) == RELEASE
    evening = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 19:00 in Jakarta: tomorrow's digest
    assert digest.release_at(evening, JAKARTA) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert digest.release_at(NOW, JAKARTA, time(9, 30)) == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


def test_only_parcel_news_of_digest_merchants_is_held():
    assert digest.holds(SHOP, 100, "shipped") and digest.holds(SHOP, 100, "delivered")
    assert not digest.holds(SHOP, None, "order_confirmed")
    assert not digest.holds(SHOP, 100, "refund_update")  # order-level news goes at once
    assert not digest.holds(PLAIN, 100, "shipped")
    late = Merchant(
        slug="x", name="x", api_token_hash="z", settings={"digest": True, "digest_at": "20:30"}
    )
    assert digest.digest_time(late) == time(20, 30) and digest.digest_time(SHOP) == time(18, 0)


def test_two_parcels_of_one_order_on_one_day_make_one_message():
    a = job(1, "shipped", shipment=100)
    b = job(2, "shipped", shipment=101)
    whatsapp = job(3, "shipped", shipment=101, channel="whatsapp")
    other_order = job(4, "shipped", order=11, shipment=200)
    confirmation = job(5, "order_confirmed", shipment=None)
    plain = job(6, "shipped", merchant=PLAIN, order=12, shipment=300)
    groups = digest.group([b, whatsapp, a, other_order, confirmation, plain])
    assert [[j.id for j in g] for g in groups] == [[1, 2], [3], [4], [5], [6]]
    ctx = digest.context(groups[0], public_url="https://n.example")
    assert ctx["trigger"] == "parcel_digest" and ctx["count"] == 2
    assert [(p["trigger"], p["tracking_number"], p["carrier_name"]) for p in ctx["parcels"]] == [
        ("shipped", "JP100", "JNE"),
        ("shipped", "JP101", "JNE"),
    ]
    assert ctx["parcels"][0]["tracking_url"] == "https://n.example/t/tok100"
    assert digest.merged_reason(groups[0][0]) == "merged into digest notification 1"


def test_a_parcels_older_news_is_left_out_of_its_digest():
    jobs = [
        job(1, "out_for_delivery", shipment=100, status="delivered"),
        job(2, "delivered", shipment=100, status="delivered"),
        job(3, "shipped", shipment=101),
    ]
    ctx = digest.context(jobs, public_url="https://n.example")
    assert [(p["trigger"], p["tracking_number"]) for p in ctx["parcels"]] == [
        ("delivered", "JP100"),
        ("shipped", "JP101"),
    ]
