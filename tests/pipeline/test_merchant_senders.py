"""Which sender carries a message. A merchant chooses its own sender per channel
(``notify.senders`` in its settings): its messages go through that sender, others' through the
service's; a choice that cannot carry the channel is refused when saved, and fails the message
with the reason if it is stored anyway. A sender whose credentials are refused is paused (the
message kept), then tried again."""

from __future__ import annotations

import time
from typing import ClassVar

import pytest
from sqlmodel import select

from carriers.base import Status as S
from notifier import metrics
from notifier.admin import profile
from notifier.errors import SenderAuthError
from notifier.pipeline import dispatch, poll
from notifier.store.models import Merchant, Notification
from notifier.testing import MemorySender
from tests.factories import parcel, result

PICKED = ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket telah diterima di gudang Jakarta")


class Smtp(MemorySender):
    """Stands in for the registered ``smtp`` sender (no SMTP server needed)."""

    id: ClassVar[str] = "smtp"
    channels: ClassVar[frozenset[str]] = frozenset({"email"})


async def one_email(rt, merchant, senders: dict[str, str]) -> None:
    rt.senders._by_id.pop("channel:email", None)  # the fixture's override: choose for real
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, merchant.id)
        row.settings = {"notify": {"channels": ["email"], "senders": senders}}
    parcel(rt, merchant, number="JX0001", email="rina@example.com", phone=None)
    rt.carriers.get("scripted").answers["JX0001"] = result("JX0001", S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)


def rows(rt) -> list[Notification]:
    with rt.sessions() as session:
        return list(session.exec(select(Notification)).all())


async def test_the_shops_own_sender_carries_its_messages(rt, merchant) -> None:
    own, service = Smtp(), MemorySender()
    rt.senders._by_id["smtp"] = own  # what load_sender("smtp") would build, without a server
    rt.senders._by_id[rt.settings.senders.email] = service
    await one_email(rt, merchant, {"email": "smtp"})
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 1}
    assert [m.to for m in own.sent] == ["rina@example.com"] and service.sent == []
    assert {n.sender for n in rows(rt)} == {"smtp"}


async def test_without_a_choice_the_service_sender_is_used(rt, merchant) -> None:
    own, service = Smtp(), MemorySender()
    rt.senders._by_id["smtp"] = own
    rt.senders._by_id[rt.settings.senders.email] = service
    await one_email(rt, merchant, {})
    await dispatch.dispatch(rt)
    assert own.sent == [] and [m.to for m in service.sent] == ["rina@example.com"]


async def test_a_stored_choice_that_cannot_carry_the_channel_fails_with_the_reason(
    rt, merchant
) -> None:
    await one_email(rt, merchant, {"email": "twilio_sms"})
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"failed": 1}
    (row,) = rows(rt)
    assert "twilio_sms cannot send email" in (row.last_error or "")


def test_saving_a_choice_checks_that_the_sender_exists_and_carries_the_channel() -> None:
    shop = Merchant(slug="toko", name="Toko", country="ID", locale="id", timezone="Asia/Jakarta")
    base = {"channels": ["email", "sms"]}
    stored = profile.apply(shop, base | {"senders": {"email": "sendgrid", "sms": ""}})
    assert stored["notify"]["senders"] == {"email": "sendgrid"}  # empty: the service's
    with pytest.raises(profile.SettingsInvalid) as wrong:
        profile.apply(shop, base | {"senders": {"sms": "sendgrid"}})
    assert wrong.value.errors[0][0] == "senders"
    assert "'sendgrid' cannot send sms" in wrong.value.errors[0][1]
    assert "twilio_sms" in wrong.value.errors[0][1]  # the choices are named
    with pytest.raises(profile.SettingsInvalid, match="nosuch"):
        profile.apply(shop, base | {"senders": {"email": "nosuch"}})
    assert shop.settings["notify"]["senders"] == {"email": "sendgrid"}  # nothing changed


async def test_refused_credentials_pause_the_sender_and_the_alert_clears_when_it_sends_again(
    rt, merchant, clock
) -> None:
    sender = rt.extra["sender"]
    sender.fail[1] = SenderAuthError("HTTP 401: authorization grant is invalid", provider="memory")
    await one_email(rt, merchant, {})
    rt.senders.install("email", sender)
    assert (await dispatch.dispatch(rt)).by_state == {"pending": 1}  # kept, not burnt
    assert paused_gauge(sender.id) == 1
    assert await dispatch.dispatch(rt) == dispatch.DispatchStats()  # waits out the pause
    rt.extra["paused"][sender.id] = time.monotonic() - 1  # the pause is over
    clock.advance(seconds=rt.settings.dispatch.sender_pause + 1)
    assert (await dispatch.dispatch(rt)).by_state == {"sent": 1}
    assert paused_gauge(sender.id) == 0
    assert [m.to for m in sender.sent] == ["rina@example.com"]


def paused_gauge(sender: str) -> float:
    return metrics.SENDER_PAUSED.labels(sender)._value.get()
