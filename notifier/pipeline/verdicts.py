"""What became of leased notifications (:class:`Verdict`), and writing it.

:func:`record_as_they_come` writes verdicts while the other sends of the batch go on, a few at a
time: one transaction per :data:`RECORD_GROUP` verdicts, or :data:`RECORD_EVERY` after the first
waiting one, or when nothing is left to wait for (a digest's verdicts always in one). That keeps
the moment between a provider accepting a message and the row saying so short.

The rest of that moment is covered by the callbacks: a Twilio status callback that arrives while
the row is still ``sending`` records what it says (see
:mod:`notifier.pipeline.callbacks.twilio_status`), and :func:`record` keeps it: the provider
status of that very message (not "accepted"), and the state it implies, ``delivered`` or
``failed`` with the callback's reason, decided by the database from the stored values in the
sent verdict's own UPDATE, so there is no read-then-write window; then :func:`settle
<notifier.pipeline.callbacks.settle>` does what such a failure still needs (the 63016 fallback).
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import col

from notifier.pipeline.callbacks import enqueue_sms_fallback, settle
from notifier.pipeline.callbacks.twilio_status import TWILIO_FAILURES, TWILIO_PROGRESS
from notifier.runtime import Runtime
from notifier.store.models import (
    Notification,
    NotificationAttempt,
    NotificationState,
    Recipient,
    Shipment,
)

log = structlog.get_logger(__name__)
S = NotificationState

RECORD_EVERY = 0.05  # s a finished verdict waits at most for others to be recorded with it
RECORD_GROUP = 25  # verdicts per transaction at most (a digest's larger group stays whole)
# Provider statuses a callback may record on a row still ``sending`` that settle its state.
DELIVERED_STATUSES = frozenset(
    k for k, v in TWILIO_PROGRESS.items() if v >= TWILIO_PROGRESS["delivered"]
)
SETTLED = frozenset({S.SENT, S.DELIVERED})  # a digest's first row ended so: the rest are merged


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


async def record_as_they_come(
    rt: Runtime, tasks: set[asyncio.Task[list[Verdict]]]
) -> list[Verdict]:
    """Await ``tasks`` (each gives the verdicts of one send group) and record their verdicts
    as they finish (module docstring); returns every verdict. Sends go on while a group is
    recorded, in a thread."""
    loop = asyncio.get_running_loop()
    done: list[Verdict] = []
    waiting: list[list[Verdict]] = []
    since = 0.0
    while tasks or waiting:
        if tasks:
            timeout = max(0.0, since + RECORD_EVERY - loop.time()) if waiting else None
            finished, _ = await asyncio.wait(tasks, timeout=timeout, return_when=FIRST_COMPLETED)
            for task in finished:
                tasks.discard(task)
                since = since if waiting else loop.time()
                waiting.append(task.result())
        count = sum(map(len, waiting))
        if waiting and (count >= RECORD_GROUP or loop.time() >= since + RECORD_EVERY or not tasks):
            for chunk in _chunks(waiting):
                await asyncio.to_thread(record, rt, chunk, rt.clock.now())
                done += chunk
            waiting = []
    return done


def _chunks(groups: list[list[Verdict]]) -> Iterator[list[Verdict]]:
    """The groups' verdicts in chunks of at most RECORD_GROUP, never splitting a group."""
    chunk: list[Verdict] = []
    for group in groups:
        if chunk and len(chunk) + len(group) > RECORD_GROUP:
            yield chunk
            chunk = []
        chunk += group
    if chunk:
        yield chunk


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
