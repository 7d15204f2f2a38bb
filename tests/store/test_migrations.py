"""Migrations: `alembic upgrade head` on an empty database gives exactly the models' schema,
and every migration can be undone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import notifier.store.models  # noqa: F401
from notifier.store.db import make_engine
from notifier.store.migrate import downgrade, upgrade
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


def test_downgrade_to_base_and_back(empty) -> None:
    upgrade(empty)
    downgrade(empty, "base")
    assert set(sa.inspect(empty).get_table_names()) <= {"alembic_version"}
    upgrade(empty)
    assert _diff(empty) == []
