"""POST /webhooks/sendgrid/events on SQLite and PostgreSQL: the ECDSA signature, dedupe on
sg_event_id, delivery progress and the suppressions."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import select

from notifier.store.models import Merchant, ProviderEvent, Recipient
from notifier.web import webhooks_senders
from tests.callbacks.conftest import note, post_sendgrid, recipient, sendgrid_signature, sent
from tests.factories import parcel

EMAIL = "rina@example.com"
X_MESSAGE_ID = "W2VvrLhATyqzqPuzpU9qkA"  # the 202 answer's header, kept as provider id
_seq = iter(range(1, 10_000))


def event(kind: str, nid: int | None = None, **extra) -> dict:
    """One event as SendGrid posts it; our custom arg comes back as a top-level key."""
    ev = {
        "email": EMAIL,
        "timestamp": 1764558000,
        "event": kind,
        "sg_event_id": f"ev-{next(_seq)}",
        "sg_message_id": f"{X_MESSAGE_ID}.filterdrecv-5645d9c87f-78xgx-1-64B469B0-30-0",
        "smtp-id": "<W2VvrLhATyqzqPuzpU9qkA@geopod-ismtpd-4-0>",
        "category": ["shipped"],
    }
    if nid is not None:
        ev |= {"notification_id": str(nid), "merchant_id": "1"}
    return ev | extra


def stored_events(rt) -> int:
    with rt.sessions() as session:
        return session.execute(sa.select(sa.func.count()).select_from(ProviderEvent)).scalar()


async def test_processed_then_delivered_then_opened(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", X_MESSAGE_ID)
    resp = await post_sendgrid(client, [event("processed", nid)])
    assert resp.status_code == 200 and resp.json()["applied"] == 1
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("sent", "processed")  # accepted, not delivered yet
    await post_sendgrid(client, [event("delivered", nid, response="250 OK"), event("open", nid)])
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "open")
    resp = await post_sendgrid(client, [event("deferred", nid), event("click", nid)])
    assert resp.json() | {} == {
        "applied": 1,
        "duplicate": 0,
        "stale": 1,
        "unknown": 0,
        "skipped": 0,
    }
    assert note(rt, nid).provider_status == "click"


async def test_found_by_sg_message_id_prefix_without_the_custom_arg(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", X_MESSAGE_ID)
    await post_sendgrid(client, [event("delivered")])
    assert note(rt, nid).state == "delivered"
    resp = await post_sendgrid(client, [event("delivered", sg_message_id="nope.filter1")])
    assert resp.json()["unknown"] == 1


async def test_bounce_fails_the_message_and_suppresses_the_address_everywhere(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    with rt.sessions() as session, session.begin():
        other = Merchant(
            slug="lain", name="Lain", api_token_hash="z" * 64, created_at=rt.clock.now()
        )
        session.add(other)
        session.flush()
        session.add(Recipient(merchant_id=other.id, email=EMAIL, created_at=rt.clock.now()))
    bounce = event("bounce", nid, type="bounce", status="5.1.1", reason="550 5.1.1 no such user")
    resp = await post_sendgrid(client, [bounce])
    assert resp.status_code == 200
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("failed", "bounce")
    assert got.last_error == "sendgrid bounce: 5.1.1 550 5.1.1 no such user"
    with rt.sessions() as session:
        rows = session.exec(select(Recipient)).all()
    assert [(r.email_opt_out_source, r.sms_opt_out_at) for r in rows] == [
        ("sendgrid:bounce", None)
    ] * 2
    assert all(r.email_opt_out_at == rt.clock.now() for r in rows)


async def test_blocked_bounce_fails_without_suppressing(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    await post_sendgrid(client, [event("bounce", nid, type="blocked", reason="IP blocklisted")])
    assert note(rt, nid).state == "failed" and recipient(rt).email_opt_out_at is None


@pytest.mark.parametrize(
    ("reason", "suppressed"),
    [("Bounced Address", True), ("Unsubscribed Address", True), ("Invalid", True),
     ("Spam Reporting Address", True), ("Invalid SMTPAPI header", False),
     ("Exceeded max content length", False)],
)  # fmt: skip
async def test_dropped(rt, merchant, client, reason, suppressed):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    await post_sendgrid(client, [event("dropped", nid, reason=reason)])
    got = note(rt, nid)
    assert got.state == "failed" and got.last_error == f"sendgrid dropped: {reason}"
    assert (recipient(rt).email_opt_out_source == "sendgrid:dropped") is suppressed


@pytest.mark.parametrize("kind", ["spamreport", "unsubscribe", "group_unsubscribe"])
async def test_shoppers_choices_suppress_but_keep_the_delivery_state(rt, merchant, client, kind):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    await post_sendgrid(client, [event("delivered", nid), event(kind, nid, asm_group_id=7)])
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "delivered")
    rec = recipient(rt)
    assert rec.email_opt_out_source == f"sendgrid:{kind}" and rec.whatsapp_opt_out_at is None


async def test_group_resubscribe_undoes_only_a_group_unsubscribe(rt, merchant, client):
    parcel(rt, merchant)
    await post_sendgrid(client, [event("group_unsubscribe", asm_group_id=7)])
    assert recipient(rt).email_opt_out_at is not None
    await post_sendgrid(client, [event("group_resubscribe", asm_group_id=7)])
    assert recipient(rt).email_opt_out_at is None
    await post_sendgrid(client, [event("spamreport"), event("group_resubscribe", asm_group_id=7)])
    assert recipient(rt).email_opt_out_source == "sendgrid:spamreport"


async def test_a_late_bounce_after_delivered_fails_but_not_after_an_open(rt, merchant, client):
    a = sent(rt, parcel(rt, merchant), "email", "m1")
    b = sent(rt, parcel(rt, merchant, number="JX0002", email="budi@example.com"), "email", "m2")
    await post_sendgrid(
        client,
        [
            event("delivered", a), event("bounce", a, type="bounce"),
            event("open", b, email="budi@example.com"),
            event("bounce", b, type="bounce", email="budi@example.com"),
        ],
    )  # fmt: skip
    assert note(rt, a).state == "failed"  # an asynchronous bounce
    assert (note(rt, b).state, note(rt, b).provider_status) == ("delivered", "open")


async def test_replayed_batch_changes_nothing(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    batch = [event("delivered", nid), event("unsubscribe", nid)]
    assert (await post_sendgrid(client, batch)).json()["applied"] == 2
    before, rec = note(rt, nid), recipient(rt)
    again = await post_sendgrid(client, batch)
    assert again.status_code == 200 and again.json()["duplicate"] == 2
    assert note(rt, nid).updated_at == before.updated_at
    assert recipient(rt).email_opt_out_at == rec.email_opt_out_at
    assert stored_events(rt) == 2


async def test_bad_or_missing_signature_is_403_and_changes_nothing(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", "m1")
    body = json.dumps([event("bounce", nid, type="bounce")]).encode()
    tampered = body.replace(b"bounce", b"delivered", 1)
    stranger = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "missing": "",
        "tampered body": sendgrid_signature(body),
        "other key": sendgrid_signature(body, key=stranger),
        "not base64": "!!!not-a-signature!!!",
        "not DER": "AAAA",
    }
    for why, signature in cases.items():
        raw = tampered if why == "tampered body" else body
        resp = await post_sendgrid(client, None, body=raw, signature=signature)
        assert resp.status_code == 403, why
    assert note(rt, nid).state == "sent" and recipient(rt).email_opt_out_at is None
    assert stored_events(rt) == 0


async def test_no_key_configured_refuses(rt, merchant, client):
    rt.settings.senders.sendgrid.webhook_public_key = None
    assert (await post_sendgrid(client, [event("delivered")])).status_code == 403


async def test_malformed_and_oversized(rt, merchant, client, monkeypatch):
    assert (await post_sendgrid(client, None, body=b"{not json")).status_code == 400
    assert (await post_sendgrid(client, {"event": "delivered"})).status_code == 400
    assert (await post_sendgrid(client, None, body=b"\xff\xfe[]")).status_code == 400
    resp = await post_sendgrid(client, [{"event": "delivered"}, "odd", event("delivered")])
    assert resp.json() | {} == {
        "applied": 0,
        "duplicate": 0,
        "stale": 0,
        "unknown": 1,
        "skipped": 2,
    }
    monkeypatch.setattr(webhooks_senders, "SENDGRID_MAX_BODY", 1000)
    resp = await post_sendgrid(client, [event("delivered") for _ in range(20)])
    assert resp.status_code == 413


async def test_event_for_a_message_being_sent_asks_for_a_retry(rt, merchant, client):
    nid = sent(rt, parcel(rt, merchant), "email", None, state="sending")
    resp = await post_sendgrid(client, [event("bounce", nid, type="bounce")])
    assert resp.status_code == 503 and "retry-after" in resp.headers
    assert note(rt, nid).state == "sending" and recipient(rt).email_opt_out_at is None
    assert stored_events(rt) == 0
