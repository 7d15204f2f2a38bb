"""``notifier db backup PATH``: a consistent copy of the SQLite database while the daemon runs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the pages inside one read
transaction: in WAL mode (which :func:`notifier.store.db.make_engine` sets) the daemon's writers
go on meanwhile, and the copy is the database as of the moment the read began, committed
transactions only (https://www.sqlite.org/backup.html). The copy is written beside ``PATH``
under a temporary name and moved into place once checked, so a failed or interrupted backup
never leaves a half-written file at ``PATH``, and ``--force`` never destroys the old copy first.

PostgreSQL is backed up with its own tool: :func:`backup` refuses with the ``pg_dump`` command
to run instead (password masked).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from notifier.errors import NotifierError
from notifier.settings import mask_url

BUSY_TIMEOUT = 30.0  # s to wait for a lock on the source (the daemon's writes are short)


class BackupError(NotifierError):
    """The backup cannot be made; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Backup:
    """A finished copy: where, its size, and the migration it is at (None: no migrations)."""

    path: Path
    bytes: int
    revision: str | None


def backup(database_url: str, dest: Path, *, force: bool = False) -> Backup:
    """Copy the SQLite database of ``database_url`` to ``dest``. Raises :class:`BackupError`
    for a PostgreSQL URL (with the ``pg_dump`` command), a missing or in-memory source, or an
    existing ``dest`` without ``force``."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(pg_dump_hint(database_url, dest))
    source = _source_path(url)
    dest = dest.expanduser().resolve()
    if dest == source:
        raise BackupError(f"{dest} is the database itself")
    if dest.exists() and not force:
        raise BackupError(f"{dest} already exists (--force replaces it)")
    if not dest.parent.is_dir():
        raise BackupError(f"folder {dest.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        revision = _copy(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return Backup(dest, dest.stat().st_size, revision)


def pg_dump_hint(database_url: str, dest: Path) -> str:
    """What to run instead for a PostgreSQL database: the exact ``pg_dump`` command."""
    url = sa.make_url(database_url).set(drivername="postgresql")  # libpq knows no "+psycopg"
    target = mask_url(url.render_as_string(hide_password=True))
    command = f"pg_dump --format=custom --file={shlex.quote(str(dest))} {shlex.quote(target)}"
    password = " (give the password in PGPASSWORD or ~/.pgpass)" if url.password else ""
    return (
        "notifier db backup copies SQLite databases only; back up PostgreSQL with pg_dump"
        f"{password}: {command}"
    )


def _source_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    path = Path(url.database).expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"database {path} does not exist")
    return path


def _copy(source: Path, tmp: Path) -> str | None:
    """One-step online backup of ``source`` into ``tmp``, checked; returns its revision."""
    # mode=rw: never create an empty database where the real one was expected
    uri = f"file:{quote(str(source))}?mode=rw"
    try:
        with (
            contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)) as src,
            contextlib.closing(sqlite3.connect(tmp)) as dst,
        ):
            src.backup(dst)  # pages=-1: every page in one step, one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            (check,) = dst.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise BackupError(f"the copy fails SQLite's check: {check}")
            return _revision(dst)
    except sqlite3.Error as err:
        raise BackupError(f"backup of {source} failed: {err}") from err


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return None
    return str(row[0]) if row else None
