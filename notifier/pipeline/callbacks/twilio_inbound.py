"""Twilio inbound SMS and WhatsApp messages from shoppers, applied to the store in one
transaction each: keywords (STOP, BERHENTI, START...) opt the number out of or back into the
channel; a question about a parcel is answered with its status; anything else gets the shop's
reply and is forwarded to the shop's customer service by email after the webhook answered
(:func:`forward_to_cs`). Inbound messages are unique by their ``MessageSid``: a replay answers
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from notifier import answers, links, replies
from notifier.errors import InputError
from notifier.logs import mask
from notifier.orders.contact import normalize_phone
from notifier.pipeline.callbacks.shared import CALLBACKS, opt_in, opt_out
from notifier.pipeline.compose import carrier_name
from notifier.pipeline.outbox import merchant_prefs
from notifier.runtime import Runtime
from notifier.senders.base import OutgoingMessage
from notifier.store.models import (
    InboundMessage,
    Merchant,
    Notification,
    Order,
    Recipient,
    Shipment,
    TrackingEvent,
)

log = structlog.get_logger(__name__)

REPEAT_GAP = timedelta(hours=2)  # the shop's automatic reply is not repeated within this


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message a shopper sent: ``From`` as Twilio gives it (``whatsapp:+62...`` or
    ``+62...``), ``Body``, and Twilio's Advanced Opt-Out verdict ``OptOutType`` if any."""

    message_sid: str
    sender: str
    body: str = ""
    profile_name: str = ""
    opt_out_type: str | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Inbound:
        """Raises ValueError naming the missing or unsupported field."""
        sid, sender = (form.get("MessageSid") or "").strip(), (form.get("From") or "").strip()
        if not sid or not sender:
            raise ValueError("MessageSid and From are required")
        prefix, colon, _ = sender.partition(":")
        if colon and prefix != "whatsapp":
            raise ValueError(f"From: channel {prefix!r} is not handled")
        return cls(
            sid,
            sender,
            form.get("Body") or "",
            (form.get("ProfileName") or "").strip(),
            (form.get("OptOutType") or "").strip() or None,
        )

    @property
    def channel(self) -> str:
        return "whatsapp" if self.sender.startswith("whatsapp:") else "sms"

    @property
    def phone(self) -> str:
        raw = self.sender.removeprefix("whatsapp:")
        try:
            return normalize_phone(raw, None).e164
        except InputError:
            return raw  # a short code or alphanumeric sender: kept as given


@dataclass
class Answer:
    """What to answer a shopper's message with (None: nothing) and how it was handled:
    opt_out, opt_in, help, status_reply, forward_pending (then forwarded / forward_failed),
    recorded (the shop has no CS email to forward to), unknown_sender or duplicate."""

    reply: str | None
    handled_as: str
    inbound_id: int | None = None


@dataclass
class Shopper:
    """Who wrote: every recipient row with the number, the shop the conversation is with, that
    shop's record of them and their orders there (newest first)."""

    recipients: list[Recipient] = field(default_factory=list)
    merchant: Merchant | None = None
    recipient: Recipient | None = None
    parcels: list[answers.Parcel] = field(default_factory=list)

    @property
    def shop(self) -> answers.Shop | None:
        m = self.merchant
        if m is None:
            return None
        name = ((m.settings or {}).get("brand") or {}).get("name") or m.name
        return answers.Shop(name, m.locale, m.timezone, m.settings or {})


def handle_inbound(rt: Runtime, msg: Inbound) -> Answer:
    """Record the message and act on it: keywords opt the number out of (or back into) the
    channel; questions about a parcel get its status; anything else gets the shop's reply and is
    queued for the shop's CS (see :func:`forward_to_cs`). A replay answers nothing."""
    now = rt.clock.now()
    u = replies.understand(msg.body, opt_out_type=msg.opt_out_type)
    with rt.sessions() as session, session.begin():
        seen = select(InboundMessage.id).where(
            InboundMessage.provider_message_id == msg.message_sid
        )
        if session.exec(seen).first() is not None:
            return _counted(Answer(None, "duplicate"))
        who = _shopper(session, rt, msg.phone, u.references)
        answer = _decide(session, msg, u, who, now)
        row = InboundMessage(
            merchant_id=who.merchant.id if who.merchant else None,
            recipient_id=who.recipient.id if who.recipient else None,
            channel=msg.channel,
            from_address=msg.phone[:64],
            body=msg.body,
            provider_message_id=msg.message_sid,
            handled_as=answer.handled_as,
            received_at=now,
        )
        session.add(row)
        session.flush()
        answer.inbound_id = row.id
        _inbound_effects(session, msg, u, now)
    log.info("inbound.handled", channel=msg.channel, sender=mask(msg.phone), how=answer.handled_as)
    return _counted(answer)


def _decide(
    session: Session, msg: Inbound, u: replies.Understanding, who: Shopper, now: datetime
) -> Answer:
    rec, m = who.recipient, who.merchant
    locale = replies.reply_locale(u.language, rec.locale if rec else None, m.locale if m else None)
    if u.intent in (replies.Intent.OPT_OUT, replies.Intent.OPT_IN, replies.Intent.HELP):
        return Answer(answers.keyword_reply(u, locale, msg.channel, who.shop), u.intent.value)
    if who.shop is None:
        return Answer(answers.TEXTS[locale]["not_found"], "unknown_sender")
    if u.intent is replies.Intent.STATUS:
        parcel = answers.pick_parcel(who.parcels, u.references)
        others = sum(1 for p in who.parcels if p is not parcel and p.status not in answers.FINAL)
        text = answers.status_reply(
            parcel,
            locale=locale,
            tz=(rec.timezone if rec else None) or who.shop.timezone,
            shop=who.shop,
            first_name=((rec.name if rec else "") or "").split(" ")[0],
            others=others,
            compact=msg.channel == "sms",
        )
        return Answer(text, "status_reply")
    forward = bool(who.shop.brand.get("cs_email"))
    handled = "forward_pending" if forward else "recorded"
    if _answered_lately(session, msg, now):
        return Answer(None, handled)
    return Answer(answers.default_reply(who.shop, locale, now, forwarded=forward), handled)


def _answered_lately(session: Session, msg: Inbound, now: datetime) -> bool:
    stmt = select(InboundMessage.id).where(
        InboundMessage.from_address == msg.phone[:64],
        InboundMessage.channel == msg.channel,
        col(InboundMessage.received_at) > now - REPEAT_GAP,
        col(InboundMessage.handled_as).in_(
            ["forward_pending", "forwarded", "forward_failed", "recorded"]
        ),
    )
    return session.exec(stmt).first() is not None


def _inbound_effects(
    session: Session, msg: Inbound, u: replies.Understanding, now: datetime
) -> None:
    number = col(Recipient.phone) == msg.phone
    if msg.channel == "whatsapp":  # the shopper opened (or kept open) the 24 h session
        session.execute(sa.update(Recipient).where(number).values(whatsapp_last_inbound_at=now))
    if u.intent is replies.Intent.OPT_OUT:
        opt_out(session, number, msg.channel, f"keyword:{u.keyword or 'STOP'}", now)
    elif u.intent is replies.Intent.OPT_IN:
        opt_in(session, number, msg.channel)


def _shopper(
    session: Session, rt: Runtime, phone: str, refs: Sequence[str], merchant_id: int | None = None
) -> Shopper:
    """The shop is ``merchant_id`` if given, else the one whose order the message names, else
    the one that last messaged this number, else the newest order's."""
    recipients = list(
        session.exec(
            select(Recipient).where(Recipient.phone == phone).order_by(col(Recipient.id).desc())
        ).all()
    )
    if not recipients:
        return Shopper()
    by_id = {r.id: r for r in recipients}
    rows = _orders(session, list(by_id))
    named = next((r for r in rows if _numbers(r) & set(refs)), None)
    merchant_id = merchant_id or (
        named[0].merchant_id
        if named
        else _last_messaged(session, list(by_id))
        or (rows[0][0].merchant_id if rows else recipients[0].merchant_id)
    )
    mine = [r for r in rows if r[0].merchant_id == merchant_id]
    recipient = by_id.get(mine[0][0].recipient_id) if mine else None
    recipient = recipient or next((r for r in recipients if r.merchant_id == merchant_id), None)
    return Shopper(
        recipients,
        session.get(Merchant, merchant_id),
        recipient,
        _parcels(session, rt, mine),
    )


def _orders(
    session: Session, recipient_ids: list[int | None]
) -> list[tuple[Order, Shipment | None]]:
    stmt = (
        select(Order, Shipment)
        .outerjoin(Shipment, col(Shipment.order_id) == col(Order.id))
        .where(col(Order.recipient_id).in_(recipient_ids))
        .order_by(
            sa.func.coalesce(col(Shipment.created_at), col(Order.created_at)).desc(),
            col(Shipment.id).desc(),
            col(Order.id).desc(),
        )
        .limit(50)
    )
    return [(o, sh) for o, sh in session.exec(stmt).all()]


def _numbers(row: tuple[Order, Shipment | None]) -> set[str]:
    order, sh = row
    return {
        replies.canonical(x) for x in (order.order_number, sh.tracking_number if sh else None) if x
    }


def _last_messaged(session: Session, recipient_ids: list[int | None]) -> int | None:
    """The shop that last sent this shopper a message: most likely the one they answer."""
    stmt = (
        select(Notification.merchant_id)
        .where(
            col(Notification.recipient_id).in_(recipient_ids), col(Notification.sent_at).isnot(None)
        )
        .order_by(col(Notification.sent_at).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def _parcels(
    session: Session, rt: Runtime, rows: Sequence[tuple[Order, Shipment | None]]
) -> list[answers.Parcel]:
    ids = [sh.id for _, sh in rows if sh is not None]
    last: dict[int, TrackingEvent] = {}
    if ids:
        newest = (
            sa.select(sa.func.max(col(TrackingEvent.id)))
            .where(col(TrackingEvent.shipment_id).in_(ids))
            .group_by(col(TrackingEvent.shipment_id))
        )
        events = session.exec(select(TrackingEvent).where(col(TrackingEvent.id).in_(newest)))
        last = {e.shipment_id: e for e in events}
    public = rt.settings.server.public_url
    out = []
    for order, sh in rows:
        if sh is None:
            out.append(answers.Parcel(order.order_number))
            continue
        ev = last.get(sh.id or 0)
        out.append(
            answers.Parcel(
                order.order_number,
                sh.status,
                carrier_name(sh.carrier, sh.courier),
                sh.tracking_number,
                sh.eta,
                sh.delivered_at,
                sh.delay_open,
                links.tracking_url(public, sh.public_token),
                ev.time if ev else None,
                ", ".join(x for x in (ev.description, ev.location) if x) if ev else None,
            )
        )
    return out


async def forward_to_cs(rt: Runtime, inbound_id: int) -> str:
    """Email a shopper's message to the shop's ``brand.cs_email`` through the email sender;
    marks the inbound message ``forwarded`` or ``forward_failed``. Never raises: it runs after
    the webhook has answered. Not retried: a failed forward stays visible as forward_failed."""
    try:
        found = await asyncio.to_thread(_forward_message, rt, inbound_id)
        if found is None:
            return "skipped"
        message, merchant = found
        prefs = merchant_prefs(rt.settings.notify, merchant)
        await rt.senders.for_channel("email", prefs.sender_for("email")).send(message)
        outcome = "forwarded"
    except Exception:  # a stage boundary: the shopper already has their answer
        log.exception("inbound.forward_failed", inbound=inbound_id)
        outcome = "forward_failed"
    try:
        await asyncio.to_thread(_mark_forward, rt, inbound_id, outcome)
    except Exception:
        log.exception("inbound.forward_unrecorded", inbound=inbound_id, outcome=outcome)
    CALLBACKS.labels("twilio", "forward", outcome).inc()
    return outcome


def _forward_message(rt: Runtime, inbound_id: int) -> tuple[OutgoingMessage, Merchant] | None:
    with rt.sessions() as session:
        msg = session.get(InboundMessage, inbound_id)
        if msg is None or msg.handled_as != "forward_pending" or msg.merchant_id is None:
            return None
        who = _shopper(session, rt, msg.from_address, (), msg.merchant_id)
        merchant, rec = session.get(Merchant, msg.merchant_id), who.recipient
    assert merchant is not None
    shop = Shopper(merchant=merchant).shop
    assert shop is not None
    cs_email = str(shop.brand.get("cs_email") or "")
    if not cs_email:
        return None
    subject, text = answers.forward_text(
        shop=shop,
        channel=msg.channel,
        phone=msg.from_address,
        name=rec.name if rec else "",
        body=msg.body,
        received_at=msg.received_at,
        parcel=who.parcels[0] if who.parcels else None,
    )
    message = OutgoingMessage(
        notification_id=0,  # not a notification: no SendGrid event will match one
        dedupe_key=f"inbound:{inbound_id}",
        merchant_id=merchant.id or 0,
        trigger="shopper_message",
        channel="email",
        to=cs_email,
        to_name=shop.name,
        text=text,
        subject=subject,
        locale=replies.reply_locale(shop.locale),
        shop_name=shop.name,
        metadata={"inbound_message_id": str(inbound_id)},
    )
    return message, merchant


def _mark_forward(rt: Runtime, inbound_id: int, outcome: str) -> None:
    with rt.sessions() as session, session.begin():
        session.execute(
            sa.update(InboundMessage)
            .where(col(InboundMessage.id) == inbound_id)
            .values(handled_as=outcome)
        )


def _counted(answer: Answer) -> Answer:
    CALLBACKS.labels("twilio", "inbound", answer.handled_as).inc()
    return answer
