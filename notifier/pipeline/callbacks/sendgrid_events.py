"""SendGrid Event Webhook batches applied to the store, one transaction per batch: delivery
progress moves the notification forward, bounces and drops fail it, and bounces, address drops,
spam reports and unsubscribes suppress the address (for every shop). Events are deduplicated by
``sg_event_id``. An event about a message whose send is still being recorded raises
:class:`~notifier.pipeline.callbacks.shared.InFlight` (the router answers 503): SendGrid retries
refused batches for up to 24 hours, so asking again loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier.pipeline.callbacks.shared import (
    CALLBACKS,
    InFlight,
    claim,
    notification_id,
    opt_in,
    opt_out,
)
from notifier.runtime import Runtime
from notifier.store.models import Notification, NotificationState, Recipient

S = NotificationState

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
    if not claim(session, "sendgrid", event_id, now):
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
    raw = ev.get("notification_id")
    usable = isinstance(raw, str | int) and not isinstance(raw, bool)
    our_id = notification_id(raw, "sendgrid") if usable else None
    if our_id is not None:
        stmt = select(Notification).where(col(Notification.id) == our_id)
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
