"""Heartbeats, reaping a dead worker's leases, fencing, and singleton job claims, on SQLite and
PostgreSQL (the claim race on PostgreSQL with real concurrent connections)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from notifier.store import workers
from notifier.store.models import JobLock, Notification, Shipment, Worker
from tests.conftest import START
from tests.factories import parcel

DEAD_AFTER = 30.0


def _age(engine, worker: str, seconds: float) -> None:
    """Pretend ``worker`` last beat ``seconds`` ago."""
    with Session(engine) as session, session.begin():
        then = workers.db_now(session) - timedelta(seconds=seconds)
        session.execute(sa.update(Worker).where(Worker.id == worker).values(seen_at=then))


def _notification(engine, sh: Shipment) -> None:
    with engine.begin() as conn:
        order_id, recipient_id = conn.execute(
            sa.text('select id, recipient_id from "order" where id = :i'), {"i": sh.order_id}
        ).one()
        conn.execute(
            sa.insert(Notification).values(
                merchant_id=sh.merchant_id,
                order_id=order_id,
                shipment_id=sh.id,
                recipient_id=recipient_id,
                trigger="shipped",
                channel="email",
                dedupe_key=f"{sh.id}:shipped:1:email",
                state="pending",
                next_attempt_at=START,
                context={},
                created_at=START,
                updated_at=START,
            )
        )


def _lease(engine, worker: str) -> None:
    until = datetime(2099, 1, 1, tzinfo=UTC)  # far away: only the reaper can free these
    with engine.begin() as conn:
        conn.execute(sa.update(Shipment).values(lease_owner=worker, lease_expires_at=until))
        conn.execute(
            sa.update(Notification).values(
                lease_owner=worker, lease_expires_at=until, state="sending"
            )
        )


def test_a_dead_workers_leases_and_locks_are_freed_at_once(rt, merchant, engine) -> None:
    _notification(engine, parcel(rt, merchant, number="SIMNRM0001"))
    with Session(engine) as session, session.begin():
        workers.register(session, "dead:1:a")
        workers.register(session, "live:2:b")
        assert workers.claim(session, "housekeeping", "dead:1:a", every=60, hold=DEAD_AFTER)
    _lease(engine, "dead:1:a")
    _age(engine, "dead:1:a", DEAD_AFTER + 1)
    with Session(engine) as session, session.begin():
        done = workers.reap(session, DEAD_AFTER)
    assert (done.workers, done.shipments, done.notifications, done.jobs) == (1, 1, 1, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(Shipment.lease_owner)).scalars().all() == [None]
        assert conn.execute(sa.select(Worker.id)).scalars().all() == ["live:2:b"]
        owner = conn.execute(sa.select(JobLock.owner)).scalar_one()
        # a notification left "sending" stays so: its open attempt counts the crash window
        notes = conn.execute(sa.select(Notification.state, Notification.lease_owner)).all()
    assert owner is None
    assert notes == [("sending", None)]


def test_a_live_worker_is_left_alone_and_a_fenced_one_learns_it(rt, merchant, engine) -> None:
    parcel(rt, merchant, number="SIMNRM0001")
    with Session(engine) as session, session.begin():
        workers.register(session, "w:1:a")
    _lease(engine, "w:1:a")
    _age(engine, "w:1:a", DEAD_AFTER - 5)
    with Session(engine) as session, session.begin():
        assert workers.reap(session, DEAD_AFTER).workers == 0
        assert workers.beat(session, "w:1:a", DEAD_AFTER)
    _age(engine, "w:1:a", DEAD_AFTER + 1)
    with Session(engine) as session, session.begin():
        workers.reap(session, DEAD_AFTER)
    with Session(engine) as session, session.begin():
        assert not workers.beat(session, "w:1:a", DEAD_AFTER)  # its row is gone: fenced


def test_the_heartbeat_thread_re_registers_a_fenced_worker(engine) -> None:
    names = iter(["w:1:a", "w:1:b"])
    current = [next(names)]

    def fenced() -> str:
        current[0] = next(names)
        return current[0]

    hb = workers.Heartbeat(engine, lambda: current[0], fenced, every=60, dead_after=DEAD_AFTER)
    hb.start()
    try:
        hb.tick()
        assert current == ["w:1:a"]
        with engine.begin() as conn:
            conn.execute(sa.delete(Worker))  # another replica reaped us during a long stall
        hb.tick()
        assert current == ["w:1:b"]
        with engine.connect() as conn:
            assert conn.execute(sa.select(Worker.id)).scalars().all() == ["w:1:b"]
    finally:
        hb.stop()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Worker)).scalar_one() == 0


def test_a_singleton_runs_once_per_interval_whoever_asks(engine) -> None:
    def claim(worker: str, every: float = 60) -> bool:
        with Session(engine) as session, session.begin():
            return (
                workers.claim(session, "digests", worker, every=every, hold=DEAD_AFTER) is not None
            )

    def finish(worker: str) -> None:
        with Session(engine) as session, session.begin():
            workers.finish(session, "digests", worker)

    assert claim("a")
    assert not claim("b")  # held
    finish("a")
    assert not claim("b")  # free, but it ran less than an interval ago
    assert not claim("a")
    with engine.begin() as conn:  # an interval later
        conn.execute(sa.update(JobLock).values(started_at=datetime.now(UTC) - timedelta(days=1)))
    assert claim("b")
    finish("b")
    with engine.connect() as conn:
        runs, owner = conn.execute(sa.select(JobLock.runs, JobLock.owner)).one()
    assert (runs, owner) == (2, None)


def test_concurrent_claims_give_the_job_to_exactly_one(engine) -> None:
    """Eight threads (eight connections) claim the same job at once, ten rounds."""
    for round_ in range(10):
        with engine.begin() as conn:
            conn.execute(sa.update(JobLock).values(started_at=None, owner=None, locked_until=None))
        barrier = threading.Barrier(8)
        won: list[str] = []

        def contend(i: int) -> None:
            barrier.wait()
            with Session(engine) as session, session.begin():
                if workers.claim(session, "sources", f"w{i}", every=60, hold=DEAD_AFTER):
                    won.append(f"w{i}")

        threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(won) == 1, (round_, won)
