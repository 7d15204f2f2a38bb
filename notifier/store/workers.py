"""Replicas sharing one database: heartbeats, taking over a dead replica's work, and scheduled
jobs that run once across replicas.

Heartbeats. Every daemon has a row in ``worker`` (its id is the owner name its leases carry) and
renews ``seen_at`` every ``workers.heartbeat`` seconds from a thread of its own, so a busy event
loop does not look like a dead process. Each beat also reaps: a worker not seen for
``workers.dead_after`` seconds is dead, and in one transaction its shipment and notification
leases are freed (instead of waiting out the lease timeouts), its job locks released and its
row deleted. A notification it left ``sending`` stays ``sending``: its attempt row has no
outcome, which is how the one window where a message can go twice (a crash inside the provider
call) is counted; the next dispatcher takes it as it would take an expired lease.

Fencing. A daemon that finds its own row gone was presumed dead (it stalled for longer than
``dead_after``) and its work was handed out. It carries on under a new id (:class:`Heartbeat`
calls ``on_fenced``); what it was doing under the old id is recorded nowhere, since every
write of a stage checks that the lease is still the writer's.

Singleton jobs. One ``job_lock`` row per job name. :func:`claim` is one UPDATE that succeeds
only when nobody holds the lock (or the holder's hold lapsed) and the last run started at least
an interval ago, so the job runs once per interval across all replicas, not once per replica.
On PostgreSQL the row lock serializes concurrent claims (the loser re-reads the row and its
WHERE no longer matches); on SQLite there is one writer at a time anyway. The holder's
heartbeat renews the hold while the job runs, so a long run keeps its lock and a dead holder's
lock is freed by the reaper.

Time is the database's clock (PostgreSQL ``clock_timestamp()``) so replicas on hosts whose
clocks disagree still agree on who is late; SQLite (one host) uses the host's clock.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from notifier.store.lease import insert_ignoring
from notifier.store.models import JobLock, Notification, Shipment, Worker

log = structlog.get_logger(__name__)

INTERVAL_SLACK = 0.9  # a run may start this fraction of an interval after the last one
STOP_TIMEOUT = 10.0  # s to wait for the heartbeat thread at shutdown

REAPED = Counter("notifier_reaped_leases_total", "Leases freed because their worker died", ["kind"])
JOB_CLAIMS = Counter(
    "notifier_job_claims_total",
    "Scheduled singleton runs: ran here or held elsewhere",
    ["job", "outcome"],
)


@dataclass
class Reaped:
    """What one reap freed."""

    workers: int = 0
    shipments: int = 0
    notifications: int = 0
    jobs: int = 0


def db_now(session: Session) -> datetime:
    """The database's current time (aware UTC); the host's on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


def register(session: Session, worker: str) -> None:
    """Announce ``worker`` (this process) as alive."""
    now = db_now(session)
    row = {
        "id": worker,
        "host": socket.gethostname()[:64],
        "pid": os.getpid(),
        "started_at": now,
        "seen_at": now,
    }
    insert_ignoring(session, Worker, [row], ["id"])


def beat(session: Session, worker: str, dead_after: float) -> bool:
    """Renew ``worker``'s heartbeat and its job locks; False if its row is gone (fenced)."""
    now = db_now(session)
    seen: Any = session.execute(
        sa.update(Worker).where(col(Worker.id) == worker).values(seen_at=now)
    )
    if seen.rowcount == 0:
        return False
    session.execute(
        sa.update(JobLock)
        .where(col(JobLock.owner) == worker)
        .values(locked_until=now + timedelta(seconds=dead_after))
    )
    return True


def reap(session: Session, dead_after: float) -> Reaped:
    """Free the leases and locks of every worker not seen for ``dead_after`` seconds."""
    cutoff = db_now(session) - timedelta(seconds=dead_after)
    dead = list(
        session.execute(
            sa.select(col(Worker.id))
            .where(col(Worker.seen_at) < cutoff)
            .with_for_update(skip_locked=True)  # two reapers never free the same worker twice
        ).scalars()
    )
    out = Reaped(workers=len(dead))
    if not dead:
        return out
    out.shipments = _free(session, Shipment, dead)
    out.notifications = _free(session, Notification, dead)
    jobs: Any = session.execute(
        sa.update(JobLock).where(col(JobLock.owner).in_(dead)).values(owner=None, locked_until=None)
    )
    out.jobs = int(jobs.rowcount)
    session.execute(sa.delete(Worker).where(col(Worker.id).in_(dead)))
    REAPED.labels("shipment").inc(out.shipments)
    REAPED.labels("notification").inc(out.notifications)
    return out


def _free(session: Session, model: Any, owners: list[str]) -> int:
    result: Any = session.execute(
        sa.update(model)
        .where(model.lease_owner.in_(owners))
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


def unregister(session: Session, worker: str) -> None:
    """A clean stop: release ``worker``'s job locks and remove its row."""
    session.execute(
        sa.update(JobLock).where(col(JobLock.owner) == worker).values(owner=None, locked_until=None)
    )
    session.execute(sa.delete(Worker).where(col(Worker.id) == worker))


def claim(session: Session, job: str, worker: str, *, every: float, hold: float) -> datetime | None:
    """Take ``job`` for one run if it is free and its last run began at least about ``every``
    seconds ago; ``hold`` is how long the lock lasts unless the heartbeat renews it. Returns
    the run's start (database time), or None when the job is not ours to run now."""
    now = db_now(session)
    insert_ignoring(session, JobLock, [{"name": job, "runs": 0}], ["name"])
    taken = session.execute(
        sa.update(JobLock)
        .where(
            col(JobLock.name) == job,
            sa.or_(col(JobLock.locked_until).is_(None), col(JobLock.locked_until) < now),
            sa.or_(
                col(JobLock.started_at).is_(None),
                col(JobLock.started_at) <= now - timedelta(seconds=every * INTERVAL_SLACK),
            ),
        )
        .values(
            owner=worker,
            locked_until=now + timedelta(seconds=hold),
            started_at=now,
            finished_at=None,
            runs=JobLock.runs + 1,
        )
        .returning(col(JobLock.name))
    ).first()
    JOB_CLAIMS.labels(job, "ran" if taken else "held").inc()
    return now if taken else None


def finish(session: Session, job: str, worker: str) -> None:
    """Release ``job`` after a run (a no-op if the lock was taken from us meanwhile)."""
    session.execute(
        sa.update(JobLock)
        .where(col(JobLock.name) == job, col(JobLock.owner) == worker)
        .values(owner=None, locked_until=None, finished_at=db_now(session))
    )


class Heartbeat:
    """The heartbeat thread of one daemon: registers, beats and reaps, unregisters at stop.

    ``worker`` returns the current id; ``on_fenced`` is called (on this thread) when the row
    was reaped while we were alive, and returns the id to carry on under.
    """

    def __init__(
        self,
        engine: Engine,
        worker: Callable[[], str],
        on_fenced: Callable[[], str],
        *,
        every: float,
        dead_after: float,
    ) -> None:
        self.engine = engine
        self.worker = worker
        self.on_fenced = on_fenced
        self.every = every
        self.dead_after = dead_after
        self.beats = 0
        self.reaped = Reaped()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Register (raises if the database is unreachable) and start beating."""
        with Session(self.engine) as session, session.begin():
            register(session, self.worker())
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and remove this worker's row (its leases are released by the caller)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
        try:
            with Session(self.engine) as session, session.begin():
                unregister(session, self.worker())
        except sa.exc.SQLAlchemyError as err:  # the reaper will remove it after dead_after
            log.warning("worker.unregister_failed", worker=self.worker(), error=str(err))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.tick()
            except sa.exc.SQLAlchemyError as err:  # the database is away: try again next beat
                log.warning("worker.heartbeat_failed", worker=self.worker(), error=str(err))

    def tick(self) -> Reaped:
        """One beat and one reap."""
        with Session(self.engine) as session, session.begin():
            alive = beat(session, self.worker(), self.dead_after)
        if not alive:
            old = self.worker()
            new = self.on_fenced()
            log.error("worker.fenced", worker=old, new_worker=new)
            with Session(self.engine) as session, session.begin():
                register(session, new)
        self.beats += 1
        with Session(self.engine) as session, session.begin():
            done = reap(session, self.dead_after)
        if done.workers:
            log.warning("worker.reaped", by=self.worker(), **vars(done))
            for key, value in vars(done).items():
                setattr(self.reaped, key, getattr(self.reaped, key) + value)
        return done
