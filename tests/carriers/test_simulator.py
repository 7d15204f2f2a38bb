"""The carrier simulator end to end: uvicorn on 127.0.0.1 in a thread, the real adapter."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.simulator.adapter import SimulatorAdapter
from carriers.simulator.server import SimulatorServer, serve, serve_in_thread

S = Status
START = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
KEY = "sim-test-key"
_serial = itertools.count()


class SteppedClock:
    """A clock the test moves by hand (the server reads it from its own thread)."""

    def __init__(self, start: datetime = START) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


def fresh(prefix: str = "SIMNRM") -> str:
    """A number no other test has used (the server lives for the whole module)."""
    return f"{prefix}{next(_serial):06d}"


@pytest.fixture(scope="module")
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture(scope="module")
def server(clock: SteppedClock) -> Iterator[SimulatorServer]:
    with serve_in_thread(now=clock.now, api_key=KEY) as running:
        yield running


# One plain-HTTP client for the control calls: building a client loads the TLS trust store,
# which costs more than everything a test here does.
http = httpx.Client(verify=False, timeout=10)


@pytest.fixture(autouse=True)
def no_faults(server: SimulatorServer) -> Iterator[None]:
    yield
    http.delete(f"{server.url}/v1/_faults")


@asynccontextmanager
async def connect(url: str, **config: Any) -> AsyncIterator[SimulatorAdapter]:
    """The adapter as the poller builds it, on a plain-HTTP client."""
    client = httpx.AsyncClient(verify=False)  # the account's timeout applies per request
    try:
        yield SimulatorAdapter({"api_base": url, "rate": 1000, **config}, client=client)
    finally:
        await client.aclose()


@pytest.fixture
async def adapter(server: SimulatorServer) -> AsyncIterator[SimulatorAdapter]:
    async with connect(server.url, api_key=KEY, timeout=1.5) as a:  # the slow fault is 0.2 s
        yield a


def faults(server: SimulatorServer, *rules: dict[str, Any], seed: int = 0) -> None:
    resp = http.post(f"{server.url}/v1/_faults", json={"seed": seed, "faults": list(rules)})
    assert resp.status_code == 200, resp.text


def stats(server: SimulatorServer) -> dict[str, Any]:
    return http.get(f"{server.url}/v1/_stats").json()


def test_port_zero_binds_a_real_port_and_serves_the_clock(
    server: SimulatorServer, clock: SteppedClock
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0")
    now = http.get(f"{server.url}/v1/clock").json()["now"]
    assert datetime.fromisoformat(now) == clock.now()


async def test_a_journey_through_the_adapter(
    adapter: SimulatorAdapter, clock: SteppedClock
) -> None:
    number = fresh("SIMFAT")
    rows = await adapter.register([number])
    assert rows[0]["journey"] == "failed_attempt" and rows[0]["created"] is True
    seen: list[Status] = []
    for _ in range(4 * 24 * 2):  # four virtual days in half hours
        [result] = await adapter.fetch([number])
        assert result.error is None and result.status is not None
        if not seen or seen[-1] != result.status:
            seen.append(result.status)
        clock.advance(minutes=30)
    assert seen == [
        *(S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT),
        *(S.OUT_FOR_DELIVERY, S.DELIVERED),
    ]
    [final] = await adapter.fetch([number])
    times = [e.time for e in final.events]
    assert times == sorted(times)  # oldest first, as every adapter returns them
    assert all(t is not None and t.utcoffset() == timedelta(hours=7) for t in times)
    assert final.events[0].raw_code == "MANIFESTED"
    assert isinstance(final.estimated_delivery, date)


async def test_registration_with_journey_and_time(
    adapter: SimulatorAdapter, clock: SteppedClock
) -> None:
    number = f"ORDER{next(_serial):06d}"
    back = clock.now() - timedelta(days=10)
    [row] = await adapter.register([number], journey="pickup", registered_at=back)
    assert row["journey"] == "pickup"
    assert datetime.fromisoformat(row["registered_at"]) == back
    [result] = await adapter.fetch([number])
    assert result.status is S.DELIVERED
    assert [e.status for e in result.events][-2:] == [S.AVAILABLE_FOR_PICKUP, S.DELIVERED]
    [again] = await adapter.register([number], journey="stall")
    assert again["journey"] == "pickup" and again["created"] is False  # registration is kept
    with pytest.raises(ValueError, match="journey"):
        await adapter.register([f"ORDER{next(_serial):06d}"], journey="teleport")


async def test_unknown_numbers_are_results_not_errors(adapter: SimulatorAdapter) -> None:
    sim, plain, bad = fresh("SIMRTS"), f"JP{next(_serial):010d}", "?!"
    results = await adapter.fetch([sim, plain, bad])
    assert [r.tracking_number for r in results] == [sim, plain, bad]
    assert results[0].status is S.INFO_RECEIVED  # SIM numbers register at first sight
    assert results[1].error is not None and results[1].error.kind is ErrorKind.NOT_FOUND
    assert results[2].error is not None and results[2].error.kind is ErrorKind.INVALID_NUMBER


async def test_same_number_same_answer(adapter: SimulatorAdapter) -> None:
    number = fresh("SIMETA")
    first = await adapter.fetch([number])
    second = await adapter.fetch([number.lower()])
    assert first[0].events == second[0].events
    assert first[0].status == second[0].status


async def test_batch_of_40_is_one_call_and_41_is_refused(
    server: SimulatorServer, adapter: SimulatorAdapter
) -> None:
    batch = [fresh() for _ in range(40)]
    before = stats(server)
    results = await adapter.fetch(batch)
    after = stats(server)
    assert [r.tracking_number for r in results] == batch
    assert all(r.status is S.INFO_RECEIVED for r in results)
    assert after["track_requests"] - before["track_requests"] == 1
    assert after["numbers_tracked"] - before["numbers_tracked"] == 40
    resp = http.post(
        f"{server.url}/v1/track",
        json={"tracking_numbers": [*batch, fresh()]},
        headers={"X-Api-Key": KEY},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "BATCH_TOO_LARGE"
    more = await adapter.fetch([*batch, fresh()])  # the adapter splits what the API refuses
    assert len(more) == 41  # the refused request above was counted too, then two calls
    assert stats(server)["track_requests"] - after["track_requests"] == 1 + 2


@pytest.mark.parametrize("key", [None, "wrong"])
async def test_api_key_is_required(server: SimulatorServer, key: str | None) -> None:
    async with connect(server.url, api_key=key) as a:
        with pytest.raises(CarrierAuthError) as info:
            await a.fetch([fresh()])
        assert info.value.status_code == 401


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"kind": "server_error"}, CarrierUnavailable),
        ({"kind": "server_error", "status": 503}, CarrierUnavailable),
        ({"kind": "rate_limit", "retry_after": 2}, CarrierUnavailable),
        ({"kind": "timeout", "delay": 5}, CarrierUnavailable),
        ({"kind": "reset"}, CarrierUnavailable),
        ({"kind": "truncated"}, CarrierResponseError),
        ({"kind": "garbage"}, CarrierResponseError),
        ({"kind": "auth"}, CarrierAuthError),
    ],
    ids=lambda v: v.get("kind", "") + str(v.get("status", "")) if isinstance(v, dict) else "",
)
async def test_each_fault_is_the_matching_typed_error(
    server: SimulatorServer, adapter: SimulatorAdapter, rule: dict[str, Any], error: type
) -> None:
    number = fresh()
    faults(server, {**rule, "next": 1})
    before = stats(server)["faults_injected"]
    with pytest.raises(error) as info:
        await adapter.fetch([number])
    assert info.value.carrier == "simulator"
    assert info.value.tracking_numbers == (number,)
    if rule["kind"] == "rate_limit":
        assert info.value.retry_after == 2
    if rule["kind"] == "server_error":
        assert info.value.status_code == rule.get("status", 500)
    assert stats(server)["faults_injected"] == before + 1
    assert stats(server)["faults"][rule["kind"]] >= 1
    async with connect(server.url, api_key=KEY) as again:  # a 429 paused the first adapter
        [ok] = await again.fetch([number])  # "next": 1 means only one request failed
        assert ok.error is None


async def test_slow_answers_are_still_answers(
    server: SimulatorServer, adapter: SimulatorAdapter
) -> None:
    faults(server, {"kind": "slow", "delay": 0.2, "next": 1})
    [result] = await adapter.fetch([fresh()])
    assert result.status is S.INFO_RECEIVED


async def test_probability_faults_are_deterministic_by_seed(
    server: SimulatorServer, adapter: SimulatorAdapter
) -> None:
    def pattern() -> list[bool]:
        faults(server, {"kind": "server_error", "probability": 0.3}, seed=42)
        hits = []
        for _ in range(30):
            resp = http.post(
                f"{server.url}/v1/track",
                json={"tracking_numbers": [fresh()]},
                headers={"X-Api-Key": KEY},
            )
            hits.append(resp.status_code == 500)
        return hits

    first, second = pattern(), pattern()
    assert first == second
    assert 3 <= sum(first) <= 18


def test_fault_plans_are_validated_and_skip_control_paths(server: SimulatorServer) -> None:
    bad = http.post(f"{server.url}/v1/_faults", json={"faults": [{"kind": "meteor"}]})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["message"]
    bad = http.post(f"{server.url}/v1/_faults", json={"faults": [{"kind": "slow", "delay": -1}]})
    assert bad.status_code == 400
    faults(server, {"kind": "server_error"})  # every /v1/track request fails...
    assert http.get(f"{server.url}/v1/_stats").status_code == 200  # ...control paths never do
    plan = http.get(f"{server.url}/v1/_faults").json()
    assert plan["faults"][0]["kind"] == "server_error" and plan["paths"] == ["/v1/track"]
    assert http.delete(f"{server.url}/v1/_faults").json()["faults"] == []


async def test_stats_count_requests_and_numbers(
    server: SimulatorServer, adapter: SimulatorAdapter
) -> None:
    http.delete(f"{server.url}/v1/_stats")
    for _ in range(3):
        await adapter.fetch([fresh() for _ in range(40)])
    await adapter.fetch([f"JP{next(_serial):010d}"])
    counted = stats(server)
    assert counted["requests"] == 4 and counted["track_requests"] == 4
    assert counted["numbers_tracked"] == 121
    assert counted["numbers_not_found"] == 1
    assert counted["registered"] >= 120


async def test_a_busy_port_is_an_os_error(server: SimulatorServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        serve_in_thread(port=port)
    with pytest.raises(OSError):
        async with serve(port=port):
            pass


async def test_serve_inside_a_running_loop() -> None:
    clock = SteppedClock()
    async with serve(now=clock.now) as sim:
        assert not sim.url.endswith(":0")
        async with connect(sim.url) as a:
            [result] = await a.fetch(["SIMPUP000001"])
            assert result.status is S.INFO_RECEIVED
            sim.app.register("SIMNVR000001")  # in-process seeding, no HTTP
            clock.advance(days=6)
            [expired] = await a.fetch(["SIMNVR000001"])
            assert expired.status is S.EXPIRED
    with pytest.raises(httpx.ConnectError):
        http.get(f"{sim.url}/v1/clock")


async def test_a_request_quota_answers_429_on_the_simulator_clock() -> None:
    clock = SteppedClock()
    async with serve(now=clock.now, rate_limit=2) as sim, connect(sim.url) as a:
        await a.fetch([fresh()])
        await a.fetch([fresh()])
        with pytest.raises(CarrierUnavailable) as info:
            await a.fetch([fresh()])
        assert info.value.status_code == 429 and info.value.retry_after == 1
        assert sim.app.stats()["throttled"] == 1
        clock.advance(seconds=1)  # one virtual second refills two requests
        async with connect(sim.url) as again:  # (the 429 paused the first adapter for 1 s)
            assert len(await again.fetch([fresh()])) == 1


def test_stop_releases_requests_that_hang() -> None:
    sim = serve_in_thread()
    faults(sim, {"kind": "timeout", "delay": 60})
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            http.post(f"{sim.url}/v1/track", json={"tracking_numbers": ["SIMNRM1"]}, timeout=30)
        except httpx.HTTPError as err:
            outcome.append(err)

    caller = threading.Thread(target=call)
    caller.start()
    while stats(sim)["faults_injected"] == 0:
        time.sleep(0.01)
    sim.stop()  # drops the hanging request instead of waiting out its 60 s
    caller.join(10)
    assert not caller.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # closed without an answer
    with pytest.raises(httpx.ConnectError):
        http.get(f"{sim.url}/v1/clock")


def test_module_entry_point_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "carriers.simulator", "--port", "0", "--scale", "3600"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        assert http.get(f"{url}/v1/clock").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
