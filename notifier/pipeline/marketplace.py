"""Tracking parcels through the marketplace they were sold on, in the sweep.

Shopee, TikTok Shop and Lazada hand many parcels to their own logistics (SPX Express, J&T via
TikTok, LEX) that no carrier API of ours tracks, and they mask the buyer, so the merchant relies
on these parcels' news. Intake stores such a parcel with the marketplace's source id as its
carrier (``shopee``, ``tiktok_shop``, ``lazada``: see ``track_via_marketplace`` in
:class:`notifier.orders.parse_contract.Marketplace`) and keeps what the tracking call needs: the
order's id there (``Order.external_id``) and the marketplace's package id (``Shipment.package``).

The sweep hands those shipments here instead of to a carrier adapter. They are grouped by
(merchant, source); each group is one source built from the merchant's own settings entry, with
the tokens its order poll last saved (the sweep never renews a token: Shopee's refresh token is
good once, and only the poll saves the new pair), paced by the source's own rate. What comes
back is the sweep's :class:`~notifier.pipeline.record.Outcome`, as for any carrier:

* results, one per shipment (a parcel the marketplace will not tell about: a NOT_FOUND result);
* a refused or expired token: every shipment of the group fails (backoff), logged as an error;
* throttling or an unreachable marketplace: every shipment fails, with ``retry_after`` if given.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import structlog
from sqlmodel import select

from carriers.base import TrackingResult
from notifier import metrics
from notifier.orders.base import SourceError
from notifier.orders.poller import source_config, source_entry
from notifier.orders.schema import marketplace_trackers
from notifier.orders.signing import ParcelRef, TokenExpired
from notifier.pipeline.record import Loaded, Outcome, take_results
from notifier.plugins import load_source
from notifier.runtime import Runtime
from notifier.store.models import SourceCursor

log = structlog.get_logger(__name__)

AUTH_HINT = "the order poll renews an expired token; a revoked one needs a new authorization"


def tracked_here(carrier: str) -> bool:
    """Whether shipments of ``carrier`` are tracked through a marketplace, not an adapter."""
    return carrier in marketplace_trackers()


async def fetch(
    rt: Runtime,
    items: Sequence[Loaded],
    slots: asyncio.Semaphore,
    outcomes: dict[int, Outcome],
) -> int:
    """Ask each (merchant, marketplace) about its shipments among ``items``; fills ``outcomes``
    (one per shipment) and returns the number of groups asked."""
    groups: dict[tuple[int, str], list[Loaded]] = defaultdict(list)
    for item in items:
        groups[(item.shipment.merchant_id, item.shipment.carrier)].append(item)
    await asyncio.gather(*(_group(rt, group, slots, outcomes) for group in groups.values()))
    return len(groups)


async def _group(
    rt: Runtime, items: list[Loaded], slots: asyncio.Semaphore, outcomes: dict[int, Outcome]
) -> None:
    merchant, source_id = items[0].party.merchant, items[0].shipment.carrier
    entry = source_entry(merchant, source_id)
    if entry is None:
        _fail(items, outcomes, f"{source_id}: the merchant has no enabled {source_id} source")
        return
    try:
        source: Any = load_source(source_id)(source_config(merchant, entry))
    except (KeyError, ImportError, SourceError) as err:
        _fail(items, outcomes, f"marketplace {source_id!r} unavailable: {err}")
        return
    parcels = [
        ParcelRef(i.party.order.external_id, i.shipment.tracking_number, i.shipment.package)
        for i in items
    ]
    try:
        cursor = await asyncio.to_thread(_cursor, rt, merchant.id, source_id)
        async with slots:
            results = await _track(source, source_id, parcels, cursor, merchant.slug)
    except TokenExpired as err:
        _fail(items, outcomes, f"{err} (auth refused: {AUTH_HINT})")
        return
    except SourceError as err:
        _fail(items, outcomes, str(err), err.retry_after)
        return
    finally:
        await source.aclose()
    take_results(items, results, source_id, outcomes)


async def _track(
    source: Any, source_id: str, parcels: list[ParcelRef], cursor: str | None, slug: str
) -> list[TrackingResult]:
    """The source's answer, counted and timed as a carrier call; errors re-raised as
    SourceError (a crash becomes one, so the sweep goes on)."""
    started = time.monotonic()
    try:
        results: list[TrackingResult] = await source.track(parcels, cursor)
    except TokenExpired as err:
        metrics.CARRIER_CALLS.labels(source_id, "CarrierAuthError").inc()
        log.error("marketplace.auth_failed", merchant=slug, source=source_id, error=str(err))
        raise
    except SourceError as err:
        metrics.CARRIER_CALLS.labels(source_id, "CarrierUnavailable").inc()
        log.warning("marketplace.failed", merchant=slug, source=source_id, error=str(err))
        raise
    except Exception as err:  # a broken source must not stop the sweep
        metrics.CARRIER_CALLS.labels(source_id, "crash").inc()
        log.exception("marketplace.crashed", merchant=slug, source=source_id)
        why = f"tracking crashed: {type(err).__name__}: {err}"
        raise SourceError(why, source=source_id) from err
    finally:
        metrics.CARRIER_SECONDS.labels(source_id).observe(time.monotonic() - started)
    metrics.CARRIER_CALLS.labels(source_id, "ok").inc()
    return results


def _fail(
    items: Sequence[Loaded],
    outcomes: dict[int, Outcome],
    error: str,
    retry_after: float | None = None,
) -> None:
    for item in items:
        outcomes[item.id] = Outcome(error=error, retry_after=retry_after)


def _cursor(rt: Runtime, merchant_id: int | None, source_id: str) -> str | None:
    """The source's saved state (its tokens are there once the poll has renewed them)."""
    with rt.sessions() as session:
        row = session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant_id, SourceCursor.source == source_id
            )
        ).first()
    return row.cursor if row else None
