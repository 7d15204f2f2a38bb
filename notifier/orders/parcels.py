"""Taking in an order's parcels: the carrier named or detected, the parcels already stored
found (never another order's), the new ones inserted due for a first check, polling paused or
resumed with the order, and ``shipped`` enqueued for each new parcel.

A parcel is keyed by (carrier, courier, tracking number) within the merchant, so re-sending one
inserts nothing and enqueues nothing twice. Everything runs in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from carriers.base import FINAL_STATUSES, Status
from carriers.detect import CarrierNotDetected, resolve_carrier
from notifier import links
from notifier.errors import InputError
from notifier.orders.rows import assign, insert_new
from notifier.orders.schema import CANCELLED_STATUSES, ShipmentIn, installed_carriers
from notifier.pipeline.detect import Trigger
from notifier.pipeline.outbox import Party, enqueue
from notifier.store.models import Merchant, Order, Shipment

ShipmentKey = tuple[str, str, str]  # carrier, courier ('' for direct carriers), tracking number

SHIPMENT_KEY = ("merchant_id", "carrier", "courier", "tracking_number")  # the unique constraint
AGGREGATORS = ("binderbyte", "biteship", "rajaongkir")  # default preference for local couriers


def with_carrier(shipment: ShipmentIn, merchant: Merchant, field: str) -> ShipmentIn:
    """``shipment`` with its carrier filled in: as stated, or detected from the number (and the
    courier) among the installed carriers, the merchant's own aggregator first."""
    if shipment.carrier:
        return shipment
    own = (merchant.settings or {}).get("aggregator")
    preference = [own, *AGGREGATORS] if isinstance(own, str) else list(AGGREGATORS)
    try:
        carrier, courier = resolve_carrier(
            None, shipment.courier, shipment.tracking_number, installed_carriers(), preference
        )
    except CarrierNotDetected as err:
        raise InputError(
            f"no carrier given and none recognises {shipment.tracking_number!r}: name the carrier",
            field=field,
        ) from err
    return shipment.model_copy(update={"carrier": carrier, "courier": courier})


def _key(shipment_in: ShipmentIn) -> ShipmentKey:
    assert shipment_in.carrier, "with_carrier() runs first"
    return shipment_in.carrier, shipment_in.courier or "", shipment_in.tracking_number


def known_shipments(
    session: Session, merchant_id: int, shipments: Sequence[ShipmentIn], order: Order | None
) -> dict[ShipmentKey, Shipment]:
    """The merchant's stored parcels among ``shipments``; InputError if one is another order's."""
    numbers = {s.tracking_number for s in shipments}
    if not numbers:
        return {}
    stmt = select(Shipment).where(
        Shipment.merchant_id == merchant_id, col(Shipment.tracking_number).in_(numbers)
    )
    stored = {(s.carrier, s.courier, s.tracking_number): s for s in session.exec(stmt)}
    known: dict[ShipmentKey, Shipment] = {}
    for i, shipment_in in enumerate(shipments):
        found = stored.get(_key(shipment_in))
        if found is None:
            continue
        if order is None or found.order_id != order.id:
            owner = session.get(Order, found.order_id)
            raise InputError(
                f"{shipment_in.tracking_number} ({shipment_in.carrier}) already belongs to order "
                f"{owner.external_id if owner else found.order_id}",
                field=f"shipments.{i}.tracking_number",
            )
        known[_key(shipment_in)] = found
    return known


def attach(
    session: Session,
    merchant: Merchant,
    order: Order,
    shipments: Sequence[ShipmentIn],
    known: dict[ShipmentKey, Shipment],
    now: datetime,
) -> tuple[list[Shipment], bool]:
    """Insert the parcels new to us, due for a first check at once; (new ones, whether a known
    one changed)."""
    assert merchant.id is not None and order.id is not None
    touched = False
    rows: dict[ShipmentKey, dict[str, Any]] = {}
    for shipment_in in shipments:
        key = _key(shipment_in)
        if key in known:
            given = {"tracking_url": shipment_in.tracking_url, "package": shipment_in.package}
            given = {k: v for k, v in given.items() if v}
            touched = assign(known[key], given) or touched
            continue
        rows.setdefault(key, _new_shipment(merchant.id, order, shipment_in, now))
    inserted = (insert_new(session, Shipment, row, SHIPMENT_KEY) for row in rows.values())
    new_ids = [i for i in inserted if i is not None]
    if not new_ids:
        return [], touched
    new = list(session.exec(select(Shipment).where(col(Shipment.id).in_(new_ids))))
    return sorted(new, key=lambda s: s.id or 0), touched


def _new_shipment(
    merchant_id: int, order: Order, shipment_in: ShipmentIn, now: datetime
) -> dict[str, Any]:
    assert order.id is not None
    cancelled = order.status in CANCELLED_STATUSES
    row = Shipment(
        merchant_id=merchant_id,
        order_id=order.id,
        carrier=shipment_in.carrier or "",
        courier=shipment_in.courier or "",
        tracking_number=shipment_in.tracking_number,
        tracking_url=shipment_in.tracking_url,
        package=shipment_in.package,
        public_token=links.new_public_token(),
        status=Status.PENDING.value,
        next_check_at=None if cancelled else now,  # due for its first check at once
        created_at=now,
        updated_at=now,
    )
    return row.model_dump(exclude={"id"})


def set_polling(session: Session, order: Order, now: datetime) -> bool:
    """A cancelled order's parcels are not polled (nobody waits for them, and every carrier
    call costs); when the order is reinstated, its unfinished parcels are due again at once."""
    cancelled = order.status in CANCELLED_STATUSES
    changed = False
    for shipment in session.exec(select(Shipment).where(Shipment.order_id == order.id)):
        if cancelled:
            due = None
        elif shipment.status in FINAL_STATUSES:
            continue
        else:
            due = shipment.next_check_at or now
        if assign(shipment, {"next_check_at": due}):
            shipment.updated_at = now
            session.add(shipment)
            changed = True
    return changed


def announce(session: Session, party: Party, new: Sequence[Shipment], now: datetime) -> int:
    """``shipped`` for each new parcel (the first scan would fire it again: deduplicated)."""
    if party.order.status in CANCELLED_STATUSES:
        return 0
    return sum(enqueue(session, party, shipment, [Trigger("shipped")], now) for shipment in new)
