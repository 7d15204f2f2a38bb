"""Sending due notifications: lease, check, render, send, record.

A row is leased (state ``sending``, one attempt row written) before the provider is called and
marked after, so only a crash inside the provider call itself can repeat a send; such an attempt
stays without an outcome, which is how the repeat window is counted. Transient errors retry with
exponential backoff and full jitter up to ``max_attempts``, then the row is ``dead``; permanent
errors fail at once with the reason; an auth failure pauses the sender and keeps the message.

Verdicts are recorded as they come, a few at a time, not after the whole batch, and a status
callback that overtook its send is kept, not overwritten (:mod:`notifier.pipeline.verdicts`).

A digest merchant's rows of one order are leased together and sent as one message per channel
(:mod:`notifier.pipeline.digest`, :func:`send_group`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import col

from carriers.base import Status
from notifier import alerts, metrics
from notifier.errors import (
    ConfigError,
    PermanentSendError,
    SenderAuthError,
    TemplateError,
    TransientSendError,
)
from notifier.pipeline import compose, digest
from notifier.pipeline.detect import is_superseded, quiet_until
from notifier.pipeline.outbox import Party, merchant_prefs
from notifier.pipeline.record import CANCELLED
from notifier.pipeline.verdicts import Verdict, record_as_they_come
from notifier.pipeline.verdicts import record as record  # what tests and tools call
from notifier.runtime import Runtime
from notifier.senders.twilio_whatsapp import FALLBACK_SMS, NO_TEMPLATE
from notifier.store.lease import lease
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    NotificationState,
    Order,
    Recipient,
    Shipment,
    TemplateOverride,
)
from notifier.store.models import TrackingEvent as EventRow

log = structlog.get_logger(__name__)
S = NotificationState
AFTER_SALE = frozenset({"return_update", "refund_update"})  # still news after a cancellation
# The channel cannot carry a digest (WhatsApp outside the session without an approved
# parcel_digest template): each parcel's news goes on its own, as without the digest.
UNCARRIABLE = frozenset({NO_TEMPLATE, FALLBACK_SMS})
# Rows leased on top of a batch to complete its digest orders (ordered by due time and order,
# only the batch's last order is usually cut; a few hundred parcels' news is plenty).
DIGEST_TOP_UP = 200


@dataclass
class DispatchStats:
    leased: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


async def dispatch(rt: Runtime, *, limit: int | None = None) -> DispatchStats:
    """Send what is due now (one batch); returns counts by resulting state. Verdicts are
    recorded as they come, in small groups (module docstring)."""
    now = rt.clock.now()
    jobs = await asyncio.to_thread(lease_due, rt, now, limit or rt.settings.dispatch.batch_size)
    stats = DispatchStats(leased=len(jobs))
    if not jobs:
        return stats
    slots = asyncio.Semaphore(rt.settings.dispatch.concurrency)

    async def bounded(group: list[compose.Job]) -> list[Verdict]:
        async with slots:
            return await send_group(rt, group)

    tasks = {asyncio.create_task(bounded(g)) for g in digest.group(jobs)}
    try:
        verdicts = await record_as_they_come(rt, tasks)
    finally:
        for task in tasks:
            task.cancel()
    for v in verdicts:
        stats.by_state[v.state] = stats.by_state.get(v.state, 0) + 1
    return stats


def lease_due(rt: Runtime, now: datetime, limit: int) -> list[compose.Job]:
    """Lease due rows (pending and due, or sending with an expired lease) and load them; a
    digest order's other due rows are leased with them, so its digest is whole."""
    until = now + rt.span(rt.settings.dispatch.lease)
    with rt.sessions() as session, session.begin():
        due = sa.and_(
            col(Notification.state).in_([S.PENDING, S.SENDING]),
            col(Notification.next_attempt_at) <= now,
        )

        def take(where: Any, limit: int) -> list[int]:
            return lease(
                session,
                Notification,
                due=where,
                order_by=[Notification.next_attempt_at, Notification.order_id],
                limit=limit,
                owner=rt.worker,
                until=until,
                now=now,
                values={"state": S.SENDING, "attempts": Notification.attempts + 1},
            )

        ids = take(due, limit)
        if not ids:
            return []
        jobs = _load(session, ids)
        orders = {j.notification.order_id for j in jobs if digest.enabled(j.merchant)}
        if orders:
            more = take(sa.and_(due, col(Notification.order_id).in_(orders)), DIGEST_TOP_UP)
            jobs += _load(session, more) if more else []
        session.execute(  # one executemany (ORM objects per row cost more than the insert)
            sa.insert(NotificationAttempt.__table__),  # type: ignore[attr-defined]
            [
                {
                    "notification_id": j.id,
                    "number": j.notification.attempts,
                    "worker": rt.worker,
                    "started_at": now,
                }
                for j in jobs
            ],
        )
        return jobs


def _load(session: Any, ids: Sequence[int]) -> list[compose.Job]:
    stmt = (
        sa.select(Notification, Order, Merchant, Recipient, Shipment)
        .join(Order, col(Notification.order_id) == col(Order.id))
        .join(Merchant, col(Notification.merchant_id) == col(Merchant.id))
        .join(Recipient, col(Notification.recipient_id) == col(Recipient.id))
        .outerjoin(Shipment, col(Notification.shipment_id) == col(Shipment.id))
        .where(col(Notification.id).in_(ids))
        .order_by(
            col(Notification.next_attempt_at), col(Notification.order_id), col(Notification.id)
        )
    )
    rows = session.execute(stmt).all()
    shipment_ids = {sh.id for *_, sh in rows if sh is not None}
    last = _last_events(session, shipment_ids)
    overrides = _overrides(session, {(n.merchant_id, n.trigger, n.channel) for n, *_ in rows})
    return [
        compose.Job(
            n,
            o,
            m,
            r,
            sh,
            last.get(sh.id) if sh else None,
            overrides.get((n.merchant_id, n.trigger, n.channel), {}),
        )
        for n, o, m, r, sh in rows
    ]


def _last_events(session: Any, shipment_ids: set[int]) -> dict[int, EventRow]:
    if not shipment_ids:
        return {}
    newest = (
        sa.select(col(EventRow.shipment_id), sa.func.max(col(EventRow.id)).label("id"))
        .where(col(EventRow.shipment_id).in_(shipment_ids))
        .group_by(col(EventRow.shipment_id))
        .subquery()
    )
    stmt = sa.select(EventRow).join(newest, col(EventRow.id) == newest.c.id)
    events = session.execute(stmt).scalars()
    return {e.shipment_id: e for e in events}


def _overrides(
    session: Any, keys: set[tuple[int, str, str]]
) -> dict[tuple[int, str, str], dict[str, str]]:
    """The merchant's wording per (merchant, trigger, channel), by locale: the newest active
    version of each locale, when that version says to use it (``enabled``)."""
    if not keys:
        return {}
    merchants = {k[0] for k in keys}
    stmt = (
        sa.select(TemplateOverride)
        .where(col(TemplateOverride.merchant_id).in_(merchants), col(TemplateOverride.active))
        .order_by(col(TemplateOverride.version))
    )
    newest: dict[tuple[int, str, str, str], TemplateOverride] = {}
    for row in session.execute(stmt).scalars():  # ascending: the last one seen is the newest
        if (row.merchant_id, row.trigger, row.channel) in keys:
            newest[(row.merchant_id, row.trigger, row.channel, row.locale)] = row
    out: dict[tuple[int, str, str], dict[str, str]] = {}
    for (merchant, trigger, channel, locale), row in newest.items():
        if row.enabled:
            out.setdefault((merchant, trigger, channel), {})[locale] = row.source
    return out


async def send_group(rt: Runtime, group: Sequence[compose.Job]) -> list[Verdict]:
    """Send one group of :func:`digest.group` (one notification, or one order's held news on
    one channel); a verdict per job, the digest's first row before the rows merged into it.
    Never raises: a crash fails this group's attempt, not the batch."""
    try:
        verdicts = await _send_group(rt, group)
    except Exception as err:  # a stage boundary: the other groups go on
        log.exception("dispatch.crashed", notifications=[j.id for j in group])
        why = f"dispatch crashed: {type(err).__name__}: {err}"
        verdicts = [
            _retry(rt, Verdict(j.id, S.PENDING), why, attempts=j.notification.attempts)
            for j in group
        ]
    attempts = {j.id: j.notification.attempts for j in group}
    for v in verdicts:
        v.attempt = attempts[v.id]
    return verdicts


async def _send_group(rt: Runtime, group: Sequence[compose.Job]) -> list[Verdict]:
    if len(group) == 1:
        return [await send_one(rt, group[0])]
    stale, live = [], []
    for job in group:  # stale news is suppressed as such, never merged
        skip = _precheck(job, merchant_prefs(rt.settings.notify, job.merchant).disabled_triggers)
        if skip:
            stale.append(Verdict(job.id, S.SUPPRESSED, error=skip, outcome="suppressed"))
        else:
            live.append(job)
    if len(live) < 2:
        return stale + [await send_one(rt, job) for job in live]
    head = live[0]
    news = digest.context(live, public_url=rt.settings.server.public_url)
    first = await send_one(rt, head, digest_ctx=news)
    if first.code in UNCARRIABLE:
        return stale + [await send_one(rt, job) for job in live]
    return stale + [first] + [_merged(rt, job, head, first) for job in live[1:]]


def _merged(rt: Runtime, job: compose.Job, head: compose.Job, first: Verdict) -> Verdict:
    """A row of a digest: suppressed as merged once the digest went, else pending until the
    digest's first row is due again (its attempt given back: it was not tried)."""
    if first.state == S.SENT:
        v = Verdict(job.id, S.SUPPRESSED, error=digest.merged_reason(head), outcome="merged")
        v.merged_into = head.id
        if job.shipment is not None and job.shipment.eta is not None:
            v.eta_told = (job.shipment.id or 0, job.shipment.eta)  # the digest listed it
        return v
    return Verdict(
        job.id,
        S.PENDING,
        error=f"waits for digest notification {head.id}: {first.error or first.state}",
        outcome="deferred",
        next_attempt_at=first.next_attempt_at or rt.clock.now(),
        refund_attempt=True,
    )


async def send_one(
    rt: Runtime, job: compose.Job, *, digest_ctx: dict[str, Any] | None = None
) -> Verdict:
    """Check, render and send one notification (as the order's digest when ``digest_ctx`` is
    given); never raises."""
    n = job.notification
    assert n.id is not None
    now = rt.clock.now()
    prefs = merchant_prefs(rt.settings.notify, job.merchant)
    party = Party(job.merchant, prefs, job.order, job.recipient)
    skip = _precheck(job, prefs.disabled_triggers)
    if skip:
        return Verdict(n.id, S.SUPPRESSED, error=skip, outcome="suppressed")
    if n.channel != "email" or prefs.quiet_hours_email:
        end = quiet_until(now, party.tz, *prefs.quiet_window())
        if end is not None:
            return Verdict(
                n.id,
                S.PENDING,
                outcome="deferred",
                next_attempt_at=end,
                refund_attempt=True,
                error="quiet hours",
            )
    try:
        sender = rt.senders.for_channel(n.channel, prefs.sender_for(n.channel))
    except (KeyError, ImportError, ConfigError) as err:
        return Verdict(
            n.id, S.FAILED, error=f"no sender for {n.channel}: {err}", outcome="permanent"
        )
    pauses = rt.extra.setdefault("paused", {})
    paused = pauses.get(sender.id)
    if paused and paused <= time.monotonic():  # the pause is over: try the credentials again
        del pauses[sender.id]
        metrics.SENDER_PAUSED.labels(sender.id).set(0)
        log.info("sender.resumed", sender=sender.id)
    elif paused:
        wait = rt.span(paused - time.monotonic())
        return Verdict(
            n.id,
            S.PENDING,
            outcome="deferred",
            next_attempt_at=now + wait,
            refund_attempt=True,
            error=f"sender {sender.id} paused",
        )
    return await _render_and_send(rt, job, party, sender, digest_ctx)


def _precheck(job: compose.Job, disabled: Sequence[str]) -> str | None:
    """Why this notification must not go now, if it must not."""
    n, rec, sh = job.notification, job.recipient, job.shipment
    if getattr(rec, f"{n.channel}_opt_out_at", None) is not None:
        return f"recipient opted out of {n.channel}"
    if n.trigger in disabled:
        return f"trigger {n.trigger} is turned off"
    if job.order.status in CANCELLED and n.trigger not in AFTER_SALE:
        return f"order {job.order.status}"
    if sh is not None and is_superseded(n.trigger.removeprefix("alert_"), Status(sh.status)):
        return f"superseded by {sh.status}"
    if compose.address(job) is None:
        return f"no {n.channel} address"
    return None


async def _render_and_send(
    rt: Runtime, job: compose.Job, party: Party, sender: Any, digest_ctx: dict[str, Any] | None
) -> Verdict:
    n, st = job.notification, rt.settings
    assert n.id is not None
    locale = rt.templates.resolve_locale(job.recipient.locale, job.merchant.locale)
    secret = st.server.session_secret.get_secret_value()
    ctx = compose.build_context(job, locale=locale, public_url=st.server.public_url, secret=secret)
    trigger, override = n.trigger, job.overrides.get(locale)
    if digest_ctx is not None:  # merchants cannot override parcel_digest (not a TRIGGER)
        trigger, override, ctx["digest"] = digest.DIGEST_TRIGGER, None, digest_ctx
    try:
        if alerts.is_alert(n.trigger):  # to the shop's own CS: the service's wording
            rendered = alerts.render(job, locale, st.server.public_url)
        else:
            rendered = rt.templates.render(
                trigger, n.channel, locale, ctx, timezone=str(party.tz), override=override
            )
    except TemplateError as err:
        return Verdict(n.id, S.FAILED, error=f"template: {err}", outcome="permanent")
    now = rt.clock.now()
    message = compose.outgoing(job, compose.address(job) or "", rendered, ctx, now, trigger=trigger)
    base = Verdict(n.id, S.SENT, sender=sender.id, subject=rendered.subject, body=rendered.text)
    try:
        result = await sender.send(message)
    except SenderAuthError as err:
        rt.extra["paused"][sender.id] = time.monotonic() + st.dispatch.sender_pause
        metrics.SENDER_PAUSED.labels(sender.id).set(1)
        log.error("sender.paused", sender=sender.id, error=str(err))
        return _retry(rt, base, str(err), refund=True)
    except PermanentSendError as err:
        base.state, base.error, base.outcome = S.FAILED, str(err), "permanent"
        base.code, base.fallback_sms = err.code, err.code == FALLBACK_SMS
        if err.opted_out:
            base.opt_out = (job.recipient.id or 0, n.channel, f"{sender.id}:{err.code}")
        return base
    except TransientSendError as err:
        return _retry(rt, base, str(err), attempts=n.attempts, retry_after=err.retry_after)
    except Exception as err:  # a sender bug fails this attempt, not the loop
        log.exception("sender.crashed", sender=sender.id, notification=n.id)
        return _retry(rt, base, f"sender crashed: {type(err).__name__}: {err}", attempts=n.attempts)
    metrics.SENDS.labels(n.channel, sender.id, "sent").inc()
    base.outcome, base.provider_message_id = "sent", result.provider_message_id
    if job.shipment is not None and job.shipment.eta is not None:
        base.eta_told = (job.shipment.id or 0, job.shipment.eta)
    return base


def _retry(
    rt: Runtime,
    v: Verdict,
    error: str,
    *,
    attempts: int = 0,
    refund: bool = False,
    retry_after: float | None = None,
) -> Verdict:
    d, now = rt.settings.dispatch, rt.clock.now()
    v.error, v.outcome = error, "transient"
    if not refund and attempts >= d.max_attempts:
        v.state = S.DEAD
        return v
    delay = (
        rt.settings.dispatch.sender_pause
        if refund
        else random.uniform(0, min(d.backoff_max, d.backoff_base * 2 ** max(0, attempts - 1)))
    )
    v.state, v.refund_attempt = S.PENDING, refund
    v.next_attempt_at = now + timedelta(seconds=max(delay, retry_after or 0))
    return v
