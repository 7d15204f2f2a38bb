"""Twilio message status callbacks (``StatusCallback``) applied to the store, one transaction
each: the notification moves forward (sent, delivered, read, or failed with the error's reason),
21610 opts the number out, 63016 starts the merchant's WhatsApp fallback.

A callback finds its notification by ``MessageSid``, else by our notification id, which the
senders put in the callback URL (``/webhooks/twilio/status?n=<id>``).

**Callbacks that overtake the dispatcher.** The dispatcher writes a send's message id when it
records the verdict, a moment after Twilio accepted the message; Twilio may call back in that
moment, while the row is still ``sending``, and Twilio does not retry status callbacks. So such a
callback is *recorded early* instead of refused: its ``MessageSid``, ``MessageStatus`` and (for a
failure) the reason go on the row, the 21610 opt-out is applied at once (it concerns the number,
not the row), ``state`` is left alone, and Twilio gets 200. When the dispatcher records the send,
:func:`notifier.pipeline.verdicts.record` keeps what the callback said (the provider status of
this very message, and state ``delivered`` or ``failed`` from it, in the same UPDATE) and calls
:func:`settle` for what a failure still needs (the 63016 fallback). A callback about an earlier
attempt's message (its SID is on an earlier attempt row) is stale and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier.pipeline.callbacks.shared import Result, claim, count, notification_id, opt_out
from notifier.pipeline.outbox import PHONE_CHANNELS, dedupe_key
from notifier.runtime import Runtime
from notifier.store.lease import insert_ignoring
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    NotificationState,
    Recipient,
)

S = NotificationState

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
_REASON_CODE = re.compile(r"twilio (\d+):")


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
        if n is not None and not (n.isascii() and n.isdigit()):  # "²".isdigit() too
            raise ValueError("n must be a notification id")
        return cls(
            sid,
            status,
            (form.get("ErrorCode") or "").strip() or None,
            (form.get("ErrorMessage") or "").strip() or None,
            notification_id(n, "twilio"),  # past 2**63-1: none of ours, found by SID or unknown
        )

    def reason(self) -> str:
        code = self.error_code
        text = TWILIO_ERRORS.get(code or "") or self.error_message
        if code:
            return f"twilio {code}: {text or f'see https://www.twilio.com/docs/api/errors/{code}'}"
        return f"twilio: message {self.status}{f' ({text})' if text else ''}"


def apply_twilio_status(rt: Runtime, event: TwilioStatus) -> Result:
    """Move the notification of ``event.message_sid`` forward; opt out on 21610; on 63016 use
    the merchant's WhatsApp fallback. While the send is still being recorded (``sending``) the
    status is recorded early (module docstring) and the result is ``early``."""
    if event.status not in TWILIO_PROGRESS and event.status not in TWILIO_FAILURES:
        return count("twilio", "status", Result("ignored", f"status {event.status}"))
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        n = _phone_notification(session, event)
        if n is None:
            return count("twilio", "status", Result("unknown", event.message_sid))
        sending = n.state == S.SENDING
        if sending and _earlier_attempt(session, n, event.message_sid):
            return count("twilio", "status", Result("stale", "an earlier attempt's message"))
        if not claim(session, "twilio", f"{event.message_sid}:{event.status}", now):
            return count("twilio", "status", Result("duplicate"))
        current = n.provider_status
        if sending and n.provider_message_id != event.message_sid:
            current = None  # what the row holds is about an earlier attempt's message
        if not _twilio_advances(current, event.status):
            return count("twilio", "status", Result("stale", f"{current} stays"))
        if sending:
            early = _record_early(session, n, event, now)
            if early is not None:
                return count("twilio", "status", Result("early", early))
            session.refresh(n)  # the dispatcher recorded the send meanwhile: apply as usual
            if not _twilio_advances(n.provider_status, event.status):
                return count("twilio", "status", Result("stale", f"{n.provider_status} stays"))
        detail = _apply_twilio(session, rt, n, event, now)
    return count("twilio", "status", Result("applied", detail))


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
    # Our id in the URL, but not this SID: the dispatcher may still be recording this send.
    return n if n.provider_message_id in (None, event.message_sid) or n.state == S.SENDING else None


def _twilio_advances(current: str | None, new: str) -> bool:
    if current in TWILIO_FAILURES:
        return False
    rank = TWILIO_PROGRESS.get(current or "", 0)
    if new in TWILIO_FAILURES:
        return rank < TWILIO_DELIVERED
    return TWILIO_PROGRESS[new] > rank


def _earlier_attempt(session: Session, n: Notification, sid: str) -> bool:
    """Whether ``sid`` is the message of one of ``n``'s earlier attempts (a late callback)."""
    stmt = select(NotificationAttempt.id).where(
        NotificationAttempt.notification_id == n.id,
        NotificationAttempt.provider_message_id == sid,
        col(NotificationAttempt.number) < n.attempts,
    )
    return session.exec(stmt).first() is not None


def _record_early(
    session: Session, n: Notification, event: TwilioStatus, now: datetime
) -> str | None:
    """What a callback says about a message whose send is still being recorded: everything but
    ``state``, which the dispatcher sets from it (see verdicts.record). Written only while the
    row is still ``sending`` (on SQLite the row was read before this transaction took the write
    lock); None when the dispatcher recorded the send in between."""
    values = {
        "provider_message_id": event.message_sid,
        "provider_status": event.status,
        "updated_at": now,
    }
    if event.status in TWILIO_FAILURES:
        values["last_error"] = event.reason()[:1000]
    still = (
        sa.update(Notification)
        .where(col(Notification.id) == n.id, col(Notification.state) == S.SENDING)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(still).rowcount == 0:  # type: ignore[attr-defined]
        return None
    detail = f"{event.status}, before the send was recorded"
    if event.status in TWILIO_FAILURES:
        detail += _opt_out_number(session, n, event, now)
    return detail


def _opt_out_number(session: Session, n: Notification, event: TwilioStatus, now: datetime) -> str:
    """21610: the shopper's number is opted out of this channel, in every shop."""
    rec = session.get(Recipient, n.recipient_id)
    if event.error_code != OPTED_OUT_CODE or rec is None or not rec.phone:
        return ""
    opt_out(session, col(Recipient.phone) == rec.phone, n.channel, f"twilio:{OPTED_OUT_CODE}", now)
    return ", opted out"


def settle(session: Session, rt: Runtime, notification_id: int, now: datetime) -> str | None:
    """After the dispatcher recorded a send that a callback had already reported failed (the
    row is now ``failed``): the follow-up the callback left to it, i.e. the merchant's WhatsApp
    fallback on 63016. Returns what was done, or None when nothing was to do."""
    n = session.get(Notification, notification_id)
    if n is None or n.state != S.FAILED or n.channel != "whatsapp":
        return None
    rec = session.get(Recipient, n.recipient_id)
    if error_code(n.last_error) != OUTSIDE_SESSION_CODE or rec is None:
        return None
    done = _whatsapp_fallback(session, rt, n, rec, now)
    session.add(n)
    return done


def error_code(reason: str | None) -> str | None:
    """The Twilio error code at the start of a reason :meth:`TwilioStatus.reason` wrote."""
    found = _REASON_CODE.match(reason or "")
    return found.group(1) if found else None


def _apply_twilio(
    session: Session, rt: Runtime, n: Notification, event: TwilioStatus, now: datetime
) -> str:
    n.provider_status, n.updated_at = event.status, now
    n.provider_message_id = n.provider_message_id or event.message_sid
    detail = event.status
    if event.status in TWILIO_FAILURES:
        n.state, n.last_error = S.FAILED, event.reason()[:1000]
        detail += _opt_out_number(session, n, event, now)
        rec = session.get(Recipient, n.recipient_id)
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
