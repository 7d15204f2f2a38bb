"""The operator's gauges that need a count from the database: the outbox by state, channel and
trigger, the outbox depth, and the sweep lag. :func:`refresh` is what the housekeeping job
calls (it reads, never writes: three aggregate queries over indexed columns)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from notifier import metrics
from notifier.runtime import Runtime
from notifier.store.models import OPEN_STATES, Notification, Shipment


def refresh(rt: Runtime) -> dict[str, float]:
    """Recount and set the gauges; returns the totals (for the housekeeping log line)."""
    now = rt.clock.now()
    with rt.sessions() as session:
        by_kind = session.execute(
            sa.select(
                col(Notification.state),
                col(Notification.channel),
                col(Notification.trigger),
                sa.func.count(),
            ).group_by(
                col(Notification.state), col(Notification.channel), col(Notification.trigger)
            )
        ).all()
        depth = session.execute(
            sa.select(col(Notification.channel), sa.func.count())
            .where(
                col(Notification.state).in_(OPEN_STATES),
                col(Notification.next_attempt_at) <= now,
            )
            .group_by(col(Notification.channel))
        ).all()
        oldest = oldest_due(session)
    metrics.set_gauge(metrics.NOTIFICATIONS, [((s, c, t), n) for s, c, t, n in by_kind])
    metrics.set_gauge(metrics.OUTBOX_DEPTH, [((c,), n) for c, n in depth])
    lag = metrics.lag_seconds(oldest, now)
    metrics.SWEEP_LAG.set(lag)
    return {"outbox_due": sum(n for _, n in depth), "sweep_lag_s": round(lag, 1)}


def oldest_due(session: sa.orm.Session) -> datetime | None:
    """The earliest ``next_check_at`` of the shipments still followed (ix_shipment_due)."""
    value: datetime | None = session.execute(
        sa.select(sa.func.min(col(Shipment.next_check_at))).where(
            col(Shipment.next_check_at).is_not(None)
        )
    ).scalar()
    return value
