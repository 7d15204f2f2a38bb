"""Sending due notifications: lease, check, render, send, record.

A row is leased (state ``sending``, one attempt row written) before the provider is called and
marked after, so only a crash inside the provider call itself can repeat a send; such an attempt
stays without an outcome, which is how the repeat window is counted. Transient errors retry with
exponential backoff and full jitter up to ``max_attempts``, then the row is ``dead``; permanent
errors fail at once with the reason; an auth failure pauses the sender and keeps the message.

Verdicts are recorded as they come, a few at a time (:data:`RECORD_GROUP` verdicts or
:data:`RECORD_EVERY` after the first waiting one, one transaction each), not after the whole
batch: a provider's status callback that arrives before its send is recorded finds the row
``sending`` and records what it says early (see :mod:`notifier.pipeline.callbacks.twilio_status`);
:func:`record` then keeps it (the provider status of that very message, and ``delivered`` or
``failed`` from it, decided in the same UPDATE) instead of overwriting it with "accepted".

A digest merchant's rows of one order are leased together and sent as one message per channel
(:mod:`notifier.pipeline.digest`, :func:`send_group`).
"""

from __future__ import annotations

import asyncio
import random
import time
from asyncio import FIRST_COMPLETED
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
from notifier.pipeline import compose, digest
from notifier.pipeline.callbacks import enqueue_sms_fallback, settle
from notifier.pipeline.callbacks.twilio_status import TWILIO_FAILURES, TWILIO_PROGRESS
from notifier.pipeline.detect import is_superseded, quiet_until
from notifier.pipeline.outbox import Party, merchant_prefs
from notifier.pipeline.record import CANCELLED
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
RECORD_EVERY = 0.05  # s a finished verdict waits at most for others to be recorded with it
RECORD_GROUP = 25  # verdicts recorded in one transaction at most (a digest's are never split)
# Provider statuses a callback may record on a row still ``sending`` that settle its state.
DELIVERED_STATUSES = frozenset(
    k for k, v in TWILIO_PROGRESS.items() if v >= TWILIO_PROGRESS["delivered"]
)
SETTLED = frozenset({S.SENT, S.DELIVERED})  # a digest's first row ended so: the rest are merged
# The channel cannot carry a digest (WhatsApp outside the session without an approved
# parcel_digest template): each parcel's news goes on its own, as without the digest.
UNCARRIABLE = frozenset({NO_TEMPLATE, FALLBACK_SMS})


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
    code: str | None = None  # the provider's (or sender's) error code of a permanent failure
    merged_into: int | None = None  # suppressed into this digest notification, if it is sent


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
        verdicts = await _record_as_they_come(rt, tasks)
    finally:
        for task in tasks:
            task.cancel()
    for v in verdicts:
        stats.by_state[v.state] = stats.by_state.get(v.state, 0) + 1
    return stats


async def _record_as_they_come(
    rt: Runtime, tasks: set[asyncio.Task[list[Verdict]]]
) -> list[Verdict]:
    """Record the verdicts of ``tasks`` as they finish: a group goes to the database once it
    holds RECORD_GROUP verdicts, RECORD_EVERY after its first one, or when nothing is left to
    wait for. Sends go on while a group is recorded (in a thread)."""
    loop = asyncio.get_running_loop()
    done: list[Verdict] = []
    waiting: list[Verdict] = []
    since = 0.0
    while tasks or waiting:
        if tasks:
            timeout = max(0.0, since + RECORD_EVERY - loop.time()) if waiting else None
            finished, _ = await asyncio.wait(tasks, timeout=timeout, return_when=FIRST_COMPLETED)
            for task in finished:
                tasks.discard(task)
                since = since if waiting else loop.time()
                waiting += task.result()
        full = len(waiting) >= RECORD_GROUP or loop.time() >= since + RECORD_EVERY
        if waiting and (full or not tasks):
            await asyncio.to_thread(record, rt, waiting, rt.clock.now())
            done += waiting
            waiting = []
    return done


def lease_due(rt: Runtime, now: datetime, limit: int) -> list[compose.Job]:
    """Lease due rows (pending and due, or sending with an expired lease) and load them; a
    digest order's other due rows are leased with them, so its digest is whole."""
    until = now + rt.span(rt.settings.dispatch.lease)
    with rt.sessions() as session, session.begin():
        due = sa.and_(
            col(Notification.state).in_([S.PENDING, S.SENDING]),
            col(Notification.next_attempt_at) <= now,
        )

        def take(where: Any) -> list[int]:
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

        ids = take(due)
        if not ids:
            return []
        jobs = _load(session, ids)
        orders = {j.notification.order_id for j in jobs if digest.enabled(j.merchant)}
        if orders:
            more = take(sa.and_(due, col(Notification.order_id).in_(orders)))
            jobs += _load(session, more) if more else []
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


def record(rt: Runtime, verdicts: Sequence[Verdict], now: datetime) -> None:
    """Write verdicts in one transaction (rows whose lease we lost are left alone). A row merged
    into a digest is written suppressed only if the digest's row (earlier in ``verdicts``) ended
    sent or delivered; otherwise it goes back to pending, due now."""
    with rt.sessions() as session, session.begin():
        ended: dict[int, str] = {}
        for v in verdicts:
            if v.merged_into is not None and ended.get(v.merged_into) not in SETTLED:
                v = _unmerged(v, now)
            state = _record_one(session, rt, v, now)
            if state is not None:
                ended[v.id] = state


def _unmerged(v: Verdict, now: datetime) -> Verdict:
    error = f"digest notification {v.merged_into} was not sent"
    return Verdict(
        v.id, S.PENDING, error=error, outcome="deferred", next_attempt_at=now,
        refund_attempt=True, attempt=v.attempt,
    )  # fmt: skip


def _sent_values(v: Verdict, now: datetime) -> dict[str, Any]:
    """A sent verdict's columns. What a status callback recorded about this very message while
    the row was ``sending`` is kept: its provider status, and the state it implies (delivered,
    or failed with the callback's reason), decided by the database from the stored values in
    this same UPDATE (no read-then-write window)."""
    values: dict[str, Any] = {
        "state": S.SENT,
        "provider_message_id": v.provider_message_id,
        "sent_at": now,
        "subject": v.subject,
        "body": v.body,
        "provider_status": "accepted",
    }
    if v.provider_message_id is None:
        return values
    told = col(Notification.provider_status)
    mine = sa.and_(
        col(Notification.provider_message_id) == v.provider_message_id, told.is_not(None)
    )
    failed = sa.and_(mine, told.in_(TWILIO_FAILURES))
    return values | {
        "state": sa.case(
            (sa.and_(mine, told.in_(DELIVERED_STATUSES)), S.DELIVERED),
            (failed, S.FAILED),
            else_=S.SENT,
        ),
        "provider_status": sa.case((mine, told), else_="accepted"),
        "last_error": sa.case((failed, col(Notification.last_error)), else_=None),
    }


def _record_one(session: Any, rt: Runtime, v: Verdict, now: datetime) -> str | None:
    """Write one verdict; returns the row's resulting state, or None when the lease was lost."""
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
        values |= _sent_values(v, now)
    state = session.execute(
        sa.update(Notification)
        .where(col(Notification.id) == v.id, col(Notification.lease_owner) == rt.worker)
        .values(**values)
        .returning(col(Notification.state))
        .execution_options(synchronize_session=False)
    ).scalar()
    if state is None:
        log.warning("dispatch.lease_lost", notification=v.id)
        return None
    session.execute(
        sa.update(NotificationAttempt)
        .where(
            col(NotificationAttempt.notification_id) == v.id,
            col(NotificationAttempt.number) == v.attempt,
            col(NotificationAttempt.worker) == rt.worker,
        )
        .values(
            outcome=v.outcome,
            error=v.error[:1000] if v.error else None,
            finished_at=now,
            provider_message_id=v.provider_message_id,
        )
    )
    _follow_up(session, rt, v, state, now)
    return str(state)


def _follow_up(session: Any, rt: Runtime, v: Verdict, state: str, now: datetime) -> None:
    """What a verdict changes beyond its row: opt-outs, the SMS fallback, the ETA told, and the
    follow-up of a failure a callback reported before the send was recorded."""
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
    if v.state == S.SENT and state == S.FAILED:
        done = settle(session, rt, v.id, now)
        log.info("dispatch.failed_before_recorded", notification=v.id, follow_up=done)
    if v.eta_told:
        sid, eta = v.eta_told
        session.execute(sa.update(Shipment).where(col(Shipment.id) == sid).values(eta_told=eta))
