"""A carrier that answers 500, garbage, truncated bodies, resets or nothing at all: each shipment
in the failed call is recorded with the reason and backs off; the sweep and the rest go on."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from carriers.simulator.server import serve_in_thread
from notifier.pipeline import poll
from notifier.settings import CarrierSettings
from notifier.store.models import Shipment
from tests.factories import parcel

pytestmark = pytest.mark.slow


@pytest.fixture
def simulator(clock):
    server = serve_in_thread(now=clock.now)
    yield server
    server.stop()


@pytest.fixture
def sim_rt(rt, simulator):
    rt.settings.carriers["simulator"] = CarrierSettings(api_base=simulator.url, timeout=1.0)
    rt.settings.poll.chunk_size = 1  # one batch per fault, in a known order
    return rt


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"kind": "server_error", "status": 503}, "server error"),
        ({"kind": "garbage"}, "not JSON"),
        ({"kind": "truncated"}, "not JSON"),
        ({"kind": "reset"}, "connection failed"),
        ({"kind": "timeout", "delay": 5}, "timed out"),
        ({"kind": "auth"}, "credentials refused"),
    ],
)
async def test_each_fault_is_recorded_and_the_next_shipment_goes_on(
    sim_rt, merchant, simulator, fault, reason
):
    first = parcel(sim_rt, merchant, number="SIMNRM0001", carrier="simulator")
    second = parcel(sim_rt, merchant, number="SIMNRM0002", carrier="simulator")
    plan = {"faults": [fault | {"next": 1}]}
    httpx.post(f"{simulator.url}/v1/_faults", json=plan).raise_for_status()
    stats = await poll.sweep(sim_rt)
    assert stats.shipments == 2 and stats.failures == 1
    with sim_rt.sessions() as session:
        bad, good = (session.get(Shipment, s.id) for s in (first, second))
    assert reason in bad.last_error and bad.consecutive_failures == 1
    assert bad.next_check_at > sim_rt.clock.now()  # backs off
    assert good.consecutive_failures == 0 and good.last_error is None
    assert good.status == "info_received"  # the simulator's first answer for a fresh label


async def test_retry_after_pauses_the_account_without_stalling_the_sweep(
    sim_rt, merchant, simulator
):
    ids = [parcel(sim_rt, merchant, number=f"SIMNRM000{i}", carrier="simulator").id for i in (1, 2)]
    plan = {"faults": [{"kind": "rate_limit", "retry_after": 600, "next": 1}]}
    httpx.post(f"{simulator.url}/v1/_faults", json=plan).raise_for_status()
    stats = await poll.sweep(sim_rt)
    assert stats.failures == 2 and stats.seconds < 5  # the second call was not even sent
    stats_now = httpx.get(f"{simulator.url}/v1/_stats").json()
    assert stats_now["faults_injected"] == 1 and stats_now["track_requests"] == 0, stats_now
    with sim_rt.sessions() as session:
        for sid in ids:
            got = session.get(Shipment, sid)
            assert "rate limited" in got.last_error
            assert (got.next_check_at - sim_rt.clock.now()).total_seconds() >= 590


async def test_unknown_number_is_data_not_a_failure(sim_rt, merchant):
    sh = parcel(sim_rt, merchant, number="NOTASIM999", carrier="simulator")
    await poll.sweep(sim_rt)
    with sim_rt.sessions() as session:
        got = session.exec(select(Shipment).where(Shipment.id == sh.id)).one()
    assert got.consecutive_failures == 0 and got.status == "pending"
    assert got.last_error and "not" in got.last_error.lower()
