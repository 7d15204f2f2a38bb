"""Migrations: `alembic upgrade head` on an empty database gives exactly the models' schema,
and every migration can be undone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import notifier.store.models  # noqa: F401
from notifier.store.db import make_engine
from notifier.store.migrate import alembic_config, downgrade, upgrade
from tests.conftest import PG, drop_pg_schema, pg_schema_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    if not PG:
        pytest.skip("PostgreSQL is not running")
    engine, schema = pg_schema_engine()
    yield engine
    drop_pg_schema(engine, schema)


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)


def test_upgrade_head_matches_models(empty) -> None:
    upgrade(empty)
    assert _diff(empty) == []
    tables = set(sa.inspect(empty).get_table_names())
    assert {"merchant", "shipment", "notification", "tracking_event"} <= tables


def _leftovers(engine) -> dict[str, set[str]]:
    """Everything in the database (the test's own PostgreSQL schema) but alembic's table."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                sa.text("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            ).all()
        else:
            rows = conn.execute(
                sa.text(
                    "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' "
                    "WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE c.relkind::text END, "
                    "c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() "
                    "UNION ALL SELECT 'type', t.typname FROM pg_type t "
                    "JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r')"
                )
            ).all()
    out: dict[str, set[str]] = {}
    for kind, name in rows:
        if not name.startswith(("alembic_version", "pk_alembic_version")):
            out.setdefault(str(kind), set()).add(str(name))
    return out


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def test_downgrade_to_base_and_back(empty) -> None:
    """upgrade head -> downgrade base leaves nothing but an empty alembic_version (no table,
    index, sequence or type), and upgrade head again gives the models' schema."""
    upgrade(empty)
    downgrade(empty, "base")
    assert set(sa.inspect(empty).get_table_names()) == {"alembic_version"}
    assert _leftovers(empty) == {}
    assert _revision(empty) is None
    upgrade(empty)
    assert _diff(empty) == []
    assert _revision(empty) == _revisions()[-1]


def test_every_migration_steps_down_and_up_again(empty) -> None:
    """The stairway: each revision's downgrade undoes exactly its upgrade."""
    for revision in _revisions():
        upgrade(empty, revision)
        after_up = _leftovers(empty)
        downgrade(empty, "-1")
        upgrade(empty, revision)
        assert _leftovers(empty) == after_up, revision
    assert _diff(empty) == []
