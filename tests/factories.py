"""Rows for tests, written straight to the store (intake has its own tests)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from carriers.base import Status, TrackingEvent, TrackingResult
from notifier.links import new_public_token
from notifier.runtime import Runtime
from notifier.store.models import Merchant, Order, Recipient, Shipment


def parcel(
    rt: Runtime,
    merchant: Merchant,
    *,
    number: str = "JX0001",
    carrier: str = "scripted",
    status: str = "pending",
    phone: str | None = "+6281234567890",
    email: str | None = "rina@example.com",
    tz: str | None = "Asia/Jakarta",
    locale: str | None = "id",
    **shipment: Any,
) -> Shipment:
    """An order for Rina with one parcel, due for polling now."""
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        rec = Recipient(
            merchant_id=merchant.id,
            name="Rina Wulandari",
            phone=phone,
            phone_kind="mobile" if phone else None,
            email=email,
            locale=locale,
            timezone=tz,
            created_at=now,
        )
        session.add(rec)
        session.flush()
        order = Order(
            merchant_id=merchant.id,
            external_id=f"o-{number}",
            order_number=f"INV/{number}",
            recipient_id=rec.id,
            status="paid",
            paid_at=now,
            total_minor=150000,
            currency="IDR",
            created_at=now,
            updated_at=now,
        )
        session.add(order)
        session.flush()
        sh = Shipment(
            merchant_id=merchant.id,
            order_id=order.id,
            carrier=carrier,
            tracking_number=number,
            public_token=new_public_token(),
            status=status,
            next_check_at=now,
            created_at=now,
            updated_at=now,
            **shipment,
        )
        session.add(sh)
    return sh


def result(
    number: str,
    status: Status,
    *events: tuple[str, Status, str],
    eta: date | None = None,
    carrier: str = "scripted",
) -> TrackingResult:
    """A carrier answer: events as (ISO time, status, description), oldest first."""
    return TrackingResult(
        carrier=carrier,
        tracking_number=number,
        status=status,
        estimated_delivery=eta,
        events=tuple(
            TrackingEvent(datetime.fromisoformat(t), s, d, "Jakarta", raw_code=s.value)
            for t, s, d in events
        ),
    )


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out
