"""RajaOngkir (Komerce and Pro): samples, manifests, errors, garbage, and the adapter."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.rajaongkir import Adapter, parse
from tests.carriers.samples import SAMPLES, assert_matches_expected, sample_pairs
from tests.carriers.variants import (
    TIME_CASES,
    json_values,
    mutations,
    with_times,
    without_events,
)

S = Status
PRO = json.loads(
    (SAMPLES / "rajaongkir" / "waybill-jne-delivered-SOCAG00183235715.json").read_text()
)
RESULT = PRO["rajaongkir"]["result"]
# The same result in Komerce's envelope (rajaongkir.com/docs/shipping-cost/tracking).
KOMERCE = {
    "meta": {"message": "Success Get Waybill", "code": 200, "status": "success"},
    "data": RESULT,
}


@pytest.mark.parametrize(("body", "expected"), sample_pairs("rajaongkir"), ids=lambda p: p.name)
def test_samples(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def test_komerce_envelope_reads_the_same() -> None:
    (pro,) = parse(json.dumps(PRO))
    (komerce,) = parse(json.dumps(KOMERCE))
    assert komerce.events == pro.events
    assert (komerce.status, komerce.tracking_number, komerce.courier) == (
        S.DELIVERED,
        "SOCAG00183235715",
        "jne",
    )
    assert komerce.raw == KOMERCE and pro.raw == PRO


def test_manifest_fields() -> None:
    (result,) = parse(json.dumps(PRO))
    first = result.events[0]
    assert first.time == datetime(2015, 3, 4, 3, 41)  # naive local time
    assert first.location == "SOLO" and first.description == "Manifested"
    assert result.raw_status == "DELIVERED"


def _komerce(
    delivered: bool, status: str, *manifest: tuple[str, str, str], courier: str = "jne"
) -> str:
    entries = [
        {"manifest_code": str(i), "manifest_description": d, "manifest_date": day,
         "manifest_time": clock, "city_name": "JAKARTA"}
        for i, (d, day, clock) in enumerate(manifest)
    ]  # fmt: skip
    summary = {"courier_code": courier, "waybill_number": "WB1", "status": status}
    data = {"delivered": delivered, "summary": summary, "manifest": entries}
    return json.dumps({"meta": {"code": 200, "status": "success", "message": "ok"}, "data": data})


def test_newest_first_manifest_is_turned_around() -> None:
    (result,) = parse(
        _komerce(
            False,
            "ON PROCESS",
            ("Paket sedang diantar ke alamat penerima", "2024-05-03", "08:00"),
            ("Paket telah sampai di hub", "2024-05-02", "20:00"),
            ("Manifes", "2024-05-01", "10:00"),
            courier="jnt",
        )
    )
    assert result.events[-1].status is S.OUT_FOR_DELIVERY
    assert result.status is S.OUT_FOR_DELIVERY
    assert result.courier == "jnt"


@pytest.mark.parametrize(
    ("delivered", "status", "manifest", "expected"),
    [
        (True, "", [("On Transit", "2024-05-01", "10:00")], S.DELIVERED),  # the flag decides
        (False, "ON PROCESS", [("DELIVERED TO [BUDI]", "2024-05-01", "10:00")], S.IN_TRANSIT),
        (False, "", [("DELIVERED TO [BUDI]", "2024-05-01", "10:00")], S.IN_TRANSIT),
        (False, "ON PROCESS", [("UNDELIVERED - BAD ADDRESS", "2024-05-01", "10:00")],
         S.FAILED_ATTEMPT),
        (True, "DELIVERED", [("RETURN TO SHIPPER", "2024-05-01", "10:00")], S.RETURNED_TO_SENDER),
        (False, "", [], S.PENDING),
        (False, "MANIFESTED", [], S.IN_TRANSIT),
    ],
)  # fmt: skip
def test_shipment_status(
    delivered: bool, status: str, manifest: list[tuple[str, str, str]], expected: Status
) -> None:
    (result,) = parse(_komerce(delivered, status, *manifest))
    assert result.status is expected


def test_manifest_time_formats() -> None:
    (result,) = parse(
        _komerce(
            False,
            "ON PROCESS",
            ("Manifested", "2024-05-01", "10:00:30"),
            ("On Transit", "02-05-2024", "11:15"),
            ("Received at warehouse", "2024-05-03 12:00:00", ""),
            ("Transit", "", ""),
        )
    )
    assert [e.time for e in result.events] == [
        datetime(2024, 5, 1, 10, 0, 30),
        datetime(2024, 5, 2, 11, 15),
        datetime(2024, 5, 3, 12, 0),
        None,
    ]


@pytest.mark.parametrize(
    ("body", "kind", "http"),
    [
        (
            {"rajaongkir": {"query": {"waybill": "X", "courier": "jne"},
             "status": {"code": 400,
                        "description": "Invalid waybill. Nomor waybill tidak ditemukan."}}},
            ErrorKind.NOT_FOUND, 400,
        ),
        (
            {"rajaongkir": {"status": {"code": 400,
             "description": "Invalid key. API key tidak ditemukan di database RajaOngkir."}}},
            ErrorKind.AUTH, 400,
        ),
        (
            {"meta": {"message": "Invalid Api key, key not found", "code": 401, "status": "failed"},
             "data": None},
            ErrorKind.AUTH, 401,
        ),
        (
            {"meta": {"message": "Waybill not found", "code": 404, "status": "failed"},
             "data": None},
            ErrorKind.NOT_FOUND, 404,
        ),
        (
            {"meta": {"message": "Invalid courier", "code": 422, "status": "failed"}, "data": []},
            ErrorKind.BAD_REQUEST, 422,
        ),
        (
            {"meta": {"message": "Daily limit exceeded", "code": 429, "status": "failed"}},
            ErrorKind.RATE_LIMITED, 429,
        ),
    ],
)  # fmt: skip
def test_error_envelopes(body: dict[str, Any], kind: ErrorKind, http: int) -> None:
    results = parse(json.dumps(body), ["X", "Y"])
    assert [r.tracking_number for r in results] == ["X", "Y"]
    for result in results:
        assert result.status is None and result.error is not None
        assert (result.error.kind, result.error.http_status) == (kind, http)
        assert result.error.code == str(http)
        assert result.raw == body


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>410 Gone</html>", b"[]", b"null", b"true", b'{"rajaongkir": 1}',
     b'{"rajaongkir": {"status": {"code": 200}}}', b'{"meta": {"code": 200}}', b'{"x": {}}'],
)  # fmt: skip
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


def _only_response_errors(body: str) -> None:
    try:
        out = parse(body, ["WB1"])
    except CarrierResponseError:
        return
    assert isinstance(out, list) and out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_parses_or_raises_response_error(value: Any) -> None:
    _only_response_errors(json.dumps(value))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(PRO))
def test_mutated_pro_sample_parses_or_raises_response_error(body: str) -> None:
    _only_response_errors(body)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations(KOMERCE))
def test_mutated_komerce_body_parses_or_raises_response_error(body: str) -> None:
    _only_response_errors(body)


# --------------------------------------------------------------------------- adapter


def _adapter(handler: Any, **config: Any) -> Adapter:
    config = {"api_key": "KEY", "rate": 1000, **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_komerce_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=KOMERCE)

    (result,) = await _adapter(handler).fetch(["SOCAG00183235715"], courier="JNE Express")
    (request,) = seen
    assert request.method == "POST"
    assert request.url.host == "rajaongkir.komerce.id"
    assert request.url.path == "/api/v1/track/waybill"
    assert request.headers["key"] == "KEY"
    assert dict(request.url.params) == {"awb": "SOCAG00183235715", "courier": "jne"}
    assert request.content == b"awb=SOCAG00183235715&courier=jne"
    assert result.status is S.DELIVERED and result.courier == "jne"


async def test_pro_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PRO)

    (result,) = await _adapter(handler, flavor="pro").fetch(["SOCAG00183235715"], courier="jne")
    (request,) = seen
    assert str(request.url) == "https://pro.rajaongkir.com/api/waybill"
    assert request.headers["key"] == "KEY"
    assert request.content == b"waybill=SOCAG00183235715&courier=jne"
    assert result.status is S.DELIVERED


async def test_courier_codes_are_rajaongkirs() -> None:
    couriers: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        couriers.append(request.url.params["courier"])
        body = {"meta": {"message": "Waybill not found", "code": 404, "status": "failed"}}
        return httpx.Response(404, json=body)

    adapter = _adapter(handler)
    for courier in ("J&T", "ID Express", "sentral", "indah"):
        await adapter.fetch(["X"], courier=courier)
    assert couriers == ["jnt", "ide", "sentral", "indah"]


async def test_unknown_waybill_is_not_found() -> None:
    body = {"rajaongkir": {"status": {"code": 400, "description": "Invalid waybill"}}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=body)

    results = await _adapter(handler).fetch(["A", "B"], courier="jne")
    assert [r.tracking_number for r in results] == ["A", "B"]
    assert all(r.error and r.error.kind is ErrorKind.NOT_FOUND for r in results)


async def test_429_with_retry_after_raises_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "12"})

    with pytest.raises(CarrierUnavailable) as info:
        await _adapter(handler).fetch(["A"], courier="jne")
    assert info.value.retry_after == 12


async def test_401_raises_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"meta": {"code": 401, "message": "Invalid Api key"}})

    with pytest.raises(CarrierAuthError):
        await _adapter(handler).fetch(["A"], courier="jne")


async def test_courier_required() -> None:
    results = await _adapter(lambda r: httpx.Response(500)).fetch(["A"])
    assert results[0].error is not None and results[0].error.kind is ErrorKind.BAD_REQUEST


async def test_waybill_spelled_differently_stays_with_the_request() -> None:
    body = copy.deepcopy(KOMERCE)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    (result,) = await _adapter(handler).fetch(["socag00183235715 "], courier="jne")
    assert result.tracking_number == "socag00183235715 " and result.error is None


def test_adapter_contract() -> None:
    assert Adapter.id == "rajaongkir" and Adapter.batch_size == 1
    assert Adapter.parse is parse and Adapter.api_base == "https://rajaongkir.komerce.id"


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "rajaongkir": {
                    "query": {},
                    "status": {
                        "code": 400,
                        "description": "Invalid key. API key tidak ditemukan di database.",
                    },
                }
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "meta": {
                    "message": "Invalid Api key, key not found",
                    "code": 401,
                    "status": "error",
                },
                "data": None,
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "meta": {"message": "Internal Server Error", "code": 500, "status": "error"},
                "data": None,
            },
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "rajaongkir": {
                    "query": {},
                    "status": {"code": 500, "description": "Terjadi gangguan pada server kurir"},
                }
            },
            ErrorKind.UNAVAILABLE,
        ),
    ],
)
def test_whole_response_error_kinds(body: dict[str, Any], kind: ErrorKind) -> None:
    results = parse(json.dumps(body), ["N1", "N2"])
    assert [r.tracking_number for r in results] == ["N1", "N2"]
    assert all(r.status is None and r.error is not None for r in results)
    assert {r.error.kind for r in results if r.error} == {kind}


# -- held-out spellings: times, ETA and events as other real responses write them


def _manifest_dates(doc: Any) -> list[Any]:
    entries = doc["rajaongkir"]["result"]["manifest"]
    for entry in entries:
        entry.pop("manifest_time", None)  # the whole time in manifest_date
    return list(entries)


@pytest.mark.parametrize(
    ("value", "valid"), [*TIME_CASES, ("17 Mei 2024 12:20", True), ("04-03-2015 03:41", True)]
)
def test_time_variants(value: Any, valid: bool) -> None:
    with_times(parse, PRO, _manifest_dates, value, valid, ("manifest_date",))


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [("2015-03-04", "03:41", "2015-03-04T03:41:00"),
     ("2015-03-04", "03:41:07", "2015-03-04T03:41:07"),
     ("04-03-2015", "03:41", "2015-03-04T03:41:00"),
     ("4 Maret 2015", "03:41", "2015-03-04T03:41:00"),
     ("2015-03-04", "", "2015-03-04T00:00:00"), ("2015-03-04", None, "2015-03-04T00:00:00"),
     ("", "03:41", None), (None, None, None)],
)  # fmt: skip
def test_separate_date_and_time(day: Any, clock: Any, expected: str | None) -> None:
    doc = copy.deepcopy(PRO)
    doc["rajaongkir"]["result"]["manifest"] = [
        {"manifest_description": "Manifested", "manifest_date": day, "manifest_time": clock}
    ]
    (result,) = parse(json.dumps(doc))
    time = result.events[0].time
    assert (time.isoformat() if time else None) == expected


def test_missing_manifest() -> None:
    without_events(parse, PRO, lambda d: d["rajaongkir"]["result"], "manifest")
