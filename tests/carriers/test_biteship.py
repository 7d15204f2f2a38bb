"""Biteship: samples, status codes and note refinement, errors, garbage, and the adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from carriers.base import ErrorKind, Status
from carriers.biteship import CODES, Adapter, parse
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from tests.carriers.samples import SAMPLES, assert_matches_expected, sample_pairs
from tests.carriers.variants import (
    TIME_CASES,
    json_values,
    mutations,
    with_times,
    without_events,
)

S = Status
JNT = json.loads(
    (SAMPLES / "biteship" / "tracking-public-jnt-delivered-JX1541346437.json").read_text()
)
GRAB = json.loads((SAMPLES / "biteship" / "tracking-retrieve-doc-grab-delivered.json").read_text())


@pytest.mark.parametrize(("body", "expected"), sample_pairs("biteship"), ids=lambda p: p.name)
def test_samples(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def test_sample_details() -> None:
    (result,) = parse(json.dumps(JNT))
    assert result.courier == "jnt" and result.raw_status == "delivered" and result.raw == JNT
    statuses = [e.status for e in result.events]
    assert statuses[0] is S.INFO_RECEIVED  # allocated, "Manifes"
    assert statuses[1] is S.IN_TRANSIT  # picked, "Paket telah diterima oleh SUKOMANUNGGAL"
    assert statuses[-2] is S.OUT_FOR_DELIVERY  # dropping_off, "... ke alamat penerima"
    assert all(e.location is None for e in result.events)
    assert result.events[-1].time is not None and result.events[-1].time.utcoffset() is not None


def test_instant_courier_dropping_off_is_out_for_delivery() -> None:
    (result,) = parse(json.dumps(GRAB))
    assert result.courier == "grab"
    assert result.events[-2].status is S.OUT_FOR_DELIVERY


def _body(status: str, *history: tuple[str, str], company: str = "jne") -> str:
    entries = [
        {"note": note, "status": code, "updated_at": f"2024-05-0{i + 1}T10:00:00+07:00"}
        for i, (code, note) in enumerate(history)
    ]
    body = {"success": True, "object": "tracking", "waybill_id": "WB1", "status": status}
    return json.dumps({**body, "courier": {"company": company}, "history": entries})


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("confirmed", S.INFO_RECEIVED),
        ("scheduled", S.INFO_RECEIVED),
        ("allocated", S.INFO_RECEIVED),
        ("picking_up", S.INFO_RECEIVED),
        ("pickingUp", S.INFO_RECEIVED),
        ("picked", S.IN_TRANSIT),
        ("dropping_off", S.IN_TRANSIT),
        ("droppingOff", S.IN_TRANSIT),
        ("return_in_transit", S.RETURNED_TO_SENDER),
        ("returnInTransit", S.RETURNED_TO_SENDER),
        ("on_hold", S.EXCEPTION),
        ("onHold", S.EXCEPTION),
        ("delivered", S.DELIVERED),
        ("rejected", S.EXCEPTION),
        ("courier_not_found", S.EXCEPTION),
        ("courierNotFound", S.EXCEPTION),
        ("returned", S.RETURNED_TO_SENDER),
        ("cancelled", S.EXCEPTION),
        ("disposed", S.EXCEPTION),
    ],
)
def test_every_documented_code(code: str, status: Status) -> None:
    (result,) = parse(_body(code, (code, "")))
    assert result.status is status
    assert result.events[0].status is status and result.events[0].raw_code == code


def test_code_table_is_complete() -> None:
    assert len({k for k in CODES if k != "canceled"}) == 14


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([("dropping_off", "Paket akan dikirim ke alamat penerima")], S.OUT_FOR_DELIVERY),
        ([("dropping_off", "WITH DELIVERY COURIER")], S.OUT_FOR_DELIVERY),
        ([("dropping_off", "Paket telah sampai di BDO_GATEWAY")], S.IN_TRANSIT),
        ([("on_hold", "Gagal antar - penerima tidak di tempat")], S.FAILED_ATTEMPT),
        ([("on_hold", "Paket siap diambil di counter JNE")], S.AVAILABLE_FOR_PICKUP),
        ([("on_hold", "Paket bermasalah")], S.EXCEPTION),
        ([("delivered", "Item is on the way to customer.")], S.DELIVERED),  # code decides
        ([("picked", "Paket telah diterima")], S.IN_TRANSIT),  # picked is never refined
        ([("allocated", "Manifes")], S.INFO_RECEIVED),
    ],
)
def test_note_refines_only_generic_codes(history: list[tuple[str, str]], expected: Status) -> None:
    (result,) = parse(_body(history[-1][0], *history))
    assert result.events[-1].status is expected
    assert result.status is expected


def test_shipment_code_without_matching_event_uses_the_code() -> None:
    (result,) = parse(_body("dropping_off", ("picked", "Picked up")))
    assert result.status is S.IN_TRANSIT


def test_unknown_code_falls_back_to_note(caplog: pytest.LogCaptureFixture) -> None:
    (result,) = parse(_body("teleported", ("teleported", "Paket sedang diantar")))
    assert result.status is S.OUT_FOR_DELIVERY
    assert result.events[0].raw_code == "teleported"
    assert "unknown" in caplog.text
    (result,) = parse(_body("teleported", ("teleported", "???")))
    assert result.status is S.IN_TRANSIT


def test_no_history_and_no_status_is_pending() -> None:
    (result,) = parse(json.dumps({"success": True, "waybill_id": "WB1", "history": []}))
    assert result.status is S.PENDING and result.tracking_number == "WB1"


@pytest.mark.parametrize(
    ("error", "code", "kind", "http"),
    [
        ("Tracking not found", 40400001, ErrorKind.NOT_FOUND, 404),
        ("Waybill not found", None, ErrorKind.NOT_FOUND, None),
        ("Authorization failed", 40101001, ErrorKind.AUTH, 401),
        ("Required parameter is missing", None, ErrorKind.BAD_REQUEST, None),
        ("Courier is not supported", 40000001, ErrorKind.BAD_REQUEST, 400),
        ("Too many requests", 42900001, ErrorKind.RATE_LIMITED, 429),
    ],
)
def test_error_envelopes(error: str, code: int | None, kind: ErrorKind, http: int | None) -> None:
    body: dict[str, Any] = {"success": False, "error": error}
    if code is not None:
        body["code"] = code
    results = parse(json.dumps(body), ["WB1"])
    (result,) = results
    assert result.tracking_number == "WB1" and result.status is None
    assert result.error is not None and result.error.kind is kind
    assert result.error.http_status == http
    assert result.error.message == body["error"]
    assert result.raw == body


def test_error_without_numbers() -> None:
    (result,) = parse('{"success": false, "error": "Authorization failed"}')
    assert result.tracking_number == "" and result.error is not None
    assert result.error.kind is ErrorKind.AUTH


@pytest.mark.parametrize(
    "body",
    [b"", b"<html/>", b"[]", b"null", b"1.5", b'{"success": true}', b'{"foo": 1}', b"\x00\x01"],
)
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
@given(mutations(JNT))
def test_mutated_sample_parses_or_raises_response_error(body: str) -> None:
    _only_response_errors(body)


# --------------------------------------------------------------------------- adapter


def _adapter(handler: Any, **config: Any) -> Adapter:
    config = {"api_key": "biteship_live.KEY", "rate": 1000, **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_public_tracking_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=JNT)

    (result,) = await _adapter(handler).fetch(["JX1541346437"], courier="J&T Express")
    (request,) = seen
    assert request.method == "GET"
    assert str(request.url) == "https://api.biteship.com/v1/trackings/JX1541346437/couriers/jnt"
    assert request.headers["Authorization"] == "biteship_live.KEY"  # no "Bearer"
    assert result.status is S.DELIVERED and result.courier == "jnt"


async def test_courier_codes_are_biteships() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"success": False, "error": "Tracking not found"})

    adapter = _adapter(handler)
    for courier in ("ide", "sentral", "sicepat"):
        await adapter.fetch(["W 1/2"], courier=courier)
    assert paths == [
        "/v1/trackings/W%201%2F2/couriers/idexpress",
        "/v1/trackings/W%201%2F2/couriers/sentralcargo",
        "/v1/trackings/W%201%2F2/couriers/sicepat",
    ]


async def test_unknown_waybill_is_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"success": False, "error": "Tracking not found", "code": 40400001}
        )

    (result,) = await _adapter(handler).fetch(["NOPE"], courier="jne")
    assert result.tracking_number == "NOPE"
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND


async def test_400_body_is_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"success": False, "error": "Waybill not found"})

    (result,) = await _adapter(handler).fetch(["NOPE"], courier="jne")
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND


async def test_tracking_id_without_courier() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=GRAB)

    tracking_id = "6051861741a37414e6637fab"
    results = await _adapter(handler).fetch([tracking_id, "JX123"])
    assert seen == [f"/v1/trackings/{tracking_id}"]
    assert results[0].tracking_number == tracking_id and results[0].status is S.DELIVERED
    assert results[1].error is not None and results[1].error.kind is ErrorKind.BAD_REQUEST


async def test_429_with_retry_after_raises_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3"})

    with pytest.raises(CarrierUnavailable) as info:
        await _adapter(handler).fetch(["A", "B"], courier="jne")
    assert info.value.retry_after == 3


async def test_401_raises_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"success": False, "error": "Authorization failed"})

    with pytest.raises(CarrierAuthError):
        await _adapter(handler).fetch(["A"], courier="jne")


def test_adapter_contract() -> None:
    assert Adapter.id == "biteship" and Adapter.batch_size == 1
    assert Adapter.parse is parse and Adapter.api_base == "https://api.biteship.com"


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "success": False,
                "error": "Authorization failed, please check your API key",
                "code": 40101001,
            },
            ErrorKind.AUTH,
        ),
        (
            {"success": False, "error": "Internal server error", "code": 50000001},
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


@pytest.mark.parametrize(
    ("value", "valid"), [*TIME_CASES, ("17 Mei 2024 12:20", True), ("17-05-2024 12:20", True)]
)
def test_time_variants(value: Any, valid: bool) -> None:
    with_times(parse, JNT, lambda d: d["history"], value, valid, ("updated_at",))


def test_missing_history() -> None:
    without_events(parse, JNT, lambda d: d, "history")
