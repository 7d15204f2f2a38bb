"""The simulator in every carrier's wire format, read by the real adapters and parsers.

One simulator (uvicorn on 127.0.0.1 in a thread, a clock the tests step by hand) serves all
thirteen formats under their prefixes. Each journey is registered once and then read, at every
moment its answer changes, through the native API and through a carrier's own API: the real
adapter and its real ``parse()`` must tell the same story (statuses, ETA, events), except where
a carrier's documented vocabulary cannot say what the native code says (:func:`expected`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from carriers import (
    aftership,
    binderbyte,
    biteship,
    canadapost,
    dhl,
    easypost,
    fedex,
    rajaongkir,
    shippo,
    track17,
    trackingmore,
    ups,
    usps,
)
from carriers.base import ErrorKind, Status, TrackingResult
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.http import HttpAdapter
from carriers.simulator import formats
from carriers.simulator.adapter import SimulatorAdapter
from carriers.simulator.journeys import Journey, script
from carriers.simulator.server import SimulatorServer, serve_in_thread

S = Status
START = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 06:00 in Jakarta
JAKARTA = timezone(timedelta(hours=7))
ADAPTERS: dict[str, type[HttpAdapter]] = {
    "ups": ups.Adapter,
    "fedex": fedex.Adapter,
    "usps": usps.Adapter,
    "canadapost": canadapost.Adapter,
    "dhl": dhl.Adapter,
    "aftership": aftership.Adapter,
    "17track": track17.Adapter,
    "trackingmore": trackingmore.Adapter,
    "easypost": easypost.Adapter,
    "shippo": shippo.Adapter,
    "binderbyte": binderbyte.Adapter,
    "biteship": biteship.Adapter,
    "rajaongkir": rajaongkir.Adapter,
}
# The courier a shipment of this carrier is tracked with (the aggregators need one).
COURIER = {"trackingmore": "jne", "shippo": "shippo", "binderbyte": "jne", "biteship": "jne",
           "rajaongkir": "jne"}  # fmt: skip
OAUTH = ("ups", "fedex", "usps")
# Carriers with no way to say a label expired: the last status stays.
NO_EXPIRY = frozenset(ADAPTERS) - {"aftership", "17track", "trackingmore", "easypost"}
# Carriers that relay times to the minute only.
MINUTES = frozenset({"rajaongkir"})
_serial = itertools.count()


def expected(carrier: str, code: str, native: Status, before: Status | None) -> Status:
    """The status ``carrier``'s real parser should read for a native code.

    * RETURNING: every carrier's "returning to sender" code is read as returned_to_sender
      (the native table says exception: the shopper will not get it);
    * EXPIRED: carriers without an expiry state keep the last status.

    (Canada Post 3000 "Electronic information submitted by shipper" now reads as info_received
    and EasyPost ``failure``/``delivery_exception`` as failed_attempt, as documented.)
    """
    if code == "RETURNING":
        return S.RETURNED_TO_SENDER
    if code == "EXPIRED" and carrier in NO_EXPIRY and before is not None:
        return before
    return native


class SteppedClock:
    def __init__(self) -> None:
        self.t = START

    def now(self) -> datetime:
        return self.t


@pytest.fixture(scope="module")
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture(scope="module")
def server(clock: SteppedClock) -> Iterator[SimulatorServer]:
    with serve_in_thread(now=clock.now) as running:
        yield running


http = httpx.Client(timeout=10)


@pytest.fixture(autouse=True)
def no_faults(server: SimulatorServer) -> Iterator[None]:
    yield
    http.delete(f"{server.url}/v1/_faults")


def wire_stats(server: SimulatorServer, carrier: str) -> dict[str, int]:
    return dict(http.get(f"{server.url}/v1/_stats").json()["wire"].get(carrier, {}))


@asynccontextmanager
async def connect(url: str, carrier: str, **config: Any) -> AsyncIterator[HttpAdapter]:
    """The real adapter pointed at the simulator, limits lifted (the clock is virtual)."""
    settings = formats.settings(url, carrier) | {"rate": 1e6, "max_concurrency": 8} | config
    async with httpx.AsyncClient(verify=False) as client:  # plain HTTP: skip the trust store
        yield ADAPTERS[carrier](settings, client=client)


def register(server: SimulatorServer, clock: SteppedClock, journey: Journey) -> str:
    number = f"SIMFMT{next(_serial):05d}{journey.value[:3].upper()}"
    row = {
        "tracking_number": number,
        "journey": journey.value,
        "registered_at": clock.t.isoformat(),
    }
    resp = http.post(f"{server.url}/v1/trackings", json={"trackings": [row]})
    assert resp.status_code == 200 and not resp.json()["errors"], resp.text
    return number


async def fetch(adapter: HttpAdapter, carrier: str, number: str) -> TrackingResult:
    [result] = await adapter.fetch([number], COURIER.get(carrier))
    assert result.error is None, result.error
    return result


def instants(result: TrackingResult, minutes: bool = False) -> list[datetime]:
    """Event times as UTC instants (a naive time is Jakarta's, as these APIs write it)."""
    out = []
    for event in result.events:
        assert event.time is not None
        moment = event.time if event.time.tzinfo else event.time.replace(tzinfo=JAKARTA)
        out.append(moment.replace(second=0) if minutes else moment.astimezone(UTC))
    return [m.astimezone(UTC) for m in out]


JOURNEYS = list(Journey)


def compare(
    carrier: str, got: TrackingResult, truth: TrackingResult, before: Status | None
) -> None:
    """``got`` (the carrier's format) tells what ``truth`` (the native API) tells."""
    assert truth.status is not None
    want = expected(carrier, truth.raw_status or "", truth.status, before)
    assert got.status is want, (truth.raw_status, got.raw_status)
    assert got.tracking_number == truth.tracking_number
    assert len(got.events) == len(truth.events), truth.raw_status
    minutes = carrier in MINUTES
    assert instants(got, minutes) == instants(truth, minutes)
    if not want.is_final and got.estimated_delivery != truth.estimated_delivery:
        assert carrier in ("binderbyte", "biteship", "rajaongkir"), truth.raw_status
        assert got.estimated_delivery is None  # these APIs publish no ETA


@pytest.mark.parametrize("carrier", list(ADAPTERS))
async def test_every_journey_reads_the_same_through_the_real_adapter(
    server: SimulatorServer, clock: SteppedClock, carrier: str
) -> None:
    numbers = {j: register(server, clock, j) for j in JOURNEYS}
    registered = clock.t
    changes = {j: (registered, *script(n, registered, j).changes) for j, n in numbers.items()}
    seen: dict[Journey, list[Status]] = {j: [] for j in JOURNEYS}
    async with connect(server.url, carrier) as wire, httpx.AsyncClient(verify=False) as client:
        native = SimulatorAdapter({"api_base": server.url, "rate": 1e6}, client=client)
        if carrier == "trackingmore":  # created on first sight, answered from the next call
            for number in numbers.values():
                first = await fetch(wire, carrier, number)
                assert first.status is S.PENDING and not first.events
        for moment in sorted({t for moments in changes.values() for t in moments}):
            clock.t = moment
            for journey, number in numbers.items():
                if moment not in changes[journey]:
                    continue
                [truth] = await native.fetch([number])
                got = await fetch(wire, carrier, number)
                before = seen[journey][-1] if seen[journey] else None
                try:
                    compare(carrier, got, truth, before)
                except AssertionError as err:
                    raise AssertionError(f"{journey} at {moment}: {err}") from err
                seen[journey].append(got.status)  # type: ignore[arg-type]
        clock.t += timedelta(hours=1)


def faults(server: SimulatorServer, *rules: dict[str, Any], paths: list[str] | None = None) -> None:
    plan: dict[str, Any] = {"faults": list(rules)}
    if paths is not None:
        plan["paths"] = paths
    resp = http.post(f"{server.url}/v1/_faults", json=plan)
    assert resp.status_code == 200, resp.text


def fresh() -> str:
    return f"SIMNRM{next(_serial):06d}"


@pytest.mark.parametrize("carrier", OAUTH)
async def test_oauth_token_is_requested_once_reused_and_refreshed_after_expiry(
    server: SimulatorServer, clock: SteppedClock, carrier: str
) -> None:
    before = wire_stats(server, carrier)
    async with connect(server.url, carrier) as adapter:
        for _ in range(3):
            await fetch(adapter, carrier, fresh())
        after = wire_stats(server, carrier)
        assert after["tokens_issued"] - before.get("tokens_issued", 0) == 1
        lifetime = formats.FORMATS[carrier].token_lifetime
        clock.t += timedelta(seconds=lifetime + 1)  # expired on the carrier's clock only
        await fetch(adapter, carrier, fresh())  # 401, a new token, the same request again
        again = wire_stats(server, carrier)
    assert again["tokens_issued"] - after["tokens_issued"] == 1
    assert again["auth_refused"] - after.get("auth_refused", 0) == 1
    assert again["token_requests"] - before.get("token_requests", 0) == 2


WRONG = {"ups": {"client_secret": "nope"}, "fedex": {"client_secret": "nope"},
         "usps": {"client_id": "nobody"}, "canadapost": {"password": "nope"}}  # fmt: skip
# What each carrier's documented auth error says (token endpoint for the OAuth ones).
REFUSED = {"ups": "10401", "fedex": "NOT.AUTHORIZED.ERROR", "usps": "invalid_client",
           "canadapost": "E002", "dhl": "Unauthorized", "aftership": "Invalid API Key",
           "17track": "-18010002", "trackingmore": "Invalid API key", "easypost": "APIKEY.INACTIVE",
           "shippo": "Invalid token", "binderbyte": "API Key tidak valid", "biteship": "40101001",
           "rajaongkir": "Invalid Api key"}  # fmt: skip


@pytest.mark.parametrize("carrier", list(ADAPTERS))
async def test_a_wrong_credential_is_an_auth_error(server: SimulatorServer, carrier: str) -> None:
    before = wire_stats(server, carrier).get("auth_refused", 0)
    async with connect(server.url, carrier, **WRONG.get(carrier, {"api_key": "nope"})) as adapter:
        with pytest.raises(CarrierAuthError) as info:
            await adapter.fetch([fresh()], COURIER.get(carrier))
    assert info.value.carrier == carrier and info.value.status_code == 401
    assert REFUSED[carrier] in info.value.body_excerpt
    assert wire_stats(server, carrier)["auth_refused"] == before + 1


async def test_rajaongkir_pro_reads_its_own_shape_and_answers_a_bad_key_in_the_body(
    server: SimulatorServer,
) -> None:
    number = fresh()
    async with connect(server.url, "rajaongkir", flavor="pro") as adapter:
        [ok] = await adapter.fetch([number], "jne")
    assert ok.error is None and ok.status is S.INFO_RECEIVED and ok.courier == "jne"
    async with connect(server.url, "rajaongkir", flavor="pro", api_key="nope") as adapter:
        [refused] = await adapter.fetch([number], "jne")
    assert refused.error is not None and refused.error.kind is ErrorKind.AUTH
    assert refused.error.http_status == 400  # the classic API refuses a key with 400


FAULTS = [
    ({"kind": "server_error", "status": 503}, CarrierUnavailable),
    ({"kind": "rate_limit", "retry_after": 2}, CarrierUnavailable),
    ({"kind": "garbage"}, CarrierResponseError),
    ({"kind": "truncated"}, CarrierResponseError),
    ({"kind": "reset"}, CarrierUnavailable),
    ({"kind": "auth"}, CarrierAuthError),
]


@pytest.mark.parametrize("carrier", list(ADAPTERS))
@pytest.mark.parametrize(("rule", "error"), FAULTS, ids=[r["kind"] for r, _ in FAULTS])
async def test_the_fault_plan_applies_to_every_format(
    server: SimulatorServer, carrier: str, rule: dict[str, Any], error: type[Exception]
) -> None:
    number = fresh()
    faults(server, rule if rule["kind"] == "auth" else {**rule, "next": 1})
    async with connect(server.url, carrier) as adapter:
        with pytest.raises(error) as info:
            await adapter.fetch([number], COURIER.get(carrier))
    assert getattr(info.value, "carrier", carrier) == carrier
    if rule["kind"] == "rate_limit":
        assert info.value.retry_after == 2  # type: ignore[attr-defined]
    if rule["kind"] == "server_error":
        assert info.value.status_code == 503  # type: ignore[attr-defined]
    http.delete(f"{server.url}/v1/_faults")
    async with connect(server.url, carrier) as adapter:
        await fetch(adapter, carrier, number)  # the next call goes through


@pytest.mark.parametrize("carrier", OAUTH)
async def test_one_refused_token_is_renewed_transparently(
    server: SimulatorServer, carrier: str
) -> None:
    faults(server, {"kind": "auth", "next": 1})
    async with connect(server.url, carrier) as adapter:
        before = wire_stats(server, carrier)["tokens_issued"]
        got = await fetch(adapter, carrier, fresh())
    assert got.status is S.INFO_RECEIVED
    assert wire_stats(server, carrier)["tokens_issued"] == before + 2  # first and renewed


async def test_a_plan_can_target_one_format(server: SimulatorServer) -> None:
    faults(server, {"kind": "server_error"}, paths=["/ups"])
    async with connect(server.url, "ups") as broken, connect(server.url, "fedex") as fine:
        with pytest.raises(CarrierUnavailable):  # the token endpoint is faulted too
            await broken.fetch([fresh()])
        assert (await fetch(fine, "fedex", fresh())).status is S.INFO_RECEIVED


# Unknown numbers: carriers that look a number up say not found; aggregators that take any
# number start tracking it and have nothing yet (pending).
UNKNOWN_IS_PENDING = frozenset({"aftership", "17track", "easypost", "shippo"})


@pytest.mark.parametrize("carrier", list(ADAPTERS))
async def test_an_unknown_number_is_a_result_beside_the_known_one(
    server: SimulatorServer, carrier: str
) -> None:
    known, unknown = fresh(), f"NOTSIM{next(_serial):06d}"
    async with connect(server.url, carrier) as adapter:
        results = await adapter.fetch([known, unknown], COURIER.get(carrier))
    assert [r.tracking_number for r in results] == [known, unknown]
    assert results[0].error is None
    if carrier == "trackingmore":  # created on first sight, pending until the next call
        assert results[0].status is results[1].status is S.PENDING
    else:
        assert results[0].status is expected(carrier, "MANIFESTED", S.INFO_RECEIVED, None)
        if carrier in UNKNOWN_IS_PENDING:
            assert results[1].error is None and results[1].status is S.PENDING
        else:
            assert results[1].error is not None, results[1]
            assert results[1].error.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize(
    ("carrier", "base"),
    [
        ("aftership", "/tracking/2025-04"),
        ("aftership", "/v4"),
        ("17track", "/track/v2.2"),
        ("trackingmore", "/v4"),
        ("easypost", "/v2"),
    ],
)
async def test_the_production_base_path_may_be_kept(
    server: SimulatorServer, carrier: str, base: str
) -> None:
    api_base = formats.settings(server.url, carrier)["api_base"] + base
    async with connect(server.url, carrier, api_base=api_base) as adapter:
        number = fresh()
        await adapter.fetch([number], COURIER.get(carrier))  # registers where needed
        assert (await fetch(adapter, carrier, number)).status is S.INFO_RECEIVED


@pytest.mark.parametrize(
    ("carrier", "limit"), [("fedex", 30), ("17track", 40), ("trackingmore", 40)]
)
async def test_a_full_batch_is_one_call_and_a_larger_one_is_refused(
    server: SimulatorServer, carrier: str, limit: int
) -> None:
    numbers = [fresh() for _ in range(limit + 1)]
    async with connect(server.url, carrier, batch_size=limit + 1) as adapter:
        await adapter.fetch(numbers[:limit], COURIER.get(carrier))  # registers where needed
        before = wire_stats(server, carrier)["requests"]
        results = await adapter.fetch(numbers[:limit], COURIER.get(carrier))
        assert wire_stats(server, carrier)["requests"] == before + 1
        assert all(r.status is S.INFO_RECEIVED for r in results)
        too_many = await adapter.fetch(numbers, COURIER.get(carrier))
    assert all(r.error is not None and r.error.kind is ErrorKind.BAD_REQUEST for r in too_many)


JUNK = [
    ("GET", "/", {}),
    ("DELETE", "/trackings", {}),
    ("POST", "/track/v1/trackingnumbers", {"content": b"{not json"}),
    ("POST", "/gettrackinfo", {"json": {"number": 1}}),
    ("POST", "/trackings/batch", {"json": [1, None, {"tracking_number": 5}]}),
    ("GET", "/trackers", {"params": {"page_size": "many"}}),
    ("GET", "/trackings", {"params": {"limit": "x", "tracking_numbers": ",,,"}}),
    ("GET", "/v1/track", {"params": {"awb": " "}}),
    ("POST", "/oauth/token", {"data": {"grant_type": "password"}}),
]


@pytest.mark.parametrize("carrier", list(ADAPTERS))
def test_malformed_requests_get_the_carriers_own_4xx_never_a_crash(
    server: SimulatorServer, carrier: str
) -> None:
    auth = formats.account(carrier)
    headers = {"as-api-key": auth.get("api_key", ""), "17token": auth.get("api_key", ""),
               "Tracking-Api-Key": auth.get("api_key", "")}  # fmt: skip
    for method, path, kw in JUNK:
        resp = http.request(method, f"{server.url}/{carrier}{path}", headers=headers, **kw)
        assert 400 <= resp.status_code < 500 or resp.status_code == 200, (path, resp.text)
        assert resp.content, path  # an error body in the carrier's envelope


# A journey's out-for-delivery scan in each carrier's own code (the newest event's raw code,
# as the real parser keeps it) or, for the free-text APIs, words.
OUT_FOR_DELIVERY = {
    "ups": "I/021", "fedex": "OD", "usps": "OF", "canadapost": "0174", "dhl": "transit",
    "aftership": "OutForDelivery_001", "17track": "OutForDelivery_Other",
    "trackingmore": "pickup001", "easypost": "out_for_delivery", "shippo": "out_for_delivery",
    "biteship": "dropping_off", "binderbyte": "Paket sedang diantar",
    "rajaongkir": "Paket sedang diantar",
}  # fmt: skip


async def test_out_for_delivery_in_each_carriers_own_code(
    server: SimulatorServer, clock: SteppedClock
) -> None:
    number = register(server, clock, Journey.NORMAL)
    scans = script(number, clock.t, Journey.NORMAL).scans
    clock.t = next(s.at for s in scans if s.code == "OUT_FOR_DELIVERY")
    for carrier, code in OUT_FOR_DELIVERY.items():
        async with connect(server.url, carrier) as adapter:
            if carrier == "trackingmore":
                await fetch(adapter, carrier, number)  # created; answered from the next call
            newest = (await fetch(adapter, carrier, number)).events[-1]
        assert newest.status is S.OUT_FOR_DELIVERY, carrier
        assert code in (newest.raw_code, newest.description[: len(code)]), (carrier, newest)
    clock.t += timedelta(days=7)
