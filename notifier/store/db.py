"""Engine and session: SQLite (embedded default) or PostgreSQL (replicas)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT = 30_000  # ms a writer waits for another process's write lock


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder and sets its pragmas."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT / 1000}, **kw)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    return sa.create_engine(url, **kw)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web app read while the sweep writes; NORMAL is durable across app crashes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT}")
    cur.close()


def session_factory(engine: Engine) -> Callable[[], Session]:
    """Sessions that keep loaded objects usable after commit."""

    def make() -> Session:
        return Session(engine, expire_on_commit=False)

    return make


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
