"""The stages together on a real database (SQLite and PostgreSQL): sweep -> outbox -> dispatch."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from carriers.base import Status as S
from carriers.errors import CarrierUnavailable
from notifier.errors import PermanentSendError, TransientSendError
from notifier.pipeline import delays, dispatch, poll
from notifier.store.models import (
    Notification,
    NotificationAttempt,
    Recipient,
    Shipment,
    TemplateOverride,
    TrackingEvent,
)
from tests.factories import parcel, result

PICKED = ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket telah diterima di gudang Jakarta")
OFD = ("2026-12-01T09:00:00+07:00", S.OUT_FOR_DELIVERY, "Paket sedang diantar")
DONE = ("2026-12-01T09:50:00+07:00", S.DELIVERED, "Paket telah diterima oleh RINA")


def notes(rt) -> list[tuple[str, str, str]]:
    with rt.sessions() as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
        return [(n.trigger, n.channel, n.state) for n in rows]


def shipment(rt, sid: int) -> Shipment:
    with rt.sessions() as session:
        return session.get(Shipment, sid)


async def test_sweep_stores_events_and_enqueues_once(rt, merchant) -> None:
    sh = parcel(rt, merchant)
    carrier = rt.carriers.get("scripted")
    carrier.answers["JX0001"] = result(
        "JX0001", S.OUT_FOR_DELIVERY, PICKED, OFD, eta=date(2026, 12, 1)
    )
    stats = await poll.sweep(rt)
    assert (stats.shipments, stats.new_events, stats.calls) == (1, 2, 1)
    got = shipment(rt, sh.id)
    assert got.status == "out_for_delivery" and got.eta == date(2026, 12, 1)
    assert got.lease_owner is None and got.next_check_at > rt.clock.now()
    assert got.next_check_at <= rt.clock.now() + timedelta(minutes=40)  # OFD is checked often
    first = notes(rt)
    # shipped (first scan) and out_for_delivery, on both of the merchant's channels
    assert sorted(first) == sorted(
        [
            ("shipped", "email", "pending"),
            ("shipped", "whatsapp", "pending"),
            ("out_for_delivery", "email", "pending"),
            ("out_for_delivery", "whatsapp", "pending"),
        ]
    )
    # a re-poll with the same answer, and a repeated push of it, change nothing
    rt.clock.advance(hours=1)
    await poll.sweep(rt)
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Shipment).values(next_check_at=rt.clock.now()))
    await poll.sweep(rt)
    assert notes(rt) == first
    with rt.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(TrackingEvent)).scalar() == 2


async def test_delivered_in_the_same_poll_suppresses_out_for_delivery(rt, merchant) -> None:
    parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.DELIVERED, PICKED, OFD, DONE)
    await poll.sweep(rt)
    got = {(t, c): s for t, c, s in notes(rt)}
    assert got[("delivered", "whatsapp")] == "pending"
    assert got[("out_for_delivery", "whatsapp")] == "suppressed"
    assert got[("shipped", "email")] == "suppressed"
    assert got[("feedback_request", "email")] == "pending"
    with rt.sessions() as session:
        fb = session.exec(
            select(Notification).where(
                Notification.trigger == "feedback_request", Notification.channel == "email"
            )
        ).one()
        reason = (
            session.exec(select(Notification).where(Notification.trigger == "out_for_delivery"))
            .first()
            .last_error
        )
    assert fb.not_before >= rt.clock.now() + timedelta(days=2)
    assert reason == "superseded by delivered"


async def test_carrier_outage_backs_off_and_other_carriers_go_on(rt, merchant) -> None:
    bad = parcel(rt, merchant, number="BAD1")
    good = parcel(rt, merchant, number="OK1", carrier="simulator-ok")
    from notifier.testing import ScriptedCarrier

    other = ScriptedCarrier()
    other.answers["OK1"] = result("OK1", S.IN_TRANSIT, PICKED)
    rt.carriers.install("simulator-ok", other)
    rt.carriers.get("scripted").answers["BAD1"] = CarrierUnavailable(
        "server error", carrier="scripted", status_code=503, retry_after=900
    )
    stats = await poll.sweep(rt)
    assert stats.failures == 1
    b, g = shipment(rt, bad.id), shipment(rt, good.id)
    assert b.consecutive_failures == 1 and "server error" in b.last_error
    assert b.next_check_at >= rt.clock.now() + timedelta(seconds=900)  # Retry-After honoured
    assert g.status == "in_transit" and g.consecutive_failures == 0


async def test_unknown_carrier_is_recorded_not_fatal(rt, merchant) -> None:
    sh = parcel(rt, merchant, carrier="nosuchcarrier")
    stats = await poll.sweep(rt)
    assert stats.shipments == 1
    assert "unknown carrier" in shipment(rt, sh.id).last_error


async def test_dispatch_sends_and_records(rt, merchant) -> None:
    parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result(
        "JX0001", S.OUT_FOR_DELIVERY, PICKED, OFD, eta=date(2026, 12, 1)
    )
    await poll.sweep(rt)
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 4}
    sender = rt.extra["sender"]
    wa = next(m for m in sender.sent if m.channel == "whatsapp" and m.trigger == "out_for_delivery")
    assert wa.to == "+6281234567890"
    assert "/t/" in wa.text and "INV/JX0001" in wa.text
    email = next(m for m in sender.sent if m.channel == "email")
    assert email.subject and email.html and email.unsubscribe_url
    with rt.sessions() as session:
        rows = session.exec(select(Notification)).all()
        assert all(n.state == "sent" and n.provider_message_id and n.body for n in rows)
        attempts = session.exec(select(NotificationAttempt)).all()
        assert [a.outcome for a in attempts] == ["sent"] * 4
        assert session.get(Shipment, 1).eta_told == date(2026, 12, 1)
    assert (await dispatch.dispatch(rt)).leased == 0  # nothing is sent twice


async def test_quiet_hours_defer_whatsapp_but_not_email(rt, merchant, clock) -> None:
    clock.set(clock.now().replace(hour=15, minute=30))  # 22:30 in Jakarta
    parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    assert [(t, c) for t, c, s in notes(rt) if s == "sent"] == [("shipped", "email")]
    with rt.sessions() as session:
        wa = session.exec(select(Notification).where(Notification.channel == "whatsapp")).one()
    assert wa.state == "pending" and wa.attempts == 0
    assert wa.next_attempt_at.astimezone().hour == 1  # 08:00 WIB is 01:00 UTC
    clock.advance(hours=10)
    await dispatch.dispatch(rt)
    assert ("shipped", "whatsapp", "sent") in notes(rt)


async def test_pending_news_superseded_at_send_time(rt, merchant, clock) -> None:
    clock.set(clock.now().replace(hour=15, minute=30))  # night: WhatsApp waits
    sh = parcel(rt, merchant)
    carrier = rt.carriers.get("scripted")
    carrier.answers["JX0001"] = result("JX0001", S.OUT_FOR_DELIVERY, PICKED, OFD)
    await poll.sweep(rt)
    clock.advance(hours=10)
    carrier.answers["JX0001"] = result("JX0001", S.DELIVERED, PICKED, OFD, DONE)
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Shipment).values(next_check_at=clock.now()))
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    got = {(t, c): s for t, c, s in notes(rt)}
    assert got[("out_for_delivery", "whatsapp")] == "suppressed"
    assert got[("delivered", "whatsapp")] == "sent"
    assert shipment(rt, sh.id).status == "delivered"


async def test_transient_errors_retry_then_dead(rt, merchant, clock, settings) -> None:
    parcel(rt, merchant, phone=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    sender = rt.extra["sender"]
    sender.fail["rina@example.com"] = TransientSendError("timeout", provider="memory")
    for _ in range(settings.dispatch.max_attempts):
        await dispatch.dispatch(rt)
        clock.advance(hours=2)
    with rt.sessions() as session:
        n = session.exec(select(Notification)).one()
        attempts = session.exec(select(NotificationAttempt)).all()
    assert n.state == "dead" and n.attempts == settings.dispatch.max_attempts
    assert "timeout" in n.last_error
    assert [a.outcome for a in attempts] == ["transient"] * settings.dispatch.max_attempts


async def test_permanent_error_fails_once_and_opt_out_sticks(rt, merchant) -> None:
    parcel(rt, merchant, email=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    rt.extra["sender"].fail["+6281234567890"] = PermanentSendError(
        "unsubscribed recipient", provider="memory", code="21610", opted_out=True
    )
    await dispatch.dispatch(rt)
    with rt.sessions() as session:
        n = session.exec(select(Notification)).one()
        rec = session.exec(select(Recipient)).one()
    assert n.state == "failed" and "21610" in n.last_error and n.attempts == 1
    assert rec.whatsapp_opt_out_at is not None and rec.whatsapp_opt_out_source == "memory:21610"


async def test_template_error_fails_that_message_only(rt, merchant) -> None:
    parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    with rt.sessions() as session, session.begin():
        session.add(
            TemplateOverride(
                merchant_id=merchant.id,
                trigger="shipped",
                channel="whatsapp",
                locale="id",
                source="Halo {{ customer.nmae }}",
                created_at=rt.clock.now(),
            )
        )
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    got = {(t, c): s for t, c, s in notes(rt)}
    assert got == {("shipped", "whatsapp"): "failed", ("shipped", "email"): "sent"}
    with rt.sessions() as session:
        failed = session.exec(select(Notification).where(Notification.state == "failed")).one()
    assert "nmae" in failed.last_error


async def test_delay_scan_notices_a_passed_eta_without_calling_the_carrier(rt, merchant, clock):
    sh = parcel(
        rt,
        merchant,
        status="in_transit",
        eta=date(2026, 11, 29),
        eta_told=date(2026, 11, 29),
        last_event_at=clock.now() - timedelta(hours=20),
    )
    planned = clock.now() + timedelta(hours=3)
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Shipment).values(next_check_at=planned))
    clock.advance(minutes=1)
    assert await delays.scan(rt) == 2  # email + whatsapp
    assert rt.carriers.get("scripted").calls == []
    clock.advance(minutes=10)
    assert await delays.scan(rt) == 0  # one message per episode
    got = shipment(rt, sh.id)
    assert got.delay_open and got.delay_episode == 1
    assert got.next_check_at == planned  # the poll schedule is untouched


async def test_opted_out_channel_is_recorded_suppressed(rt, merchant) -> None:
    sh = parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        session.execute(
            sa.update(Recipient).values(
                whatsapp_opt_out_at=rt.clock.now(), whatsapp_opt_out_source="STOP"
            )
        )
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    with rt.sessions() as session:
        wa = session.exec(select(Notification).where(Notification.channel == "whatsapp")).one()
    assert wa.state == "suppressed" and "opted out" in wa.last_error
    assert shipment(rt, sh.id).status == "in_transit"


@pytest.mark.parametrize("kill_after_lease", [True])
async def test_crashed_send_is_retried_after_lease_expiry_and_counted(
    rt, merchant, clock, kill_after_lease
) -> None:
    parcel(rt, merchant, phone=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    jobs = dispatch.lease_due(rt, clock.now(), 10)  # leased, then the process "dies"
    assert len(jobs) == 1
    assert (await dispatch.dispatch(rt)).leased == 0  # the lease holds
    clock.advance(seconds=rt.settings.dispatch.lease + 1)
    assert (await dispatch.dispatch(rt)).by_state == {"sent": 1}
    with rt.sessions() as session:
        attempts = session.exec(select(NotificationAttempt).order_by(NotificationAttempt.id)).all()
    assert [a.outcome for a in attempts] == [None, "sent"]  # the open attempt marks the window


async def test_a_sweep_and_a_scan_release_every_lease_they_take(rt, merchant, clock) -> None:
    """A shipment that becomes due again during the same run is left for the next run, not
    leased and forgotten (which would strand it until the lease expires)."""
    sh = parcel(rt, merchant, status="info_received", carrier="scripted")
    rt.settings.poll.backoff_base = 0.001  # failing shipments come due again at once
    from carriers.errors import CarrierUnavailable as Down

    rt.carriers.get("scripted").answers["JX0001"] = Down("down", carrier="scripted")
    for _ in range(3):
        clock.advance(seconds=1)
        assert (await poll.sweep(rt)).shipments == 1
        clock.advance(hours=13)
        await delays.scan(rt)
        with rt.sessions() as session:
            assert session.get(Shipment, sh.id).lease_owner is None


async def test_cancelled_order_stops_polling_and_its_pending_news(rt, merchant, clock) -> None:
    from notifier.store.models import Order

    sh = parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Order).values(status="cancelled"))
    await poll.sweep(rt)  # a sweep that already held the parcel must not re-arm it
    assert shipment(rt, sh.id).next_check_at is None
    await dispatch.dispatch(rt)
    with rt.sessions() as session:
        rows = session.exec(select(Notification)).all()
    assert rows and all(n.state == "suppressed" and n.last_error == "order cancelled" for n in rows)


async def test_the_merchants_wording_is_used_per_language(rt, merchant) -> None:
    from notifier.store.models import Recipient as Rec

    parcel(rt, merchant, email=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        for version, (locale, text, enabled) in enumerate(
            [
                ("id", "Halo {{ customer.first_name }} v1 {{ shipment.tracking_url }}", True),
                ("en", "Hi {{ customer.first_name }} {{ shipment.tracking_url }}", True),
                ("id", "Halo {{ customer.first_name }} v3 {{ shipment.tracking_url }}", True),
            ],
            1,
        ):
            session.add(
                TemplateOverride(
                    merchant_id=merchant.id,
                    trigger="shipped",
                    channel="whatsapp",
                    locale=locale,
                    version=version,
                    source=text,
                    enabled=enabled,
                    created_at=now,
                )
            )
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    [sent] = rt.extra["sender"].sent
    assert sent.text.startswith("Halo Rina v3")  # the newest Indonesian version, not the English
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Rec).values(locale="en"))
        session.execute(sa.update(Notification).values(state="pending", attempts=0))
    await dispatch.dispatch(rt)
    assert rt.extra["sender"].sent[-1].text.startswith("Hi Rina")


async def test_whatsapp_carries_the_merchants_template_and_its_values(rt, merchant) -> None:
    from notifier.store.models import Merchant as M

    with rt.sessions() as session, session.begin():
        row = session.get(M, merchant.id)
        row.settings = {
            **row.settings,
            "senders": {
                "twilio": {
                    "whatsapp_templates": {"shipped": {"id": "HXshippedid"}},
                    "whatsapp_fallback": "sms",
                }
            },
        }
        session.add(row)
    parcel(rt, merchant, email=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    [sent] = rt.extra["sender"].sent
    meta = sent.metadata
    assert meta["content_sid"] == "HXshippedid" and meta["whatsapp_fallback"] == "sms"
    assert meta["customer_name"] == "Rina" and meta["tracking_number"] == "JX0001"
    assert "/t/" in meta["tracking_url"]


async def test_whatsapp_falling_back_to_sms_queues_the_sms(rt, merchant) -> None:
    from notifier.senders.twilio_whatsapp import ChannelFallback

    parcel(rt, merchant, email=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    rt.extra["sender"].fail[1] = ChannelFallback(
        "outside the session, no template", channel="sms", provider="twilio_whatsapp"
    )
    await dispatch.dispatch(rt)
    await dispatch.dispatch(rt)
    got = {(t, c): s for t, c, s in notes(rt)}
    assert got == {("shipped", "whatsapp"): "failed", ("shipped", "sms"): "sent"}
    assert rt.extra["sender"].sent[-1].channel == "sms"
