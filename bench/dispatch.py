"""Dispatch of N due notifications through the real SendGrid and Twilio senders to local
stand-ins, beside the official libraries posting pre-rendered messages with nothing else.

    python bench/dispatch.py --notifications 4000

Half the messages are email (``sendgrid``), half SMS (``twilio_sms``); the stand-ins
(notifier.testing_providers) run in their own processes on 127.0.0.1. Timed: the dispatch runs
(``notifier.pipeline.dispatch.dispatch``: lease, load, render, send, record) until nothing is
due. The baseline sends the same number of messages with the same libraries, one client per
thread, at the same concurrency (an asyncio semaphore over a bounded thread pool per provider,
as the senders do), with bodies rendered beforehand and no database.

Prints one JSON object as its last line: messages/s for both, the ratio, DB round trips per
message, threads used and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from common import (
    PEAK_RSS_SOURCE,
    RoundTrips,
    emit,
    machine,
    peak_rss_mb,
    reset_peak_rss,
    stand_in,
)
from sendgrid import SendGridAPIClient
from sqlmodel import SQLModel
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifier.clock import SystemClock
from notifier.pipeline import dispatch
from notifier.runtime import build_runtime
from notifier.settings import Settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Notification, Order, Recipient, Shipment
from notifier.store.models import TrackingEvent as EventRow
from notifier.testing_providers import SendgridStandIn, TwilioStandIn

SENDGRID_KEY = SendgridStandIn().api_key
TWILIO = TwilioStandIn()
TRIGGERS = ("shipped", "out_for_delivery", "delivered")
SMS_FROM = "+15005550006"
WARMUP = 100  # messages sent untimed first, by each side


def settings(folder: Path, sendgrid: str, twilio: str, concurrency: int) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'bench.db'}",
        var_dir=folder / "var",
        dispatch={"concurrency": concurrency, "batch_size": 200},
        notify={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"},  # no quiet hours
        senders={
            "email": "sendgrid",
            "sms": "twilio_sms",
            "sendgrid": {
                "api_key": SENDGRID_KEY,
                "api_base": sendgrid,
                "from_email": "toko@example.com",
            },
            "twilio": {
                "account_sid": TWILIO.account_sid,
                "auth_token": TWILIO.auth_token,
                "api_base": twilio,
                "sms_from": SMS_FROM,
            },
        },
    )


def seed(engine: sa.Engine, n: int, now: datetime) -> None:
    """One merchant; per message a shopper, an order, a parcel with one scan, a due row."""
    SQLModel.metadata.create_all(engine)
    created = now - timedelta(days=2)
    ids = range(1, n + 1)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Merchant),
            [
                {
                    "id": 1,
                    "slug": "bench",
                    "name": "Toko Batik Sekar",
                    "api_token_hash": hashlib.sha256(b"bench").hexdigest(),
                    "settings": {},
                    "created_at": created,
                }
            ],
        )
        conn.execute(sa.insert(Recipient), [_recipient(i, created) for i in ids])
        conn.execute(sa.insert(Order), [_order(i, created) for i in ids])
        conn.execute(sa.insert(Shipment), [_shipment(i, now, created) for i in ids])
        conn.execute(sa.insert(EventRow), [_event(i, now) for i in ids])
        conn.execute(sa.insert(Notification), [_notification(i, now) for i in ids])


def _recipient(i: int, created: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "merchant_id": 1,
        "name": "Rina Wulandari",
        "phone": f"+62812{i:08d}",
        "phone_kind": "mobile",
        "email": f"shopper{i}@example.com",
        "locale": "id" if i % 4 else "en",
        "timezone": "Asia/Jakarta",
        "created_at": created,
    }


def _order(i: int, created: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "merchant_id": 1,
        "external_id": f"o{i}",
        "order_number": f"INV/2026/{i}",
        "recipient_id": i,
        "status": "paid",
        "total_minor": 150_000,
        "currency": "IDR",
        "created_at": created,
        "updated_at": created,
    }


def _shipment(i: int, now: datetime, created: datetime) -> dict[str, Any]:
    status = {"shipped": "in_transit"}.get(TRIGGERS[i % 3], TRIGGERS[i % 3])
    return {
        "id": i,
        "merchant_id": 1,
        "order_id": i,
        "carrier": "simulator",
        "courier": "",
        "tracking_number": f"BN{i:09d}",
        "public_token": secrets.token_urlsafe(32),
        "status": status,
        "eta": (now + timedelta(days=1)).date(),
        "last_event_at": now - timedelta(hours=1),
        "created_at": created,
        "updated_at": created,
    }


def _event(i: int, now: datetime) -> dict[str, Any]:
    return {
        "shipment_id": i,
        "fingerprint": f"{i:032x}",
        "status": "in_transit",
        "time": now - timedelta(hours=1),
        "description": "Paket telah tiba di Hub Jakarta Timur",
        "location": "Jakarta Timur",
        "created_at": now,
    }


def _notification(i: int, now: datetime) -> dict[str, Any]:
    trigger, channel = TRIGGERS[i % 3], ("email", "sms")[i % 2]
    return {
        "id": i,
        "merchant_id": 1,
        "order_id": i,
        "shipment_id": i,
        "recipient_id": i,
        "trigger": trigger,
        "channel": channel,
        "dedupe_key": f"s{i}:{trigger}:1:{channel}",
        "state": "pending",
        "next_attempt_at": now - timedelta(seconds=1),
        "context": {},
        "created_at": now,
        "updated_at": now,
    }


async def ours(rt: Any, engine: sa.Engine, warmup: int) -> tuple[float, float, dict[str, int], int]:
    """Seconds (wall and this process's CPU) to dispatch everything due, the resulting states,
    and statements sent, after dispatching ``warmup`` messages untimed (senders loaded,
    templates compiled, threads up)."""
    await dispatch.dispatch(rt, limit=warmup)
    trips = RoundTrips(engine)
    states: dict[str, int] = {}
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        stats = await dispatch.dispatch(rt)
        if not stats.leased:
            break
        for state, count in stats.by_state.items():
            states[state] = states.get(state, 0) + count
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    trips.close()
    return seconds, cpu, states, trips.count


class Pool:
    """A bounded thread pool with one library client per thread (as the senders keep)."""

    def __init__(self, workers: int, factory: Callable[[], Any]) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers)
        self.local = threading.local()
        self.factory = factory

    def call(self, fn: Callable[[Any], Any]) -> Any:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = self.factory()
        return fn(client)


def _mail(i: int) -> dict[str, Any]:
    return {
        "personalizations": [
            {
                "to": [{"email": f"shopper{i}@example.com", "name": "Rina Wulandari"}],
                "custom_args": {"notification_id": str(i), "merchant_id": "1"},
            }
        ],
        "from": {"email": "toko@example.com", "name": "Toko Batik Sekar"},
        "subject": "Paketmu sedang diantar kurir hari ini",
        "content": [
            {"type": "text/plain", "value": "Halo Rina, paketmu INV/2026/1 sedang diantar." * 8},
            {"type": "text/html", "value": "<p>Halo Rina, paketmu sedang diantar.</p>" * 40},
        ],
        "categories": ["out_for_delivery"],
    }


async def baseline(
    n: int, warmup: int, sendgrid: str, twilio: str, concurrency: int
) -> tuple[float, float]:
    """Seconds (wall, CPU) for the libraries alone to send ``n`` pre-rendered messages (half
    each), after ``warmup`` untimed ones (threads started, connections open)."""

    def sg_client() -> SendGridAPIClient:
        client = SendGridAPIClient(api_key=SENDGRID_KEY, host=sendgrid)
        client.client.timeout = 10.0
        return client

    def tw_client() -> Client:
        client = Client(TWILIO.account_sid, TWILIO.auth_token, http_client=TwilioHttpClient(10))
        client.api.base_url = twilio
        return client

    pools = {"email": Pool(concurrency, sg_client), "sms": Pool(concurrency, tw_client)}
    mails = {i: _mail(i) for i in range(1, n + warmup + 1, 2)}
    text = (
        "Toko Batik Sekar: paket INV/2026/1 sedang diantar hari ini. Lacak: https://t.example/t/x"
    )
    slots = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    def job(i: int) -> Callable[[Any], Any]:
        if i % 2:
            return lambda sg: sg.client.mail.send.post(request_body=mails[i])
        return lambda tw: tw.messages.create(to=f"+62812{i:08d}", from_=SMS_FROM, body=text)

    async def one(i: int) -> None:
        pool = pools["email" if i % 2 else "sms"]
        async with slots:
            await loop.run_in_executor(pool.executor, pool.call, job(i))

    await asyncio.gather(*(one(i) for i in range(n + 1, n + warmup + 1)))
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(1, n + 1)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for pool in pools.values():
        pool.executor.shutdown()
    return seconds, cpu


async def run(args: argparse.Namespace, sendgrid: str, twilio: str, folder: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    config = settings(folder, sendgrid, twilio, args.concurrency)
    engine = make_engine(config.database_url)
    warmup = max(WARMUP, args.concurrency * 4)
    seed(engine, args.notifications + warmup, now)
    rt = build_runtime(config, SystemClock(), engine=engine)
    base, base_cpu = await baseline(args.notifications, warmup, sendgrid, twilio, args.concurrency)
    reset_peak_rss()  # the baseline's pre-rendered bodies are not ours
    seconds, cpu, states, trips = await ours(rt, engine, warmup)
    threads = threading.active_count()
    await rt.aclose()
    engine.dispose()
    sent = states.get("sent", 0)
    rate, base_rate = sent / seconds, args.notifications / base
    return {
        "benchmark": "dispatch",
        "notifications": args.notifications,
        "concurrency": args.concurrency,
        "sent": sent,
        "states": states,
        "seconds": round(seconds, 3),
        "messages_per_s": round(rate, 1),
        "baseline_messages_per_s": round(base_rate, 1),
        "warmup_messages": warmup,
        "ratio_to_baseline": round(rate / base_rate, 3),
        "db_round_trips": trips,
        "round_trips_per_message": round(trips / max(1, args.notifications), 3),
        "us_per_message": round(seconds * 1e6 / max(1, sent), 1),
        "cpu_us_per_message": round(cpu * 1e6 / max(1, sent), 1),
        "baseline_cpu_us_per_message": round(base_cpu * 1e6 / max(1, args.notifications), 1),
        "threads_at_end": threads,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_source": PEAK_RSS_SOURCE,
        **machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=Settings().dispatch.concurrency)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings up
    with (
        tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp,
        stand_in("sendgrid") as sendgrid,
        stand_in("twilio") as twilio,
    ):
        result = asyncio.run(run(args, sendgrid, twilio, Path(tmp)))
    emit(result)


if __name__ == "__main__":
    main()
