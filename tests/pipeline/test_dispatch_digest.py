"""The per-order digest end to end on SQLite and PostgreSQL: sweep -> outbox (held until the
digest time) -> dispatch (one message per order and channel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from carriers.base import Status as S
from notifier.errors import PermanentSendError, TransientSendError
from notifier.links import new_public_token
from notifier.pipeline import dispatch, poll
from notifier.pipeline.callbacks import TwilioStatus, apply_twilio_status
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.store.models import Merchant, Notification, Shipment
from notifier.testing import MemorySender
from tests.factories import parcel, result

PICKED = ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket telah diterima di gudang Jakarta")
DONE = ("2026-12-01T13:50:00+07:00", S.DELIVERED, "Paket telah diterima oleh RINA")
RELEASE = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 18:00 in Jakarta, the default digest time


def digest_on(rt, merchant, **more: Any) -> None:
    with rt.sessions() as session, session.begin():
        m = session.get(Merchant, merchant.id)
        m.settings = {**m.settings, "digest": True, **more}


def two_parcels(rt, merchant) -> tuple[Shipment, Shipment]:
    """Rina's order with two parcels (JX0001, JX0002), both due for polling."""
    a = parcel(rt, merchant, number="JX0001")
    with rt.sessions() as session, session.begin():
        b = Shipment(
            merchant_id=merchant.id, order_id=a.order_id, carrier="scripted",
            tracking_number="JX0002", public_token=new_public_token(), status="pending",
            next_check_at=rt.clock.now(), created_at=rt.clock.now(), updated_at=rt.clock.now(),
        )  # fmt: skip
        session.add(b)
    return a, b


def scan(rt, *answers) -> None:
    carrier = rt.carriers.get("scripted")
    for answer in answers:
        carrier.answers[answer.tracking_number] = answer
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Shipment).values(next_check_at=rt.clock.now()))


def rows(rt) -> list[Notification]:
    with rt.sessions() as session:
        return list(session.exec(select(Notification).order_by(Notification.id)).all())


def by_key(rt) -> dict[tuple[str, str, int | None], Notification]:
    return {(n.trigger, n.channel, n.shipment_id): n for n in rows(rt)}


async def test_two_parcels_on_one_day_make_one_message_per_channel(rt, merchant) -> None:
    digest_on(rt, merchant)
    a, b = two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    held = rows(rt)
    assert len(held) == 4 and {n.state for n in held} == {"pending"}
    assert {n.not_before for n in held} == {RELEASE} and {n.next_attempt_at for n in held} == {
        RELEASE
    }
    assert (await dispatch.dispatch(rt)).leased == 0  # 10:00: nothing before the digest time
    sender = rt.extra["sender"]
    rt.clock.advance(hours=8)  # 18:00 in Jakarta
    stats = await dispatch.dispatch(rt)
    assert stats.leased == 4 and stats.by_state == {"sent": 2, "suppressed": 2}
    assert sorted(m.channel for m in sender.sent) == ["email", "whatsapp"]
    for message in sender.sent:
        assert message.trigger == "parcel_digest"
        for sh in (a, b):
            assert sh.tracking_number in message.text
            assert f"/t/{sh.public_token}" in message.text
    email = next(m for m in sender.sent if m.channel == "email")
    assert email.subject == "Kabar terbaru 2 paket pesanan INV/JX0001"
    got = by_key(rt)
    for channel in ("email", "whatsapp"):
        head, merged = got[("shipped", channel, a.id)], got[("shipped", channel, b.id)]
        assert head.state == "sent" and head.body is not None and "JX0002" in head.body
        assert merged.state == "suppressed"
        assert merged.last_error == f"merged into digest notification {head.id}"
        assert merged.attempts == 1 and merged.sent_at is None
    assert (await dispatch.dispatch(rt)).leased == 0


async def test_one_parcel_gets_its_normal_message_at_the_digest_time(rt, merchant) -> None:
    digest_on(rt, merchant)
    sh = parcel(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    rt.clock.advance(hours=7, minutes=59)
    assert (await dispatch.dispatch(rt)).leased == 0
    rt.clock.advance(minutes=1)
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 2}
    sent = rt.extra["sender"].sent
    assert {m.trigger for m in sent} == {"shipped"}
    assert all(sh.tracking_number in m.text for m in sent)
    assert "Kabar gembira! Pesanan *INV/JX0001* sudah dikirim" in next(
        m.text for m in sent if m.channel == "whatsapp"
    )


async def test_the_merchants_digest_time_in_the_shoppers_zone(rt, merchant) -> None:
    digest_on(rt, merchant, digest_at="09:30")  # 10:00 now: tomorrow's 09:30
    parcel(rt, merchant, tz="Asia/Makassar")  # WITA, UTC+8
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    assert {n.not_before for n in rows(rt)} == {datetime(2026, 12, 2, 1, 30, tzinfo=UTC)}


async def test_a_stale_row_is_suppressed_as_superseded_not_merged(rt, merchant) -> None:
    digest_on(rt, merchant)
    a, b = two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED))  # 10:00: A's first scan
    await poll.sweep(rt)
    rt.clock.advance(hours=2)
    scan(rt, result("JX0002", S.IN_TRANSIT, PICKED))  # 12:00: B's
    await poll.sweep(rt)
    rt.clock.advance(hours=2)
    scan(rt, result("JX0001", S.DELIVERED, PICKED, DONE))  # 14:00: A delivered
    await poll.sweep(rt)
    assert (await dispatch.dispatch(rt)).leased == 0
    rt.clock.advance(hours=4)
    await dispatch.dispatch(rt)
    got = by_key(rt)
    for channel in ("email", "whatsapp"):
        stale = got[("shipped", channel, a.id)]
        assert (stale.state, stale.last_error) == ("suppressed", "superseded by delivered")
        head, merged = got[("shipped", channel, b.id)], got[("delivered", channel, a.id)]
        assert head.state == "sent"
        assert merged.state == "suppressed"
        assert merged.last_error == f"merged into digest notification {head.id}"
    sent = rt.extra["sender"].sent
    assert len(sent) == 2 and {m.trigger for m in sent} == {"parcel_digest"}
    text = next(m.text for m in sent if m.channel == "whatsapp")
    # in the order of the live rows: B's news (12:00) first, then A's delivery (14:00)
    assert "*1. Scripted*, resi *JX0002*\nStatus: Dalam perjalanan" in text
    assert "*2. Scripted*, resi *JX0001*\nStatus: Sudah diterima" in text


async def test_digest_off_changes_nothing(rt, merchant) -> None:
    two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    assert {n.not_before for n in rows(rt)} == {rt.clock.now()}
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 4}
    sent = rt.extra["sender"].sent
    assert sorted((m.channel, m.trigger) for m in sent) == [
        ("email", "shipped"),
        ("email", "shipped"),
        ("whatsapp", "shipped"),
        ("whatsapp", "shipped"),
    ]


async def test_an_orders_rows_are_leased_together(rt, merchant) -> None:
    digest_on(rt, merchant)
    two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    rt.clock.advance(hours=8)
    stats = await dispatch.dispatch(rt, limit=1)
    assert stats.leased == 4 and stats.by_state == {"sent": 2, "suppressed": 2}
    assert len(rt.extra["sender"].sent) == 2


async def test_a_digest_that_fails_keeps_the_others_pending(rt, merchant) -> None:
    digest_on(rt, merchant)
    a, b = two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    rt.clock.advance(hours=8)
    sender: MemorySender = rt.extra["sender"]
    sender.fail["rina@example.com"] = TransientSendError("mail is down", provider="memory")
    await dispatch.dispatch(rt)
    got = by_key(rt)
    head, other = got[("shipped", "email", a.id)], got[("shipped", "email", b.id)]
    assert head.state == "pending" and head.attempts == 1 and head.next_attempt_at > RELEASE
    assert other.state == "pending" and other.attempts == 0  # not tried: not counted
    assert other.next_attempt_at == head.next_attempt_at
    assert other.last_error == (f"waits for digest notification {head.id}: memory: mail is down")
    assert got[("shipped", "whatsapp", b.id)].state == "suppressed"  # WhatsApp went
    del sender.fail["rina@example.com"]
    rt.clock.advance(hours=1)
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 1, "suppressed": 1}
    got = by_key(rt)
    assert got[("shipped", "email", a.id)].state == "sent"
    assert got[("shipped", "email", b.id)].last_error == (
        f"merged into digest notification {head.id}"
    )


class RefusesDigests(MemorySender):
    """A WhatsApp sender with approved templates for each trigger but not for the digest."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.trigger == "parcel_digest":
            raise PermanentSendError(
                "no approved template for parcel_digest/id", provider="memory", code="no_template"
            )
        return await super().send(message)


async def test_a_channel_that_cannot_carry_the_digest_sends_each_parcel(rt, merchant) -> None:
    digest_on(rt, merchant)
    two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    whatsapp = RefusesDigests()
    rt.senders.install("whatsapp", whatsapp)
    rt.clock.advance(hours=8)
    await dispatch.dispatch(rt)
    assert [m.trigger for m in whatsapp.sent] == ["shipped", "shipped"]
    assert {n.state for n in rows(rt) if n.channel == "whatsapp"} == {"sent"}
    assert [m.trigger for m in rt.extra["sender"].sent] == ["parcel_digest"]  # email


class FailsAfterAccepting(MemorySender):
    """Accepts the digest, but Twilio's failure callback overtakes the record."""

    rt: Any = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        result = await super().send(message)
        if message.trigger == "parcel_digest":
            event = TwilioStatus(
                result.provider_message_id or "", "undelivered", "30003", None,
                message.notification_id,
            )  # fmt: skip
            assert apply_twilio_status(self.rt, event).result == "early"
        return result


async def test_a_digest_failed_before_it_was_recorded_merges_nothing(rt, merchant) -> None:
    with rt.sessions() as session, session.begin():
        m = session.get(Merchant, merchant.id)
        m.settings = {"notify": {"channels": ["sms"]}, "digest": True}
    a, b = two_parcels(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED), result("JX0002", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    sms = FailsAfterAccepting()
    sms.rt = rt
    rt.senders.install("sms", sms)
    rt.clock.advance(hours=8)
    await dispatch.dispatch(rt)
    got = by_key(rt)
    head, other = got[("shipped", "sms", a.id)], got[("shipped", "sms", b.id)]
    assert (head.state, head.provider_status) == ("failed", "undelivered")
    assert head.last_error.startswith("twilio 30003")
    assert other.state == "pending" and other.attempts == 0
    assert other.last_error == f"digest notification {head.id} was not sent"
    await dispatch.dispatch(rt)  # the rest of the news goes on its own
    assert by_key(rt)[("shipped", "sms", b.id)].state == "sent"
    assert [m.trigger for m in sms.sent] == ["parcel_digest", "shipped"]


async def test_held_news_respects_quiet_hours_after_the_digest_time(rt, merchant) -> None:
    digest_on(rt, merchant, digest_at="22:00")  # inside the default quiet hours (21-08)
    parcel(rt, merchant)
    scan(rt, result("JX0001", S.IN_TRANSIT, PICKED))
    await poll.sweep(rt)
    due = {n.channel: n.not_before for n in rows(rt)}
    assert due["email"] == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 22:00 WIB
    assert due["whatsapp"] == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 08:00 WIB next day
    assert due["whatsapp"] - due["email"] == timedelta(hours=10)
