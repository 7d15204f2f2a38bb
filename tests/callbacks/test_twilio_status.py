"""POST /webhooks/twilio/status on SQLite and PostgreSQL: signatures, monotonic states, replays,
21610 opt-outs and the 63016 WhatsApp fallbacks."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select
from structlog.testing import capture_logs
from twilio.request_validator import RequestValidator

from notifier.pipeline import dispatch
from notifier.pipeline.callbacks import twilio_status
from notifier.store.models import Merchant, Notification, ProviderEvent, Recipient
from tests.callbacks.conftest import (
    AUTH_TOKEN,
    note,
    post_twilio,
    recipient,
    sent,
    twilio_signature,
)
from tests.factories import parcel

PATH = "/webhooks/twilio/status"


def status(sid: str, state: str, **extra: str) -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": "+15005550006",
        "To": "+6281234567890",
        "MessageStatus": state,
        "SmsStatus": state,
        "ApiVersion": "2010-04-01",
    }
    return form | extra


def events(rt) -> int:
    with rt.sessions() as session:
        return session.execute(sa.select(sa.func.count()).select_from(ProviderEvent)).scalar()


async def test_delivered_then_read(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "whatsapp", "SM1")
    resp = await post_twilio(client, PATH, status("SM1", "delivered"))
    assert resp.status_code == 200 and resp.json()["result"] == "applied"
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "delivered")
    await post_twilio(client, PATH, status("SM1", "read"))
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "read")


async def test_state_never_moves_backwards(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "sms", "SM2")
    await post_twilio(client, PATH, status("SM2", "delivered"))
    before = note(rt, nid)
    for late in ("sent", "queued", "sending", "undelivered"):
        resp = await post_twilio(client, PATH, status("SM2", late, ErrorCode="30003"))
        assert resp.status_code == 200 and resp.json()["result"] == "stale", late
    after = note(rt, nid)
    assert (after.state, after.provider_status, after.last_error) == (
        "delivered",
        "delivered",
        None,
    )
    assert after.updated_at == before.updated_at


async def test_failure_is_final_and_readable(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "sms", "SM3")
    await post_twilio(client, PATH, status("SM3", "sent"))
    assert note(rt, nid).state == "sent"
    await post_twilio(client, PATH, status("SM3", "undelivered", ErrorCode="30003"))
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("failed", "undelivered")
    assert (
        got.last_error
        == "twilio 30003: the handset is unreachable (switched off or out of coverage)"
    )
    assert (await post_twilio(client, PATH, status("SM3", "delivered"))).json()["result"] == "stale"
    assert note(rt, nid).state == "failed"
    await post_twilio(client, PATH, status("SM3", "failed", ErrorCode="99999"))  # unknown code
    nid2 = sent(rt, parcel(rt, merchant, number="JX0002"), "sms", "SM4")
    await post_twilio(client, PATH, status("SM4", "failed", ErrorCode="99999", ErrorMessage="odd"))
    assert note(rt, nid2).last_error == "twilio 99999: odd"


async def test_replay_changes_nothing(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "sms", "SM5")
    first = await post_twilio(client, PATH, status("SM5", "delivered"))
    assert first.json()["result"] == "applied"
    before = note(rt, nid)
    again = await post_twilio(client, PATH, status("SM5", "delivered"))
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert note(rt, nid).updated_at == before.updated_at
    assert events(rt) == 1


async def test_unsigned_or_wrongly_signed_is_403_and_changes_nothing(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "sms", "SM6")
    form = status("SM6", "delivered")
    cases = {
        "missing": "",
        "other token": twilio_signature(PATH, form, token="not-the-token"),
        "other field values": twilio_signature(PATH, status("SM6", "failed")),
        # signed for the host the request reached, not the public URL Twilio calls
        "internal url": RequestValidator(AUTH_TOKEN).compute_signature(
            "http://internal:8080" + PATH, form
        ),
    }
    for why, signature in cases.items():
        resp = await post_twilio(client, PATH, form, signature=signature)
        assert resp.status_code == 403, why
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("sent", "accepted")
    assert events(rt) == 0


async def test_no_auth_token_configured_refuses_everything(rt, merchant, client):
    rt.settings.senders.twilio.auth_token = None
    nid = sent(rt, parcel(rt, merchant), "sms", "SM7")
    resp = await post_twilio(client, PATH, status("SM7", "delivered"))
    assert resp.status_code == 403 and note(rt, nid).state == "sent"


async def test_malformed_and_oversized_bodies(rt, merchant, client):
    no_status = {"MessageSid": "SM8", "AccountSid": "AC1"}
    assert (await post_twilio(client, PATH, no_status)).status_code == 400
    bad_n = f"{PATH}?n=abc"
    assert (await post_twilio(client, bad_n, status("SM8", "sent"))).status_code == 400
    huge = status("SM8", "sent", Body="x" * 70_000)
    assert (await post_twilio(client, PATH, huge)).status_code == 413


async def test_unknown_message_and_status_are_acknowledged(rt, merchant, client):
    resp = await post_twilio(client, PATH, status("SMunknown", "delivered"))
    assert resp.status_code == 200 and resp.json()["result"] == "unknown"
    resp = await post_twilio(client, PATH, status("SMunknown", "receiving"))
    assert resp.json()["result"] == "ignored"


async def test_21610_opts_the_number_out_of_that_channel_in_every_shop(rt, merchant, client):
    sh = parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        other = Merchant(
            slug="lain", name="Toko Lain", api_token_hash="x" * 64, created_at=rt.clock.now()
        )
        session.add(other)
        session.flush()
        session.add(
            Recipient(merchant_id=other.id, phone="+6281234567890", created_at=rt.clock.now())
        )
    nid = sent(rt, sh, "sms", "SM9")
    await post_twilio(client, PATH, status("SM9", "failed", ErrorCode="21610"))
    got = note(rt, nid)
    assert got.state == "failed" and got.last_error.startswith(
        "twilio 21610: the shopper replied STOP"
    )
    with rt.sessions() as session:
        rows = session.exec(select(Recipient)).all()
    assert len(rows) == 2
    for rec in rows:
        assert rec.sms_opt_out_at == rt.clock.now() and rec.sms_opt_out_source == "twilio:21610"
        assert rec.whatsapp_opt_out_at is None and rec.email_opt_out_at is None


async def test_63016_requeues_as_a_template(rt, merchant, client):
    sh = parcel(rt, merchant)
    nid = sent(rt, sh, "whatsapp", "SM10")
    rt.clock.advance(minutes=1)
    resp = await post_twilio(client, PATH, status("SM10", "failed", ErrorCode="63016"))
    assert resp.json()["detail"] == "failed, queued again as a template"
    got = note(rt, nid)
    assert got.state == "pending" and got.next_attempt_at == rt.clock.now()
    assert got.context["whatsapp_template"] is True and got.context["status"] == "pending"
    assert "63016" in got.last_error and "template" in got.last_error
    # while dispatch sends it again, the new message's callback (our id in the URL) is recorded
    # early, although the row still carries the refused message's "failed" status
    jobs = dispatch.lease_due(rt, rt.clock.now(), 10)
    early = await post_twilio(client, f"{PATH}?n={nid}", status("mem-1", "sent"))
    assert early.status_code == 200 and early.json()["result"] == "early"
    assert note(rt, nid).state == "sending" and events(rt) == 2
    verdicts = [await dispatch.send_one(rt, job) for job in jobs]
    for v, job in zip(verdicts, jobs, strict=True):
        v.attempt = job.notification.attempts
    dispatch.record(rt, verdicts, rt.clock.now())
    resent = note(rt, nid)
    assert (resent.state, resent.provider_message_id, resent.provider_status) == (
        "sent",
        "mem-1",
        "sent",  # what the callback said, not "accepted"
    )
    assert resent.last_error is None
    again = await post_twilio(client, f"{PATH}?n={nid}", status("mem-1", "sent"))  # a replay
    assert again.json()["result"] == "duplicate" and note(rt, nid).provider_status == "sent"
    late = await post_twilio(client, PATH, status("SM10", "failed", ErrorCode="63016"))
    assert late.json()["result"] == "unknown"  # the refused message's SID is no longer the row's
    # if the template is refused too, it is not requeued forever
    await post_twilio(client, PATH, status(resent.provider_message_id, "failed", ErrorCode="63016"))
    final = note(rt, nid)
    assert final.state == "failed" and final.context["whatsapp_template"] is True


async def test_63016_falls_back_to_sms(rt, merchant, client):
    rt.settings.senders.twilio.whatsapp_fallback = "sms"
    sh = parcel(rt, merchant)
    nid = sent(rt, sh, "whatsapp", "SM11")
    resp = await post_twilio(client, PATH, status("SM11", "undelivered", ErrorCode="63016"))
    assert resp.json()["result"] == "applied"
    with rt.sessions() as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
    wa, sms = rows
    assert (wa.state, wa.channel) == ("failed", "whatsapp")
    assert f"sent by SMS instead (notification {sms.id})" in wa.last_error
    assert (sms.channel, sms.state, sms.trigger) == ("sms", "pending", "shipped")
    assert sms.dedupe_key == f"{wa.dedupe_key}:fallback"
    assert sms.context == {"status": "pending", "fallback_of": nid}
    # a replay does not queue a second SMS, and dispatch sends the one there is
    await post_twilio(client, PATH, status("SM11", "undelivered", ErrorCode="63016"))
    await dispatch.dispatch(rt)
    texts = rt.extra["sender"].to("+6281234567890")
    assert [m.channel for m in texts] == ["sms"]


async def test_63016_sms_fallback_per_merchant_and_respecting_opt_out(rt, merchant, client):
    with rt.sessions() as session, session.begin():
        m = session.get(Merchant, merchant.id)
        m.settings = {**m.settings, "senders": {"twilio": {"whatsapp_fallback": "sms"}}}
    sh = parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        session.execute(
            sa.update(Recipient).values(
                sms_opt_out_at=rt.clock.now(), sms_opt_out_source="keyword:STOP"
            )
        )
    sent(rt, sh, "whatsapp", "SM12")
    await post_twilio(client, PATH, status("SM12", "failed", ErrorCode="63016"))
    with rt.sessions() as session:
        sms = session.exec(select(Notification).where(Notification.channel == "sms")).one()
    assert (
        sms.state == "suppressed" and sms.last_error == "recipient opted out of sms (keyword:STOP)"
    )


async def test_63016_without_fallback_just_fails(rt, merchant, client):
    rt.settings.senders.twilio.whatsapp_fallback = "none"
    nid = sent(rt, parcel(rt, merchant), "whatsapp", "SM13")
    await post_twilio(client, PATH, status("SM13", "failed", ErrorCode="63016"))
    assert note(rt, nid).state == "failed"
    with rt.sessions() as session:
        assert len(session.exec(select(Notification)).all()) == 1


async def test_our_crash_is_500_and_rolls_back(rt, merchant, client, monkeypatch):
    nid = sent(rt, parcel(rt, merchant), "sms", "SM15")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(twilio_status, "_apply_twilio", boom)
    with capture_logs() as logs:
        resp = await post_twilio(client, PATH, status("SM15", "delivered"))
    assert resp.status_code == 500 and events(rt) == 0
    assert [e["event"] for e in logs] == ["webhook.crashed"]
    monkeypatch.undo()
    resp = await post_twilio(client, PATH, status("SM15", "delivered"))  # Twilio's retry
    assert resp.json()["result"] == "applied" and note(rt, nid).state == "delivered"
    assert recipient(rt).sms_opt_out_at is None
