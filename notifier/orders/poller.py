"""The scheduler job that polls every merchant's order sources.

For each merchant whose ``settings["sources"]`` lists ``{"id": "<source id>", ...config}``, the
source is loaded from its entry point, polled from its saved cursor, and every order it returns
is ingested (in batched transactions); then the cursor is saved and the page acknowledged (see
:mod:`notifier.orders.base` for why in that order). A source that fails, or a merchant whose
settings are wrong, is logged, counted and recorded as that source's ``last_error``; the others
go on.

On PostgreSQL, replicas running the same job at once do not poll the same source twice: each
(merchant, source) is polled under a session advisory lock, and a replica that cannot take it
skips that source for this run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import col, select

from notifier import metrics
from notifier.errors import InputError
from notifier.orders import intake
from notifier.orders.base import OrderSource, Rejected, SourceError, SourcePage
from notifier.orders.importer import ImportSummary, Record, batches, store_batch
from notifier.orders.parse_contract import Marketplace, StoreOrder, page_orders
from notifier.orders.schema import marketplace_trackers
from notifier.pipeline.outbox import merchant_prefs
from notifier.plugins import load_source
from notifier.runtime import Runtime
from notifier.store.lease import insert_ignoring
from notifier.store.models import Merchant, ProviderEvent, SourceCursor

log = structlog.get_logger(__name__)

MAX_PAGES = 50  # pages per source per run; the rest waits for the next run
BATCH_ORDERS = 200  # orders ingested per transaction
ERROR_CHARS = 1000  # SourceCursor.last_error


@dataclass
class PollStats:
    sources: int = 0
    failed: int = 0
    skipped: int = 0  # held by another replica
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0
    notifications: int = 0
    errors: list[str] = field(default_factory=list)


async def poll_sources(rt: Runtime) -> dict[str, Any]:
    """Poll every configured source of every merchant once; returns the counts."""
    stats = PollStats()
    for merchant in await asyncio.to_thread(_merchants, rt):
        for entry in _entries(merchant):
            stats.sources += 1
            await _poll_guarded(rt, merchant, entry, stats)
    if stats.sources:
        log.info("sources.polled", **{k: v for k, v in vars(stats).items() if k != "errors"})
    return {k: v for k, v in vars(stats).items() if k != "errors"} | {"errors": stats.errors[:20]}


def _merchants(rt: Runtime) -> list[Merchant]:
    with rt.sessions() as session:
        merchants = session.exec(select(Merchant).order_by(col(Merchant.id))).all()
    return [m for m in merchants if (m.settings or {}).get("sources")]


def _entries(merchant: Merchant) -> list[Mapping[str, Any]]:
    entries = (merchant.settings or {}).get("sources")
    if not isinstance(entries, list):
        return [{"id": "?", "_invalid": 'settings "sources" must be a list of {"id": ...}'}]
    out: list[Mapping[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            out.append({"id": "?", "_invalid": f"source entry {entry!r} has no id"})
        elif entry.get("enabled", True):
            out.append(entry)
    return out


async def _poll_guarded(
    rt: Runtime, merchant: Merchant, entry: Mapping[str, Any], stats: PollStats
) -> None:
    """One source of one merchant; whatever it raises stays here (a stage boundary)."""
    source_id = str(entry["id"])
    try:
        async with exclusive(rt, merchant, source_id) as mine:
            if not mine:
                stats.skipped += 1
                return
            await poll_one(rt, merchant, entry, stats)
    except Exception as err:  # one source never stops the others
        message = str(err) if isinstance(err, SourceError) else f"{type(err).__name__}: {err}"
        stats.failed += 1
        stats.errors.append(f"{merchant.slug}/{source_id}: {message}")
        metrics.INTAKE.labels(source=source_id, outcome="error").inc()
        log.warning("sources.failed", merchant=merchant.slug, source=source_id, error=message)
        if source_id != "?":
            await asyncio.to_thread(_save, rt, merchant, source_id, None, message, keep=True)


def source_config(merchant: Merchant, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry without ``id``/``enabled``, plus the merchant-wide keys sources may use
    (``aggregator``: which carriers track the store's couriers; ``country``: for phones)."""
    config = {k: v for k, v in entry.items() if k not in ("id", "enabled")}
    config.setdefault("aggregator", (merchant.settings or {}).get("aggregator"))
    config.setdefault("country", merchant.country)
    return config


async def poll_one(
    rt: Runtime,
    merchant: Merchant,
    entry: Mapping[str, Any],
    stats: PollStats,
    *,
    start: str | None = None,
    max_pages: int = MAX_PAGES,
    on_page: Callable[[SourcePage], None] | None = None,
) -> None:
    """Poll one source until it has no more pages (at most ``max_pages``); raises what it
    raises. ``start`` replaces the saved cursor (``sources sync --since``); ``on_page`` sees
    each page once it is stored."""
    if "_invalid" in entry:
        raise ValueError(entry["_invalid"])
    source_id = str(entry["id"])
    source: OrderSource = load_source(source_id)(source_config(merchant, entry))
    try:
        cursor = start or await asyncio.to_thread(_cursor, rt, merchant, source_id)
        for _ in range(max_pages):
            page = await source.poll(cursor, rt.clock.now())
            rejected = await asyncio.to_thread(store_page, rt, merchant, source_id, page, stats)
            await source.ack(page.next_cursor, rejected)
            if on_page is not None:
                on_page(page)
            cursor = page.next_cursor
            if not page.more:
                break
    finally:
        await source.aclose()


def store_page(
    rt: Runtime, merchant: Merchant, source_id: str, page: SourcePage, stats: PollStats
) -> list[Rejected]:
    """Ingest a page's orders in batches, then save its cursor and problems; the rejects."""
    prefs = merchant_prefs(rt.settings.notify, merchant)
    summary = ImportSummary(source_id, "jsonl")
    records = [Record([i], order) for i, order in enumerate(page.orders)]
    for batch in batches(records, BATCH_ORDERS):
        store_batch(rt, merchant, prefs, batch, summary, source=source_id)
    metrics.INTAKE.labels(source=source_id, outcome="rejected").inc(len(page.errors))
    rejected = [
        Rejected(i, page.orders[i].external_id, f, reason) for i, f, reason in summary.errors
    ]
    problems = page.errors + [f"order {r.external_id}: {r.field}: {r.reason}" for r in rejected]
    error = None
    if problems:
        error = f"{len(problems)} order(s) rejected; first: {problems[0]}"
    elif page.warnings:  # stored, with a parcel or a contact left out: say what and why
        error = f"{len(page.warnings)} warning(s); first: {page.warnings[0]}"
    if page.warnings:
        log.info("sources.warnings", merchant=merchant.slug, source=source_id, n=len(page.warnings))
    _save(rt, merchant, source_id, page.next_cursor, error)
    stats.pages += 1
    stats.rejected += summary.rejected + len(page.errors)
    stats.warnings += len(page.warnings)
    for name in ("created", "updated", "unchanged", "notifications"):
        setattr(stats, name, getattr(stats, name) + getattr(summary, name))
    return rejected


def _cursor(rt: Runtime, merchant: Merchant, source_id: str) -> str | None:
    with rt.sessions() as session:
        row = session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == source_id
            )
        ).first()
    return row.cursor if row else None


def _save(
    rt: Runtime,
    merchant: Merchant,
    source_id: str,
    cursor: str | None,
    error: str | None,
    *,
    keep: bool = False,
) -> None:
    """Record a run: the new cursor (``keep``: leave the cursor as it was) and its last error."""
    with rt.sessions() as session, session.begin():
        key = {"merchant_id": merchant.id, "source": source_id}
        insert_ignoring(session, SourceCursor, [key], ["merchant_id", "source"])
        row = session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == source_id
            )
        ).one()
        if not keep:
            row.cursor = cursor[:500] if cursor else cursor
        row.last_run_at = rt.clock.now()
        row.last_error = error[:ERROR_CHARS] if error else None
        session.add(row)


@asynccontextmanager
async def exclusive(rt: Runtime, merchant: Merchant, source_id: str) -> AsyncIterator[bool]:
    """Whether this process may poll the source now (always, on SQLite: one process)."""
    if rt.engine.dialect.name != "postgresql":
        yield True
        return
    conn = await asyncio.to_thread(rt.engine.connect)
    try:
        # Advisory locks are database-wide: the schema keeps two deployments (or two test
        # schemas) of one database from holding each other's merchant 1.
        schema = await asyncio.to_thread(_schema, conn)
        name = f"order-source:{schema}:{merchant.id}:{source_id}"
        key = int.from_bytes(
            hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
        )
        got = await asyncio.to_thread(_lock, conn, "pg_try_advisory_lock", key)
        try:
            yield bool(got)
        finally:
            if got:
                await asyncio.to_thread(_lock, conn, "pg_advisory_unlock", key)
    finally:
        await asyncio.to_thread(conn.close)


def _schema(conn: sa.Connection) -> str:
    value = conn.execute(sa.text("select current_schema()")).scalar()
    conn.commit()
    return str(value)


def _lock(conn: sa.Connection, function: str, key: int) -> Any:
    value = conn.execute(sa.select(getattr(sa.func, function)(key))).scalar()
    conn.commit()  # the lock is the session's: no transaction is left open while polling
    return value


# --------------------------------------------------------------------------- pushed orders


@dataclass
class Received:
    """What one store webhook did."""

    replay: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # about an order we do not have and cannot create (no contact): polled later
    notifications: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def source_entry(merchant: Merchant, source_id: str) -> Mapping[str, Any] | None:
    """The merchant's enabled settings entry for ``source_id``, if any."""
    return next((e for e in _entries(merchant) if e.get("id") == source_id), None)


def receive(
    rt: Runtime,
    merchant: Merchant,
    source_id: str,
    event_ids: list[str],
    stores: list[StoreOrder],
) -> Received:
    """Store the orders a verified webhook carried, once per event: the event ids are claimed
    (``provider_event``) in the same transaction as the orders, so a crash lets the store's
    retry through and a replay changes nothing. A fragment about an order we do not have and
    that names no shopper (a refund, a return) is skipped: the next poll brings the order."""
    entry = source_entry(merchant, source_id) or {"id": source_id}
    config = source_config(merchant, entry)
    market = None
    if source_id in marketplace_trackers():  # as the poll does (signing.MarketplaceSource)
        market = Marketplace.of(source_id, config.get("track_via_marketplace"))
    orders, errors, warnings = page_orders(
        stores, aggregator=config.get("aggregator"), country=config.get("country"), market=market
    )
    done = Received(errors=errors, warnings=warnings)
    prefs = merchant_prefs(rt.settings.notify, merchant)
    assert merchant.id is not None
    with rt.sessions() as session, session.begin():
        now = rt.clock.now()
        rows = [{"provider": source_id, "event_id": e[:200], "received_at": now} for e in event_ids]
        conflict = ["provider", "event_id"]
        new = insert_ignoring(session, ProviderEvent, rows, conflict, [ProviderEvent.id])
        if len(new) < len(rows):
            done.replay = True
            return done
        for order in orders:
            known = intake.find_order(session, merchant.id, order.external_id)
            if known is None and not (order.customer.email or order.customer.phone):
                done.skipped += 1
                continue
            try:
                result = intake.ingest(session, merchant, prefs, order, now, source=source_id)
            except InputError as err:  # raised before any write of that order
                done.errors.append(f"order {order.external_id}: {err.field}: {err}")
                continue
            setattr(done, result.outcome, getattr(done, result.outcome) + 1)
            done.notifications += result.notifications
            done.warnings += [f"order {order.external_id}: {w}" for w in result.warnings]
    for outcome in ("created", "updated", "unchanged"):
        intake.count(source_id, outcome, getattr(done, outcome))
    intake.count(source_id, "rejected", len(done.errors))
    return done
