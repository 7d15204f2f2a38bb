"""Provider callbacks applied to the store: Twilio message status, Twilio inbound SMS/WhatsApp
(keywords, questions, anything else) and SendGrid events. No HTTP here: the web router reads and
verifies the request, then calls one function below, which does its work in one transaction.

Rules every callback keeps:

* A replay changes nothing: each applied event is recorded in ``provider_event`` (Twilio status:
  ``<MessageSid>:<MessageStatus>``; SendGrid: ``sg_event_id``) in the transaction that applies it,
  and inbound messages are unique by their ``MessageSid``.
* A notification's delivery state never moves backwards: provider statuses are ranked and a late
  one ("sent" after "delivered") is recorded as seen and ignored. Failures are final, except that
  an email bounce after "delivered" (an asynchronous bounce) still fails the message.
* A callback about a message whose send is still being recorded (the dispatcher holds the row in
  ``sending``) raises :class:`InFlight`: nothing is written and the provider is asked to retry,
  because the dispatcher's own write would otherwise overwrite what the callback said.
* Opt-outs are per phone number or email address, not per merchant row: every recipient row with
  that number (or address), in every shop, is opted out of that channel. Twilio blocks a number
  that sent STOP for the whole sending account, and SendGrid suppresses an address account-wide,
  so this is what will happen to later messages anyway; recording it keeps them ``suppressed``
  with the reason instead of failing one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlmodel import Session, col, select

from notifier import links, replies
from notifier.errors import InputError
from notifier.logs import mask
from notifier.orders.contact import normalize_phone
from notifier.pipeline.compose import carrier_name
from notifier.pipeline.outbox import PHONE_CHANNELS, dedupe_key
from notifier.runtime import Runtime
from notifier.senders.base import OutgoingMessage
from notifier.store.lease import insert_ignoring
from notifier.store.models import (
    InboundMessage,
    Merchant,
    Notification,
    NotificationState,
    Order,
    ProviderEvent,
    Recipient,
    Shipment,
    TrackingEvent,
)

log = structlog.get_logger(__name__)
S = NotificationState

CALLBACKS = Counter(
    "notifier_provider_callbacks_total",
    "Provider callbacks and shopper messages, by provider, kind and result",
    ["provider", "kind", "result"],
)


class InFlight(Exception):
    """The notification is being sent right now; the callback must come again later."""


def _claim(session: Session, provider: str, event_id: str, now: datetime) -> bool:
    """Record ``event_id`` as applied; False when it already was (a replay)."""
    row = {"provider": provider, "event_id": event_id[:200], "received_at": now}
    return bool(
        insert_ignoring(session, ProviderEvent, [row], ["provider", "event_id"], [ProviderEvent.id])
    )


def opt_out(session: Session, where: Any, channel: str, source: str, now: datetime) -> int:
    """Opt the matching recipients out of ``channel``; an earlier opt-out keeps its time and
    source. Returns how many rows changed."""
    stmt = (
        sa.update(Recipient)
        .where(where, col(getattr(Recipient, f"{channel}_opt_out_at")).is_(None))
        .values({f"{channel}_opt_out_at": now, f"{channel}_opt_out_source": source[:64]})
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def opt_in(session: Session, where: Any, channel: str) -> int:
    """Clear the matching recipients' opt-out of ``channel``."""
    stmt = (
        sa.update(Recipient)
        .where(where)
        .values({f"{channel}_opt_out_at": None, f"{channel}_opt_out_source": None})
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Result:
    """What one callback did: applied, duplicate, stale, unknown or ignored, and a detail."""

    result: str
    detail: str = ""


# --- Twilio status callbacks ----------------------------------------------------------------

# Twilio's MessageStatus values in the order a message moves through them
# (https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks).
TWILIO_PROGRESS = {
    "accepted": 0,  # what dispatch records on acceptance
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "partially_delivered": 3,
    "delivered": 4,
    "read": 5,  # WhatsApp
}
TWILIO_DELIVERED = TWILIO_PROGRESS["delivered"]
TWILIO_FAILURES = frozenset({"undelivered", "failed", "canceled"})
# ErrorCode values of status callbacks, as a reason a merchant can act on.
TWILIO_ERRORS = {
    "21610": "the shopper replied STOP to this sender; opted out",
    "21211": "not a valid phone number",
    "21614": "not a mobile number",
    "30001": "the sender's queue overflowed; the message expired before it could go",
    "30002": "the Twilio account is suspended",
    "30003": "the handset is unreachable (switched off or out of coverage)",
    "30004": "the message was blocked (by the shopper or their operator)",
    "30005": "unknown number: it does not exist or is no longer in service",
    "30006": "a landline or an operator that cannot receive SMS",
    "30007": "filtered by the operator (spam filter or unregistered sender)",
    "30008": "the operator reported an unknown error",
    "63003": "the number is not on WhatsApp",
    "63016": "outside the 24-hour WhatsApp session only an approved template may be sent",
}
OPTED_OUT_CODE = "21610"
OUTSIDE_SESSION_CODE = "63016"
FALLBACKS = ("template", "sms", "none")
TEMPLATE_FLAG = "whatsapp_template"  # Notification.context key: send this one as a template


@dataclass(frozen=True, slots=True)
class TwilioStatus:
    """One status callback: ``MessageSid``, ``MessageStatus``, ``ErrorCode``/``ErrorMessage``,
    and our own ``n`` (notification id) if the sender put it in the ``StatusCallback`` URL."""

    message_sid: str
    status: str
    error_code: str | None = None
    error_message: str | None = None
    notification_id: int | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str], query: Mapping[str, str]) -> TwilioStatus:
        """Raises ValueError naming the missing or invalid field."""
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if not sid or not status:
            raise ValueError("MessageSid and MessageStatus are required")
        n = query.get("n")
        if n is not None and not n.isdigit():
            raise ValueError("n must be a notification id")
        return cls(
            sid,
            status,
            (form.get("ErrorCode") or "").strip() or None,
            (form.get("ErrorMessage") or "").strip() or None,
            int(n) if n else None,
        )

    def reason(self) -> str:
        code = self.error_code
        text = TWILIO_ERRORS.get(code or "") or self.error_message
        if code:
            return f"twilio {code}: {text or f'see https://www.twilio.com/docs/api/errors/{code}'}"
        return f"twilio: message {self.status}{f' ({text})' if text else ''}"


def apply_twilio_status(rt: Runtime, event: TwilioStatus) -> Result:
    """Move the notification of ``event.message_sid`` forward; opt out on 21610; on 63016 use
    the merchant's WhatsApp fallback. Raises InFlight while the send is still being recorded."""
    if event.status not in TWILIO_PROGRESS and event.status not in TWILIO_FAILURES:
        return _count("twilio", "status", Result("ignored", f"status {event.status}"))
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        n = _phone_notification(session, event)
        if n is None:
            return _count("twilio", "status", Result("unknown", event.message_sid))
        if n.state == S.SENDING:  # first: its provider_status may still be the last attempt's
            raise InFlight(f"notification {n.id} is being sent")
        if not _claim(session, "twilio", f"{event.message_sid}:{event.status}", now):
            return _count("twilio", "status", Result("duplicate"))
        if not _twilio_advances(n.provider_status, event.status):
            return _count("twilio", "status", Result("stale", f"{n.provider_status} stays"))
        detail = _apply_twilio(session, rt, n, event, now)
    return _count("twilio", "status", Result("applied", detail))


def _phone_notification(session: Session, event: TwilioStatus) -> Notification | None:
    by_sid = select(Notification).where(
        col(Notification.provider_message_id) == event.message_sid,
        col(Notification.channel).in_(PHONE_CHANNELS),
    )
    n = session.exec(by_sid.with_for_update()).first()
    if n is not None or event.notification_id is None:
        return n
    by_id = select(Notification).where(col(Notification.id) == event.notification_id)
    n = session.exec(by_id.with_for_update()).first()
    if n is None or n.channel not in PHONE_CHANNELS:
        return None
    # Our id in the URL, but no SID recorded yet: the dispatcher is still recording this send.
    return n if n.provider_message_id in (None, event.message_sid) or n.state == S.SENDING else None


def _twilio_advances(current: str | None, new: str) -> bool:
    if current in TWILIO_FAILURES:
        return False
    rank = TWILIO_PROGRESS.get(current or "", 0)
    if new in TWILIO_FAILURES:
        return rank < TWILIO_DELIVERED
    return TWILIO_PROGRESS[new] > rank


def _apply_twilio(
    session: Session, rt: Runtime, n: Notification, event: TwilioStatus, now: datetime
) -> str:
    n.provider_status, n.updated_at = event.status, now
    n.provider_message_id = n.provider_message_id or event.message_sid
    detail = event.status
    if event.status in TWILIO_FAILURES:
        n.state, n.last_error = S.FAILED, event.reason()[:1000]
        rec = session.get(Recipient, n.recipient_id)
        if event.error_code == OPTED_OUT_CODE and rec is not None and rec.phone:
            where = col(Recipient.phone) == rec.phone
            opt_out(session, where, n.channel, f"twilio:{OPTED_OUT_CODE}", now)
            detail += ", opted out"
        if event.error_code == OUTSIDE_SESSION_CODE and n.channel == "whatsapp" and rec:
            detail += ", " + _whatsapp_fallback(session, rt, n, rec, now)
    elif TWILIO_PROGRESS[event.status] >= TWILIO_DELIVERED:
        n.state = S.DELIVERED
    else:
        n.state = S.SENT
    session.add(n)
    return detail


def whatsapp_fallback_mode(rt: Runtime, merchant: Merchant | None) -> str:
    """The merchant's ``settings["senders"]["twilio"]["whatsapp_fallback"]``, else the
    service's ``senders.twilio.whatsapp_fallback``: template, sms or none."""
    own = (((merchant.settings if merchant else None) or {}).get("senders") or {}).get("twilio")
    mode = (own or {}).get("whatsapp_fallback")
    return mode if mode in FALLBACKS else rt.settings.senders.twilio.whatsapp_fallback


def _whatsapp_fallback(
    session: Session, rt: Runtime, n: Notification, rec: Recipient, now: datetime
) -> str:
    mode = whatsapp_fallback_mode(rt, session.get(Merchant, n.merchant_id))
    if mode == "template":
        if n.context.get(TEMPLATE_FLAG):
            return "refused as a template too; not retried"
        n.context = {**n.context, TEMPLATE_FLAG: True}  # a new dict: JSON columns track assignment
        n.state, n.next_attempt_at = S.PENDING, now
        n.last_error = f"{n.last_error}; queued again as an approved template"[:1000]
        return "queued again as a template"
    if mode == "sms":
        new_id = enqueue_sms_fallback(session, n, rec, now)
        done = f"sent by SMS instead (notification {new_id})" if new_id else "SMS already queued"
        n.last_error = f"{n.last_error}; {done}"[:1000]
        return done
    return "no fallback configured"


def enqueue_sms_fallback(
    session: Session, n: Notification, rec: Recipient, now: datetime
) -> int | None:
    """Queue the news of WhatsApp notification ``n`` as an SMS (dedupe key ``<n's key>:fallback``,
    ``context["fallback_of"]`` = n's id); recorded as suppressed when SMS cannot reach the shopper.
    Returns the new row's id, or None when it exists already or the regular SMS of the same news
    is queued. Dispatch applies quiet hours and opt-outs again when it sends."""
    regular = dedupe_key(n.order_id, n.shipment_id, n.trigger, n.episode, "sms")
    if session.exec(select(Notification.id).where(Notification.dedupe_key == regular)).first():
        return None
    reason = None
    if not rec.phone:
        reason = "no phone number"
    elif rec.sms_opt_out_at is not None:
        reason = f"recipient opted out of sms ({rec.sms_opt_out_source or 'shopper'})"
    elif rec.phone_kind == "landline":
        reason = "landline number cannot receive sms"
    row = {
        "merchant_id": n.merchant_id,
        "order_id": n.order_id,
        "shipment_id": n.shipment_id,
        "recipient_id": n.recipient_id,
        "trigger": n.trigger,
        "channel": "sms",
        "episode": n.episode,
        "dedupe_key": f"{n.dedupe_key}:fallback",
        "state": S.SUPPRESSED if reason else S.PENDING,
        "last_error": reason,
        "not_before": now,
        "next_attempt_at": now,
        "context": {**n.context, "fallback_of": n.id},
        "created_at": now,
        "updated_at": now,
    }
    rows = insert_ignoring(session, Notification, [row], ["dedupe_key"], [Notification.id])
    return int(rows[0][0]) if rows else None


# --- Twilio inbound messages ----------------------------------------------------------------

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
    parcels: list[replies.Parcel] = field(default_factory=list)

    @property
    def shop(self) -> replies.Shop | None:
        m = self.merchant
        if m is None:
            return None
        name = ((m.settings or {}).get("brand") or {}).get("name") or m.name
        return replies.Shop(name, m.locale, m.timezone, m.settings or {})


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
            return _count("twilio", "inbound", Answer(None, "duplicate"))
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
    return _count("twilio", "inbound", answer)


def _decide(
    session: Session, msg: Inbound, u: replies.Understanding, who: Shopper, now: datetime
) -> Answer:
    rec, m = who.recipient, who.merchant
    locale = replies.reply_locale(u.language, rec.locale if rec else None, m.locale if m else None)
    if u.intent in (replies.Intent.OPT_OUT, replies.Intent.OPT_IN, replies.Intent.HELP):
        return Answer(replies.keyword_reply(u, locale, msg.channel, who.shop), u.intent.value)
    if who.shop is None:
        return Answer(replies.TEXTS[locale]["not_found"], "unknown_sender")
    if u.intent is replies.Intent.STATUS:
        parcel = replies.pick_parcel(who.parcels, u.references)
        others = sum(1 for p in who.parcels if p is not parcel and p.status not in replies.FINAL)
        text = replies.status_reply(
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
    return Answer(replies.default_reply(who.shop, locale, now, forwarded=forward), handled)


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
) -> list[replies.Parcel]:
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
            out.append(replies.Parcel(order.order_number))
            continue
        ev = last.get(sh.id or 0)
        out.append(
            replies.Parcel(
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
        message = await asyncio.to_thread(_forward_message, rt, inbound_id)
        if message is None:
            return "skipped"
        await rt.senders.for_channel("email").send(message)
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


def _forward_message(rt: Runtime, inbound_id: int) -> OutgoingMessage | None:
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
    subject, text = replies.forward_text(
        shop=shop,
        channel=msg.channel,
        phone=msg.from_address,
        name=rec.name if rec else "",
        body=msg.body,
        received_at=msg.received_at,
        parcel=who.parcels[0] if who.parcels else None,
    )
    return OutgoingMessage(
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


def _mark_forward(rt: Runtime, inbound_id: int, outcome: str) -> None:
    with rt.sessions() as session, session.begin():
        session.execute(
            sa.update(InboundMessage)
            .where(col(InboundMessage.id) == inbound_id)
            .values(handled_as=outcome)
        )


# --- SendGrid Event Webhook -----------------------------------------------------------------

# Delivery progress of an email (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event).
# "processed" only means SendGrid accepted it: the notification stays "sent" until "delivered".
EMAIL_PROGRESS = {
    "accepted": 0,
    "processed": 1,
    "deferred": 2,
    "delivered": 3,
    "open": 4,
    "click": 5,
}
EMAIL_DELIVERED = EMAIL_PROGRESS["delivered"]
EMAIL_FAILURES = frozenset({"bounce", "dropped"})
# Opt-outs the shopper (or their mailbox) decided: the address is suppressed.
EMAIL_SUPPRESSIONS = frozenset({"spamreport", "unsubscribe", "group_unsubscribe"})
# SendGrid drops for these reasons because of the address; other drops are about the message.
ADDRESS_DROPS = ("bounced address", "unsubscribed address", "spam reporting address", "invalid")


@dataclass
class EventsResult:
    """Counts of one SendGrid batch by what became of each event."""

    applied: int = 0
    duplicate: int = 0
    stale: int = 0
    unknown: int = 0
    skipped: int = 0  # not an event we can use (no sg_event_id or event)


def apply_sendgrid_events(rt: Runtime, events: Sequence[Any]) -> EventsResult:
    """Apply one Event Webhook batch in one transaction (a crash applies none of it, and
    SendGrid's retry does). Raises InFlight when an event's notification is being sent."""
    now = rt.clock.now()
    out = EventsResult()
    with rt.sessions() as session, session.begin():
        for event in events:
            result = _sendgrid_event(session, event, now)
            setattr(out, result, getattr(out, result) + 1)
            CALLBACKS.labels(
                "sendgrid", str(event.get("event") if isinstance(event, dict) else "?"), result
            ).inc()
    return out


def _sendgrid_event(session: Session, ev: Any, now: datetime) -> str:
    if not isinstance(ev, dict):
        return "skipped"
    kind, event_id = ev.get("event"), ev.get("sg_event_id")
    if not isinstance(kind, str) or not isinstance(event_id, str) or not event_id:
        return "skipped"
    if not _claim(session, "sendgrid", event_id, now):
        return "duplicate"
    email = str(ev.get("email") or "").strip().lower()
    source = _email_suppression(ev)
    address = sa.func.lower(col(Recipient.email)) == email
    if source and email:
        opt_out(session, address, "email", source, now)
    elif kind == "group_resubscribe" and email:
        opt_in(
            session,
            sa.and_(address, col(Recipient.email_opt_out_source) == "sendgrid:group_unsubscribe"),
            "email",
        )
    n = _email_notification(session, ev)
    by_address = bool(source) or kind == "group_resubscribe"
    if n is None:
        return "applied" if by_address else "unknown"
    if n.state == S.SENDING:
        raise InFlight(f"notification {n.id} is being sent")
    return "applied" if _advance_email(n, ev, now) or by_address else "stale"


def _email_suppression(ev: Mapping[str, Any]) -> str | None:
    kind = ev["event"]
    if kind == "bounce":  # "blocked" bounces are about our sending IP, not the address
        return "sendgrid:bounce" if str(ev.get("type") or "bounce") == "bounce" else None
    if kind == "dropped":
        reason = str(ev.get("reason") or "").lower()
        by_address = not reason or (reason.startswith(ADDRESS_DROPS) and "smtpapi" not in reason)
        return "sendgrid:dropped" if by_address else None
    return f"sendgrid:{kind}" if kind in EMAIL_SUPPRESSIONS else None


def _email_notification(session: Session, ev: Mapping[str, Any]) -> Notification | None:
    raw = str(ev.get("notification_id") or "")
    if raw.isdigit():
        stmt = select(Notification).where(col(Notification.id) == int(raw))
        n = session.exec(stmt.with_for_update()).first()
        if n is not None and n.channel == "email":
            return n
    sg_id = str(ev.get("sg_message_id") or "")
    if not sg_id:
        return None
    # "<X-Message-Id>.filterdrecv-...": the id the send returned, before SendGrid's suffix
    prefixes = {sg_id, sg_id.split(".filter")[0], sg_id.split(".")[0]}
    stmt = select(Notification).where(
        col(Notification.provider_message_id).in_(prefixes), col(Notification.channel) == "email"
    )
    return session.exec(stmt.with_for_update()).first()


def _advance_email(n: Notification, ev: Mapping[str, Any], now: datetime) -> bool:
    kind, current = ev["event"], n.provider_status
    rank = EMAIL_PROGRESS.get(current or "", 0)
    if current in EMAIL_FAILURES:
        return False
    if kind in EMAIL_FAILURES:
        if rank > EMAIL_DELIVERED:  # opened or clicked: it did arrive
            return False
        why = " ".join(str(ev.get(k) or "") for k in ("status", "reason")).strip()
        n.state, n.last_error = S.FAILED, f"sendgrid {kind}: {why or 'no reason given'}"[:1000]
    elif kind in EMAIL_PROGRESS and EMAIL_PROGRESS[kind] > rank:
        if EMAIL_PROGRESS[kind] >= EMAIL_DELIVERED:
            n.state = S.DELIVERED
    else:
        return False
    n.provider_status, n.updated_at = kind, now
    return True


_Outcome = TypeVar("_Outcome", Result, Answer)


def _count(provider: str, kind: str, outcome: _Outcome) -> _Outcome:
    label = outcome.result if isinstance(outcome, Result) else outcome.handled_as
    CALLBACKS.labels(provider, kind, label).inc()
    return outcome
