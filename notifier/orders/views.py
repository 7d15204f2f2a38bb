"""An order as the merchant's API sees it: its shopper, parcels (with the tracking-page link our
messages carry) and the messages enqueued for it. Read-only, always scoped to one merchant."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from notifier import links
from notifier.orders.intake import IngestResult, Outcome
from notifier.pipeline.compose import money
from notifier.store.models import Notification, Order, Recipient, Shipment, TrackingEvent


class CustomerOut(BaseModel):
    name: str
    phone: str | None  # E.164
    phone_kind: str | None  # mobile, landline, unknown
    email: str | None
    locale: str | None
    timezone: str | None


class ShipmentOut(BaseModel):
    carrier: str
    courier: str | None
    tracking_number: str
    tracking_url: str | None  # the store's own link, as given
    tracking_page_url: str  # our tracking page: the link every message carries
    status: str
    eta: date | None
    last_event_at: datetime | None
    events: int
    polling: bool  # whether the parcel is still checked with its carrier


class NotificationOut(BaseModel):
    trigger: str
    channel: str
    state: str
    tracking_number: str | None  # the parcel it is about; None for order news
    not_before: datetime | None
    sent_at: datetime | None
    reason: str | None  # why it failed or was suppressed
    created_at: datetime


class OrderOut(BaseModel):
    external_id: str
    order_number: str
    status: str
    paid_at: datetime | None
    total: Decimal | None
    currency: str | None
    return_status: str | None
    refund_status: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    customer: CustomerOut | None
    shipments: list[ShipmentOut]
    notifications: list[NotificationOut]
    result: Outcome | None = None  # on writes: created, updated or unchanged
    warnings: list[str] = []


def order_view(
    session: Session, order: Order, public_url: str, result: IngestResult | None = None
) -> OrderOut:
    """``order`` with its shopper, parcels and messages, oldest first."""
    shipments = list(
        session.exec(
            select(Shipment).where(Shipment.order_id == order.id).order_by(col(Shipment.id))
        )
    )
    recipient = session.get(Recipient, order.recipient_id) if order.recipient_id else None
    return OrderOut(
        external_id=order.external_id,
        order_number=order.order_number,
        status=order.status,
        paid_at=order.paid_at,
        total=money(order.total_minor, order.currency),
        currency=order.currency,
        return_status=order.return_status,
        refund_status=order.refund_status,
        source=order.source,
        created_at=order.created_at,
        updated_at=order.updated_at,
        customer=_customer(recipient) if recipient else None,
        shipments=_shipments(session, shipments, public_url),
        notifications=_notifications(session, order, shipments),
        result=result.outcome if result else None,
        warnings=result.warnings if result else [],
    )


def _customer(rec: Recipient) -> CustomerOut:
    return CustomerOut(
        name=rec.name,
        phone=rec.phone,
        phone_kind=rec.phone_kind,
        email=rec.email,
        locale=rec.locale,
        timezone=rec.timezone,
    )


def _shipments(session: Session, shipments: list[Shipment], public_url: str) -> list[ShipmentOut]:
    ids = [s.id for s in shipments]
    counts: dict[int, int] = {}
    if ids:
        stmt = (
            sa.select(col(TrackingEvent.shipment_id), sa.func.count())
            .where(col(TrackingEvent.shipment_id).in_(ids))
            .group_by(col(TrackingEvent.shipment_id))
        )
        counts = {sid: n for sid, n in session.execute(stmt).tuples()}
    return [
        ShipmentOut(
            carrier=s.carrier,
            courier=s.courier or None,
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            tracking_page_url=links.tracking_url(public_url, s.public_token),
            status=s.status,
            eta=s.eta,
            last_event_at=s.last_event_at,
            events=counts.get(s.id or 0, 0),
            polling=s.next_check_at is not None,
        )
        for s in shipments
    ]


def _notifications(
    session: Session, order: Order, shipments: list[Shipment]
) -> list[NotificationOut]:
    numbers = {s.id: s.tracking_number for s in shipments}
    stmt = (
        select(Notification).where(Notification.order_id == order.id).order_by(col(Notification.id))
    )
    return [
        NotificationOut(
            trigger=n.trigger,
            channel=n.channel,
            state=n.state,
            tracking_number=numbers.get(n.shipment_id) if n.shipment_id else None,
            not_before=n.not_before,
            sent_at=n.sent_at,
            reason=n.last_error,
            created_at=n.created_at,
        )
        for n in session.exec(stmt)
    ]
