"""The delay scan: notice lateness that needs no carrier call (an ETA that passed, a parcel that
stopped moving) between polls. Candidates are found in SQL with the loosest thresholds; detect()
judges each with its merchant's own rules and time zone."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from notifier.pipeline.detect import DELAY_STATUSES, PICKUP_STATUSES
from notifier.pipeline.poll import lease_due
from notifier.pipeline.record import Outcome, record_chunk
from notifier.runtime import Runtime
from notifier.store.models import Shipment

SHORTEST_STALL = timedelta(hours=12)  # no merchant sets a stall gap below this


def candidates(now: datetime) -> sa.ColumnElement[bool]:
    """Shipments that may have become late, not yet looked at since ``now``."""
    yesterday = (now - timedelta(days=1)).date()
    quiet_since = now - SHORTEST_STALL
    return sa.and_(
        col(Shipment.updated_at) < now,  # one look per scan: recording sets updated_at
        col(Shipment.status).in_([s.value for s in DELAY_STATUSES]),
        col(Shipment.delay_open).is_(False),
        sa.or_(
            col(Shipment.eta) < yesterday,
            col(Shipment.last_event_at) < quiet_since,
            sa.and_(
                col(Shipment.status).in_([s.value for s in PICKUP_STATUSES]),
                col(Shipment.last_event_at).is_(None),
                col(Shipment.created_at) < quiet_since,
            ),
        ),
    )


async def scan(rt: Runtime, *, chunk: int = 500) -> int:
    """Run detection on every candidate with no new events; returns notifications created."""
    created, started = 0, rt.clock.now()
    while True:
        now = rt.clock.now()
        leased = await asyncio.to_thread(lease_due, rt, now, chunk, candidates(started))
        if not leased:
            return created
        nothing = {item.id: Outcome() for item in leased}
        result = await asyncio.to_thread(record_chunk, rt, leased, nothing, now)
        created += result.notifications
