"""Two dispatcher processes on one PostgreSQL at once: every message goes out exactly once."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from notifier.store.models import Notification, NotificationAttempt
from tests.conftest import PG, PG_URL, START, drop_pg_schema, pg_schema_engine

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MESSAGES = 300


def _dispatcher(schema: str, outbox: str) -> None:
    """One process: dispatch until the queue is empty, through the outbox sender."""
    from notifier.pipeline import dispatch
    from notifier.runtime import build_runtime
    from notifier.settings import Settings
    from notifier.store.db import make_engine
    from notifier.testing import FrozenClock

    settings = Settings(
        database_url=PG_URL,
        senders={"outbox": {"dir": outbox}},
        dispatch={"batch_size": 15, "concurrency": 4},
    )
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    rt = build_runtime(settings, FrozenClock(START.replace(hour=4)), engine=engine)

    async def drain() -> None:
        idle = 0
        while idle < 3:
            stats = await dispatch.dispatch(rt)
            idle = idle + 1 if stats.leased == 0 else 0
        await rt.aclose()

    asyncio.run(drain())


@pytest.fixture
def pg_rt_schema():
    if not PG:
        pytest.skip("PostgreSQL is not running")
    engine, schema = pg_schema_engine()
    SQLModel.metadata.create_all(engine)
    yield engine, schema
    drop_pg_schema(engine, schema)


def test_two_processes_send_each_message_once(pg_rt_schema, tmp_path) -> None:
    engine, schema = pg_rt_schema
    _seed(engine)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_dispatcher, args=(schema, str(tmp_path))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    keys = Counter(
        message_from_bytes(f.read_bytes())["X-Notifier-Dedupe-Key"]
        for f in Path(tmp_path).glob("*.txt")
    )
    assert len(keys) == MESSAGES
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1][:5]
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(Notification.state, sa.func.count()).group_by(Notification.state)
            ).all()
        )
        workers = conn.execute(sa.select(sa.func.count(sa.distinct(NotificationAttempt.worker))))
        assert states == {"sent": MESSAGES}
        assert workers.scalar_one() == 2  # both processes really took part


def _seed(engine) -> None:
    from notifier.store.models import Merchant, Order, Recipient

    with engine.begin() as conn:
        conn.execute(
            sa.insert(Merchant).values(
                id=1,
                slug="sekar",
                name="Toko Batik Sekar",
                api_token_hash="x" * 64,
                country="ID",
                locale="id",
                timezone="Asia/Jakarta",
                settings={},
                created_at=START,
            )
        )
        conn.execute(
            sa.insert(Recipient).values(
                id=1,
                merchant_id=1,
                name="Rina",
                phone="+6281234567890",
                phone_kind="mobile",
                locale="id",
                timezone="Asia/Jakarta",
                created_at=START,
            )
        )
        conn.execute(
            sa.insert(Order).values(
                [
                    dict(
                        id=i,
                        merchant_id=1,
                        external_id=f"o{i}",
                        order_number=f"INV/{i}",
                        recipient_id=1,
                        status="paid",
                        source="api",
                        created_at=START,
                        updated_at=START,
                    )
                    for i in range(1, MESSAGES + 1)
                ]
            )
        )
        conn.execute(
            sa.insert(Notification).values(
                [
                    dict(
                        merchant_id=1,
                        order_id=i,
                        recipient_id=1,
                        trigger="order_confirmed",
                        channel="whatsapp",
                        episode="1",
                        dedupe_key=f"o{i}:order_confirmed:1:whatsapp",
                        state="pending",
                        next_attempt_at=START,
                        attempts=0,
                        context={},
                        created_at=START,
                        updated_at=START,
                    )
                    for i in range(1, MESSAGES + 1)
                ]
            )
        )
    with engine.connect() as conn:
        assert conn.execute(select(sa.func.count()).select_from(Notification)).scalar() == MESSAGES
