"""Sending due notifications: lease, check, render, send, record.

A row is leased (state ``sending``, one attempt row written) before the provider is called and
marked after, so only a crash inside the provider call itself can repeat a send; such an attempt
stays without an outcome, which is how the repeat window is counted. Transient errors retry with
exponential backoff and full jitter up to ``max_attempts``, then the row is ``dead``; permanent
errors fail at once with the reason; an auth failure pauses the sender and keeps the message.
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
from notifier.errors import PermanentSendError, SenderAuthError, TemplateError, TransientSendError
from notifier.pipeline import compose
from notifier.pipeline.callbacks import enqueue_sms_fallback
from notifier.pipeline.detect import is_superseded, quiet_until
from notifier.pipeline.outbox import Party, merchant_prefs
from notifier.pipeline.record import CANCELLED
from notifier.runtime import Runtime
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


@dataclass
class Verdict:
    """What became of one leased notification."""

    id: int
    state: str
    error: str | None = None
    outcome: str | None = None  # for the attempt row: sent, transient, permanent, deferred...
    provider_message_id: str | None = None
    sender: str | None = None
    next_attempt_at: datetime | None = None
    refund_attempt: bool = False  # deferred without trying: the attempt does not count
    subject: str | None = None
    body: str | None = None
    opt_out: tuple[int, str, str] | None = None  # (recipient, channel, source)
    attempt: int = 0  # the attempt number this verdict closes
    fallback_sms: bool = False  # WhatsApp could not carry it: the merchant wants an SMS instead
    eta_told: tuple[int, Any] | None = None  # (shipment id, eta)


@dataclass
class DispatchStats:
    leased: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


async def dispatch(rt: Runtime, *, limit: int | None = None) -> DispatchStats:
    """Send what is due now (one batch); returns counts by resulting state."""
    now = rt.clock.now()
    jobs = await asyncio.to_thread(lease_due, rt, now, limit or rt.settings.dispatch.batch_size)
    stats = DispatchStats(leased=len(jobs))
    if not jobs:
        return stats
    slots = asyncio.Semaphore(rt.settings.dispatch.concurrency)

    async def bounded(job: compose.Job) -> Verdict:
        async with slots:
            verdict = await send_one(rt, job)
        verdict.attempt = job.notification.attempts
        return verdict

    verdicts = await asyncio.gather(*(bounded(j) for j in jobs))
    await asyncio.to_thread(record, rt, verdicts, rt.clock.now())
    for v in verdicts:
        stats.by_state[v.state] = stats.by_state.get(v.state, 0) + 1
    return stats


def lease_due(rt: Runtime, now: datetime, limit: int) -> list[compose.Job]:
    """Lease due rows (pending and due, or sending with an expired lease) and load them."""
    until = now + rt.span(rt.settings.dispatch.lease)
    with rt.sessions() as session, session.begin():
        due = sa.and_(
            col(Notification.state).in_([S.PENDING, S.SENDING]),
            col(Notification.next_attempt_at) <= now,
        )
        ids = lease(
            session,
            Notification,
            due=due,
            order_by=[Notification.next_attempt_at],
            limit=limit,
            owner=rt.worker,
            until=until,
            now=now,
            values={"state": S.SENDING, "attempts": Notification.attempts + 1},
        )
        if not ids:
            return []
        jobs = _load(session, ids)
        session.add_all(
            NotificationAttempt(
                notification_id=j.id,
                number=j.notification.attempts,
                worker=rt.worker,
                started_at=now,
            )
            for j in jobs
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


async def send_one(rt: Runtime, job: compose.Job) -> Verdict:
    """Check, render and send one notification; never raises."""
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
        sender = rt.senders.for_channel(n.channel)
    except (KeyError, ImportError) as err:
        return Verdict(
            n.id, S.FAILED, error=f"no sender for {n.channel}: {err}", outcome="permanent"
        )
    paused = rt.extra.setdefault("paused", {}).get(sender.id)
    if paused and paused > time.monotonic():
        wait = rt.span(paused - time.monotonic())
        return Verdict(
            n.id,
            S.PENDING,
            outcome="deferred",
            next_attempt_at=now + wait,
            refund_attempt=True,
            error=f"sender {sender.id} paused",
        )
    return await _render_and_send(rt, job, party, sender)


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


async def _render_and_send(rt: Runtime, job: compose.Job, party: Party, sender: Any) -> Verdict:
    n, st = job.notification, rt.settings
    assert n.id is not None
    locale = rt.templates.resolve_locale(job.recipient.locale, job.merchant.locale)
    secret = st.server.session_secret.get_secret_value()
    ctx = compose.build_context(job, locale=locale, public_url=st.server.public_url, secret=secret)
    override = job.overrides.get(locale)
    try:
        if alerts.is_alert(n.trigger):  # to the shop's own CS: the service's wording
            rendered = alerts.render(job, locale, st.server.public_url)
        else:
            rendered = rt.templates.render(
                n.trigger, n.channel, locale, ctx, timezone=str(party.tz), override=override
            )
    except TemplateError as err:
        return Verdict(n.id, S.FAILED, error=f"template: {err}", outcome="permanent")
    message = compose.outgoing(job, compose.address(job) or "", rendered, ctx, rt.clock.now())
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
        base.fallback_sms = err.code == "fallback:sms"
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


def record(rt: Runtime, verdicts: Sequence[Verdict], now: datetime) -> None:
    """Write every verdict in one transaction (rows whose lease we lost are left alone)."""
    with rt.sessions() as session, session.begin():
        for v in verdicts:
            _record_one(session, rt.worker, v, now)


def _record_one(session: Any, worker: str, v: Verdict, now: datetime) -> None:
    values: dict[str, Any] = {
        "state": v.state,
        "last_error": v.error[:1000] if v.error else None,
        "updated_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if v.next_attempt_at is not None:
        values["next_attempt_at"] = v.next_attempt_at
    if v.refund_attempt:
        values["attempts"] = Notification.attempts - 1
    if v.sender:
        values["sender"] = v.sender
    if v.state == S.SENT:
        values |= {
            "provider_message_id": v.provider_message_id,
            "sent_at": now,
            "subject": v.subject,
            "body": v.body,
            "provider_status": "accepted",
        }
    done = session.execute(
        sa.update(Notification)
        .where(col(Notification.id) == v.id, col(Notification.lease_owner) == worker)
        .values(**values)
    )
    if done.rowcount == 0:
        log.warning("dispatch.lease_lost", notification=v.id)
        return
    session.execute(
        sa.update(NotificationAttempt)
        .where(
            col(NotificationAttempt.notification_id) == v.id,
            col(NotificationAttempt.number) == v.attempt,
            col(NotificationAttempt.worker) == worker,
        )
        .values(
            outcome=v.outcome,
            error=v.error[:1000] if v.error else None,
            finished_at=now,
            provider_message_id=v.provider_message_id,
        )
    )
    if v.opt_out:
        rid, channel, source = v.opt_out
        session.execute(
            sa.update(Recipient)
            .where(col(Recipient.id) == rid)
            .values({f"{channel}_opt_out_at": now, f"{channel}_opt_out_source": source[:64]})
        )
    if v.fallback_sms:
        n, rec = session.get(Notification, v.id), None
        if n is not None:
            rec = session.get(Recipient, n.recipient_id)
        if n is not None and rec is not None:
            enqueue_sms_fallback(session, n, rec, now)
    if v.eta_told:
        sid, eta = v.eta_told
        session.execute(sa.update(Shipment).where(col(Shipment.id) == sid).values(eta_told=eta))
