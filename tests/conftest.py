"""Shared fixtures: a database on SQLite and on the real PostgreSQL, a runtime around it with a
frozen clock and a memory sender, and a merchant to work with."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import structlog
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from notifier.runtime import Runtime, build_runtime
from notifier.settings import Settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant
from notifier.testing import FrozenClock, MemorySender, ScriptedCarrier

PG_URL = os.environ.get("NOTIFIER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Jakarta

# Property tests assert behaviour, never speed: a busy CI machine must not fail them for being
# slow to run or slow to generate examples (tests that set their own settings inherit this).
settings.register_profile("notifier", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("notifier")


def _pg_available() -> bool:
    try:
        with sa.create_engine(PG_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


PG = _pg_available()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands run in-process configure logging (levels, handlers on CliRunner's streams);
    put it back so one test's command never hides the next test's log lines."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _clean_notifier_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NOTIFIER_") and key != "NOTIFIER_TEST_PG":
            monkeypatch.delenv(key)


def pg_schema_engine() -> tuple[Engine, str]:
    """An engine on a fresh schema of the test database (tests may run in parallel)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}", "application_name": schema}
    )
    return engine, schema


def drop_pg_schema(engine: Engine, schema: str) -> None:
    """Drop the test's schema. A connection the test left busy (a worker thread still finishing
    a query) is ended first: DROP ... CASCADE would otherwise wait for it, or deadlock with it."""
    engine.dispose()
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :schema AND pid <> pg_backend_pid()"
            ),
            {"schema": schema},
        )
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An empty database with the tables, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'notifier.db'}")
        SQLModel.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    if not PG:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    engine, schema = pg_schema_engine()
    SQLModel.metadata.create_all(engine)
    yield engine
    drop_pg_schema(engine, schema)


engine = db_url_engine  # the name tests use


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        var_dir=tmp_path / "var",
        senders={"outbox": {"dir": tmp_path / "outbox"}},
    )


@pytest.fixture
async def rt(settings: Settings, clock: FrozenClock, engine: Engine) -> Runtime:
    runtime = build_runtime(settings, clock, engine=engine)
    sender = MemorySender()
    for channel in ("email", "sms", "whatsapp"):
        runtime.senders.install(channel, sender)
    runtime.carriers.install("scripted", ScriptedCarrier())
    runtime.extra["sender"] = sender
    yield runtime
    await runtime.carriers.aclose()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def merchant(rt: Runtime) -> Merchant:
    """The Indonesian sample shop, bearer token "tok-sekar"."""
    with rt.sessions() as session, session.begin():
        m = Merchant(
            slug="sekar",
            name="Toko Batik Sekar",
            api_token_hash=token_hash("tok-sekar"),
            country="ID",
            locale="id",
            timezone="Asia/Jakarta",
            settings={"notify": {"channels": ["email", "whatsapp"]}},
            created_at=START,
        )
        session.add(m)
    return m


def pytest_terminal_summary(terminalreporter, config) -> None:
    """The hostile-input tests' figures (inputs tried, server errors) after the run."""
    from tests.hostile.figures import summary

    summary(terminalreporter, config)
