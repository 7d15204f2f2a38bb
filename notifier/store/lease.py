"""Leasing rows for work: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, plain serialized
writes on SQLite. A lease expires, so a dead process's work is picked up by the next one (sooner:
when its heartbeat stops, :mod:`notifier.store.workers`).

Replicas (and the sweep and dispatch threads of one process) write overlapping rows in
concurrent transactions; PostgreSQL may abort one of two as a deadlock victim. :func:`retrying`
runs such a transaction again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRIES = 4  # runs of a transaction aborted as a deadlock victim or a serialization failure
RETRY_PAUSE = 0.05  # s, times the run number, jittered: the winner gets to commit first
RETRYABLE = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def lease(
    session: Session,
    model: Any,
    *,
    due: sa.ColumnElement[bool],
    order_by: Sequence[Any],
    limit: int,
    owner: str,
    until: datetime,
    now: datetime,
    values: dict[str, Any] | None = None,
) -> list[int]:
    """Take up to ``limit`` due rows whose lease is free or expired; return their ids.

    ``values`` are set on the leased rows in the same statement (a state change, a counter).
    """
    free = sa.or_(model.lease_expires_at.is_(None), model.lease_expires_at < now)
    pick = (
        sa.select(model.id)
        .where(due, free)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        sa.update(model)
        .where(model.id.in_(pick.scalar_subquery()))
        .values(lease_owner=owner, lease_expires_at=until, **(values or {}))
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in session.execute(stmt)]


def release(session: Session, model: Any, owner: str) -> int:
    """Give back every lease ``owner`` holds (a clean shutdown)."""
    stmt = (
        sa.update(model)
        .where(model.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    result: Any = session.execute(stmt)
    return int(result.rowcount)


def insert_ignoring(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[Any] = (),
) -> list[Any]:
    """INSERT rows, skipping those that collide on the ``conflict`` unique columns.

    Returns the ``returning`` columns of the rows actually inserted (so callers learn what was
    new without a second query). One cached statement, executed for many rows: SQLAlchemy's
    "insertmanyvalues" pages them into multi-row INSERTs within each database's limits.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).on_conflict_do_nothing(index_elements=list(conflict))
    if not returning:
        session.execute(stmt, list(rows))
        return []
    return list(session.execute(stmt.returning(*returning), list(rows)).all())


def retrying(work: Callable[[], T], *, runs: int = RETRIES) -> T:
    """``work()``, run again when the database aborted it as a deadlock victim or for a
    serialization failure (SQLSTATE 40P01, 40001). ``work`` must open and commit its own
    transaction and have no effect outside it until it returns (it may run several times).
    Raises the last error after ``runs`` runs, and any other error at once."""
    for run in range(1, runs + 1):
        try:
            return work()
        except sa.exc.DBAPIError as err:
            code = getattr(err.orig, "sqlstate", None)
            if code not in RETRYABLE or run == runs:
                raise
            log.warning("db.retry", sqlstate=code, run=run)
            time.sleep(RETRY_PAUSE * run * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")  # pragma: no cover
