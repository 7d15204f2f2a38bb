"""``notifier db backup``: a consistent SQLite copy while another connection writes; the copy
opens, is at the migrations' head and holds the same rows; PostgreSQL gets the pg_dump command,
never a traceback."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel
from typer.testing import CliRunner

from notifier.cli import app
from notifier.store.backup import BackupError, backup
from notifier.store.db import make_engine
from notifier.store.migrate import alembic_config, upgrade

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
SEEDED = 3000  # provider_event rows before the backup
runner = CliRunner()


@pytest.fixture
def source(tmp_path) -> Path:
    """A migrated database with rows in a few tables, as the daemon leaves it (WAL mode)."""
    path = tmp_path / "live.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    rows = [
        {"provider": "test", "event_id": f"seed-{i}", "received_at": NOW} for i in range(SEEDED)
    ]
    table = SQLModel.metadata.tables["provider_event"]
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
        conn.execute(
            sa.insert(SQLModel.metadata.tables["job_lock"]), [{"name": "housekeeping", "runs": 4}]
        )
    engine.dispose()
    return path


def _counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _revision(path: Path) -> str | None:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_quiet_copy_has_the_same_rows_and_is_at_head(source, tmp_path) -> None:
    done = backup(f"sqlite:///{source}", tmp_path / "copy.db")
    assert done.path == (tmp_path / "copy.db").resolve() and done.bytes > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("copy")] == ["copy.db"]
    assert done.revision == _head() == _revision(done.path)
    assert _counts(done.path) == _counts(source)
    assert _counts(done.path)["provider_event"] == SEEDED


def test_copy_while_another_connection_writes(source, tmp_path) -> None:
    """A writer commits pairs of rows all along; one more holds an open write transaction
    during the backup. The copy has whole pairs only, none of the open transaction, and the
    source kept taking writes during the backups."""
    stop = threading.Event()
    committed = [0]

    def write() -> None:
        conn = sqlite3.connect(source, timeout=30)
        i = 0
        while not stop.is_set():
            with conn:  # one transaction: both rows or neither
                for half in ("a", "b"):
                    conn.execute(
                        "INSERT INTO provider_event (provider, event_id, received_at) "
                        "VALUES ('w', ?, '2026-12-01 03:00:00')",
                        (f"{i}-{half}",),
                    )
            i += 1
            committed[0] = i
        conn.close()

    holder = sqlite3.connect(source, timeout=30, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute(
        "INSERT INTO provider_event (provider, event_id, received_at) "
        "VALUES ('open', 'uncommitted', '2026-12-01 03:00:00')"
    )
    copies = []
    writer = threading.Thread(target=write)
    try:
        # The open write transaction holds the write lock: the writer thread waits for it,
        # and the backup must not (WAL readers never wait for the writer).
        copies.append(backup(f"sqlite:///{source}", tmp_path / "during-lock.db"))
        holder.execute("COMMIT")
        writer.start()
        while committed[0] < 20:  # the writer is under way
            time.sleep(0.001)
        for i in range(5):
            copies.append(backup(f"sqlite:///{source}", tmp_path / f"copy-{i}.db"))
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        stop.set()
        if writer.is_alive():
            writer.join()
    first = _counts(copies[0].path)
    assert first["provider_event"] == SEEDED  # the uncommitted row is not in the copy
    for copy in copies:
        assert copy.revision == _head() == _revision(copy.path)
        with contextlib.closing(sqlite3.connect(copy.path)) as conn:
            written = conn.execute("SELECT count(*) FROM provider_event WHERE provider='w'")
            assert written.fetchone()[0] % 2 == 0  # whole transactions only
            (check,) = conn.execute("PRAGMA integrity_check").fetchone()
            assert check == "ok"
    with contextlib.closing(sqlite3.connect(copies[-1].path)) as conn:
        seen = conn.execute("SELECT count(*) FROM provider_event WHERE provider='w'").fetchone()
    assert 40 <= seen[0] <= 2 * committed[0]
    final = _counts(source)
    assert final["provider_event"] == SEEDED + 1 + 2 * committed[0]
    last = _counts(copies[-1].path)
    assert {k: v for k, v in last.items() if k != "provider_event"} == {
        k: v for k, v in final.items() if k != "provider_event"
    }


def test_refuses_to_overwrite_unless_forced(source, tmp_path) -> None:
    dest = tmp_path / "copy.db"
    dest.write_text("an older backup")
    with pytest.raises(BackupError, match="already exists"):
        backup(f"sqlite:///{source}", dest)
    assert dest.read_text() == "an older backup"
    backup(f"sqlite:///{source}", dest, force=True)
    assert _counts(dest) == _counts(source)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cli_backup_and_its_one_line_errors(source, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{source}")
    dest = tmp_path / "cli.db"
    ok = runner.invoke(app, ["db", "backup", str(dest)])
    assert ok.exit_code == 0, ok.output
    assert "backed up to" in ok.stdout and _head() in ok.stdout.replace("\n", "")
    again = runner.invoke(app, ["db", "backup", str(dest)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert "Traceback" not in again.output
    forced = runner.invoke(app, ["db", "backup", str(dest), "--force"])
    assert forced.exit_code == 0, forced.output
    missing = tmp_path / "nope.db"
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{missing}")
    gone = runner.invoke(app, ["db", "backup", str(tmp_path / "x.db")])
    assert gone.exit_code == 1 and "does not exist" in gone.output
    assert not missing.exists()  # never created by looking


def test_postgresql_gets_the_pg_dump_command_with_the_password_masked(
    monkeypatch, tmp_path
) -> None:
    url = "postgresql+psycopg://notifier:pg-hunter2@db.internal:5433/shop?sslmode=require"
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", url)
    dest = tmp_path / "shop.dump"
    out = runner.invoke(app, ["db", "backup", str(dest)])
    assert out.exit_code == 1
    text = " ".join(out.output.split())
    assert "Traceback" not in text and "pg-hunter2" not in text
    assert (
        f"pg_dump --format=custom --file={dest} "
        "'postgresql://notifier:***@db.internal:5433/shop?sslmode=require'"
    ) in text
    assert "PGPASSWORD" in text
    assert not dest.exists()


def test_in_memory_database_is_refused() -> None:
    with pytest.raises(BackupError, match="in memory"):
        backup("sqlite://", Path("unused.db"))


def test_an_error_naming_a_markup_like_path_is_printed_as_is(source, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", f"sqlite:///{source}")
    folder = tmp_path / "a[" / "b]" / "[bold]"  # ".../a[/b]/[bold]": a closing tag to rich
    folder.mkdir(parents=True)
    (folder / "x.db").write_text("old")
    out = runner.invoke(app, ["db", "backup", str(folder / "x.db")])
    assert out.exit_code == 1
    assert f"{folder / 'x.db'} already exists" in " ".join(out.output.split())
