"""The per-order digest: a merchant's choice (``settings["digest"] = true``) that the news of an
order's several parcels reaches the shopper as one message a day, not one per parcel. Pure.

Two hooks in the pipeline and one template:

1. **Hold** (:func:`notifier.pipeline.outbox.notification_rows`): a parcel's notification for a
   digest merchant (:func:`holds`) is due (``not_before`` and ``next_attempt_at``) at the next
   digest time in the shopper's zone (:func:`release_at`, ``settings["digest_at"]``, default
   18:00; quiet hours still apply after it), instead of at once. Every parcel of the order that
   changes before then is due at the very same moment. Dedupe keys do not change: each parcel's
   news is still recorded once.
2. **Merge** (:mod:`notifier.pipeline.dispatch`): an order's due rows are leased together and
   :func:`group`-ed: the rows of one order, channel, shopper and release time. Each row is
   checked first (stale news is suppressed as superseded, never merged). When more than one
   live row remains, the first is sent as the ``parcel_digest`` trigger with :func:`context`
   (every parcel's latest news) as ``digest``; once that send is ``sent`` the others are
   recorded ``suppressed`` with :func:`merged_reason`, so nothing disappears silently. If it is
   not sent they stay pending, due when the first row is due again. A group of one live row is
   sent as it is.
3. **Template** ``message_templates/parcel_digest/<channel>.<locale>.j2`` listing
   ``digest.parcels`` (each: trigger, carrier_name, tracking_number, tracking_url, status, eta,
   last_event); the sample is ``[triggers.parcel_digest]`` in ``_sample.toml``
   (:func:`sample_context`).

Order-level news (:data:`ORDER_TRIGGERS`) and the merchant's own alerts are never held.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from carriers.base import Status
from notifier import links
from notifier.alerts import is_alert
from notifier.pipeline.compose import Job, carrier_name
from notifier.store.models import Merchant
from notifier.templating import SAMPLE_FILE, Templates

DIGEST_TRIGGER = "parcel_digest"
DEFAULT_AT = time(18, 0)  # shopper-local: after most deliveries, before quiet hours (21:00)
# Triggers about the order as a whole: deduplicated per order, not per parcel (see
# outbox.dedupe_key), and never held for a digest (the shopper needs them at once).
ORDER_TRIGGERS = frozenset(
    {"order_confirmed", "feedback_request", "return_update", "refund_update"}
)


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
    return (
        enabled(merchant)
        and shipment_id is not None
        and trigger not in ORDER_TRIGGERS
        and not is_alert(trigger)
    )


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
    if not holds(job.merchant, n.shipment_id, n.trigger) or job.shipment is None:
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
    """One job per parcel, its newest news (out for delivery, then delivered: delivered), in
    the order each parcel first appears."""
    newest: dict[int | None, Job] = {}
    for job in sorted(jobs, key=lambda j: j.id):
        newest[job.notification.shipment_id] = job
    first: dict[int | None, int] = {}
    for job in jobs:
        first.setdefault(job.notification.shipment_id, job.id)
    return sorted(newest.values(), key=lambda j: first[j.notification.shipment_id])


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


def sample_context(templates: Templates, locale: str, *, minimal: bool = False) -> dict[str, Any]:
    """The template sample for ``parcel_digest`` (previews, tests): the sample order with the
    two parcels of ``[triggers.parcel_digest]`` in ``_sample.toml`` as ``digest``. ``minimal``
    leaves out what a carrier may not tell (ETAs, last scans) and the shop's optional values."""
    ctx = templates.sample_context(DIGEST_TRIGGER, locale, minimal=minimal)
    with (templates.root / SAMPLE_FILE).open("rb") as file:
        spec = tomllib.load(file)["triggers"][DIGEST_TRIGGER]
    parcels = []
    for raw in copy.deepcopy(spec["parcels"]):
        event = raw.pop("event", None)
        if event is not None:
            event = {
                "description": event.get(locale.split("-")[0]) or event["en"],
                "location": event.get("location"),
                "time": event.get("time"),
            }
        parcel = {**raw, "eta": raw.get("eta"), "last_event": event}
        if minimal:
            parcel |= {"eta": None, "last_event": None}
        parcels.append(parcel)
    ctx["digest"] = {"trigger": DIGEST_TRIGGER, "parcels": parcels, "count": len(parcels)}
    return ctx
