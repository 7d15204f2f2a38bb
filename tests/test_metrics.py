"""The operator's gauges: the outbox by state/channel/trigger, its depth, the sweep lag."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY

from notifier import metrics
from notifier.pipeline import gauges, poll
from notifier.store.models import Notification, Shipment
from tests.factories import parcel


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def note(sh: Shipment, rt, state: str, trigger: str, channel: str, due) -> Notification:
    return Notification(
        merchant_id=sh.merchant_id,
        order_id=sh.order_id,
        shipment_id=sh.id,
        recipient_id=1,
        trigger=trigger,
        channel=channel,
        dedupe_key=f"{trigger}:{channel}:{state}",
        state=state,
        next_attempt_at=due,
        created_at=rt.clock.now(),
        updated_at=rt.clock.now(),
    )


def test_a_gauge_label_that_emptied_goes_to_zero() -> None:
    gauge = metrics.OUTBOX_DEPTH
    metrics.set_gauge(gauge, [(("fax",), 3)])
    metrics.set_gauge(gauge, [(("pigeon",), 1)])
    assert value("notifier_outbox_depth", channel="fax") == 0
    assert value("notifier_outbox_depth", channel="pigeon") == 1


async def test_refresh_counts_the_outbox_and_the_lag(rt, merchant) -> None:
    now = rt.clock.now()
    sh = parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        session.get(Shipment, sh.id).next_check_at = now - timedelta(minutes=10)
        session.add(note(sh, rt, "pending", "shipped", "email", now - timedelta(minutes=1)))
        session.add(note(sh, rt, "pending", "delivered", "email", now + timedelta(hours=1)))
        session.add(note(sh, rt, "sent", "shipped", "whatsapp", None))
    totals = gauges.refresh(rt)
    assert totals == {"outbox_due": 1, "sweep_lag_s": 600.0}
    labels = {"state": "pending", "channel": "email", "trigger": "shipped"}
    assert value("notifier_notifications", **labels) == 1
    assert value("notifier_outbox_depth", channel="email") == 1
    assert value("notifier_sweep_lag_seconds") == 600.0
    assert poll.measure_lag(rt) == 600.0


def test_dispatch_latency_is_observed_from_the_due_time() -> None:
    before = value("notifier_dispatch_latency_seconds_count", channel="sms") or 0
    from datetime import UTC, datetime

    due = datetime(2026, 12, 1, tzinfo=UTC)
    metrics.observe_dispatch("sms", due, due + timedelta(seconds=3))
    assert value("notifier_dispatch_latency_seconds_count", channel="sms") == before + 1
