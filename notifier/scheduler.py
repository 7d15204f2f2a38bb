"""The daemon: APScheduler jobs wired to the stages, and the web app, in one process.

Jobs coalesce and never overlap themselves (``max_instances=1``). The tracking sweep and
dispatch run in every replica (their rows are leased); the other jobs are singletons that run
once per interval across all replicas (:func:`notifier.store.workers.claim`). A heartbeat thread
keeps this process's ``worker`` row fresh and frees the leases of replicas that died.

SIGTERM/SIGINT stop new runs, let the running ones finish (in-flight sends included), release
this process's leases and locks, remove its worker row and exit 0. After a SIGKILL nothing is
lost: another replica frees the leases once the heartbeat is ``workers.dead_after`` old (or they
expire), and the next process resumes from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col

from notifier import alerts, metrics
from notifier.orders.poller import poll_sources
from notifier.pipeline import circuit, delays, dispatch, poll
from notifier.runtime import Runtime, worker_id
from notifier.store import retention, workers
from notifier.store.lease import release
from notifier.store.models import Notification, Shipment
from notifier.web.app import create_app

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE = 30.0  # s to let running jobs finish after SIGTERM
DISPATCH_ROUNDS = 20  # batches per dispatch run while the queue stays full
DELAY_SCAN_EVERY = 600.0  # s
SOURCES_EVERY = 60.0  # s
HOUSEKEEPING_EVERY = 300.0  # s
ALERTS_EVERY = 300.0  # s
DIGESTS_EVERY = 600.0  # s
RETENTION_EVERY = 86400.0  # s: old events and message texts are pruned once a day
SHORTEST_INTERVAL = 0.5  # s; compressed (demo) intervals stay at least this long
# Jobs that run once per interval across replicas; the sweep and dispatch lease rows instead.
SINGLETONS = frozenset(
    {
        "delay_scan",
        "order_sources",
        "housekeeping",
        "retention",
        "merchant_alerts",
        "merchant_digests",
    }
)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    """One notifier process: scheduled stages plus the HTTP server."""

    def __init__(
        self, rt: Runtime, *, serve_http: bool = True, time_compression: float | None = None
    ):
        self.rt = rt
        self.serve_http = serve_http
        self.stop_event = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.server: _Server | None = None
        self.running = 0
        self.idle = asyncio.Event()
        self.idle.set()
        # Under an accelerated clock (the demo, campaigns) scheduled jobs run faster too.
        scale = float(getattr(rt.clock, "scale", 1.0))
        self.compression = time_compression if time_compression is not None else scale
        self.runs: dict[str, int] = {}
        self.held: dict[str, int] = {}  # singleton runs skipped: another replica had the job
        self.intervals: dict[str, float] = {}
        st = rt.settings.workers
        self.heartbeat = workers.Heartbeat(
            rt.engine,
            lambda: self.rt.worker,
            self._fenced,
            every=st.heartbeat,
            dead_after=st.dead_after,
        )
        circuit.protect(rt)

    @property
    def port(self) -> int | None:
        """The bound HTTP port once serving (useful with port 0)."""
        if self.server is None or not getattr(self.server, "servers", None):
            return None
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def _guard(self, name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stop_event.is_set():
                return
            self.running += 1
            self.idle.clear()
            mine = False
            try:
                mine = name not in SINGLETONS or await asyncio.to_thread(self._claim, name)
                if not mine:
                    self.held[name] = self.held.get(name, 0) + 1
                    return
                await job()
                self.runs[name] = self.runs.get(name, 0) + 1
            except Exception as err:  # a crashing job is logged and retried on its next run
                metrics.JOB_FAILURES.labels(name).inc()
                # The cause in the line itself: JSON logs keep no traceback.
                log.exception("job.crashed", job=name, error=f"{type(err).__name__}: {err}"[:500])
            finally:
                if mine and name in SINGLETONS:
                    await asyncio.to_thread(self._finish, name)
                self.running -= 1
                if self.running == 0:
                    self.idle.set()

        return run

    def _claim(self, name: str) -> bool:
        with self.rt.sessions() as session, session.begin():
            every = self.intervals[name]
            hold = self.rt.settings.workers.dead_after
            start = workers.claim(session, name, self.rt.worker, every=every, hold=hold)
        if start is not None:
            log.info("job.claimed", job=name, worker=self.rt.worker, at=start.isoformat())
        return start is not None

    def _finish(self, name: str) -> None:
        try:
            with self.rt.sessions() as session, session.begin():
                workers.finish(session, name, self.rt.worker)
        except sa.exc.SQLAlchemyError as err:  # the lock lapses after dead_after anyway
            log.warning("job.unlock_failed", job=name, error=str(err))

    def _fenced(self) -> str:
        """We were presumed dead and our leases handed out: carry on under a new id."""
        self.rt.worker = worker_id()
        return self.rt.worker

    def _schedule(self) -> None:
        st = self.rt.settings
        jobs: dict[str, tuple[Callable[[], Awaitable[Any]], float]] = {
            "tracking_sweep": (lambda: poll.sweep(self.rt), st.poll.interval),
            "dispatch": (self._dispatch_all, st.dispatch.interval),
            "delay_scan": (lambda: delays.scan(self.rt), self._every(DELAY_SCAN_EVERY)),
            "order_sources": (lambda: poll_sources(self.rt), self._every(SOURCES_EVERY)),
            "housekeeping": (self._housekeeping, self._every(HOUSEKEEPING_EVERY)),
            "retention": (self._retention, self._every(RETENTION_EVERY)),
            "merchant_alerts": (
                lambda: asyncio.to_thread(alerts.scan, self.rt),
                self._every(ALERTS_EVERY),
            ),
            "merchant_digests": (
                lambda: asyncio.to_thread(alerts.enqueue_digests, self.rt),
                self._every(DIGESTS_EVERY),
            ),
        }
        for name, (job, every) in jobs.items():
            self.intervals[name] = every
            self.scheduler.add_job(
                self._guard(name, job),
                "interval",
                seconds=every,
                id=name,
                name=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                next_run_time=_utcnow(),
            )

    def _every(self, seconds: float) -> float:
        return max(SHORTEST_INTERVAL, seconds / self.compression)

    async def _dispatch_all(self) -> None:
        for _ in range(DISPATCH_ROUNDS):
            stats = await dispatch.dispatch(self.rt)
            if stats.leased < self.rt.settings.dispatch.batch_size or self.stop_event.is_set():
                return

    async def _housekeeping(self) -> None:
        """Queue depth for the metrics, and a log line an operator can read."""
        now = self.rt.clock.now()

        def counts() -> dict[str, int]:
            with self.rt.sessions() as session:
                rows = session.execute(
                    sa.select(col(Notification.state), sa.func.count()).group_by(
                        col(Notification.state)
                    )
                ).all()
                due = session.execute(
                    sa.select(sa.func.count())
                    .select_from(Shipment)
                    .where(col(Shipment.next_check_at) <= now)
                ).scalar_one()
            return {str(state): int(n) for state, n in rows} | {"shipments_due": int(due)}

        log.info("housekeeping", **await asyncio.to_thread(counts))

    async def _retention(self) -> None:
        """The daily part of housekeeping: prune what ``[retention]`` lets go, in batches,
        ending early (to go on next time) when the daemon stops."""
        pruned = await asyncio.to_thread(
            retention.prune,
            self.rt.engine,
            self.rt.settings.retention,
            self.rt.clock.now(),
            should_stop=self.stop_event.is_set,
        )
        log.info("retention.pruned", **vars(pruned))

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT or :meth:`stop`; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        await asyncio.to_thread(self.heartbeat.start)
        self._schedule()
        self.scheduler.start()
        serving = None
        if self.serve_http:
            st = self.rt.settings.server
            config = uvicorn.Config(
                create_app(self.rt),
                host=st.host,
                port=st.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
            self.server = _Server(config)
            serving = asyncio.create_task(self.server.serve())
        log.info("daemon.started", worker=self.rt.worker, http=self.serve_http)
        await self.stop_event.wait()
        await self._shutdown(serving)
        return 0

    def stop(self) -> None:
        if not self.stop_event.is_set():
            log.info("daemon.stopping", worker=self.rt.worker)
            self.stop_event.set()

    async def _shutdown(self, serving: asyncio.Task[None] | None) -> None:
        self.scheduler.pause()
        try:
            await asyncio.wait_for(self.idle.wait(), SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("daemon.jobs_still_running", running=self.running)
        self.scheduler.shutdown(wait=False)
        if self.server is not None and serving is not None:
            self.server.should_exit = True
            await serving
        released = await asyncio.to_thread(self._release)
        await asyncio.to_thread(self.heartbeat.stop)
        log.info("daemon.stopped", worker=self.rt.worker, released=released)

    def _release(self) -> int:
        """Give back this process's leases. Every job has finished here, so a notification
        still "sending" is one whose outcome was never recorded (the provider may have taken
        it: a failed write after the send, or a job still running after the grace period).
        It stays "sending" with its attempt open, due at once for another dispatcher, exactly
        as after a crash: the repeat window is counted, never hidden."""
        with self.rt.sessions() as session, session.begin():
            count = release(session, Shipment, self.rt.worker)
            return count + release(session, Notification, self.rt.worker)


def _utcnow() -> datetime:
    return datetime.now(UTC)  # the scheduler runs on wall time; the stages use the runtime clock
