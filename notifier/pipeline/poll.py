"""The tracking sweep: lease due shipments, ask their carriers, record what changed.

One chunk at a time: lease (one statement), fetch every carrier batch of the chunk concurrently
(within the sweep's concurrency and each adapter's own rate limit and batch size), then write the
chunk's new events, shipment updates and notifications in one transaction (:mod:`.record`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col

from carriers.base import ErrorKind, TrackingResult
from carriers.errors import CarrierAuthError, CarrierError
from notifier import metrics
from notifier.pipeline import finish, gauges, marketplace
from notifier.pipeline.outbox import Party, merchant_prefs
from notifier.pipeline.record import Loaded, Outcome, Recorded, record_chunk, take_results
from notifier.runtime import Runtime
from notifier.settings import NotifyDefaults
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
    """Check every due shipment once; returns what was done. ``limit`` caps shipments.

    Chunks overlap: the next chunk is leased and its carrier calls are in flight while the
    current chunk is written, so the carriers and the database work at the same time.
    """
    stats = SweepStats()
    started = time.monotonic()
    # Only what was due when the sweep began: a shipment checked in this sweep is due again
    # later than that, so no sweep runs forever or sees a shipment twice.
    due = due_by(rt.clock.now())
    await asyncio.to_thread(measure_lag, rt)
    pending = _Chunks(rt, due, limit)
    chunk = await pending.lease()
    fetching = _start(rt, chunk, stats)
    try:
        while chunk:
            outcomes = await fetching
            following = await pending.lease() if pending.more else []
            fetching = _start(rt, following, stats)
            now = rt.clock.now()
            result = await asyncio.to_thread(record_chunk, rt, chunk, outcomes, now)
            final = finish.newly_final(chunk, outcomes)
            final = [s for s in final if not marketplace.tracked_here(s.carrier)]  # no stop call
            await finish.stop_tracking(rt, final)  # save quota
            _count(stats, len(chunk), result)
            chunk = following
    finally:
        fetching.cancel()  # only if recording failed: those leases simply expire
    stats.seconds = time.monotonic() - started
    if stats.shipments:
        await asyncio.to_thread(measure_lag, rt)
        log.info("sweep.done", **{k: v for k, v in vars(stats).items() if k != "by_status"})
    return stats


def measure_lag(rt: Runtime) -> float:
    """Set the sweep-lag gauge: how overdue the most overdue shipment is, in seconds."""
    with rt.sessions() as session:
        oldest = gauges.oldest_due(session)
    lag = metrics.lag_seconds(oldest, rt.clock.now())
    metrics.SWEEP_LAG.set(lag)
    return lag


class _Chunks:
    """Leases the sweep's chunks one after another, within ``limit``."""

    def __init__(self, rt: Runtime, due: sa.ColumnElement[bool], limit: int | None) -> None:
        self.rt, self.due, self.limit = rt, due, limit
        self.taken = 0
        self.more = True

    async def lease(self) -> list[Loaded]:
        size = self.rt.settings.poll.chunk_size
        take = size if self.limit is None else min(size, self.limit - self.taken)
        if take <= 0:
            self.more = False
            return []
        chunk = await asyncio.to_thread(lease_due, self.rt, self.rt.clock.now(), take, self.due)
        self.taken += len(chunk)
        self.more = len(chunk) == take
        return chunk


def _start(
    rt: Runtime, chunk: Sequence[Loaded], stats: SweepStats
) -> asyncio.Future[dict[int, Outcome]]:
    if not chunk:
        done: asyncio.Future[dict[int, Outcome]] = asyncio.get_running_loop().create_future()
        done.set_result({})
        return done
    return asyncio.ensure_future(fetch_chunk(rt, chunk, stats))


def _count(stats: SweepStats, shipments: int, result: Recorded) -> None:
    metrics.SWEPT.inc(shipments)
    stats.shipments += shipments
    stats.new_events += result.new_events
    stats.notifications += result.notifications
    for status, count in result.by_status.items():
        stats.by_status[status] = stats.by_status.get(status, 0) + count


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


def load(session: Session, rt: Runtime, ids: Sequence[int]) -> list[Loaded]:
    """The leased shipments with their order, merchant and shopper.

    Shipments, orders and shoppers are read as plain rows (read-only, the same attribute names
    as the models): building ORM objects for them was a tenth of the sweep's time. Merchants,
    a handful per chunk, are ORM objects, read once each.
    """
    if not ids:
        return []
    conn = session.connection()
    shipments = conn.execute(sa.select(_table(Shipment)).where(_table(Shipment).c.id.in_(ids)))
    rows = shipments.all()
    orders = _by_id(conn, Order, {r.order_id for r in rows})
    recipients = _by_id(conn, Recipient, {o.recipient_id for o in orders.values()} - {None})
    merchants = {
        m.id: m
        for m in session.scalars(
            sa.select(Merchant).where(col(Merchant.id).in_({r.merchant_id for r in rows}))
        )
    }
    parties: dict[int, NotifyDefaults] = {}
    out = []
    for row in rows:
        merchant, order = merchants[row.merchant_id], orders[row.order_id]
        if merchant.id not in parties:
            parties[row.merchant_id] = merchant_prefs(rt.settings.notify, merchant)
        recipient = recipients.get(order.recipient_id)
        party = Party(merchant, parties[row.merchant_id], cast(Order, order), recipient)
        out.append(Loaded(cast(Shipment, row), party))
    return out


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def _by_id(conn: sa.Connection, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    table = _table(model)
    return {row.id: row for row in conn.execute(sa.select(table).where(table.c.id.in_(ids)))}


async def fetch_chunk(
    rt: Runtime, chunk: Sequence[Loaded], stats: SweepStats
) -> dict[int, Outcome]:
    """Ask the carriers about every shipment of the chunk; one outcome per shipment id.

    Parcels tracked through their marketplace go to :mod:`.marketplace`, the others to their
    carrier's adapter, all at once within the sweep's concurrency."""
    groups: dict[tuple[str, str], list[Loaded]] = defaultdict(list)
    via_marketplace = []
    for item in chunk:
        if marketplace.tracked_here(item.shipment.carrier):
            via_marketplace.append(item)
        else:
            groups[(item.shipment.carrier, item.shipment.courier)].append(item)
    slots = asyncio.Semaphore(rt.settings.poll.concurrency)
    outcomes: dict[int, Outcome] = {}
    tasks: list[Coroutine[Any, Any, Any]] = []
    if via_marketplace:
        tasks.append(marketplace.fetch(rt, via_marketplace, slots, outcomes))
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
    calls = await asyncio.gather(*tasks)  # a carrier batch is one call; marketplaces count
    stats.calls += sum(1 if n is None else n for n in calls)
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
    take_results(batch, results, carrier, outcomes)
