"""Storing one order as the merchant's store sent it, and enqueueing what that news deserves.

Every way in (REST, file import, order-store sources) ends here, inside the caller's transaction.
Ingesting is idempotent on the merchant's own ids: the order by ``external_id``, each parcel by
(carrier, courier, tracking number), so re-sending an order changes nothing and enqueues nothing
twice (the outbox's dedupe keys make even a race harmless).

All checks that can reject an order run before the first write, so an :class:`InputError`
leaves the transaction untouched and a batch of orders can go on without it. The parcels are
taken in by :mod:`notifier.orders.parcels`; both write through :mod:`notifier.orders.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier import metrics
from notifier.errors import InputError
from notifier.orders.contact import LANDLINE_WARNING, Phone, normalize_phone
from notifier.orders.parcels import (
    announce,
    attach,
    known_shipments,
    set_polling,
    with_carrier,
)
from notifier.orders.rows import assign, insert_new
from notifier.orders.schema import CANCELLED_STATUSES, OrderIn, ShipmentIn
from notifier.pipeline.detect import Trigger
from notifier.pipeline.outbox import Party, enqueue
from notifier.settings import NotifyDefaults
from notifier.store.models import Merchant, Order, Recipient, Shipment

Outcome = Literal["created", "updated", "unchanged"]

ORDER_KEY = ("merchant_id", "external_id")  # the unique constraint ingest relies on
NO_CONTACT_WARNING = "no phone or email: the shopper will not get messages"


@dataclass
class IngestResult:
    """What ingesting one order did."""

    outcome: Outcome
    order: Order
    shipments: list[Shipment] = field(default_factory=list)  # the parcels new to us
    warnings: list[str] = field(default_factory=list)
    notifications: int = 0  # outbox rows created
    recipient: Recipient | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """The merchant-dependent part of validation: phone read in the merchant's country,
    ``paid_at`` in the merchant's zone."""

    phone: Phone | None
    paid_at: datetime | None
    warnings: list[str]


def merchant_zone(merchant: Merchant, prefs: NotifyDefaults) -> ZoneInfo:
    name = merchant.timezone or prefs.timezone
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # a merchant row with a bad zone: fall back to the defaults
        return ZoneInfo(prefs.timezone)


def prepare(order_in: OrderIn, merchant: Merchant, prefs: NotifyDefaults) -> Prepared:
    """Finish validating ``order_in`` for ``merchant``; raises InputError naming the field."""
    customer = order_in.customer
    warnings: list[str] = []
    phone = None
    if customer.phone is not None:
        try:
            phone = normalize_phone(customer.phone, merchant.country or prefs.country)
        except InputError as err:
            raise InputError(str(err), field="customer.phone") from err
        if phone.kind == "landline":
            warnings.append(LANDLINE_WARNING)
    if phone is None and customer.email is None:
        warnings.append(NO_CONTACT_WARNING)
    paid_at = order_in.paid_at_in(merchant_zone(merchant, prefs))
    return Prepared(phone, paid_at.astimezone(UTC) if paid_at else None, warnings)


def find_order(session: Session, merchant_id: int, external_id: str) -> Order | None:
    """The merchant's order with this external id (never another merchant's)."""
    stmt = select(Order).where(Order.merchant_id == merchant_id, Order.external_id == external_id)
    return session.exec(stmt).first()


def ingest(
    session: Session,
    merchant: Merchant,
    prefs: NotifyDefaults,
    order_in: OrderIn,
    now: datetime,
    *,
    source: str = "api",
) -> IngestResult:
    """Create or update the merchant's order ``order_in`` with its shopper and parcels, and
    enqueue ``order_confirmed`` the first time it is paid and ``shipped`` for each new parcel.

    Runs in the caller's transaction. Raises :class:`InputError` (with ``field``) before any
    write when the order cannot be taken.
    """
    assert merchant.id is not None
    order_in = order_in.model_copy(
        update={
            "shipments": [
                with_carrier(s, merchant, f"shipments.{i}.carrier")
                for i, s in enumerate(order_in.shipments)
            ]
        }
    )
    prep = prepare(order_in, merchant, prefs)
    existing = find_order(session, merchant.id, order_in.external_id)
    known = known_shipments(session, merchant.id, order_in.shipments, existing)
    # Writes start here; nothing below raises InputError.
    recipient, changed = _upsert_recipient(session, merchant, order_in, prep, existing, now)
    was_paid = existing is not None and _is_paid(existing)
    was_cancelled = existing is not None and existing.status in CANCELLED_STATUSES
    before = (existing.return_status, existing.refund_status) if existing else (None, None)
    order, created = _create_order(
        session, merchant, order_in, prep, recipient, existing, source, now
    )
    if not created:
        changed = _update_order(order, order_in, prep, recipient, now) or changed
    new, touched = attach(session, merchant, order, order_in.shipments, known, now)
    changed = changed or created or bool(new) or touched
    if order.status in CANCELLED_STATUSES or was_cancelled:
        # A cancelled order's parcels stop being polled; a reinstated order's resume.
        changed = set_polling(session, order, now) or changed
    if changed:
        order.updated_at = now
        session.add(order)
    result = IngestResult(
        "created" if created else "updated" if changed else "unchanged",
        order,
        new,
        prep.warnings,
        recipient=recipient,
    )
    party = Party(merchant, prefs, order, recipient)
    if _is_paid(order) and not was_paid and order.status not in CANCELLED_STATUSES:
        result.notifications += enqueue(session, party, None, [Trigger("order_confirmed")], now)
    result.notifications += announce(session, party, new, now)
    result.notifications += enqueue(session, party, None, _after_sale(before, order), now)
    return result


def _after_sale(before: tuple[str | None, str | None], order: Order) -> list[Trigger]:
    """return_update / refund_update when the store reports a new return or refund status;
    the status is the episode, so each step is told once."""
    found = []
    if order.return_status and order.return_status != before[0]:
        found.append(Trigger("return_update", order.return_status))
    if order.refund_status and order.refund_status != before[1]:
        found.append(Trigger("refund_update", order.refund_status))
    return found


def add_shipment(
    session: Session,
    merchant: Merchant,
    prefs: NotifyDefaults,
    order: Order,
    shipment_in: ShipmentIn,
    now: datetime,
) -> IngestResult:
    """Attach one parcel to an order already stored; ``created`` when the parcel is new.

    Raises InputError when the tracking number already belongs to another of the merchant's
    orders."""
    assert merchant.id is not None and order.merchant_id == merchant.id
    shipment_in = with_carrier(shipment_in, merchant, "carrier")
    try:
        known = known_shipments(session, merchant.id, [shipment_in], order)
    except InputError as err:
        raise InputError(str(err), field="tracking_number") from err
    new, touched = attach(session, merchant, order, [shipment_in], known, now)
    recipient = session.get(Recipient, order.recipient_id) if order.recipient_id else None
    if new or touched:
        order.updated_at = now
        session.add(order)
    outcome: Outcome = "created" if new else "updated" if touched else "unchanged"
    result = IngestResult(outcome, order, new, recipient=recipient)
    result.notifications = announce(session, Party(merchant, prefs, order, recipient), new, now)
    return result


def count(source: str, outcome: str, n: int = 1) -> None:
    """Count orders taken in (call after the transaction committed)."""
    if n:
        metrics.INTAKE.labels(source=source, outcome=outcome).inc(n)


def _is_paid(order: Order) -> bool:
    return order.status == "paid" or order.paid_at is not None


def _find_recipient(
    session: Session, merchant_id: int, column: Any, value: str
) -> Recipient | None:
    not_the_shop = sa.or_(  # the shop's own CS row (merchant alerts) is never a shopper
        col(Recipient.phone_kind).is_(None), col(Recipient.phone_kind) != "merchant_cs"
    )
    stmt = (
        select(Recipient)
        .where(Recipient.merchant_id == merchant_id, column == value, not_the_shop)
        .order_by(col(Recipient.id))
    )
    return session.exec(stmt).first()


def _upsert_recipient(
    session: Session,
    merchant: Merchant,
    order_in: OrderIn,
    prep: Prepared,
    existing: Order | None,
    now: datetime,
) -> tuple[Recipient | None, bool]:
    """The shopper: found by phone, then by email, else created; updated with what is new.

    Without any contact the order keeps the shopper it had (or none: nobody to write to)."""
    assert merchant.id is not None
    customer = order_in.customer
    recipient = None
    if prep.phone is not None:
        recipient = _find_recipient(session, merchant.id, Recipient.phone, prep.phone.e164)
    if recipient is None and customer.email is not None:
        recipient = _find_recipient(session, merchant.id, Recipient.email, customer.email)
    if recipient is None and prep.phone is None and customer.email is None:
        if existing is None or existing.recipient_id is None:
            return None, False
        recipient = session.get(Recipient, existing.recipient_id)
    created = recipient is None
    if recipient is None:
        recipient = Recipient(merchant_id=merchant.id, created_at=now)
    values: dict[str, Any] = {
        "name": customer.name or None,
        "phone": prep.phone.e164 if prep.phone else None,
        "phone_kind": prep.phone.kind if prep.phone else None,
        "email": customer.email,
        "locale": customer.locale,
        "timezone": customer.timezone,
    }
    # Details the store did not send are kept, never erased.
    changed = assign(recipient, {k: v for k, v in values.items() if v is not None})
    if created or changed:
        session.add(recipient)
        session.flush()
    return recipient, created or changed


def _create_order(
    session: Session,
    merchant: Merchant,
    order_in: OrderIn,
    prep: Prepared,
    recipient: Recipient | None,
    existing: Order | None,
    source: str,
    now: datetime,
) -> tuple[Order, bool]:
    """(the order, whether this call created it). INSERT ... ON CONFLICT DO NOTHING, so two
    requests racing to create the same order make one row; the loser updates it."""
    assert merchant.id is not None
    if existing is not None:
        return existing, False
    row = Order(
        merchant_id=merchant.id,
        external_id=order_in.external_id,
        order_number=order_in.number,
        recipient_id=recipient.id if recipient else None,
        status=order_in.status or "pending",
        paid_at=_paid_at(order_in, prep, None, now),
        total_minor=order_in.total_minor,
        currency=order_in.currency,
        return_status=order_in.return_status,
        refund_status=order_in.refund_status,
        source=source,
        created_at=now,
        updated_at=now,
    )
    new_id = insert_new(session, Order, row.model_dump(exclude={"id"}), ORDER_KEY)
    order = find_order(session, merchant.id, order_in.external_id)
    assert order is not None
    return order, new_id is not None


def _paid_at(
    order_in: OrderIn, prep: Prepared, stored: datetime | None, now: datetime
) -> datetime | None:
    if prep.paid_at is not None:
        return prep.paid_at
    if stored is not None:
        return stored
    # "paid" without a time: we learnt of the payment now, and messages may show when it was.
    return now if order_in.status == "paid" else None


def _update_order(
    order: Order, order_in: OrderIn, prep: Prepared, recipient: Recipient | None, now: datetime
) -> bool:
    values: dict[str, Any] = {
        "order_number": order_in.order_number,
        "status": order_in.status,
        "paid_at": _paid_at(order_in, prep, order.paid_at, now),
        "recipient_id": recipient.id if recipient else None,
        "total_minor": order_in.total_minor,
        "currency": order_in.currency,
        "return_status": order_in.return_status,
        "refund_status": order_in.refund_status,
    }
    # What the store left out is kept (a later, thinner update must not erase a total).
    return assign(order, {k: v for k, v in values.items() if v is not None})
