"""Bulk writes for the sweep's hot path: many rows per round trip, with no per-row work in
SQLAlchemy.

The sweep writes about a dozen rows per shipment (its new events, its notifications, its own
update). SQLAlchemy's executemany spends some 15 us of Python per row binding parameters through
the column types, which was most of the sweep's time (docs/performance.md). Here the values are
converted once, by the few rules our columns need (:func:`db_value`), and handed to the driver
as they are: multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING`` pages
on SQLite (3.35+), ``INSERT ... SELECT * FROM unnest(<one array per column>)`` on PostgreSQL,
and the driver's own executemany for updates.

The stored forms must be exactly those of the models' column types, or reads and comparisons of
the same column would disagree: :class:`notifier.store.types.UTCDateTime` keeps UTC, and on
SQLite SQLAlchemy writes it as ``YYYY-MM-DD HH:MM:SS.ffffff`` text (a test compares both ways).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa

from notifier.store.types import UTCDateTime

MAX_PARAMETERS = 30_000  # per statement: under SQLite's 32,766 and PostgreSQL's 65,535
MAX_PAGE = 1_000  # rows per multi-row INSERT
MAX_ARRAY_ROWS = 10_000  # rows per PostgreSQL unnest() INSERT


def converter(conn: sa.Connection) -> Callable[[Any], Any]:
    """The function that turns any Python value into what this database's driver stores for
    our column types (aware datetimes as UTC, dates, JSON objects, enums)."""
    stamp, day = _stamp(conn), _day(conn)

    def db_value(value: Any) -> Any:
        if isinstance(value, datetime):
            return stamp(value)
        if isinstance(value, date):
            return day(value)
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, Enum):
            return value.value
        return value

    return db_value


def converters(conn: sa.Connection, table: sa.Table, columns: Sequence[str]) -> Converters:
    """What :func:`convert` applies to rows of ``columns``: (position, function) for the
    columns whose values the driver cannot take as they are (times, dates, JSON, enums)."""
    out: Converters = []
    stamp, day = _stamp(conn), _day(conn)
    for position, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            out.append((position, stamp))
        elif isinstance(kind, sa.Date):
            out.append((position, day))
        elif isinstance(kind, sa.JSON):
            out.append((position, json.dumps))
        elif isinstance(kind, sa.String):  # a str-valued enum (a state) goes as its value
            out.append((position, _plain))
    return out


def convert(row: list[Any], funcs: Converters) -> tuple[Any, ...]:
    """``row`` (a fresh list, changed in place) with the values converted, as a tuple."""
    for position, func in funcs:
        value = row[position]
        if value is not None:
            row[position] = func(value)
    return tuple(row)


Convert = Callable[[Any], Any]
Converters = list[tuple[int, Convert]]


def _plain(value: Any) -> Any:
    return value.value if type(value) is not str and isinstance(value, Enum) else value


def _stamp(conn: sa.Connection) -> Convert:
    """Aware datetimes as UTCDateTime stores them; remembers the last one (a chunk writes the
    same ``now`` into many rows)."""
    sqlite = conn.dialect.name == "sqlite"
    last: list[Any] = [None, None]

    def stamp(value: datetime | None) -> Any:
        if value is None:
            return None
        if value is last[0]:
            return last[1]
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use aware UTC")
        utc = value.astimezone(UTC)
        out = utc.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else utc
        last[:] = [value, out]
        return out

    return stamp


def _day(conn: sa.Connection) -> Convert:
    sqlite = conn.dialect.name == "sqlite"
    return (lambda d: d.isoformat()) if sqlite else (lambda d: d)


def insert_new(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (values in ``columns`` order, already converted) skipping those that
    collide on the ``conflict`` columns; returns the ``returning`` values of the rows inserted.
    One statement per page of rows."""
    if not rows:
        return []
    extra = _scalar_defaults(table, columns)  # what the models' Python defaults would add
    if extra:
        columns = [*columns, *extra]
        rows = [(*row, *extra.values()) for row in rows]
    if conn.dialect.name == "postgresql":
        return _insert_arrays(conn, table, columns, rows, conflict, returning)
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    # Names come from our own table metadata, quoted; values are always parameters.
    names = ", ".join(quote(c) for c in columns)
    head = f"INSERT INTO {quote(table.name)} ({names}) VALUES "  # noqa: S608
    tail = (
        f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING"
        f" RETURNING {', '.join(quote(c) for c in returning)}"
    )
    page = max(1, min(MAX_PAGE, MAX_PARAMETERS // len(columns)))
    out: list[tuple[Any, ...]] = []
    start = 0
    for size in page_sizes(len(rows), page):
        part = rows[start : start + size]
        start += size
        sql = head + ", ".join([one] * size) + tail
        flat = tuple(value for row in part for value in row)
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, flat))
    return out


def page_sizes(count: int, page: int) -> list[int]:
    """``count`` rows as full pages, then the rest as powers of two (37 -> 32, 4, 1).

    Every distinct statement text is prepared and kept in the driver's statement cache (per
    connection): pages of any length made a new multi-row INSERT of thousands of placeholders
    for almost every chunk, which cost a prepare each time and, cached, ~100 MB of memory over a
    100,000-shipment sweep. With these sizes a table has at most log2(page) + 2 statements."""
    sizes = [page] * (count // page)
    rest, bit = count % page, 1 << max(0, page.bit_length() - 1)
    while rest:
        if rest >= bit:
            sizes.append(bit)
            rest -= bit
        bit >>= 1
    return sizes


def _insert_arrays(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """PostgreSQL: one array parameter per column, ``INSERT ... SELECT * FROM unnest(...)``.
    Thousands of ``%s`` placeholders would cost psycopg more to rewrite (in Python, uncached
    for long statements) than the insert itself."""
    quote = conn.dialect.identifier_preparer.quote
    kinds = [table.c[c].type.compile(dialect=conn.dialect) for c in columns]
    arrays = ", ".join(f"%s::{kind}[]" for kind in kinds)
    names = ", ".join(quote(c) for c in columns)
    keys = ", ".join(quote(c) for c in conflict)
    back = ", ".join(quote(c) for c in returning)
    sql = f"INSERT INTO {quote(table.name)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608
    sql += f" ON CONFLICT ({keys}) DO NOTHING RETURNING {back}"
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), MAX_ARRAY_ROWS):
        part = rows[start : start + MAX_ARRAY_ROWS]
        values = tuple(list(column) for column in zip(*part, strict=True))
        out.extend(tuple(r) for r in conn.exec_driver_sql(sql, values))
    return out


def _scalar_defaults(table: sa.Table, given: Sequence[str]) -> dict[str, Any]:
    out = {}
    for column in table.columns:
        default = column.default
        if column.name not in given and isinstance(default, sa.ColumnDefault) and default.is_scalar:
            out[column.name] = default.arg
    return out


def update_many(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    where: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``UPDATE table SET columns... WHERE where... (all equal)`` once per row, in one
    executemany; each row holds the ``columns`` values then the ``where`` values."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
    cond = " AND ".join(f"{quote(c)} = {mark}" for c in where)
    sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {cond}"  # noqa: S608 (our names)
    conn.exec_driver_sql(sql, list(rows))
