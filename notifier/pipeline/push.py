"""Applying a verified carrier push at once, with the same recording as a poll and no carrier call.

A push that carries the whole tracking (AfterShip, 17TRACK, EasyPost, Shippo) is recorded like
a poll's answer: the shipments it names are leased, and their new events, status and
notifications are written in one transaction by :func:`record.record_chunk`. Known events are
deduplicated by fingerprint, so a repeated push changes nothing.

A push that only names a number (the simulator, Biteship), a result without data (an error,
no status), or a result older than what is stored (a retry arriving late, a replay) makes the
shipment due at once instead: the next sweep asks the carrier, and a push never moves a
shipment backwards. Shipments the service no longer follows (a cancelled order's parcels) are
left alone; a final status is never reopened by a bare mention.

Shipments a push brought to a final status are returned in ``Applied.finished``; the caller
hands them to :func:`notifier.pipeline.finish.stop_tracking` (the web route does it after the
response is sent, so a slow aggregator never delays the carrier's webhook).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlmodel import col, select

from carriers.base import TrackingResult
from carriers.webhooks import Push
from notifier.pipeline import finish
from notifier.pipeline.poll import lease_due
from notifier.pipeline.record import Loaded, Outcome, record_chunk, to_utc
from notifier.runtime import Runtime
from notifier.store.models import Shipment

log = structlog.get_logger(__name__)

PUSHES = Counter(
    "notifier_carrier_pushes_total", "Carrier push webhooks by outcome", ["carrier", "outcome"]
)
FINAL = tuple(finish.FINAL_VALUES)


@dataclass
class Applied:
    """What a push did: shipments recorded from it, made due, or busy (leased by a sweep right
    now: the carrier should retry), the numbers nobody here tracks, and the shipments it brought
    to a final status (for :func:`finish.stop_tracking`, once the response is out)."""

    recorded: int = 0
    due_now: int = 0
    busy: int = 0
    ignored: int = 0
    unknown: list[str] = field(default_factory=list)
    new_events: int = 0
    notifications: int = 0
    finished: list[Any] = field(default_factory=list)


def key(number: str) -> str:
    """Numbers are stored without spaces, upper case (intake normalizes them so)."""
    return "".join(number.split()).upper()


def _usable(result: TrackingResult) -> bool:
    return bool(result.tracking_number) and result.error is None and result.status is not None


async def apply(rt: Runtime, push: Push) -> Applied:
    """Record or schedule every shipment the push names (see the module docstring)."""
    full = {key(r.tracking_number): r for r in push.results if _usable(r)}
    bare = {key(m.number) for m in push.mentions}
    bare |= {key(r.tracking_number) for r in push.results if r.tracking_number} - full.keys()
    rows = await asyncio.to_thread(_find, rt, push.carrier, full.keys() | bare)
    out = Applied(unknown=sorted((full.keys() | bare) - {r.tracking_number for r in rows}))
    followed = [r for r in rows if r.next_check_at is not None or r.status in FINAL]
    out.ignored = len(rows) - len(followed)
    to_record = [r.id for r in followed if r.tracking_number in full]
    to_check = [r.id for r in followed if r.tracking_number not in full]
    if to_record:
        await _record(rt, to_record, full, out)
    if to_check:
        out.due_now += await asyncio.to_thread(_due_now, rt, to_check, rt.clock.now())
    if out.unknown:
        log.info("push.unknown_numbers", carrier=push.carrier, numbers=out.unknown[:10])
    return out


async def _record(
    rt: Runtime, ids: list[int], full: dict[str, TrackingResult], out: Applied
) -> None:
    now = rt.clock.now()
    chunk = await asyncio.to_thread(lease_due, rt, now, len(ids), col(Shipment.id).in_(ids))
    out.busy = len(ids) - len(chunk)
    fresh = [item for item in chunk if not _stale(item, full[item.shipment.tracking_number])]
    stale = sorted({item.id for item in chunk} - {item.id for item in fresh})
    outcomes = {item.id: Outcome(result=full[item.shipment.tracking_number]) for item in fresh}
    if fresh:
        done = await asyncio.to_thread(record_chunk, rt, fresh, outcomes, now)
        out.recorded, out.new_events = len(fresh), done.new_events
        out.notifications = done.notifications
    if stale:
        out.due_now += await asyncio.to_thread(_due_now, rt, stale, now, rt.worker)
    out.finished = finish.newly_final(fresh, outcomes)


def _stale(item: Loaded, result: TrackingResult) -> bool:
    """The pushed tracking is older than what is stored: its newest scan predates ours."""
    stored = item.shipment.last_event_at
    if stored is None:
        return False
    times = [t for t in (to_utc(e.time, item.party.tz) for e in result.events) if t is not None]
    if not times:  # no scan at all is older than ours; untimed scans cannot be judged
        return not result.events
    return max(times) < stored


def _find(rt: Runtime, carrier: str, numbers: Collection[str]) -> Sequence[Any]:
    if not numbers:
        return []
    stmt = select(
        col(Shipment.id),
        col(Shipment.tracking_number),
        col(Shipment.status),
        Shipment.next_check_at,
    ).where(col(Shipment.carrier) == carrier, col(Shipment.tracking_number).in_(list(numbers)))
    with rt.sessions() as session:
        return session.execute(stmt).all()


def _due_now(rt: Runtime, ids: list[int], now: datetime, owner: str | None = None) -> int:
    """Make still-followed shipments due at once; give back the leases ``owner`` holds."""
    due = (
        sa.update(Shipment)
        .where(
            col(Shipment.id).in_(ids),
            col(Shipment.status).not_in(FINAL),
            col(Shipment.next_check_at).is_not(None),
            col(Shipment.next_check_at) > now,
        )
        .values(next_check_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    with rt.sessions() as session, session.begin():
        changed = session.execute(due).rowcount  # type: ignore[attr-defined]
        if owner is not None:
            session.execute(
                sa.update(Shipment)
                .where(col(Shipment.id).in_(ids), col(Shipment.lease_owner) == owner)
                .values(lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
    return int(changed)
