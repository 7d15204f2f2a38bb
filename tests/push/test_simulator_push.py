"""The simulator's own signed pushes (``X-Simulator-Signature``) reaching the app: in process,
and between real servers (the simulator and the app each under uvicorn in a thread). A push
names a number only, so the shipment becomes due at once and the next sweep records the news."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx

from carriers.simulator.server import create_app as simulator_app
from carriers.simulator.server import serve_in_thread
from notifier.pipeline import poll
from notifier.settings import CarrierSettings
from notifier.web.app import create_app
from tests.factories import parcel
from tests.push.conftest import SECRETS, state, update

NUMBER = "SIMNRM0001"


def first_change(entry, now: datetime) -> datetime:
    """The first change of the journey after registration (registering is not news)."""
    after = next(t for t in entry.compiled.changes if t > now.timestamp())
    return datetime.fromtimestamp(after, UTC)


async def test_a_signed_simulator_push_makes_the_shipment_due_at_once(hooks_rt, merchant, clock):
    later = clock.now() + timedelta(days=60)
    sh = parcel(hooks_rt, merchant, number=NUMBER, carrier="simulator")
    update(hooks_rt, sh.id, next_check_at=later)
    transport = httpx.ASGITransport(app=create_app(hooks_rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as to_app:
        sim = simulator_app(
            clock.now,
            webhook_url="http://notifier/webhooks/carriers/simulator",
            webhook_secret=SECRETS["simulator"],
            webhook_client=to_app,
        )
        assert sim.webhooks is not None
        entry = sim.register(NUMBER)
        clock.set(first_change(entry, clock.now()))
        assert await sim.webhooks.tick() == 1
        assert sim.stats()["webhooks_sent"] == 1 and sim.stats()["webhooks_failed"] == 0
        await sim.shutdown()
    got = state(hooks_rt, sh.id)
    assert got["next_check_at"] == clock.now() and got["events"] == 0  # due, nothing invented


async def test_a_simulator_with_another_secret_is_refused(hooks_rt, merchant, clock):
    sh = parcel(hooks_rt, merchant, number=NUMBER, carrier="simulator")
    update(hooks_rt, sh.id, next_check_at=clock.now() + timedelta(days=60))
    before = state(hooks_rt, sh.id)
    transport = httpx.ASGITransport(app=create_app(hooks_rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as to_app:
        sim = simulator_app(
            clock.now,
            webhook_url="http://notifier/webhooks/carriers/simulator",
            webhook_secret="not-our-secret",
            webhook_client=to_app,
        )
        assert sim.webhooks is not None
        clock.set(first_change(sim.register(NUMBER), clock.now()))
        await sim.webhooks.tick()
        assert sim.stats()["webhooks_failed"] == 1  # 403
        await sim.shutdown()
    assert state(hooks_rt, sh.id) == before


async def test_push_between_real_servers_then_the_sweep_records_it(
    hooks_rt, merchant, clock, app_server
):
    sim = serve_in_thread(
        now=clock.now,
        webhook_url=f"{app_server.url}/webhooks/carriers/simulator",
        webhook_secret=SECRETS["simulator"],
    )
    try:
        hooks_rt.settings.carriers["simulator"] = CarrierSettings(
            api_base=sim.url, webhook_secret=SECRETS["simulator"], timeout=5.0
        )
        sh = parcel(hooks_rt, merchant, number=NUMBER, carrier="simulator")
        update(hooks_rt, sh.id, next_check_at=clock.now() + timedelta(days=60))
        entry = sim.app.register(NUMBER)
        clock.set(first_change(entry, clock.now()) + timedelta(seconds=1))
        deadline = time.monotonic() + 10
        while state(hooks_rt, sh.id)["next_check_at"] != clock.now():
            assert time.monotonic() < deadline, sim.app.stats()
            await asyncio.sleep(0.05)
        stats = await poll.sweep(hooks_rt)
        assert stats.shipments == 1 and stats.new_events >= 1
        got = state(hooks_rt, sh.id)
        assert got["events"] >= 1 and got["status"] != "pending"
        assert got["next_check_at"] > clock.now()
    finally:
        sim.stop()
