"""Twilio status callbacks that overtake the dispatcher, on SQLite and PostgreSQL: the callback
arrives after Twilio accepted the message but before dispatch recorded the send (the row is still
leased, ``sending``). Twilio does not retry status callbacks, so each is recorded at once (200)
and dispatch's record keeps what it said."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from notifier.pipeline import dispatch
from notifier.pipeline.callbacks import TwilioStatus, apply_twilio_status, twilio_status
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.senders.twilio_sms import TwilioSmsSender
from notifier.store.models import Notification, NotificationAttempt, Recipient
from tests.callbacks.conftest import PUBLIC_URL, note, post_twilio, recipient, sent
from tests.callbacks.test_twilio_status import PATH, events, status
from tests.factories import parcel


class CallsBackFirst:
    """A sender whose provider calls back before the send returns: each listed status is
    POSTed (signed, with our id in the URL) between the provider call and dispatch's record."""

    id = "twilio_sms"
    channels = frozenset({"sms", "whatsapp"})

    def __init__(self, client: httpx.AsyncClient, sid: str, *forms: dict[str, str]) -> None:
        self.client, self.sid, self.forms = client, sid, forms
        self.answers: list[httpx.Response] = []
        self.leased_states: list[str] = []
        self.rt: Any = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        for form in self.forms:
            self.leased_states.append(note(self.rt, message.notification_id).state)
            path = f"{PATH}?n={message.notification_id}"
            self.answers.append(await post_twilio(self.client, path, form))
        return SendResult(self.sid, "queued")

    async def aclose(self) -> None:
        return None


def due_sms(rt, merchant, channel: str = "sms", **extra: Any) -> int:
    """A pending notification, due now, that dispatch will send."""
    return sent(
        rt, parcel(rt, merchant), channel, None, state="pending", next_attempt_at=rt.clock.now(),
        attempts=0, **extra,
    )  # fmt: skip


def install(rt, sender: CallsBackFirst, channel: str = "sms") -> None:
    sender.rt = rt
    rt.senders.install(channel, sender)


async def test_sent_before_the_send_is_recorded_is_kept(rt, merchant, client):
    nid = due_sms(rt, merchant)
    sender = CallsBackFirst(client, "SMe1", status("SMe1", "sent"))
    install(rt, sender)
    await dispatch.dispatch(rt)
    assert sender.leased_states == ["sending"]
    [answer] = sender.answers
    assert answer.status_code == 200 and answer.json()["result"] == "early"
    got = note(rt, nid)
    assert (got.state, got.provider_message_id, got.provider_status) == ("sent", "SMe1", "sent")
    assert got.sent_at == rt.clock.now() and got.last_error is None and got.lease_owner is None
    replay = await post_twilio(client, f"{PATH}?n={nid}", status("SMe1", "sent"))
    assert replay.json()["result"] == "duplicate" and events(rt) == 1
    later = await post_twilio(client, PATH, status("SMe1", "delivered"))
    assert later.json()["result"] == "applied" and note(rt, nid).state == "delivered"


async def test_delivered_before_the_send_is_recorded_delivers(rt, merchant, client):
    nid = due_sms(rt, merchant)
    sender = CallsBackFirst(client, "SMe2", status("SMe2", "sent"), status("SMe2", "delivered"))
    install(rt, sender)
    await dispatch.dispatch(rt)
    assert [a.json()["result"] for a in sender.answers] == ["early", "early"]
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "delivered")
    with rt.sessions() as session:
        [attempt] = session.exec(select(NotificationAttempt)).all()
    assert (attempt.outcome, attempt.provider_message_id) == ("sent", "SMe2")
    stale = await post_twilio(client, PATH, status("SMe2", "sent"))  # a late, lower status
    assert stale.json()["result"] == "duplicate" and note(rt, nid).state == "delivered"


async def test_out_of_order_early_statuses_keep_the_furthest(rt, merchant, client):
    nid = due_sms(rt, merchant)
    sender = CallsBackFirst(client, "SMe3", status("SMe3", "delivered"), status("SMe3", "sent"))
    install(rt, sender)
    await dispatch.dispatch(rt)
    assert [a.json()["result"] for a in sender.answers] == ["early", "stale"]
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "delivered")


async def test_failed_before_the_send_is_recorded_fails_with_the_reason(rt, merchant, client):
    nid = due_sms(rt, merchant)
    failed = status("SMe4", "undelivered", ErrorCode="30003")
    sender = CallsBackFirst(client, "SMe4", failed, failed)  # and Twilio's duplicate, early
    install(rt, sender)
    await dispatch.dispatch(rt)
    assert [a.json()["result"] for a in sender.answers] == ["early", "duplicate"]
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("failed", "undelivered")
    assert got.last_error == (
        "twilio 30003: the handset is unreachable (switched off or out of coverage)"
    )
    assert recipient(rt).sms_opt_out_at is None
    after = await post_twilio(client, PATH, status("SMe4", "delivered"))
    assert after.json()["result"] == "stale" and note(rt, nid).state == "failed"


async def test_21610_before_the_send_is_recorded_opts_out_at_once(rt, merchant, client):
    nid = due_sms(rt, merchant)
    sender = CallsBackFirst(client, "SMe5", status("SMe5", "failed", ErrorCode="21610"))
    install(rt, sender)
    await dispatch.dispatch(rt)
    [answer] = sender.answers
    assert answer.json() == {
        "result": "early",
        "detail": "failed, before the send was recorded, opted out",
    }
    got = note(rt, nid)
    assert got.state == "failed" and got.last_error.startswith("twilio 21610")
    rec = recipient(rt)
    assert rec.sms_opt_out_at == rt.clock.now() and rec.sms_opt_out_source == "twilio:21610"
    assert rec.whatsapp_opt_out_at is None


async def test_early_callback_with_the_function_while_the_row_is_leased(rt, merchant, client):
    """The same race without HTTP: lease, call the callback function, then send and record."""
    nid = due_sms(rt, merchant)
    [job] = dispatch.lease_due(rt, rt.clock.now(), 10)
    early = TwilioStatus("mem-1", "delivered", notification_id=nid)
    assert apply_twilio_status(rt, early).result == "early"
    assert apply_twilio_status(rt, early).result == "duplicate"  # a replay, still leased
    got = note(rt, nid)
    assert (got.state, got.provider_message_id, got.provider_status) == (
        "sending",
        "mem-1",
        "delivered",
    )
    verdict = await dispatch.send_one(rt, job)
    verdict.attempt = job.notification.attempts
    assert verdict.provider_message_id == "mem-1"  # the memory sender's first SID
    dispatch.record(rt, [verdict], rt.clock.now())
    got = note(rt, nid)
    assert (got.state, got.provider_status) == ("delivered", "delivered")


async def test_a_callback_for_another_message_is_not_kept(rt, merchant, client):
    """An early status whose SID is not the one the send returned (a stray ``?n=``) is
    overwritten by the send's own: the row follows the message it actually sent."""
    nid = due_sms(rt, merchant)
    sender = CallsBackFirst(client, "SMright", status("SMwrong", "delivered"))
    install(rt, sender)
    await dispatch.dispatch(rt)
    got = note(rt, nid)
    assert (got.state, got.provider_message_id, got.provider_status) == (
        "sent",
        "SMright",
        "accepted",
    )


async def test_an_earlier_attempts_message_is_stale_while_resending(rt, merchant, client):
    nid = due_sms(rt, merchant, channel="whatsapp")
    with rt.sessions() as session, session.begin():  # attempt 1 went out as SMold, then 63016
        session.add(
            NotificationAttempt(
                notification_id=nid, number=1, worker="w", started_at=rt.clock.now(),
                finished_at=rt.clock.now(), outcome="sent", provider_message_id="SMold",
            )
        )  # fmt: skip
        session.execute(
            sa.update(Notification).values(
                attempts=1, provider_message_id="SMold", provider_status="failed"
            )
        )
    sender = CallsBackFirst(
        client, "SMnew", status("SMold", "delivered"), status("SMnew", "delivered")
    )
    install(rt, sender, "whatsapp")
    await dispatch.dispatch(rt)
    assert [a.json()["result"] for a in sender.answers] == ["stale", "early"]
    got = note(rt, nid)
    assert (got.state, got.provider_message_id, got.provider_status) == (
        "delivered",
        "SMnew",
        "delivered",
    )


async def test_63016_before_the_send_is_recorded_requeues_as_a_template(rt, merchant, client):
    nid = due_sms(rt, merchant, channel="whatsapp")
    refused = status("SMe6", "failed", ErrorCode="63016")
    sender = CallsBackFirst(client, "SMe6", refused)
    install(rt, sender, "whatsapp")
    await dispatch.dispatch(rt)
    assert sender.answers[0].json()["result"] == "early"
    got = note(rt, nid)
    assert got.state == "pending" and got.next_attempt_at == rt.clock.now()
    assert got.context["whatsapp_template"] is True
    assert "63016" in got.last_error and "queued again as an approved template" in got.last_error


async def test_63016_before_the_send_is_recorded_falls_back_to_sms(rt, merchant, client):
    rt.settings.senders.twilio.whatsapp_fallback = "sms"
    nid = due_sms(rt, merchant, channel="whatsapp")
    sender = CallsBackFirst(client, "SMe7", status("SMe7", "undelivered", ErrorCode="63016"))
    install(rt, sender, "whatsapp")
    await dispatch.dispatch(rt)
    with rt.sessions() as session:
        wa, sms = session.exec(select(Notification).order_by(Notification.id)).all()
    assert wa.id == nid and wa.state == "failed"
    assert f"sent by SMS instead (notification {sms.id})" in wa.last_error
    assert (sms.channel, sms.state, sms.context["fallback_of"]) == ("sms", "pending", nid)


async def test_the_status_callback_url_carries_our_id_and_validates(rt, merchant, client, settings):
    """What the Twilio sender asks Twilio to call is what the webhook verifies: Twilio signs
    the whole URL, query included."""
    nid = due_sms(rt, merchant)
    sms = TwilioSmsSender({"account_sid": "AC" + "0" * 32, "auth_token": "x"}, settings)
    message = OutgoingMessage(nid, "k", merchant.id, "shipped", "sms", "+6281234567890", "", "t")
    url = sms.callback_url(message)
    assert url == f"{PUBLIC_URL}/webhooks/twilio/status?n={nid}"
    assert sms.callback_url(OutgoingMessage(0, "k", 1, "shipped", "sms", "+62", "", "t")) == (
        f"{PUBLIC_URL}/webhooks/twilio/status"  # send-test: no row, no id
    )
    await sms.aclose()
    [job] = dispatch.lease_due(rt, rt.clock.now(), 10)
    answer = await post_twilio(client, url.removeprefix(PUBLIC_URL), status("SMu", "sent"))
    assert answer.status_code == 200 and answer.json()["result"] == "early"
    moved = await post_twilio(  # the same signed form, but another notification in the URL
        client,
        f"{PATH}?n={nid + 1}",
        status("SMu", "sent"),
        signature=answer.request.headers["X-Twilio-Signature"],
    )
    assert moved.status_code == 403
    with rt.sessions() as session:
        assert session.get(Recipient, job.recipient.id).sms_opt_out_at is None


async def test_a_send_recorded_between_the_callbacks_read_and_write(rt, merchant, monkeypatch):
    """SQLite: the callback reads the row before its transaction takes the write lock, so the
    dispatcher may record the send in between; the early write then finds the row no longer
    ``sending`` and the status is applied as to a recorded send. (PostgreSQL: the callback's
    SELECT ... FOR UPDATE holds the row, and the dispatcher's UPDATE waits for it.)"""
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("the row lock orders the two on PostgreSQL")
    nid = due_sms(rt, merchant)
    [job] = dispatch.lease_due(rt, rt.clock.now(), 10)
    verdict = await dispatch.send_one(rt, job)
    verdict.attempt = job.notification.attempts
    real = twilio_status._earlier_attempt

    def record_meanwhile(session, n, sid):
        assert n.state == "sending"  # what the callback read
        dispatch.record(rt, [verdict], rt.clock.now())
        return real(session, n, sid)

    monkeypatch.setattr(twilio_status, "_earlier_attempt", record_meanwhile)
    done = apply_twilio_status(rt, TwilioStatus("mem-1", "delivered", notification_id=nid))
    assert (done.result, done.detail) == ("applied", "delivered")
    got = note(rt, nid)
    assert (got.state, got.provider_message_id, got.provider_status) == (
        "delivered",
        "mem-1",
        "delivered",
    )
