"""The whole sweep through carriers' own wire formats: the simulator serves the same journeys as
FedEx, AfterShip, Binderbyte (JNE) and UPS, the real adapters fetch and parse them, and the
shopper ends up with the same notifications as through the simulator's native API.

One simulator (uvicorn in a thread) reads the test's frozen clock. Each journey's number is
tracked by one shop per carrier: once with ``carrier="simulator"`` and once through each wire
format, and the clock steps through the journeys with a sweep and a delay scan each step, as
the daemon would run them; every shop must end with the same notification rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from carriers.simulator import formats
from carriers.simulator.server import SimulatorServer, serve_in_thread
from notifier.pipeline import delays, poll
from notifier.settings import CarrierSettings
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Notification, Shipment
from tests.conftest import token_hash
from tests.factories import parcel

pytestmark = pytest.mark.slow

STEP = timedelta(minutes=30)  # how often the test's "daemon" sweeps: the out-for-delivery pace
DAYS = 8  # every journey ends within 7 virtual days
# Journeys whose news every format can tell: the Indonesian aggregators publish no ETA, so the
# ETA-slip journey (delays announced by a later ETA) runs only through formats that carry one.
JOURNEYS = ("SIMNRM", "SIMFAT", "SIMPUP", "SIMETA")
NO_ETA = frozenset({"binderbyte"})
CASES = [("fedex", None), ("aftership", None), ("binderbyte", "jne"), ("ups", None)]  # + courier


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """SQLite only: the wire format changes nothing below the adapter, and the store has its
    own PostgreSQL tests."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notifier.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def simulator(clock) -> Iterator[SimulatorServer]:
    server = serve_in_thread(now=clock.now)
    yield server
    server.stop()


def shop(rt, merchant: Merchant, carrier: str) -> Merchant:
    """Another shop like ``merchant``, so the same numbers can be tracked once per carrier."""
    with rt.sessions() as session, session.begin():
        other = Merchant(
            slug=f"sekar-{carrier}",
            name=f"Toko Batik Sekar ({carrier})",
            api_token_hash=token_hash(f"tok-sekar-{carrier}"),
            country="ID",
            locale="id",
            timezone="Asia/Jakarta",
            settings=merchant.settings,
            created_at=merchant.created_at,
        )
        session.add(other)
    return other


def news(rt, merchant: Merchant) -> dict[str, set[tuple[str, str, str]]]:
    """Every notification row of a shop, by tracking number: (trigger, channel, episode)."""
    with rt.sessions() as session:
        rows = session.exec(
            select(Notification, Shipment)
            .join(Shipment, Notification.shipment_id == Shipment.id)
            .where(Notification.merchant_id == merchant.id)
        ).all()
    out: dict[str, set[tuple[str, str, str]]] = {}
    for note, shipment in rows:
        out.setdefault(shipment.tracking_number, set()).add(
            (note.trigger, note.channel, note.episode)
        )
    return out


def statuses(rt, merchant: Merchant) -> dict[str, str]:
    with rt.sessions() as session:
        rows = session.exec(select(Shipment).where(Shipment.merchant_id == merchant.id)).all()
    return {s.tracking_number: s.status for s in rows}


async def test_the_sweep_through_wire_formats_sends_what_the_native_api_sends(
    rt, merchant, clock, simulator
) -> None:
    fast = {"rate": 1000.0, "max_concurrency": 8}  # virtual time: the real limits would stall
    rt.settings.carriers["simulator"] = CarrierSettings(api_base=simulator.url, **fast)
    numbers = [f"{prefix}WIRE01" for prefix in JOURNEYS]
    for number in numbers:
        parcel(rt, merchant, number=number, carrier="simulator")
    shops = {}
    for carrier, courier in CASES:
        rt.settings.carriers[carrier] = CarrierSettings(
            **formats.settings(simulator.url, carrier), **fast
        )
        shops[carrier] = shop(rt, merchant, carrier)
        for number in numbers:
            if not (carrier in NO_ETA and number.startswith("SIMETA")):
                parcel(rt, shops[carrier], number=number, carrier=carrier, courier=courier or "")
    end = clock.now() + timedelta(days=DAYS)
    while clock.now() < end:
        stats = await poll.sweep(rt)
        assert stats.failures == 0
        await delays.scan(rt)
        clock.advance(seconds=STEP.total_seconds())
    native = news(rt, merchant)
    assert statuses(rt, merchant) == dict.fromkeys(numbers, "delivered")
    triggers = {t for n in numbers for t, _, _ in native[n]}
    assert triggers >= {"shipped", "out_for_delivery", "failed_attempt", "delivered", "delayed"}
    stats = httpx.get(f"{simulator.url}/v1/_stats").json()["wire"]
    for carrier, _ in CASES:
        wire = news(rt, shops[carrier])
        assert set(statuses(rt, shops[carrier]).values()) == {"delivered"}, carrier
        for number in wire:
            assert wire[number] == native[number], (carrier, number)
        assert len(wire) == len(numbers) - (carrier in NO_ETA)
        assert stats[carrier]["numbers_tracked"] >= len(wire) * 10  # polled all along
    for carrier in ("fedex", "ups"):  # tokens expired on the virtual clock and were renewed
        assert stats[carrier]["tokens_issued"] > 1 and stats[carrier]["auth_refused"] >= 1
