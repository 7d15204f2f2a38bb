"""Idempotent row writes for intake: insert a row unless its unique key exists, and update a
row with only the values that differ.

Both run inside the caller's transaction; the orders and parcels of :mod:`notifier.orders.intake`
and :mod:`notifier.orders.parcels` are written through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_new(session: Session, model: Any, row: dict[str, Any], key: Sequence[str]) -> int | None:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id: the new row's id, or None when the
    row exists (a concurrent request made it first; on PostgreSQL we waited for it to commit).

    One row per statement with bound parameters, so the compiled statement is cached: the
    multi-row VALUES of ``store.lease.insert_ignoring`` is compiled afresh on every call, which
    is most of the cost of importing thousands of orders.
    """
    session.flush()  # the statement goes straight to the connection
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).on_conflict_do_nothing(index_elements=list(key)).returning(model.id)
    value = session.connection().execute(stmt, row).scalar()
    return int(value) if value is not None else None


def assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``obj``; whether anything differed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed
