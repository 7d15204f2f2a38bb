"""Merchant alerts: the rules read from the settings, the CS recipient, which parcels alert
(through the real sweep), the digest's schedule in the merchant's zone, its content in Indonesian
and English, and one decision per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from carriers.base import Status as S
from notifier import alerts
from notifier.alerts import AlertSettings, digest_day
from notifier.pipeline import compose
from notifier.pipeline.poll import sweep
from notifier.store.models import Merchant, Notification, Order, Recipient, Shipment
from notifier.store.models import TrackingEvent as EventRow
from tests.factories import parcel, result
from tests.orders.helpers import set_settings

JKT = ZoneInfo("Asia/Jakarta")
BRAND = {"name": "Batik Sekar", "cs_email": "CS@Sekar.example", "cs_whatsapp": "0812-1111-2222"}


def marketplace_parcel(rt, merchant, number: str, **shipment):
    """A marketplace order (no shopper to write to) with one parcel."""
    sh = parcel(rt, merchant, number=number, phone=None, email=None, **shipment)
    with rt.sessions() as session, session.begin():
        order = session.get(Order, sh.order_id)
        order.recipient_id = None
        session.add(order)
    return sh


def rows(rt, trigger_prefix: str = "alert_") -> list[Notification]:
    with rt.sessions() as session:
        found = session.exec(select(Notification).order_by(Notification.id)).all()
    return [n for n in found if n.trigger.startswith(trigger_prefix)]


def test_settings_defaults_and_lenient_reading():
    plain = AlertSettings.of(Merchant(slug="a", name="A", api_token_hash="x", settings={}))
    assert plain.triggers == frozenset({"delayed", "exception", "failed_attempt"})
    assert plain.channels["delayed"] == ("email",) and plain.scope == "no_contact"
    assert (plain.digest_hour, plain.digest_scope, plain.enabled) == (8, "all", True)
    custom = {
        "triggers": ["exception", "bogus"],
        "channel": ["whatsapp"],
        "channels": {"exception": ["email", "whatsapp", "fax"]},
        "scope": "all",
        "digest_hour": None,
    }
    rules = AlertSettings.of(
        Merchant(slug="b", name="B", api_token_hash="y", settings={"alerts": custom})
    )
    assert rules.triggers == frozenset({"exception"})
    assert rules.channels["exception"] == ("email", "whatsapp")
    assert rules.channels["delayed"] == ("whatsapp",) and rules.channels["digest"] == ("whatsapp",)
    assert (rules.scope, rules.digest_hour) == ("all", None)
    broken = {"alerts": {"triggers": "delayed", "channel": 3, "digest_hour": 25}}
    odd = AlertSettings.of(Merchant(slug="c", name="C", api_token_hash="z", settings=broken))
    assert odd.triggers == frozenset(alerts.ALERTABLE) and odd.digest_hour is None


def test_the_digest_is_due_from_the_local_hour_for_a_few_hours():
    day = datetime(2026, 12, 1).date()
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=JKT)  # noqa: E731
    assert digest_day(8, JKT, at(7, 59)) is None
    assert digest_day(8, JKT, at(8)) == day
    assert digest_day(8, JKT, at(13, 59)) == day
    assert digest_day(8, JKT, at(14)) is None
    assert digest_day(None, JKT, at(9)) is None
    # A late hour runs past midnight: 01:00 on the 2nd still sends the 1st's digest.
    assert digest_day(22, JKT, datetime(2026, 12, 2, 1, tzinfo=JKT)) == day
    # The same instant is 09:00 in Makassar (WITA) and 08:00 in Jakarta (WIB).
    instant = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert digest_day(9, ZoneInfo("Asia/Makassar"), instant) == day
    assert digest_day(9, JKT, instant) is None


async def test_cs_recipient_follows_the_brand(rt, merchant):
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        m = session.get(Merchant, merchant.id)
        assert alerts.cs_recipient(session, m, now) is None  # no CS contact: no alerts
        m.settings = {**m.settings, "brand": BRAND}
        cs = alerts.cs_recipient(session, m, now)
        assert (cs.email, cs.phone, cs.phone_kind) == (
            "cs@sekar.example",
            "+6281211112222",
            "merchant_cs",
        )
        assert (cs.name, cs.locale, cs.timezone) == ("Customer service", "id", "Asia/Jakarta")
        m.settings = {**m.settings, "brand": {"cs_email": "halo@sekar.example"}}
        again = alerts.cs_recipient(session, m, now)
        assert again.id == cs.id and (again.email, again.phone) == ("halo@sekar.example", None)
        assert len(session.exec(select(Recipient).where(Recipient.merchant_id == m.id)).all()) == 1


async def test_scan_alerts_cs_once_per_problem_and_day(rt, merchant):
    set_settings(
        rt, merchant, brand=BRAND, alerts={"channels": {"failed_attempt": ["email", "whatsapp"]}}
    )
    failed = marketplace_parcel(rt, merchant, "JX0101")
    shopper = parcel(rt, merchant, number="JX0102")  # the shopper is told: no CS alert
    carrier = rt.carriers.get("scripted")
    for number in ("JX0101", "JX0102"):
        carrier.answers[number] = result(
            number,
            S.FAILED_ATTEMPT,
            ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket dalam perjalanan"),
            ("2026-12-01T09:30:00+07:00", S.FAILED_ATTEMPT, "Penerima tidak di tempat"),
        )
    await sweep(rt)
    assert alerts.scan(rt) == 2
    made = rows(rt)
    assert {(n.trigger, n.channel, n.episode) for n in made} == {
        ("alert_failed_attempt", "email", "2026-12-01"),
        ("alert_failed_attempt", "whatsapp", "2026-12-01"),
    }
    assert {n.shipment_id for n in made} == {failed.id} and shopper.id not in {
        n.shipment_id for n in made
    }
    assert made[0].dedupe_key == f"s{failed.id}:alert_failed_attempt:2026-12-01:email"
    with rt.sessions() as session:
        cs = session.get(Recipient, made[0].recipient_id)
        assert cs.phone_kind == "merchant_cs"
    assert alerts.scan(rt) == 0  # the same news again: nothing new

    rt.clock.advance(days=1)
    carrier.answers["JX0101"] = result(
        "JX0101",
        S.FAILED_ATTEMPT,
        ("2026-12-01T09:30:00+07:00", S.FAILED_ATTEMPT, "Penerima tidak di tempat"),
        ("2026-12-02T10:00:00+07:00", S.FAILED_ATTEMPT, "Alamat tidak ditemukan"),
    )
    with rt.sessions() as session, session.begin():
        sh = session.get(Shipment, failed.id)
        sh.next_check_at = rt.clock.now()
        session.add(sh)
    await sweep(rt)
    assert alerts.scan(rt) == 2  # a second attempt on a new day is news again
    assert {n.episode for n in rows(rt)} == {"2026-12-01", "2026-12-02"}


async def test_scan_respects_scope_triggers_cancellations_and_delays(rt, merchant):
    set_settings(rt, merchant, brand=BRAND, alerts={"triggers": ["delayed"], "scope": "all"})
    late = parcel(
        rt, merchant, number="JX0201", status="in_transit", delay_open=True, delay_episode=2
    )
    marketplace_parcel(rt, merchant, "JX0202", status="exception")
    gone = marketplace_parcel(rt, merchant, "JX0203", status="in_transit", delay_open=True)
    with rt.sessions() as session, session.begin():
        order = session.get(Order, gone.order_id)
        order.status = "cancelled"
        session.add(order)
    assert alerts.scan(rt) == 1
    [row] = rows(rt)
    assert (row.trigger, row.shipment_id, row.episode) == ("alert_delayed", late.id, "2")
    set_settings(rt, merchant, alerts={"enabled": False})
    with rt.sessions() as session, session.begin():
        sh = session.get(Shipment, late.id)
        sh.delay_episode = 3
        session.add(sh)
    assert alerts.scan(rt) == 0


def needing_help(rt, merchant):
    """One parcel for every reason, and one that is fine."""
    now = rt.clock.now()
    made = {
        "returned": marketplace_parcel(
            rt,
            merchant,
            "JX0301",
            status="returned_to_sender",
            last_event_at=now - timedelta(hours=5),
        ),
        "exception": marketplace_parcel(
            rt, merchant, "JX0302", status="exception", last_event_at=now - timedelta(hours=3)
        ),
        "failed_attempt": marketplace_parcel(
            rt, merchant, "JX0303", status="failed_attempt", last_event_at=now - timedelta(hours=2)
        ),
        "stalled": marketplace_parcel(
            rt, merchant, "JX0304", status="in_transit", last_event_at=now - timedelta(days=4)
        ),
        "delayed": marketplace_parcel(
            rt,
            merchant,
            "JX0305",
            status="in_transit",
            last_event_at=now - timedelta(hours=6),
            delay_open=True,
        ),
    }
    marketplace_parcel(
        rt, merchant, "JX0306", status="in_transit", last_event_at=now - timedelta(hours=1)
    )
    marketplace_parcel(
        rt, merchant, "JX0307", status="returned_to_sender", last_event_at=now - timedelta(days=3)
    )
    with rt.sessions() as session, session.begin():
        session.add(
            EventRow(
                shipment_id=made["exception"].id,
                fingerprint="f1",
                status="exception",
                description="Paket rusak",
                time=now - timedelta(hours=3),
                created_at=now,
            )
        )
    return made


async def test_the_digest_lists_what_needs_a_human_once_a_day(rt, merchant):
    set_settings(rt, merchant, brand=BRAND)
    made = needing_help(rt, merchant)
    rt.clock.set(datetime(2026, 12, 2, 0, 30, tzinfo=UTC))  # 07:30 WIB: not yet
    assert alerts.enqueue_digests(rt) == 0
    rt.clock.set(datetime(2026, 12, 2, 1, 5, tzinfo=UTC))  # 08:05 WIB
    assert alerts.enqueue_digests(rt) == 1
    assert alerts.enqueue_digests(rt) == 0  # decided for the day
    [digest] = rows(rt, "alert_digest")
    assert (digest.channel, digest.episode, digest.state) == ("email", "2026-12-02", "pending")
    assert digest.dedupe_key == f"m{merchant.id}:alert_digest:2026-12-02:email"
    items = digest.context["items"]
    assert [i["reason"] for i in items] == ["exception", "failed_attempt", "stalled", "delayed"]
    assert [i["tracking_number"] for i in items] == ["JX0302", "JX0303", "JX0304", "JX0305"]
    assert items[0]["event"] == "Paket rusak" and digest.context["total"] == 4
    assert items[0]["token"] == made["exception"].public_token  # a day later: the return is old


async def test_the_first_digest_counts_every_return_of_the_last_day(rt, merchant):
    set_settings(rt, merchant, brand=BRAND)
    needing_help(rt, merchant)
    assert alerts.enqueue_digests(rt) == 1  # 10:00 WIB on the 1st
    [digest] = rows(rt, "alert_digest")
    assert [i["reason"] for i in digest.context["items"]] == [
        "returned",
        "exception",
        "failed_attempt",
        "stalled",
        "delayed",
    ]


async def test_a_quiet_day_is_recorded_not_sent(rt, merchant):
    set_settings(rt, merchant, brand=BRAND, alerts={"channels": {"digest": ["email", "whatsapp"]}})
    assert alerts.enqueue_digests(rt) == 0  # no orders at all: nothing to hang a row on
    marketplace_parcel(rt, merchant, "JX0401", status="in_transit", last_event_at=rt.clock.now())
    assert alerts.enqueue_digests(rt) == 2
    assert {(n.channel, n.state, n.last_error) for n in rows(rt, "alert_digest")} == {
        ("email", "suppressed", "nothing needs a human"),
        ("whatsapp", "suppressed", "nothing needs a human"),
    }


def job_for(rt, merchant, notification: Notification) -> compose.Job:
    with rt.sessions() as session:
        n = session.get(Notification, notification.id)
        order, m = session.get(Order, n.order_id), session.get(Merchant, merchant.id)
        sh = session.get(Shipment, n.shipment_id) if n.shipment_id else None
        rec = session.get(Recipient, n.recipient_id)
        last = session.exec(
            select(EventRow)
            .where(EventRow.shipment_id == n.shipment_id)
            .order_by(EventRow.id.desc())
        ).first()
        return compose.Job(n, order, m, rec, sh, last, None)


async def test_alert_text_in_indonesian_and_english(rt, merchant):
    set_settings(rt, merchant, brand=BRAND)
    sh = marketplace_parcel(
        rt, merchant, "JX0501", carrier="binderbyte", courier="jnt", status="exception"
    )
    with rt.sessions() as session, session.begin():
        session.add(
            EventRow(
                shipment_id=sh.id,
                fingerprint="f",
                status="exception",
                description="Paket tertahan di gudang",
                time=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
                created_at=rt.clock.now(),
            )
        )
    alerts.scan(rt)
    [row] = rows(rt)
    job = job_for(rt, merchant, row)
    link = f"https://notifier.example/t/{sh.public_token}"
    id_ = alerts.render(job, "id", "https://notifier.example")
    assert (
        id_.subject
        == "[Perlu tindakan] Masalah pengiriman: Pesanan INV/JX0501 (J&T Express JX0501)"
    )
    assert id_.text.splitlines() == [
        "Masalah pengiriman: Pesanan INV/JX0501",
        "Kurir: J&T Express JX0501",
        f"Status: {alerts.status_label('exception', 'id')}",
        "Kabar terakhir: Paket tertahan di gudang ("
        + alerts.format_datetime(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "id", "Asia/Jakarta")
        + ")",
        "",
        "Kontak pembeli disamarkan marketplace atau tidak ada: mohon tim CS menindaklanjuti.",
        "",
        f"Lacak: {link}",
    ]
    en = alerts.render(job, "en", "https://notifier.example")
    assert en.subject == "[Action needed] Delivery problem: Order INV/JX0501 (J&T Express JX0501)"
    assert (
        "The buyer's contact is masked by the marketplace or missing: please follow up." in en.text
    )
    assert en.text.endswith(f"Track: {link}") and en.html is None


async def test_digest_text_in_indonesian_and_english(rt, merchant):
    set_settings(rt, merchant, brand=BRAND)
    made = needing_help(rt, merchant)
    alerts.enqueue_digests(rt)
    [digest] = rows(rt, "alert_digest")
    job = job_for(rt, merchant, digest)
    text = alerts.render(job, "id", "https://n.example")
    assert text.subject == "Ringkasan harian 2026-12-01: 5 paket perlu ditindaklanjuti"
    lines = text.text.splitlines()
    assert lines[0] == "Ringkasan harian Batik Sekar, 2026-12-01: 5 paket perlu ditindaklanjuti."
    assert lines[2] == "Paket kembali ke pengirim (1)"
    assert lines[3] == "- Pesanan INV/JX0301, Scripted JX0301 (1 Des 05.00 WIB)"
    assert lines[4] == f"  https://n.example/t/{made['returned'].public_token}"
    assert "Masalah pengiriman (1)" in lines and "Gagal antar (1)" in lines
    assert "Paket tidak bergerak (1)" in lines and "Paket terlambat (1)" in lines
    assert any(
        line.startswith("- Pesanan INV/JX0302, Scripted JX0302: Paket rusak (") for line in lines
    )
    en = alerts.render(job, "en-US", "https://n.example")
    assert en.subject == "Daily summary 2026-12-01: 5 parcel(s) need attention"
    assert "Parcel returned to sender (1)" in en.text and "Parcel not moving (1)" in en.text
    quiet = compose.Job(
        digest.model_copy(
            update={"context": {"day": "2026-12-03", "total": 0, "counts": {}, "items": []}}
        ),
        job.order,
        job.merchant,
        job.recipient,
        None,
        None,
        None,
    )
    assert alerts.render(quiet, "en", "https://n.example").text.endswith(
        "No parcel needs attention."
    )
