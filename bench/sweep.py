"""One full tracking sweep of N active shipments against the carrier simulator, beside the rate
of a bare async HTTP client fetching the same simulator URLs (the ceiling on this machine).

    python bench/sweep.py --shipments 100000 --db sqlite
    python bench/sweep.py --shipments 10000 --db postgresql   # NOTIFIER_TEST_PG or local "test"

The simulator runs as its own process on 127.0.0.1 (its CPU and memory are not ours). N numbers
are registered with registration times spread over the past 6 days, so parcels are mid-journey
(a few scans to a whole delivered history each); the database gets N shoppers, orders and due
shipments in bulk (Core executemany). Then, timed: ``notifier.pipeline.poll.sweep`` once over
every due shipment (lease, fetch, diff with stored events, store, detect, outbox rows). The
ceiling is aiohttp alone POSTing the same /v1/track batches (40 numbers) at the same concurrency
and reading the bodies, measured before and after the sweep (the better of the two is used).

Prints one JSON object as its last line: shipments/s, the ceiling and the ratio, DB round trips
per shipment (``before_cursor_execute``), peak RSS of this process (getrusage), and the cost
per shipment in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import sqlalchemy as sa
import structlog
from common import (
    PEAK_RSS_SOURCE,
    PG_URL,
    RoundTrips,
    emit,
    machine,
    peak_rss_mb,
    postgres_version,
    reset_peak_rss,
    simulator,
)
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from carriers.simulator.adapter import SimulatorAdapter
from notifier.clock import SystemClock
from notifier.pipeline import poll
from notifier.runtime import Carriers, Runtime, build_runtime
from notifier.settings import Settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Order, Recipient, Shipment
from notifier.transport import AiohttpTransport

MERCHANTS = 20
SPREAD = 6 * 86400  # s: registrations spread over the past 6 days (journeys last <= 7)
SEED_BATCH = 5_000  # rows per executemany while seeding
TRACK_BATCH = SimulatorAdapter.batch_size  # numbers per POST /v1/track


def numbers(n: int) -> list[str]:
    return [f"BN{i:09d}" for i in range(1, n + 1)]


async def register(url: str, nums: Sequence[str], now: datetime, rng: random.Random) -> None:
    """Register every number with the simulator, mid-journey (batches of 5,000)."""
    async with aiohttp.ClientSession() as session:
        for start in range(0, len(nums), 5_000):
            entries = [
                {
                    "tracking_number": n,
                    "registered_at": (now - timedelta(seconds=rng.uniform(60, SPREAD))).isoformat(),
                }
                for n in nums[start : start + 5_000]
            ]
            async with session.post(f"{url}/v1/trackings", json={"trackings": entries}) as resp:
                resp.raise_for_status()
                payload = await resp.json()
                if payload["errors"]:
                    raise RuntimeError(f"simulator refused: {payload['errors'][:3]}")


def seed(engine: Engine, nums: Sequence[str], now: datetime, rng: random.Random) -> None:
    """Merchants, then one shopper, order and due shipment per number (Core executemany)."""
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Merchant),
            [
                {
                    "id": m,
                    "slug": f"bench-{m}",
                    "name": f"Bench shop {m}",
                    "api_token_hash": hashlib.sha256(f"bench-{m}".encode()).hexdigest(),
                    "settings": {},
                    "created_at": now - timedelta(days=30),
                }
                for m in range(1, MERCHANTS + 1)
            ],
        )
    for start in range(0, len(nums), SEED_BATCH):
        with engine.begin() as conn:
            _seed_batch(conn, nums, start, now, rng)
    if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        with engine.begin() as conn:
            for table in ("recipient", "order", "shipment"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )


def _seed_batch(conn: Any, nums: Sequence[str], start: int, now: datetime, rng: Any) -> None:
    chunk = range(start + 1, min(start + SEED_BATCH, len(nums)) + 1)
    created = now - timedelta(days=7)
    merchant = {i: 1 + i % MERCHANTS for i in chunk}
    conn.execute(
        sa.insert(Recipient),
        [
            {
                "id": i,
                "merchant_id": merchant[i],
                "name": f"Shopper {i}",
                "phone": f"+62812{i:08d}",
                "phone_kind": "mobile",
                "email": f"shopper{i}@example.com",
                "locale": "id",
                "timezone": "Asia/Jakarta",
                "created_at": created,
            }
            for i in chunk
        ],
    )
    conn.execute(
        sa.insert(Order),
        [
            {
                "id": i,
                "merchant_id": merchant[i],
                "external_id": f"o{i}",
                "order_number": f"INV/{i}",
                "recipient_id": i,
                "status": "paid",
                "paid_at": created,
                "source": "api",
                "created_at": created,
                "updated_at": created,
            }
            for i in chunk
        ],
    )
    conn.execute(
        sa.insert(Shipment),
        [
            {
                "id": i,
                "merchant_id": merchant[i],
                "order_id": i,
                "carrier": "simulator",
                "courier": "",
                "tracking_number": nums[i - 1],
                "public_token": secrets.token_urlsafe(32),
                "status": "pending",
                "next_check_at": now - timedelta(seconds=rng.uniform(0, 3600)),
                "consecutive_failures": 0,
                "delay_open": False,
                "delay_episode": 0,
                "created_at": created,
                "updated_at": created,
            }
            for i in chunk
        ],
    )


async def ceiling(url: str, nums: Sequence[str], concurrency: int) -> float:
    """Shipments/s of aiohttp alone fetching every number, 40 per POST, ``concurrency`` at once."""
    bodies = [
        json.dumps({"tracking_numbers": list(nums[i : i + TRACK_BATCH])}).encode()
        for i in range(0, len(nums), TRACK_BATCH)
    ]
    slots = asyncio.Semaphore(concurrency)
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes) -> None:
            async with slots, session.post(f"{url}/v1/track", data=body, headers=headers) as r:
                await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return len(nums) / (time.perf_counter() - started)


@dataclass
class Timed:
    stats: poll.SweepStats
    seconds: float
    cpu: float
    trips: int

    def summary(self, prefix: str) -> dict[str, Any]:
        n = max(1, self.stats.shipments)
        return {
            f"{prefix}shipments": self.stats.shipments,
            f"{prefix}shipments_per_s": round(self.stats.shipments / self.seconds, 1),
            f"{prefix}new_events": self.stats.new_events,
            f"{prefix}notifications": self.stats.notifications,
            f"{prefix}round_trips_per_shipment": round(self.trips / n, 4),
            f"{prefix}us_per_shipment": round(self.seconds * 1e6 / n, 1),
        }


async def timed(rt: Runtime, engine: Engine, profile: str | None = None) -> Timed:
    """One sweep, with its wall and CPU time and the statements it sent."""
    trips = RoundTrips(engine)
    started, cpu = time.perf_counter(), time.process_time()
    with profiled(profile):
        stats = await poll.sweep(rt)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    trips.close()
    return Timed(stats, seconds, cpu, trips.count)


async def resweep(rt: Runtime, engine: Engine) -> Timed:
    """The steady state: every shipment still followed is due again a moment later, and the
    carrier has little new to say (the events are known, most messages were queued)."""
    now = datetime.now(UTC)
    table = Shipment.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            sa.update(table).where(table.c.next_check_at.is_not(None)).values(next_check_at=now)
        )
    return await timed(rt, engine)


def client(transport: str, concurrency: int, timeout: float) -> httpx.AsyncClient:
    """The carriers' client: the runtime's own (aiohttp transport), or another to compare."""
    limits = httpx.Limits(max_connections=concurrency)
    if transport == "httpx":
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    if transport == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport as Streaming  # optional, for comparison

        return httpx.AsyncClient(timeout=timeout, transport=Streaming(limits=limits))
    return httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport(limits))


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """A pyinstrument profile of the block (event-loop thread only) as text, if asked for."""
    if not path:
        yield
        return
    from pyinstrument import Profiler  # optional: only for --profile

    profiler = Profiler(async_mode="enabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(path).write_text(profiler.output_text(unicode=False, color=False))


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


async def run(args: argparse.Namespace, url: str, engine: Engine, folder: Path) -> dict[str, Any]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    nums = numbers(args.shipments)
    await register(url, nums, now, rng)
    seed(engine, nums, now, rng)
    settings = Settings(
        database_url=str(engine.url),
        var_dir=folder / "var",
        poll={"concurrency": args.concurrency, "chunk_size": args.chunk_size},
        carriers={
            "simulator": {
                "api_base": url,
                "rate": 1e9,  # the benchmark measures us, not the carrier's quota
                "max_concurrency": args.concurrency,
            }
        },
    )
    rt = build_runtime(settings, SystemClock(), engine=engine)
    if args.transport != "aiohttp":
        await rt.carriers.client.aclose()
        rt.carriers = Carriers(
            settings, client(args.transport, args.concurrency, settings.poll.request_timeout)
        )
    before = await ceiling(url, nums, args.concurrency)
    baseline = reset_peak_rss() and peak_rss_mb()
    first = await timed(rt, engine, args.profile)
    peak = peak_rss_mb()
    stats, seconds = first.stats, first.seconds
    after = await ceiling(url, nums, args.concurrency)
    again = await resweep(rt, engine) if args.resweep else None
    await rt.carriers.aclose()
    best = max(before, after)
    rate = stats.shipments / seconds if seconds else 0.0
    return {
        "benchmark": "sweep",
        "db": args.db,
        "shipments": args.shipments,
        "swept": stats.shipments,
        "transport": args.transport,
        "concurrency": args.concurrency,
        "chunk_size": args.chunk_size,
        "seconds": round(seconds, 3),
        "shipments_per_s": round(rate, 1),
        "ceiling_shipments_per_s": round(best, 1),
        "ceiling_runs": [round(before, 1), round(after, 1)],
        "ratio_to_ceiling": round(rate / best, 3) if best else None,
        "db_round_trips": first.trips,
        "round_trips_per_shipment": round(first.trips / max(1, stats.shipments), 4),
        "us_per_shipment": round(seconds * 1e6 / max(1, stats.shipments), 1),
        "cpu_us_per_shipment": round(first.cpu * 1e6 / max(1, stats.shipments), 1),
        "peak_rss_mb": peak,  # during the first sweep: the service's own footprint
        "rss_before_sweep_mb": baseline or None,
        "peak_rss_source": PEAK_RSS_SOURCE,
        "carrier_calls": stats.calls,
        "failures": stats.failures,
        "new_events": stats.new_events,
        "notifications": stats.notifications,
        **(again.summary("resweep_") if again else {}),
        "postgresql": postgres_version(engine),
        **machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=Settings().poll.concurrency)
    parser.add_argument("--chunk-size", type=int, default=Settings().poll.chunk_size)
    parser.add_argument(
        "--transport", choices=["aiohttp", "httpx", "httpx-aiohttp"], default="aiohttp"
    )
    parser.add_argument(
        "--resweep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time a second sweep over the same shipments (the steady state)",
    )
    parser.add_argument("--profile", help="write a pyinstrument text profile of the sweep here")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings up
    with (
        tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp,
        simulator() as url,
        database(args.db, Path(tmp)) as engine,
    ):
        result = asyncio.run(run(args, url, engine, Path(tmp)))
    emit(result)


if __name__ == "__main__":
    main()
