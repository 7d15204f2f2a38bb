"""The per-order digest: a merchant's choice (``settings["digest"] = true``) that the news of an
order's several parcels reaches the shopper as one message a day, not one per parcel. Pure.

The design needs two small hooks in the pipeline and one template, nothing else:

1. **Hold** (``pipeline/outbox.py``, where rows are built): a parcel's notification for a digest
   merchant (:func:`holds`) is due at the next digest time in the shopper's zone
   (:func:`release_at`, ``settings["digest_at"]``, default 18:00) instead of at once. Every
   parcel of the order that changes before then is due at the very same moment. Dedupe keys do
   not change: each parcel's news is still recorded once.
2. **Merge** (``pipeline/dispatch.py``, after leasing): leased rows of one order, channel,
   shopper and release time form one digest (:func:`group`). The first row is sent as the
   ``parcel_digest`` trigger with :func:`context` (every parcel's latest news; news superseded
   by a later one of the same parcel is left out); the others are recorded ``suppressed`` with
   :func:`merged_reason`, so nothing disappears silently. A group of one is sent as it is.
3. **Template** ``message_templates/parcel_digest/<channel>.<locale>.j2`` listing
   ``digest.parcels`` (each: trigger, carrier_name, tracking_number, tracking_url, status, eta,
   last_event).

Order-level news (order_confirmed, return_update, refund_update, feedback_request) is never held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from carriers.base import Status
from notifier import links
from notifier.pipeline.compose import Job, carrier_name
from notifier.pipeline.detect import SUPERSEDED_BY
from notifier.pipeline.outbox import ORDER_TRIGGERS
from notifier.store.models import Merchant

DIGEST_TRIGGER = "parcel_digest"
DEFAULT_AT = time(18, 0)  # shopper-local: after most deliveries, before quiet hours (21:00)


def enabled(merchant: Merchant) -> bool:
    """Whether the merchant chose the per-order digest."""
    return (merchant.settings or {}).get("digest") is True


def digest_time(merchant: Merchant) -> time:
    """The merchant's daily digest time (``settings["digest_at"]``, "HH:MM"), else 18:00."""
    raw = (merchant.settings or {}).get("digest_at")
    try:
        return time.fromisoformat(str(raw)) if raw else DEFAULT_AT
    except ValueError:
        return DEFAULT_AT


def holds(merchant: Merchant, shipment_id: int | None, trigger: str) -> bool:
    """Whether this notification waits for the order's digest (a parcel's news, digest on)."""
    return enabled(merchant) and shipment_id is not None and trigger not in ORDER_TRIGGERS


def release_at(now: datetime, zone: tzinfo, at: time = DEFAULT_AT) -> datetime:
    """The next digest time after ``now`` in ``zone`` (today's, or tomorrow's once it passed),
    in UTC. News of one period (from one digest time to the next) shares it."""
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), at, tzinfo=zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return due.astimezone(UTC)


def _key(job: Job) -> tuple[Any, ...]:
    n = job.notification
    if not enabled(job.merchant) or job.shipment is None or n.trigger in ORDER_TRIGGERS:
        return ("alone", n.id)
    return ("digest", n.order_id, n.channel, n.recipient_id, n.not_before)


def group(jobs: Sequence[Job]) -> list[list[Job]]:
    """Leased jobs in digests: the rows of one order, channel, shopper and release time
    together (oldest row first), every other job alone; in the order they came."""
    groups: dict[tuple[Any, ...], list[Job]] = {}
    for job in jobs:
        groups.setdefault(_key(job), []).append(job)
    return [sorted(g, key=lambda j: j.id) for g in groups.values()]


def latest(jobs: Sequence[Job]) -> list[Job]:
    """Per parcel, the news still worth telling: a trigger superseded by another trigger of
    the same parcel in the digest is dropped (out for delivery, then delivered: delivered)."""
    out: list[Job] = []
    told: set[tuple[int | None, str]] = set()
    for job in jobs:
        parcel, trigger = job.notification.shipment_id, job.notification.trigger
        same = {j.notification.trigger for j in jobs if j.notification.shipment_id == parcel}
        if same & SUPERSEDED_BY.get(trigger, frozenset()) or (parcel, trigger) in told:
            continue
        told.add((parcel, trigger))
        out.append(job)
    return out


def context(jobs: Sequence[Job], *, public_url: str) -> dict[str, Any]:
    """``digest`` for the template: every parcel's latest news, in the order of the rows."""
    parcels = []
    for job in latest(jobs):
        sh, ev = job.shipment, job.last_event
        assert sh is not None
        parcels.append(
            {
                "trigger": job.notification.trigger,
                "carrier_name": carrier_name(sh.carrier, sh.courier),
                "tracking_number": sh.tracking_number,
                "tracking_url": links.tracking_url(public_url, sh.public_token),
                "status": Status(sh.status).value,
                "eta": sh.eta,
                "last_event": (
                    {"description": ev.description, "location": ev.location, "time": ev.time}
                    if ev
                    else None
                ),
            }
        )
    return {"trigger": DIGEST_TRIGGER, "parcels": parcels, "count": len(parcels)}


def merged_reason(head: Job) -> str:
    """What a row merged into a digest records as its reason (state ``suppressed``)."""
    return f"merged into digest notification {head.id}"
