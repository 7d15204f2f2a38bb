"""The tracking sweep: lease due shipments, ask their carriers, record what changed.

One chunk at a time: lease (one statement), fetch every carrier batch of the chunk concurrently
(within the sweep's concurrency and each adapter's own rate limit and batch size), then write the
chunk's new events, shipment updates and notifications in one transaction (:mod:`.record`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import col, select

from carriers.base import ErrorKind, TrackingResult
from carriers.errors import CarrierAuthError, CarrierError
from notifier import metrics
from notifier.pipeline import finish
from notifier.pipeline.outbox import Party, merchant_prefs
from notifier.pipeline.record import Loaded, Outcome, record_chunk
from notifier.runtime import Runtime
from notifier.store.lease import lease
from notifier.store.models import Merchant, Order, Recipient, Shipment

log = structlog.get_logger(__name__)


@dataclass
class SweepStats:
    shipments: int = 0
    calls: int = 0
    failures: int = 0
    new_events: int = 0
    notifications: int = 0
    seconds: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)


async def sweep(rt: Runtime, *, limit: int | None = None) -> SweepStats:
    """Check every due shipment once; returns what was done. ``limit`` caps shipments."""
    stats = SweepStats()
    started = time.monotonic()
    size = rt.settings.poll.chunk_size
    # Only what was due when the sweep began: a shipment checked in this sweep is due again
    # later than that, so no sweep runs forever or sees a shipment twice.
    due = due_by(rt.clock.now())
    while limit is None or stats.shipments < limit:
        take = size if limit is None else min(size, limit - stats.shipments)
        chunk = await asyncio.to_thread(lease_due, rt, rt.clock.now(), take, due)
        if not chunk:
            break
        outcomes = await fetch_chunk(rt, chunk, stats)
        result = await asyncio.to_thread(record_chunk, rt, chunk, outcomes, rt.clock.now())
        await finish.stop_tracking(rt, finish.newly_final(chunk, outcomes))  # save the quota
        stats.shipments += len(chunk)
        stats.new_events += result.new_events
        stats.notifications += result.notifications
        for status, count in result.by_status.items():
            stats.by_status[status] = stats.by_status.get(status, 0) + count
        if len(chunk) < take:
            break
    stats.seconds = time.monotonic() - started
    if stats.shipments:
        log.info("sweep.done", **{k: v for k, v in vars(stats).items() if k != "by_status"})
    return stats


def due_by(moment: datetime) -> sa.ColumnElement[bool]:
    """Shipments whose next check is at or before ``moment``."""
    return sa.and_(col(Shipment.next_check_at).is_not(None), col(Shipment.next_check_at) <= moment)


def lease_due(
    rt: Runtime, now: datetime, limit: int, due: sa.ColumnElement[bool] | None = None
) -> list[Loaded]:
    """Lease up to ``limit`` shipments matching ``due`` (default: due now) and load them."""
    until = now + rt.span(rt.settings.poll.lease)
    if due is None:
        due = due_by(now)
    with rt.sessions() as session, session.begin():
        ids = lease(
            session,
            Shipment,
            due=due,
            order_by=[Shipment.id],
            limit=limit,
            owner=rt.worker,
            until=until,
            now=now,
        )
        return load(session, rt, ids)


def load(session: object, rt: Runtime, ids: Sequence[int]) -> list[Loaded]:
    """Shipments with their order, merchant and shopper, in one query."""
    if not ids:
        return []
    stmt = (
        select(Shipment, Order, Merchant, Recipient)
        .join(Order, col(Shipment.order_id) == col(Order.id))
        .join(Merchant, col(Shipment.merchant_id) == col(Merchant.id))
        .outerjoin(Recipient, col(Order.recipient_id) == col(Recipient.id))
        .where(col(Shipment.id).in_(ids))
    )
    prefs: dict[int, object] = {}
    out = []
    for shipment, order, merchant, recipient in session.execute(stmt):  # type: ignore[attr-defined]
        if merchant.id not in prefs:
            prefs[merchant.id] = merchant_prefs(rt.settings.notify, merchant)
        party = Party(merchant, prefs[merchant.id], order, recipient)  # type: ignore[arg-type]
        out.append(Loaded(shipment, party))
    return out


async def fetch_chunk(
    rt: Runtime, chunk: Sequence[Loaded], stats: SweepStats
) -> dict[int, Outcome]:
    """Ask the carriers about every shipment of the chunk; one outcome per shipment id."""
    groups: dict[tuple[str, str], list[Loaded]] = defaultdict(list)
    for item in chunk:
        groups[(item.shipment.carrier, item.shipment.courier)].append(item)
    slots = asyncio.Semaphore(rt.settings.poll.concurrency)
    outcomes: dict[int, Outcome] = {}
    tasks = []
    for (carrier, courier), items in groups.items():
        try:
            adapter = rt.carriers.get(carrier)
        except (KeyError, ImportError) as err:
            for item in items:
                outcomes[item.id] = Outcome(error=f"carrier {carrier!r} unavailable: {err}")
            continue
        size = max(1, adapter.batch_size)
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            tasks.append(
                _fetch_batch(rt, adapter, carrier, courier or None, batch, slots, outcomes)
            )
    await asyncio.gather(*tasks)
    stats.calls += len(tasks)
    stats.failures += sum(1 for o in outcomes.values() if o.error)
    return outcomes


async def _fetch_batch(
    rt: Runtime,
    adapter: object,
    carrier: str,
    courier: str | None,
    batch: Sequence[Loaded],
    slots: asyncio.Semaphore,
    outcomes: dict[int, Outcome],
) -> None:
    numbers = [item.shipment.tracking_number for item in batch]
    async with slots:
        started = time.monotonic()
        try:
            results: list[TrackingResult] = await adapter.fetch(numbers, courier)  # type: ignore[attr-defined]
        except CarrierError as err:
            metrics.CARRIER_CALLS.labels(carrier, type(err).__name__).inc()
            level = log.error if isinstance(err, CarrierAuthError) else log.warning
            level("carrier.failed", carrier=carrier, numbers=len(numbers), error=str(err))
            retry_after = getattr(err, "retry_after", None)
            for item in batch:
                outcomes[item.id] = Outcome(error=str(err), retry_after=retry_after)
            return
        except Exception as err:  # a broken adapter must not stop the sweep
            metrics.CARRIER_CALLS.labels(carrier, "crash").inc()
            log.exception("carrier.crashed", carrier=carrier, numbers=len(numbers))
            for item in batch:
                outcomes[item.id] = Outcome(error=f"adapter crashed: {type(err).__name__}: {err}")
            return
        finally:
            metrics.CARRIER_SECONDS.labels(carrier).observe(time.monotonic() - started)
    refused = bool(results) and all(r.error and r.error.kind is ErrorKind.AUTH for r in results)
    if refused:  # a bad key answered in the body: as serious as a 401
        metrics.CARRIER_CALLS.labels(carrier, "CarrierAuthError").inc()
        log.error("carrier.failed", carrier=carrier, numbers=len(numbers), error="auth refused")
    else:
        metrics.CARRIER_CALLS.labels(carrier, "ok").inc()
    for item, result in zip(batch, results, strict=False):
        outcomes[item.id] = Outcome(result=result)
    for item in batch[len(results) :]:  # an adapter that broke the one-result-per-number rule
        outcomes[item.id] = Outcome(error="carrier returned no result for this number")
