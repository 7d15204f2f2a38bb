"""What a merchant looks at: the dashboard, its shipments and its messages.

Every query is scoped to one merchant; a row of another merchant is :class:`Missing`, exactly like
a row that does not exist. Results are plain dicts (datetimes stay datetimes) that the API
serializes and the pages format.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier.errors import InputError
from notifier.orders.contact import normalize_phone
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    NotificationState,
    Order,
    Recipient,
    Shipment,
    TrackingEvent,
)

from .versions import Missing

ATTENTION = ("exception", "failed_attempt", "returned_to_sender")  # plus delay_open
FAILED = (NotificationState.FAILED, NotificationState.DEAD)
PAGE = 50
_SHIPMENT_FIELDS = ("id", "carrier", "courier", "tracking_number", "status", "eta", "delay_open")


def _mid(merchant: Merchant) -> int:
    assert merchant.id is not None
    return merchant.id


def _attention() -> sa.ColumnElement[bool]:
    return sa.or_(col(Shipment.delay_open), col(Shipment.status).in_(ATTENTION))


def shipment_row(sh: Shipment, order: Order, rec: Recipient | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(sh, k) for k in _SHIPMENT_FIELDS}
    out |= {
        "public_token": sh.public_token,
        "last_event_at": sh.last_event_at,
        "updated_at": sh.updated_at,
        "order_number": order.order_number,
        "order_external_id": order.external_id,
        "customer": rec.name if rec else None,
        "phone": rec.phone if rec else None,
        "email": rec.email if rec else None,
        "attention": bool(sh.delay_open or sh.status in ATTENTION),
    }
    return out


def _joined() -> Any:
    return (
        select(Shipment, Order, Recipient)
        .join(Order, col(Shipment.order_id) == col(Order.id))
        .outerjoin(Recipient, col(Order.recipient_id) == col(Recipient.id))
    )


def search_shipments(
    session: Session,
    merchant: Merchant,
    query: str = "",
    *,
    status: str | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Shipments matching an order number, a tracking number or a phone number (written any
    way: 0812-3456-7890 finds +6281234567890) or an email; delayed and exception ones first."""
    stmt = _joined().where(col(Shipment.merchant_id) == _mid(merchant))
    text = query.strip()
    if text:
        stmt = stmt.where(sa.or_(*_matches(text, merchant.country)))
    if status:
        stmt = stmt.where(col(Shipment.status) == status)
    stmt = stmt.order_by(
        sa.case((_attention(), 0), else_=1),
        col(Shipment.updated_at).desc(),
        col(Shipment.id).desc(),
    )
    rows = session.execute(stmt.limit(min(limit, 200)).offset(max(offset, 0))).all()
    return [shipment_row(sh, o, r) for sh, o, r in rows]


def _matches(text: str, country: str) -> list[sa.ColumnElement[bool]]:
    like = f"%{text.lower()}%"
    found = [
        sa.func.lower(col(Order.order_number)).like(like),
        sa.func.lower(col(Order.external_id)) == text.lower(),
        sa.func.lower(col(Shipment.tracking_number)).like(like),
        sa.func.lower(col(Recipient.email)) == text.lower(),
    ]
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 6 and not any(ch.isalpha() for ch in text):
        with contextlib.suppress(InputError):  # not a phone: the other matches still apply
            found.append(col(Recipient.phone) == normalize_phone(text, country).e164)
    return found


def shipment_detail(session: Session, merchant: Merchant, shipment_id: int) -> dict[str, Any]:
    """One shipment with its tracking timeline (newest first) and every message of its order
    about it, with attempts."""
    row = session.execute(
        _joined().where(
            col(Shipment.id) == shipment_id, col(Shipment.merchant_id) == _mid(merchant)
        )
    ).first()
    if row is None:
        raise Missing(f"no shipment {shipment_id}")
    sh, order, rec = row
    events = session.exec(
        select(TrackingEvent)
        .where(col(TrackingEvent.shipment_id) == shipment_id)
        .order_by(col(TrackingEvent.time).desc(), col(TrackingEvent.id).desc())
    ).all()
    notes = session.exec(
        select(Notification)
        .where(
            col(Notification.merchant_id) == _mid(merchant),
            col(Notification.order_id) == order.id,
            sa.or_(
                col(Notification.shipment_id) == shipment_id,
                col(Notification.shipment_id).is_(None),
            ),
        )
        .order_by(col(Notification.created_at), col(Notification.id))
    ).all()
    out = shipment_row(sh, order, rec)
    out["raw_status"], out["last_error"] = sh.raw_status, sh.last_error
    out["events"] = [
        {k: getattr(e, k) for k in ("time", "status", "raw_code", "location", "description")}
        for e in events
    ]
    out["notifications"] = [notification_row(n) for n in notes]
    return out


def notification_row(n: Notification) -> dict[str, Any]:
    keys = ("id", "trigger", "channel", "state", "attempts", "sender", "provider_message_id")
    out: dict[str, Any] = {k: getattr(n, k) for k in keys}
    out |= {
        "provider_status": n.provider_status,
        "error": n.last_error,
        "order_id": n.order_id,
        "shipment_id": n.shipment_id,
        "created_at": n.created_at,
        "sent_at": n.sent_at,
        "next_attempt_at": n.next_attempt_at if n.state == NotificationState.PENDING else None,
    }
    return out


def list_notifications(
    session: Session,
    merchant: Merchant,
    *,
    state: str | None = None,
    trigger: str | None = None,
    channel: str | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The merchant's messages, newest first, filtered by state, trigger and channel."""
    stmt = select(Notification).where(col(Notification.merchant_id) == _mid(merchant))
    for column, value in (
        (Notification.state, state),
        (Notification.trigger, trigger),
        (Notification.channel, channel),
    ):
        if value:
            stmt = stmt.where(col(column) == value)
    stmt = stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    rows = session.exec(stmt.limit(min(limit, 200)).offset(max(offset, 0))).all()
    return [notification_row(n) for n in rows]


def notification_detail(
    session: Session, merchant: Merchant, notification_id: int
) -> dict[str, Any]:
    """One message with what was sent (subject, body) and every attempt."""
    n = session.get(Notification, notification_id)
    if n is None or n.merchant_id != _mid(merchant):
        raise Missing(f"no notification {notification_id}")
    out = notification_row(n) | {"subject": n.subject, "body": n.body, "context": n.context}
    attempts = session.exec(
        select(NotificationAttempt)
        .where(col(NotificationAttempt.notification_id) == notification_id)
        .order_by(col(NotificationAttempt.number))
    ).all()
    keys = ("number", "started_at", "finished_at", "outcome", "error", "provider_message_id")
    out["attempts"] = [{k: getattr(a, k) for k in keys} for a in attempts]
    return out


def dashboard(session: Session, merchant: Merchant, now: datetime) -> dict[str, Any]:
    """Shipments by status, the ones that need a look, today's messages and failures."""
    mid = _mid(merchant)
    by_status: dict[str, int] = {
        status: count
        for status, count in session.execute(
            sa.select(col(Shipment.status), sa.func.count())
            .where(col(Shipment.merchant_id) == mid)
            .group_by(col(Shipment.status))
        ).all()
    }
    attention = session.execute(
        _joined()
        .where(col(Shipment.merchant_id) == mid, _attention())
        .order_by(col(Shipment.updated_at).desc())
        .limit(20)
    ).all()
    zone = ZoneInfo(merchant.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    sent_today = session.execute(
        sa.select(col(Notification.channel), sa.func.count())
        .where(col(Notification.merchant_id) == mid, col(Notification.sent_at) >= midnight)
        .group_by(col(Notification.channel))
    ).all()
    failures = session.exec(
        select(Notification)
        .where(col(Notification.merchant_id) == mid, col(Notification.state).in_(FAILED))
        .order_by(col(Notification.updated_at).desc())
        .limit(20)
    ).all()
    return {
        "by_status": by_status,
        "attention": [shipment_row(sh, o, r) for sh, o, r in attention],
        "sent_today": {channel: count for channel, count in sent_today},
        "sent_today_total": sum(count for _, count in sent_today),
        "failures": [notification_row(n) for n in failures],
    }
