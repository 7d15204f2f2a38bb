"""The crash campaign: N ``notifier run`` replicas on one database, parcels travelling through
the simulator on a shared accelerated clock, and a random replica SIGKILLed at random moments,
again and again, then restarted.

The heartbeat is short (dead after 3 s) and leases longer (15 s of wall time): a dead
replica's work is taken over through its heartbeat (each kill's registration is reaped,
counted), while a lease left behind by a live replica whose job crashed (a deadlock victim)
still expires within the settle time.

At the end every notification row is audited against the messages on disk (the outbox sender
writes one file per send, named uniquely, carrying the dedupe key): nothing lost, and a message
twice only where an attempt has no recorded outcome (the kill fell inside the send). Singleton
jobs are checked from the replicas' logs: no two runs of one job closer than its interval,
whichever replicas ran them.

Importable without pytest: ``tests/campaigns/test_crash_campaign.py`` runs it CI-sized,
``bench/campaign.py`` larger.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from carriers.simulator.server import serve_in_thread
from notifier.clock import ScaledClock
from notifier.scheduler import SHORTEST_INTERVAL, SINGLETONS
from notifier.store.models import Notification, Shipment
from notifier.store.workers import INTERVAL_SLACK
from tests.campaigns.common import (
    Shop,
    audit,
    database,
    log_lines,
    pid_of,
    release,
    repeats_allowed_by_kills,
    seed,
    settled,
    snapshot_check,
    unrecorded_sends,
    watcher,
    workers_up,
)
from tests.campaigns.replicas import Replicas

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 07:00 in Jakarta
# Journeys that end delivered (a failed attempt, a pickup point, a moved ETA on the way) and
# one that ends returned to the sender.
JOURNEYS = ("SIMNRM", "SIMNRM", "SIMFAT", "SIMPUP", "SIMETA", "SIMRTS")
CHANNELS = ("email", "whatsapp")
HEARTBEAT = 0.5  # s
DEAD_AFTER = 3.0  # s
LEASE = 15.0  # s of wall time
UNEXPECTED_EXITS_ABORT = 6  # replicas ending by themselves before the campaign gives up


@dataclass
class CrashPlan:
    replicas: int = 3
    parcels: int = 160
    kills: int = 16  # at least this many
    scale: float = 30_000.0  # virtual seconds per wall second: ~1 virtual week in 20 s
    db: str = "postgresql"
    seed: int = 20261201
    kill_gap: tuple[float, float] = (0.3, 1.2)  # s between kills
    waves: int = 4  # parcels arrive in this many waves during the kills
    settle: float = 60.0  # s to settle after the last kill
    startup: float = 60.0  # s for the first replicas to come up (a busy CI machine is slow)


@dataclass
class CrashReport:
    replicas: int = 0
    parcels: int = 0
    kills: int = 0
    kills_while_sending: int = 0  # the victim had a notification in flight
    kills_while_polling: int = 0  # the victim held shipment leases
    restarts: int = 0
    unexpected_exits: list[str] = field(default_factory=list)  # replicas that ended by themselves
    aborted: str = ""  # why the campaign gave up early
    crashes: Counter[str] = field(default_factory=Counter)  # job runs that raised, by cause
    killed: set[int] = field(default_factory=set)  # pids
    startup: float = 0.0  # s until every replica had registered
    kill_phase: float = 0.0  # s
    settle_phase: float = 0.0  # s from the last kill until all was sent
    settled: bool = False
    clean_exits: int = 0
    reaped_workers: int = 0  # from the reapers' log lines
    unreaped: list[int] = field(default_factory=list)  # killed pids still registered at the end
    reaped_shipment_leases: int = 0
    reaped_notification_leases: int = 0
    fenced: int = 0
    singleton_runs: dict[str, int] = field(default_factory=dict)
    singleton_too_close: list[str] = field(default_factory=list)
    half_applied: list[str] = field(default_factory=list)
    snapshots: int = 0
    received: int = 0
    audit: dict[str, Any] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)  # see common.Audit.unrecorded
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        """The campaign's numbers, as printed and as bench JSON."""
        return {
            "campaign": "crash",
            "replicas": self.replicas,
            "parcels": self.parcels,
            "kills": self.kills,
            "kills_while_sending": self.kills_while_sending,
            "kills_while_polling": self.kills_while_polling,
            "restarts": self.restarts,
            "unexpected_exits": len(self.unexpected_exits),
            "aborted": self.aborted,
            "startup_seconds": round(self.startup, 1),
            "kill_phase_seconds": round(self.kill_phase, 1),
            "settle_seconds": round(self.settle_phase, 1),
            "settled": self.settled,
            "clean_exits": self.clean_exits,
            "reaped_workers": self.reaped_workers,
            "victims_not_reaped": len(self.unreaped),
            "reaped_leases": self.reaped_shipment_leases + self.reaped_notification_leases,
            "fenced": self.fenced,
            "job_crashes": dict(self.crashes),
            "singleton_runs": self.singleton_runs,
            "singleton_too_close": len(self.singleton_too_close),
            "snapshots_checked": self.snapshots,
            "half_applied": len(self.half_applied),
            "messages_received": self.received,
            **self.audit,
            "seconds": round(self.seconds, 1),
        }


def run(plan: CrashPlan, folder: Path) -> CrashReport:
    """Run one crash campaign in ``folder``; the report (nothing asserted here)."""
    report = CrashReport(replicas=plan.replicas, parcels=plan.parcels)
    rng = random.Random(plan.seed)
    started = time.monotonic()
    shop = Shop(
        "sekar",
        channels=CHANNELS,
        numbers=lambda i: f"{JOURNEYS[i % len(JOURNEYS)]}{i:05d}",
        disabled=("in_transit", "feedback_request"),  # fewer messages, same windows
    )
    with database(plan.db, folder) as url:
        ids = seed(url, [shop], plan.parcels, START)
        epoch = time.time()
        clock = ScaledClock(START, plan.scale, epoch)
        look = watcher(url)
        with serve_in_thread(now=clock.now) as sim:
            replicas = Replicas(
                url,
                folder,
                plan.replicas,
                _settings(sim.url, folder),
                scale=plan.scale,
                start=START,
                epoch=epoch,
                log_format=os.environ.get("CAMPAIGN_LOG_FORMAT", "json"),
            )
            replicas.start_all()
            try:
                report.startup = _wait_up(look, replicas, plan.startup)
                began = time.monotonic()
                waves = _waves(plan)
                _kill_loop(look, replicas, plan, rng, report, lambda: clock.now(), waves)
                for wave in waves.values():  # whatever the kills did not reach
                    release(look, clock.now(), wave)
                report.kill_phase = time.monotonic() - began
                deadline = time.monotonic() + plan.settle
                while not settled(look) and time.monotonic() < deadline:
                    _check_snapshot(look, report)
                    _restart_exited(replicas, report)
                    if report.aborted:
                        break
                    time.sleep(0.5)
                report.settled = settled(look)
                report.settle_phase = time.monotonic() - deadline + plan.settle
                # Only a reap deletes another process's row: a victim still registered was
                # never taken over through its heartbeat.
                report.unreaped = sorted(report.killed & workers_up(look))
            finally:
                report.clean_exits = replicas.stop_all()
        _read_logs(replicas.logs, report)
        received = _received(folder / "outbox")
        report.received = sum(received.values())
        allowed = repeats_allowed_by_kills(url, report.killed)
        unrecorded = unrecorded_sends(url, report.killed)
        result = audit(url, received, {ids["sekar"]: CHANNELS}, allowed, unrecorded)
        _check_snapshot(look, report)
        look.dispose()
    report.audit = result.figures()
    report.lost = result.lost + result.unreasoned
    report.unexplained = result.unexplained
    report.unrecorded = result.unrecorded
    report.seconds = time.monotonic() - started
    return report


def _settings(sim_url: str, folder: Path) -> dict[str, str]:
    return {
        "NOTIFIER_CARRIERS__SIMULATOR__API_BASE": sim_url,
        "NOTIFIER_SENDERS__OUTBOX__DIR": str(folder / "outbox"),
        "NOTIFIER_POLL__INTERVAL": "0.2",
        "NOTIFIER_POLL__CHUNK_SIZE": "25",
        "NOTIFIER_POLL__LEASE": str(LEASE),
        "NOTIFIER_DISPATCH__INTERVAL": "0.2",
        "NOTIFIER_DISPATCH__BATCH_SIZE": "10",
        "NOTIFIER_DISPATCH__LEASE": str(LEASE),
        "NOTIFIER_WORKERS__HEARTBEAT": str(HEARTBEAT),
        "NOTIFIER_WORKERS__DEAD_AFTER": str(DEAD_AFTER),
    }


def _waves(plan: CrashPlan) -> dict[int, range]:
    """Parcels arrive in waves during the kills (by kill count), so every kill finds work."""
    size = -(-plan.parcels // plan.waves)
    starts = range(1, plan.parcels + 1, size)
    every = max(1, plan.kills // plan.waves)
    return {n * every: range(a, min(a + size, plan.parcels + 1)) for n, a in enumerate(starts)}


def _kill_loop(
    engine: sa.Engine,
    replicas: Replicas,
    plan: CrashPlan,
    rng: random.Random,
    report: CrashReport,
    now: Callable[[], datetime],
    waves: dict[int, range],
) -> None:
    """Kill a replica every so often until enough kills are done; half the victims are chosen
    among the replicas that have a notification in flight right now."""
    while report.kills < plan.kills and not report.aborted:
        if report.kills in waves:
            release(engine, now(), waves.pop(report.kills))
        time.sleep(rng.uniform(*plan.kill_gap))
        _check_snapshot(engine, report)
        _restart_exited(replicas, report)
        up = workers_up(engine)
        alive = [s for s, pid in enumerate(replicas.pids) if pid in up]
        if len(alive) < 2:  # keep a survivor to take the victim's work over
            continue
        busy = _busy(engine)
        sending = [s for s in alive if "sending" in busy.get(replicas.pids[s], ())]
        slot = rng.choice(sending if sending and rng.random() < 0.5 else alive)
        pid = replicas.kill(slot)
        report.killed.add(pid)
        held = _busy(engine).get(pid, set())  # a dead process changes nothing any more
        report.kills += 1
        report.kills_while_sending += "sending" in held
        report.kills_while_polling += "polling" in held
        time.sleep(rng.uniform(0.0, 0.5))
        replicas.start(slot)
        report.restarts += 1


def _restart_exited(replicas: Replicas, report: CrashReport) -> None:
    """Restart replicas that ended by themselves (a crash of ours: counted, and the campaign
    gives up after a few, e.g. when the daemon cannot even start)."""
    for slot, code in replicas.exited().items():
        report.unexpected_exits.append(f"slot {slot}: pid {replicas.pids[slot]} exited {code}")
        if len(report.unexpected_exits) >= UNEXPECTED_EXITS_ABORT:
            report.aborted = f"{len(report.unexpected_exits)} replicas exited by themselves"
            return
        replicas.start(slot)
        report.restarts += 1


def _busy(engine: sa.Engine) -> dict[int, set[str]]:
    """What each process (by pid) holds now: notifications being sent, shipment leases."""
    out: dict[int, set[str]] = {}
    with engine.connect() as conn:
        sending = conn.execute(
            sa.select(Notification.lease_owner).where(
                Notification.state == "sending", Notification.lease_owner.is_not(None)
            )
        ).scalars()
        for owner in set(sending):
            out.setdefault(pid_of(owner), set()).add("sending")
        polling = conn.execute(
            sa.select(Shipment.lease_owner).where(Shipment.lease_owner.is_not(None))
        ).scalars()
        for owner in set(polling):
            out.setdefault(pid_of(owner), set()).add("polling")
    return out


def _wait_up(engine: sa.Engine, replicas: Replicas, timeout: float) -> float:
    """Wait until every replica has registered; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if set(replicas.pids) <= workers_up(engine):
            break
        time.sleep(0.2)
    return time.monotonic() - started


def _check_snapshot(engine: sa.Engine, report: CrashReport) -> None:
    report.snapshots += 1
    report.half_applied += snapshot_check(engine)


def _received(outbox: Path) -> Counter[str]:
    """Messages the outbox "provider" took, by dedupe key."""
    if not outbox.exists():
        return Counter()
    return Counter(
        message_from_bytes(p.read_bytes())["X-Notifier-Dedupe-Key"]
        for p in outbox.iterdir()
        if p.suffix in (".eml", ".txt")
    )


def _read_logs(paths: list[Path], report: CrashReport) -> None:
    runs: dict[str, list[datetime]] = {}
    for line in log_lines(paths):
        event = line.get("event")
        if event == "job.claimed":
            runs.setdefault(line["job"], []).append(datetime.fromisoformat(line["at"]))
        elif event == "worker.reaped":
            report.reaped_workers += int(line.get("workers", 0))
            report.reaped_shipment_leases += int(line.get("shipments", 0))
            report.reaped_notification_leases += int(line.get("notifications", 0))
        elif event == "worker.fenced":
            report.fenced += 1
        elif event == "job.crashed":
            error = str(line.get("error", "?"))
            kind = "deadlock" if "DeadlockDetected" in error else error.split(":")[0]
            report.crashes[f"{line.get('job')}: {kind}"] += 1
    # Every singleton's interval is compressed to the shortest under this clock.
    least = SHORTEST_INTERVAL * INTERVAL_SLACK
    for job, times in sorted(runs.items()):
        assert job in SINGLETONS, job
        times.sort()
        report.singleton_runs[job] = len(times)
        for a, b in itertools.pairwise(times):
            if (b - a).total_seconds() < least - 0.001:
                report.singleton_too_close.append(f"{job}: {a} then {b}")
