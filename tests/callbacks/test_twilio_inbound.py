"""POST /webhooks/twilio/inbound on SQLite and PostgreSQL: keywords opt a number out of and back
into a channel, parcel questions get the real status, anything else gets the shop's reply and
reaches the shop's CS by email."""

from __future__ import annotations

from datetime import UTC, date, datetime
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from sqlmodel import select
from structlog.testing import capture_logs

from carriers.base import Status
from notifier.errors import TransientSendError
from notifier.pipeline import poll
from notifier.store.models import InboundMessage, Merchant, Recipient, Shipment
from tests.callbacks.conftest import PUBLIC_URL, post_twilio, recipient
from tests.factories import parcel, result

PATH = "/webhooks/twilio/inbound"
PHONE = "+6281234567890"
CS_EMAIL = "halo@batiksekar.example"
SUNDAY_NOON = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)  # 12:00 WIB, the shop is closed


def inbound(
    body: str, *, sid: str = "SMin1", whatsapp: bool = True, **extra: str
) -> dict[str, str]:
    prefix = "whatsapp:" if whatsapp else ""
    form = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": f"{prefix}{PHONE}",
        "To": f"{prefix}+15005550006",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    if whatsapp:
        form |= {"ProfileName": "Rina", "WaId": PHONE[1:]}
    return form | extra


def reply_of(resp) -> str | None:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/xml")
    message = ElementTree.fromstring(resp.text).find("Message")
    return None if message is None else message.text


def inbox(rt) -> list[InboundMessage]:
    with rt.sessions() as session:
        return list(session.exec(select(InboundMessage).order_by(InboundMessage.id)).all())


def shop_settings(rt, merchant, **settings) -> None:
    with rt.sessions() as session, session.begin():
        m = session.get(Merchant, merchant.id)
        m.settings = {**m.settings, **settings}


@pytest.fixture
async def on_its_way(rt, merchant):
    """Rina's parcel JX0001, out for delivery today, as the carrier reported it."""
    sh = parcel(rt, merchant)
    rt.carriers.get("scripted").answers["JX0001"] = result(
        "JX0001",
        Status.OUT_FOR_DELIVERY,
        ("2026-12-01T08:00:00+07:00", Status.IN_TRANSIT, "Paket diterima di gudang Jakarta"),
        ("2026-12-01T09:00:00+07:00", Status.OUT_FOR_DELIVERY, "Paket sedang diantar kurir"),
        eta=date(2026, 12, 1),
    )
    await poll.sweep(rt)
    return sh


# --- keywords --------------------------------------------------------------------------------


async def test_stop_by_sms_opts_out_of_sms_only_and_confirms(rt, merchant, client, on_its_way):
    resp = await post_twilio(client, PATH, inbound("STOP", whatsapp=False))
    text = reply_of(resp)
    assert text == (
        "Baik, Kak. Anda tidak akan menerima pesan SMS dari Toko Batik Sekar lagi. "
        "Jika berubah pikiran, balas MULAI kapan saja."
    )
    rec = recipient(rt)
    assert rec.sms_opt_out_at == rt.clock.now() and rec.sms_opt_out_source == "keyword:STOP"
    assert rec.whatsapp_opt_out_at is None and rec.email_opt_out_at is None
    assert rec.whatsapp_last_inbound_at is None  # an SMS does not open a WhatsApp session
    (row,) = inbox(rt)
    assert (row.channel, row.from_address, row.handled_as) == ("sms", PHONE, "opt_out")
    assert (row.merchant_id, row.recipient_id) == (merchant.id, rec.id)


@pytest.mark.parametrize(
    "word",
    ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "CANCEL", "end", "QUIT", "BERHENTI"],
)
async def test_opt_out_keywords_over_whatsapp(rt, merchant, client, word):
    parcel(rt, merchant)
    resp = await post_twilio(client, PATH, inbound(word))
    assert "WhatsApp" in reply_of(resp)
    rec = recipient(rt)
    keyword = word.strip(" .").upper()
    assert rec.whatsapp_opt_out_source == f"keyword:{keyword}" and rec.sms_opt_out_at is None
    assert rec.whatsapp_last_inbound_at == rt.clock.now()


@pytest.mark.parametrize("word", ["START", "unstop", "Mulai"])
async def test_opt_back_in(rt, merchant, client, word):
    parcel(rt, merchant)
    await post_twilio(client, PATH, inbound("BERHENTI", sid="SMa"))
    assert recipient(rt).whatsapp_opt_out_at is not None
    text = reply_of(await post_twilio(client, PATH, inbound(word, sid="SMb")))
    assert recipient(rt).whatsapp_opt_out_at is None
    assert ("BERHENTI" in text) if word == "Mulai" else ("STOP" in text or "BERHENTI" in text)


async def test_stop_reaches_every_shop_that_knows_the_number(rt, merchant, client):
    parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        other = Merchant(
            slug="lain", name="Toko Lain", api_token_hash="y" * 64, created_at=rt.clock.now()
        )
        session.add(other)
        session.flush()
        session.add(Recipient(merchant_id=other.id, phone=PHONE, created_at=rt.clock.now()))
        session.add(
            Recipient(merchant_id=other.id, phone="+6289999999999", created_at=rt.clock.now())
        )
    await post_twilio(client, PATH, inbound("STOP"))
    with rt.sessions() as session:
        rows = {r.phone + str(r.merchant_id): r for r in session.exec(select(Recipient)).all()}
    opted = sorted(k for k, r in rows.items() if r.whatsapp_opt_out_at is not None)
    assert opted == sorted([f"{PHONE}{merchant.id}", f"{PHONE}{other.id}"])


async def test_twilio_advanced_opt_out_verdict(rt, merchant, client):
    parcel(rt, merchant)
    await post_twilio(client, PATH, inbound("ARRET", whatsapp=False, OptOutType="STOP"))
    assert recipient(rt).sms_opt_out_source == "keyword:ARRET"
    await post_twilio(client, PATH, inbound("YES", sid="SM2", whatsapp=False, OptOutType="START"))
    assert recipient(rt).sms_opt_out_at is None


# --- questions about a parcel ----------------------------------------------------------------


async def test_parcel_question_gets_status_eta_and_link_in_indonesian(
    rt, merchant, client, on_its_way
):
    text = reply_of(await post_twilio(client, PATH, inbound("paket saya di mana?")))
    assert text == "\n".join(
        [
            "Halo Kak Rina, ini kabar pesanan INV/JX0001 dari Toko Batik Sekar:",
            "Status: Sedang diantar kurir",
            "Kurir: Scripted, resi JX0001",
            "Perkiraan tiba: Selasa, 1 Desember 2026",
            "Update terakhir (1 Des 09.00 WIB): Paket sedang diantar kurir, Jakarta",
            f"Lacak paket: {PUBLIC_URL}/t/{on_its_way.public_token}",
        ]
    )
    (row,) = inbox(rt)
    assert row.handled_as == "status_reply" and row.body == "paket saya di mana?"
    assert rt.extra["sender"].sent == []  # answered by us: nothing forwarded


async def test_parcel_question_in_english_is_answered_in_english(rt, merchant, client, on_its_way):
    text = reply_of(await post_twilio(client, PATH, inbound("Where is my order??")))
    assert text.startswith("Hi Rina, here is the latest on your order INV/JX0001")
    assert "Status: Out for delivery" in text
    assert "Estimated delivery: Tuesday, 1 December 2026" in text
    assert f"Track your parcel: {PUBLIC_URL}/t/{on_its_way.public_token}" in text


async def test_sms_answer_is_compact(rt, merchant, client, on_its_way):
    text = reply_of(await post_twilio(client, PATH, inbound("cek resi", whatsapp=False)))
    assert "Status: Sedang diantar kurir" in text and "Update terakhir" not in text


async def test_a_number_in_the_message_picks_that_parcel(rt, merchant, client, on_its_way):
    older = parcel(rt, merchant, number="CGK123456789", status="in_transit")
    with rt.sessions() as session, session.begin():  # the second order is the newer one
        session.execute(
            sa.update(Shipment)
            .where(Shipment.id == older.id)
            .values(created_at=datetime(2026, 12, 2, tzinfo=UTC))
        )
    newest = reply_of(await post_twilio(client, PATH, inbound("status", sid="SMa")))
    assert "INV/CGK123456789" in newest and "Ada 1 pesanan lain" in newest
    named = reply_of(await post_twilio(client, PATH, inbound("JX0001", sid="SMb")))
    assert "INV/JX0001" in named and "Sedang diantar kurir" in named
    by_order = reply_of(await post_twilio(client, PATH, inbound("cek INV/JX0001 kak", sid="SMc")))
    assert "INV/JX0001" in by_order


async def test_unknown_number_is_asked_for_an_order_number(rt, merchant, client):
    text = reply_of(await post_twilio(client, PATH, inbound("paket saya di mana?")))
    assert text.startswith("Maaf, Kak, kami belum menemukan pesanan untuk nomor ini.")
    (row,) = inbox(rt)
    assert row.handled_as == "unknown_sender" and row.merchant_id is None


# --- anything else ---------------------------------------------------------------------------


async def test_other_message_gets_the_shop_reply_and_reaches_cs_by_email(
    rt, merchant, client, on_its_way
):
    shop_settings(
        rt, merchant, brand={"name": "Toko Batik Sekar", "cs_email": CS_EMAIL},
        opening_hours={"mon-fri": "08:00-17:00", "sat": "09:00-13:00"},
    )  # fmt: skip
    text = reply_of(await post_twilio(client, PATH, inbound("Kak, ukuran L masih ada?")))
    assert text.startswith("Terima kasih sudah menghubungi Toko Batik Sekar, Kak.")
    assert "di luar jam" not in text
    (row,) = inbox(rt)
    assert row.handled_as == "forwarded"
    (mail,) = rt.extra["sender"].to(CS_EMAIL)
    assert mail.channel == "email" and mail.subject == (
        "Pesan WhatsApp dari pembeli: Rina Wulandari (+62 812-3456-7890)"
    )
    assert "> Kak, ukuran L masih ada?" in mail.text
    assert "https://wa.me/6281234567890" in mail.text and "INV/JX0001" in mail.text


async def test_out_of_hours_reply_by_the_clock(rt, merchant, client, clock):
    parcel(rt, merchant)
    shop_settings(
        rt, merchant, brand={"cs_email": CS_EMAIL},
        opening_hours={"mon-fri": "08:00-17:00", "sat": "09:00-13:00"},
        replies={"out_of_hours": {"en": "Closed now; we open {hours}."}},
    )  # fmt: skip
    clock.set(SUNDAY_NOON)
    text = reply_of(await post_twilio(client, PATH, inbound("halo kak, mau tanya", sid="SMa")))
    assert "di luar jam operasional (Sen-Jum 08.00-17.00, Sab 09.00-13.00)" in text
    assert "Mohon maaf membuat Anda menunggu" in text
    (mail,) = rt.extra["sender"].to(CS_EMAIL)
    assert "(di luar jam operasional)" in mail.text
    clock.advance(hours=3)  # later, in English, with the shop's own text
    text = reply_of(
        await post_twilio(client, PATH, inbound("hello, do you ship to Bali?", sid="SMb"))
    )
    assert text == "Closed now; we open Mon-Fri 08:00-17:00, Sat 09:00-13:00."
    clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # Monday 09:00 WIB: open again
    text = reply_of(await post_twilio(client, PATH, inbound("halo?", sid="SMc")))
    assert text.startswith("Terima kasih sudah menghubungi")


async def test_the_shop_reply_is_not_repeated_to_a_chatty_shopper(rt, merchant, client, clock):
    parcel(rt, merchant)
    shop_settings(rt, merchant, brand={"cs_email": CS_EMAIL})
    assert reply_of(await post_twilio(client, PATH, inbound("halo kak", sid="SMa")))
    clock.advance(minutes=1)
    assert reply_of(await post_twilio(client, PATH, inbound("mau tanya", sid="SMb"))) is None
    clock.advance(hours=2)
    assert reply_of(await post_twilio(client, PATH, inbound("kak?", sid="SMc")))
    assert [r.handled_as for r in inbox(rt)] == ["forwarded"] * 3
    assert len(rt.extra["sender"].to(CS_EMAIL)) == 3  # every message still reaches a person


async def test_without_cs_email_the_message_is_recorded_and_the_shopper_pointed_to_cs_chat(
    rt, merchant, client
):
    parcel(rt, merchant)
    shop_settings(rt, merchant, brand={"cs_whatsapp": "+6281234500099"})
    text = reply_of(await post_twilio(client, PATH, inbound("bisa COD kak?")))
    assert text.endswith("chat CS kami di https://wa.me/6281234500099")
    assert [r.handled_as for r in inbox(rt)] == ["recorded"]
    assert rt.extra["sender"].sent == []


async def test_a_forward_that_fails_is_recorded(rt, merchant, client):
    parcel(rt, merchant)
    shop_settings(rt, merchant, brand={"cs_email": CS_EMAIL})
    rt.extra["sender"].fail[CS_EMAIL] = TransientSendError("down", provider="memory")
    with capture_logs() as logs:
        resp = await post_twilio(client, PATH, inbound("halo kak"))
    assert reply_of(resp)  # the shopper still has an answer
    assert [r.handled_as for r in inbox(rt)] == ["forward_failed"]
    assert "inbound.forward_failed" in [e["event"] for e in logs]


# --- replays and refusals --------------------------------------------------------------------


async def test_replay_answers_nothing_and_changes_nothing(rt, merchant, client, clock):
    parcel(rt, merchant)
    shop_settings(rt, merchant, brand={"cs_email": CS_EMAIL})
    assert reply_of(await post_twilio(client, PATH, inbound("halo kak")))
    first = recipient(rt).whatsapp_last_inbound_at
    clock.advance(minutes=5)
    assert reply_of(await post_twilio(client, PATH, inbound("halo kak"))) is None
    assert len(inbox(rt)) == 1 and len(rt.extra["sender"].sent) == 1
    assert recipient(rt).whatsapp_last_inbound_at == first


async def test_unsigned_or_wrongly_signed_is_403_and_changes_nothing(rt, merchant, client):
    parcel(rt, merchant)
    assert (await post_twilio(client, PATH, inbound("STOP"), signature="")).status_code == 403
    forged = await post_twilio(client, PATH, inbound("STOP"), token="guessed")
    assert forged.status_code == 403
    assert inbox(rt) == [] and recipient(rt).whatsapp_opt_out_at is None


async def test_malformed_inbound(rt, merchant, client):
    assert (await post_twilio(client, PATH, {"Body": "STOP"})).status_code == 400
    messenger = inbound("hi", From="messenger:12345")
    assert (await post_twilio(client, PATH, messenger)).status_code == 400
