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
import functools
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
from notifier.store.lease import retrying
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
                # A deadlock victim is run again: a verdict lost here would be a repeat send.
                work = functools.partial(record, rt, chunk, rt.clock.now())
                await asyncio.to_thread(retrying, work)
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
    sent or delivered; otherwise it goes back to pending, due now.

    A handful of statements whatever the number of verdicts: the rows still ours are locked
    first (:func:`_claim`), then written with one executemany per statement shape (built once,
    :func:`_row_update`), and the attempt rows and told ETAs with one executemany each; only
    the states the database decided (a callback overtook the send) are read back. A statement
    per row cost more CPU than the provider call it records."""
    with rt.sessions() as session, session.begin():
        conn = session.connection()
        owned = _claim(conn, rt.worker, [v.id for v in verdicts])
        for v in verdicts:
            if v.id not in owned:
                log.warning("dispatch.lease_lost", notification=v.id)
        heads = [v for v in verdicts if v.id in owned and v.merged_into is None]
        ended = _write(conn, rt, heads, now)
        final = {v.id: v for v in heads}
        for v in verdicts:  # a digest's other rows, once its first row's fate is known
            if v.id in owned and v.merged_into is not None:
                settled = ended.get(v.merged_into) in SETTLED
                final[v.id] = v if settled else _unmerged(v, now)
        merged = [final[v.id] for v in verdicts if v.id in owned and v.merged_into is not None]
        ended |= _write(conn, rt, merged, now)
        attempts: list[dict[str, Any]] = []
        etas: list[dict[str, Any]] = []
        for v in (final[v.id] for v in verdicts if v.id in final):
            attempts.append(
                {
                    "p_id": v.id,
                    "p_number": v.attempt,
                    "p_worker": rt.worker,
                    "p_outcome": v.outcome,
                    "p_error": v.error[:1000] if v.error else None,
                    "p_finished_at": now,
                    "p_provider_message_id": v.provider_message_id,
                }
            )
            if v.eta_told:
                etas.append({"p_id": v.eta_told[0], "p_eta": v.eta_told[1]})
            _follow_up(session, rt, v, ended[v.id], now)
        if attempts:
            conn.execute(_ATTEMPT_UPDATE, attempts)
        if etas:  # in id order, as the sweep updates shipments: fewer deadlocks with it
            conn.execute(_ETA_UPDATE, sorted(etas, key=lambda e: e["p_id"]))


def _unmerged(v: Verdict, now: datetime) -> Verdict:
    error = f"digest notification {v.merged_into} was not sent"
    return Verdict(
        v.id, S.PENDING, error=error, outcome="deferred", next_attempt_at=now,
        refund_attempt=True, attempt=v.attempt,
    )  # fmt: skip


_N: sa.Table = Notification.__table__  # type: ignore[attr-defined]
_A: sa.Table = NotificationAttempt.__table__  # type: ignore[attr-defined]
_SH: sa.Table = Shipment.__table__  # type: ignore[attr-defined]

_ATTEMPT_UPDATE = (
    sa.update(_A)
    .where(
        _A.c.notification_id == sa.bindparam("p_id"),
        _A.c.number == sa.bindparam("p_number"),
        _A.c.worker == sa.bindparam("p_worker"),
    )
    .values(
        outcome=sa.bindparam("p_outcome"),
        error=sa.bindparam("p_error"),
        finished_at=sa.bindparam("p_finished_at"),
        provider_message_id=sa.bindparam("p_provider_message_id"),
    )
)
_ETA_UPDATE = (
    sa.update(_SH).where(_SH.c.id == sa.bindparam("p_id")).values(eta_told=sa.bindparam("p_eta"))
)


def _claim(conn: Any, owner: str, ids: list[int]) -> set[int]:
    """The rows of ``ids`` still leased to ``owner``, locked until the transaction ends (on
    PostgreSQL a row lock; on SQLite a write begins the transaction and takes the database's
    write lock, so no other process changes them before they are written)."""
    if not ids:
        return set()
    stmt = _CLAIM_LOCKING if conn.dialect.name == "postgresql" else _CLAIM_WRITING
    return set(conn.execute(stmt, {"p_ids": ids, "p_owner": owner}).scalars())


def _write(conn: Any, rt: Runtime, verdicts: Sequence[Verdict], now: datetime) -> dict[int, str]:
    """Write claimed rows (one executemany per statement shape); returns each row's state."""
    shapes: dict[tuple[tuple[str, ...], bool, bool], list[dict[str, Any]]] = {}
    decided: list[int] = []  # the database chose the state from what a callback stored
    for v in verdicts:
        shape, params = _row_params(rt, v, now)
        shapes.setdefault(shape, []).append(params)
        if shape[2]:
            decided.append(v.id)
    for shape, rows in shapes.items():
        conn.execute(_row_update(*shape), rows)
    states = {v.id: v.state for v in verdicts}
    if decided:
        states |= {id_: str(state) for id_, state in conn.execute(_STATES, {"p_ids": decided})}
    return states


_MINE = sa.and_(
    _N.c.id.in_(sa.bindparam("p_ids", expanding=True)), _N.c.lease_owner == sa.bindparam("p_owner")
)
_CLAIM_LOCKING = sa.select(_N.c.id).where(_MINE).order_by(_N.c.id).with_for_update()
_CLAIM_WRITING = sa.update(_N).where(_MINE).values(lease_owner=_N.c.lease_owner).returning(_N.c.id)
_STATES = sa.select(_N.c.id, _N.c.state).where(_N.c.id.in_(sa.bindparam("p_ids", expanding=True)))


@functools.cache
def _row_update(columns: tuple[str, ...], refund: bool, callback_aware: bool) -> sa.Update:
    """The UPDATE of one notification row for a verdict of this shape: ``columns`` are bound
    as ``p_<name>``; ``refund`` gives the attempt back; ``callback_aware`` (a sent verdict with
    a provider id) keeps what a status callback recorded about this very message while the row
    was ``sending``: its provider status, and the state it implies (delivered, or failed with
    the callback's reason), decided by the database from the stored values in this same UPDATE
    (no read-then-write window)."""
    c = _N.c
    values: dict[str, Any] = {name: sa.bindparam(f"p_{name}") for name in columns}
    values |= {"lease_owner": None, "lease_expires_at": None}
    if refund:
        values["attempts"] = c.attempts - 1
    if callback_aware:
        told = c.provider_status
        mine = sa.and_(c.provider_message_id == values["provider_message_id"], told.is_not(None))
        failed = sa.and_(mine, told.in_(_listed(TWILIO_FAILURES)))
        values |= {
            "state": sa.case(
                (sa.and_(mine, told.in_(_listed(DELIVERED_STATUSES))), S.DELIVERED),
                (failed, S.FAILED),
                else_=S.SENT,
            ),
            "provider_status": sa.case((mine, told), else_="accepted"),
            "last_error": sa.case((failed, c.last_error), else_=None),
        }
    return (
        sa.update(_N)
        .where(c.id == sa.bindparam("p_id"), c.lease_owner == sa.bindparam("p_owner"))
        .values(values)
    )


def _listed(values: frozenset[str]) -> list[Any]:
    """``values`` as one bound parameter each (an executemany cannot expand a list)."""
    return [sa.literal(v) for v in sorted(values)]


def _row_params(
    rt: Runtime, v: Verdict, now: datetime
) -> tuple[tuple[tuple[str, ...], bool, bool], dict[str, Any]]:
    """The statement shape (see :func:`_row_update`) and the parameters of one verdict."""
    params: dict[str, Any] = {
        "p_id": v.id,
        "p_owner": rt.worker,
        "p_state": v.state,
        "p_last_error": v.error[:1000] if v.error else None,
        "p_updated_at": now,
    }
    if v.next_attempt_at is not None:
        params["p_next_attempt_at"] = v.next_attempt_at
    if v.sender:
        params["p_sender"] = v.sender
    callback_aware = v.state == S.SENT and v.provider_message_id is not None
    if v.state == S.SENT:
        params |= {
            "p_provider_message_id": v.provider_message_id,
            "p_sent_at": now,
            "p_subject": v.subject,
            "p_body": v.body,
            "p_provider_status": "accepted",
        }
    if callback_aware:  # computed by the database from what a callback stored
        for name in ("p_state", "p_provider_status", "p_last_error"):
            del params[name]
    columns = tuple(sorted(k.removeprefix("p_") for k in params if k not in ("p_id", "p_owner")))
    return (columns, v.refund_attempt, callback_aware), params


def _follow_up(session: Any, rt: Runtime, v: Verdict, state: str, now: datetime) -> None:
    """What a verdict changes beyond its row and its attempt: opt-outs, the SMS fallback, and
    the follow-up of a failure a callback reported before the send was recorded."""
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
