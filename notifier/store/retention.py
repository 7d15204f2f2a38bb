"""Retention: ``notifier db prune`` and the daemon's daily ``retention`` job.

What goes (``[retention]`` settings; 0 days keeps that kind forever):

* tracking events of parcels no longer followed (``next_check_at`` NULL: a final status or a
  cancelled order) that have not changed for ``events_days``: the whole history of such a
  parcel goes at once, so its tracking page never shows half a journey;
* the rendered subject and body of messages created more than ``bodies_days`` ago and no longer
  open (not pending or sending): the row itself stays as the record of what was sent (trigger,
  channel, state, sent_at, provider id, attempts, error);
* the text of shoppers' inbound messages received more than ``bodies_days`` ago (the row stays:
  channel, number, what we did with it). A merchant's own opt-out/resubscribe reason is the
  merchant's audit record and stays, and so does a message still waiting to be forwarded.

Each step works through its table in id order, ``batch_size`` rows per transaction, so SQLite
writers (the daemon) wait at most one short batch, and a stopped run resumes from the start
with nothing half done. Every statement re-checks its conditions on the rows it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from notifier.settings import RetentionSettings
from notifier.store.models import (
    OPEN_STATES,
    InboundMessage,
    Notification,
    Shipment,
    TrackingEvent,
)

# Inbound rows whose text is not a shopper's old message: the merchant's reasons for opting a
# shopper out or in (notifier.admin.optouts writes them with from_address "merchant:<who>"),
# and messages the forwarder has still to send (notifier.pipeline.callbacks.twilio_inbound).
MERCHANT_ENTRY = "merchant:%"
FORWARD_PENDING = "forward_pending"


@dataclass
class Pruned:
    """What one run deleted or cleared (or, on a dry run, would have)."""

    events: int = 0  # tracking_event rows deleted
    bodies: int = 0  # notification rows whose subject and body were cleared
    inbound: int = 0  # inbound_message rows whose text was cleared
    stopped: bool = False  # ended early (the daemon is stopping); the next run goes on


def prune(
    engine: Engine,
    policy: RetentionSettings,
    now: datetime,
    *,
    dry_run: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> Pruned:
    """Apply ``policy`` as of ``now``; returns the counts. ``dry_run`` only counts.
    ``should_stop`` is asked between batches."""
    out = Pruned()
    steps: list[tuple[str, float, Callable[[datetime], _Step]]] = [
        ("events", policy.events_days, _events),
        ("bodies", policy.bodies_days, _bodies),
        ("inbound", policy.bodies_days, _inbound),
    ]
    for name, days, make in steps:
        if days <= 0:
            continue
        step = make(now - timedelta(days=days))
        if dry_run:
            done = _count(engine, step)
        else:
            done, stopped = _run(engine, step, policy.batch_size, should_stop)
            out.stopped = out.stopped or stopped
        setattr(out, name, done)
        if out.stopped:
            break
    return out


@dataclass(frozen=True)
class _Step:
    """One kind of row: its table's id, the rows that qualify, and the change to make."""

    id: Any
    select_from: Any
    where: sa.ColumnElement[bool]
    change: Callable[[int, int], sa.Executable]  # for the qualifying rows in an id range


def _events(cutoff: datetime) -> _Step:
    unfollowed = sa.and_(
        col(Shipment.next_check_at).is_(None),
        col(Shipment.lease_owner).is_(None),
        col(Shipment.updated_at) < cutoff,
    )
    gone = sa.select(col(Shipment.id)).where(unfollowed)
    return _Step(
        id=col(TrackingEvent.id),
        select_from=sa.join(
            TrackingEvent, Shipment, col(TrackingEvent.shipment_id) == col(Shipment.id)
        ),
        where=sa.and_(unfollowed, col(TrackingEvent.created_at) < cutoff),
        change=lambda first, last: sa.delete(TrackingEvent).where(
            col(TrackingEvent.id).between(first, last),
            col(TrackingEvent.created_at) < cutoff,
            col(TrackingEvent.shipment_id).in_(gone),
        ),
    )


def _bodies(cutoff: datetime) -> _Step:
    return _emptied(
        Notification,
        sa.and_(
            col(Notification.created_at) < cutoff,
            col(Notification.state).not_in([s.value for s in OPEN_STATES]),
            sa.or_(col(Notification.subject).is_not(None), col(Notification.body).is_not(None)),
        ),
        subject=None,
        body=None,
    )


def _inbound(cutoff: datetime) -> _Step:
    return _emptied(
        InboundMessage,
        sa.and_(
            col(InboundMessage.received_at) < cutoff,
            col(InboundMessage.body) != "",
            col(InboundMessage.handled_as) != FORWARD_PENDING,
            col(InboundMessage.from_address).not_like(MERCHANT_ENTRY),
        ),
        body="",
    )


def _emptied(model: Any, old: sa.ColumnElement[bool], **values: Any) -> _Step:
    """The rows of ``model`` matching ``old`` keep their row, with ``values`` written over."""
    ident = col(model.id)
    return _Step(
        id=ident,
        select_from=model,
        where=old,
        change=lambda first, last: (
            sa.update(model).where(ident.between(first, last), old).values(**values)
        ),
    )


def _count(engine: Engine, step: _Step) -> int:
    with engine.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(step.select_from).where(step.where)
        return int(conn.execute(stmt).scalar_one())


def _run(
    engine: Engine, step: _Step, batch: int, should_stop: Callable[[], bool]
) -> tuple[int, bool]:
    """Batches in id order, one transaction each; returns (rows changed, stopped early)."""
    done, after = 0, 0
    while True:
        if should_stop():
            return done, True
        with engine.begin() as conn:
            pick = (
                sa.select(step.id)
                .select_from(step.select_from)
                .where(step.where, step.id > after)
                .order_by(step.id)
                .limit(batch)
            )
            ids = list(conn.execute(pick).scalars())
            if ids:  # the id range, not an IN list of up to batch_size parameters
                done += conn.execute(step.change(ids[0], ids[-1])).rowcount
        if len(ids) < batch:
            return done, False
        after = ids[-1]
