"""Throughput of 1, 2 and 3 ``notifier run`` replicas sharing one PostgreSQL.

For each replica count: a fresh schema (``notifier db upgrade`` once), PARCELS parcels whose
journeys are already over at the simulator (registered days ago), the replicas started and
waited for, then every parcel made due at once. Measured from that moment until every parcel
has been polled (final status, no next check) and every message due has been sent: parcels per
second and messages per second. The simulator runs in its own thread of this process; the
outbox sender writes the messages (no provider latency), so this is the pipeline's and the
database's throughput on this machine.

    .venv/bin/python bench/replicas.py [--parcels 600] [--counts 1,2,3] [--profile DIR]

Also measured: the CPU seconds the replicas, PostgreSQL (all of its processes) and this process
spent meanwhile, and ``cpu_busy``, their sum over the time and the cores. ``--profile`` samples
every replica's thread stacks into DIR (folded stacks, see tests/campaigns/zygote.py).

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from carriers.simulator.server import serve_in_thread  # noqa: E402
from notifier.store.models import Notification, Shipment  # noqa: E402
from tests.campaigns.common import (  # noqa: E402
    Shop,
    database,
    release,
    seed,
    settled,
    watcher,
    workers_up,
)
from tests.campaigns.replicas import Replicas  # noqa: E402

START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta: no quiet hours
JOURNEYS = ("SIMNRM", "SIMFAT", "SIMPUP", "SIMETA")
STARTUP = 120.0  # s for the replicas to come up
LIMIT = 300.0  # s for one run


def measure(count: int, parcels: int, folder: Path, profile: Path | None = None) -> dict[str, Any]:
    shop = Shop("sekar", numbers=lambda i: f"{JOURNEYS[i % len(JOURNEYS)]}{i:06d}")
    with database("postgresql", folder) as url:
        seed(url, [shop], parcels, START)
        look = watcher(url)
        epoch = time.time()
        with serve_in_thread(now=lambda: START + timedelta(seconds=time.time() - epoch)) as sim:
            for i in range(1, parcels + 1):  # journeys over before the first poll
                sim.app.register(shop.numbers(i), registered_at=START - timedelta(days=8))
            env = {
                "NOTIFIER_CARRIERS__SIMULATOR__API_BASE": sim.url,
                "NOTIFIER_SENDERS__OUTBOX__DIR": str(folder / "outbox"),
                "NOTIFIER_POLL__INTERVAL": "0.5",
                "NOTIFIER_POLL__CHUNK_SIZE": "100",
                "NOTIFIER_DISPATCH__INTERVAL": "0.5",
                "NOTIFIER_DISPATCH__BATCH_SIZE": "100",
            }
            if profile:  # each replica's stacks, sampled (tests/campaigns/zygote.py)
                env["ZYGOTE_PROFILE"] = str(profile / f"replicas{count}")
            replicas = Replicas(url, folder, count, env, scale=1.0, start=START, epoch=epoch)
            replicas.start_all()
            try:
                up = _wait(lambda: len(workers_up(look)) >= count, STARTUP)
                began, cpu = time.monotonic(), _cpu(replicas.pids)
                release(look, START + timedelta(seconds=time.time() - epoch))
                done = _wait(lambda: settled(look, later=("feedback_request",)), LIMIT)
                seconds = time.monotonic() - began
                cpu = {k: round(v - cpu.get(k, 0.0), 1) for k, v in _cpu(replicas.pids).items()}
            finally:
                replicas.stop_all()
        sent, polls, decided = _counts(look)
        look.dispose()
    return {
        "replicas": count,
        "parcels": parcels,
        "up": up,
        "finished": done,
        "seconds": round(seconds, 2),
        "parcels_per_s": round(parcels / seconds, 1),
        "messages_sent": sent,
        "messages_per_s": round(sent / seconds, 1),
        "polls": polls,
        "notifications_decided": decided,
        # CPU seconds spent meanwhile: the replicas, every PostgreSQL process (other users of
        # the server included) and this process (the simulator's thread, the watcher).
        "cpu_s": cpu,
        "cpu_busy": round(sum(cpu.values()) / seconds / (os.cpu_count() or 1), 2),
    }


def _wait(ready: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.1)
    return False


def _counts(engine: sa.Engine) -> tuple[int, int, int]:
    """Messages sent, shipments polled, notifications no longer waiting (sent, suppressed...)."""
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(Notification.state, sa.func.count()).group_by(Notification.state)
            ).all()
        )
        polls = conn.execute(
            sa.select(sa.func.count())
            .select_from(Shipment)
            .where(Shipment.last_checked_at.is_not(None))
        ).scalar_one()
    decided = sum(n for s, n in states.items() if s not in ("pending", "sending"))
    return int(states.get("sent", 0)), int(polls), int(decided)


def _cpu(replicas: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) so far: the replicas, PostgreSQL's processes, this one."""
    out = {"replicas": 0.0, "postgres": 0.0, "bench": _seconds(psutil.Process())}
    for pid in replicas:
        out["replicas"] += _seconds(psutil.Process(pid))
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres":
            out["postgres"] += _seconds(proc)
    return out


def _seconds(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.Error:  # gone meanwhile
        return 0.0
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=600)
    parser.add_argument("--counts", default="1,2,3")
    parser.add_argument("--profile", type=Path, help="folder for each replica's sampled stacks")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    runs = []
    for count in (int(c) for c in args.counts.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(measure(count, args.parcels, Path(folder), args.profile))
        print(json.dumps(runs[-1]), file=sys.stderr)
    print(
        json.dumps(
            {
                "bench": "replicas",
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
