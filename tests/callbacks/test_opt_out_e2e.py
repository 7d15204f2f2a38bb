"""Opt-out end to end, on SQLite and PostgreSQL: a shopper texts STOP; the SMS already queued for
them is suppressed by dispatch (recorded, with the reason), later SMS news is recorded suppressed
too, and their email keeps going."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from carriers.base import Status as S
from notifier.pipeline import dispatch, poll
from notifier.store.models import Merchant, Notification, Shipment
from tests.callbacks.conftest import post_twilio, recipient
from tests.factories import parcel, result

PHONE = "+6281234567890"
PICKED = ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket diterima di gudang Jakarta")
OFD = ("2026-12-01T11:00:00+07:00", S.OUT_FOR_DELIVERY, "Paket sedang diantar kurir")


def rows(rt) -> dict[tuple[str, str], Notification]:
    with rt.sessions() as session:
        found = session.exec(select(Notification)).all()
    return {(n.trigger, n.channel): n for n in found}


async def test_stop_by_sms_suppresses_the_next_sms_and_email_still_goes(
    rt, merchant, client, clock
):
    with rt.sessions() as session, session.begin():
        session.get(Merchant, merchant.id).settings = {"notify": {"channels": ["email", "sms"]}}
    parcel(rt, merchant)
    carrier = rt.carriers.get("scripted")
    carrier.answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)
    queued = rows(rt)
    assert {k: n.state for k, n in queued.items()} == {
        ("shipped", "email"): "pending",
        ("shipped", "sms"): "pending",
    }

    stop = {"MessageSid": "SMstop", "From": PHONE, "To": "+15005550006", "Body": "STOP"}
    resp = await post_twilio(client, "/webhooks/twilio/inbound", stop)
    assert resp.status_code == 200 and "SMS" in resp.text
    assert recipient(rt).sms_opt_out_source == "keyword:STOP"

    await dispatch.dispatch(rt)
    now = rows(rt)
    assert now[("shipped", "sms")].state == "suppressed"
    assert now[("shipped", "sms")].last_error == "recipient opted out of sms"
    assert now[("shipped", "email")].state == "sent"
    sender = rt.extra["sender"]
    assert [m.channel for m in sender.sent] == ["email"] and sender.to(PHONE) == []

    clock.advance(hours=1)  # later news: the SMS is recorded suppressed as it is queued
    with rt.sessions() as session, session.begin():
        session.execute(sa.update(Shipment).values(next_check_at=clock.now()))
    carrier.answers["JX0001"] = result("JX0001", S.OUT_FOR_DELIVERY, PICKED, OFD)
    await poll.sweep(rt)
    await dispatch.dispatch(rt)
    later = rows(rt)
    assert later[("out_for_delivery", "sms")].state == "suppressed"
    assert "opted out of sms (keyword:STOP)" in later[("out_for_delivery", "sms")].last_error
    assert later[("out_for_delivery", "email")].state == "sent"
    assert [m.channel for m in sender.sent] == ["email", "email"] and sender.to(PHONE) == []
