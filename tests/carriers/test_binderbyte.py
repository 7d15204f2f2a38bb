"""Binderbyte: samples, keyword mapping in context, errors, garbage, and the adapter's HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from carriers.base import ErrorKind, Status
from carriers.binderbyte import Adapter, parse
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
JNT = json.loads((SAMPLES / "binderbyte" / "track-jnt-delivered-JP6961181926.json").read_text())


@pytest.mark.parametrize(("body", "expected"), sample_pairs("binderbyte"), ids=lambda p: p.name)
def test_samples(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def test_sample_details() -> None:
    (result,) = parse(json.dumps(JNT))
    assert result.courier == "jnt"
    assert result.raw_status == "DELIVERED"
    assert result.raw == JNT
    assert [e.status for e in result.events][:2] == [S.IN_TRANSIT, S.IN_TRANSIT]
    assert result.events[-2].status is S.OUT_FOR_DELIVERY  # SEDANG DIANTAR
    assert result.events[0].description.startswith("TELAH DIAMBIL")  # oldest first
    assert result.events[-1].raw_code == "terkirim"


def _body(status: str, *descs: str, courier: str = "SiCepat") -> str:
    history = [
        {"date": f"2024-05-0{9 - i} 10:00:00", "desc": d, "location": "JAKARTA"}
        for i, d in enumerate(descs)
    ]
    summary = {"awb": "000123", "courier": courier, "status": status, "date": ""}
    return json.dumps(
        {"status": 200, "message": "ok", "data": {"summary": summary, "history": history}}
    )


@pytest.mark.parametrize(
    ("status", "descs", "expected"),
    [
        (
            "ON PROCESS",
            ["PAKET DIBAWA [SIGESIT - ANDI]", "PAKET KELUAR DARI JAKARTA"],
            S.OUT_FOR_DELIVERY,
        ),
        ("ON PROCESS", ["GAGAL ANTAR - PENERIMA TIDAK DITEMPAT"], S.FAILED_ATTEMPT),
        ("ON PROCESS", ["PAKET TELAH DI TERIMA DI JAKARTA"], S.IN_TRANSIT),
        ("ON PROCESS", ["PAKET DITERIMA OLEH [BUDI]"], S.IN_TRANSIT),  # summary decides
        ("DELIVERED", ["RETUR KE PENGIRIM", "PAKET DIBAWA"], S.RETURNED_TO_SENDER),
        ("RETURNED", ["PAKET KELUAR DARI JAKARTA"], S.RETURNED_TO_SENDER),
        ("CANCELLED", [], S.EXCEPTION),
        ("HILANG", ["PAKET KELUAR DARI JAKARTA"], S.EXCEPTION),
        ("", [], S.PENDING),
        ("", ["PAKET DIBAWA [SIGESIT - ANDI]"], S.OUT_FOR_DELIVERY),
        ("ON PROCCESS", ["Paket siap diambil di counter"], S.AVAILABLE_FOR_PICKUP),
        ("ZZ UNKNOWN", [], S.IN_TRANSIT),
    ],
)
def test_shipment_status(status: str, descs: list[str], expected: Status) -> None:
    (result,) = parse(_body(status, *descs))
    assert result.status is expected


def test_unknown_phrase_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    (result,) = parse(_body("ON PROCESS", "Kode status 77 XYZ"))
    assert result.last_event is not None
    assert result.last_event.status is S.IN_TRANSIT
    assert result.last_event.raw_code == "Kode status 77 XYZ"
    assert "unknown" in caplog.text


def test_jnt_branch_acceptance_is_not_delivery() -> None:
    (result,) = parse(
        _body("ON PROCESS", "Paket telah diterima oleh SUKOMANUNGGAL", "Manifes", courier="J&T")
    )
    assert result.courier == "jnt"
    assert [e.status for e in result.events] == [S.INFO_RECEIVED, S.IN_TRANSIT]


@pytest.mark.parametrize(
    ("body", "kind", "http"),
    [
        ({"status": 400, "message": "Invalid awb"}, ErrorKind.NOT_FOUND, 400),
        ({"status": 404, "message": "Data not found"}, ErrorKind.NOT_FOUND, 404),
        ({"status": "400", "message": "Invalid courier"}, ErrorKind.BAD_REQUEST, 400),
        ({"status": 401, "message": "Invalid API key"}, ErrorKind.AUTH, 401),
        ({"status": 400, "message": "API Key tidak valid"}, ErrorKind.AUTH, 400),
        ({"status": 429, "message": "Too many request"}, ErrorKind.RATE_LIMITED, 429),
        ({"status": 400, "message": "Parameters awb is required"}, ErrorKind.BAD_REQUEST, 400),
    ],
)
def test_error_envelopes(body: dict[str, Any], kind: ErrorKind, http: int) -> None:
    results = parse(json.dumps(body), ["AWB1", "AWB2"])
    assert [r.tracking_number for r in results] == ["AWB1", "AWB2"]
    for result in results:
        assert result.status is None and result.error is not None
        assert result.error.kind is kind
        assert result.error.http_status == http
        assert result.error.code == str(body["status"])
        assert result.error.message == body["message"]
        assert result.raw == body


def test_error_without_numbers_has_empty_number() -> None:
    (result,) = parse('{"status": 401, "message": "Invalid API key"}')
    assert result.tracking_number == "" and result.error is not None


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>502</html>", b"[]", b"null", b"42", b'"x"', b'{"message": "?"}',
     b'{"status": 200}', b'{"status": 200, "data": []}', b"\xff\xfe", b'{"status": 2'],
)  # fmt: skip
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


def _only_response_errors(body: str) -> None:
    try:
        out = parse(body, ["JP1"])
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
    config = {"api_key": "KEY", "rate": 1000, **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_fetch_sends_key_courier_and_awb() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=JNT)

    results = await _adapter(handler).fetch(["JP6961181926"], courier="J&T Express")
    (request,) = seen
    assert request.method == "GET"
    assert request.url.host == "api.binderbyte.com" and request.url.path == "/v1/track"
    assert dict(request.url.params) == {"api_key": "KEY", "courier": "jnt", "awb": "JP6961181926"}
    assert [r.status for r in results] == [S.DELIVERED]
    assert results[0].courier == "jnt"


async def test_fetch_uses_binderbyte_courier_codes() -> None:
    couriers: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        couriers.append(request.url.params["courier"])
        return httpx.Response(400, json={"status": 400, "message": "Invalid awb"})

    adapter = _adapter(handler)
    for courier in ("kurir_rekomendasi", "indah", "Shopee Express", "ID Express"):
        await adapter.fetch(["X"], courier=courier)
    assert couriers == ["kurir_tokopedia", "indah_cargo", "spx", "ide"]


async def test_unknown_awb_is_not_found_per_number_in_order() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["awb"] == "GOOD":
            return httpx.Response(200, json=JNT)
        return httpx.Response(400, json={"status": 400, "message": "Invalid awb"})

    results = await _adapter(handler, api_base="https://bb.test").fetch(
        ["BAD1", "GOOD", "BAD2"], courier="jnt"
    )
    assert [r.tracking_number for r in results] == ["BAD1", "GOOD", "BAD2"]
    assert [r.error.kind if r.error else r.status for r in results] == [
        ErrorKind.NOT_FOUND,
        S.DELIVERED,
        ErrorKind.NOT_FOUND,
    ]
    assert results[0].error is not None and results[0].error.http_status == 400


async def test_404_body_is_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": 404, "message": "Data not found"})

    (result,) = await _adapter(handler).fetch(["X"], courier="jne")
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND


async def test_429_with_retry_after_raises_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow"})

    with pytest.raises(CarrierUnavailable) as info:
        await _adapter(handler).fetch(["A", "B"], courier="jne")
    assert info.value.retry_after == 7


async def test_401_raises_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"status": 401, "message": "Invalid API key"})

    with pytest.raises(CarrierAuthError):
        await _adapter(handler).fetch(["A"], courier="jne")


async def test_courier_required() -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - never called
        raise AssertionError("no request without a courier")

    results = await _adapter(handler).fetch(["A", "B"])
    assert [r.tracking_number for r in results] == ["A", "B"]
    assert all(r.error and r.error.kind is ErrorKind.BAD_REQUEST for r in results)
    assert results[0].error is not None and "courier required" in results[0].error.message


async def test_missing_key_is_an_auth_error() -> None:
    adapter = Adapter({}, client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: None)))
    with pytest.raises(CarrierAuthError):
        await adapter.fetch(["A"], courier="jne")


async def test_number_spelled_differently_stays_with_the_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=JNT)  # answers for JP6961181926 whatever was asked

    (result,) = await _adapter(handler).fetch(["JP2255749628"], courier="jnt")
    assert result.tracking_number == "JP2255749628" and result.status is S.DELIVERED


def test_adapter_contract() -> None:
    assert Adapter.id == "binderbyte" and Adapter.batch_size == 1
    assert Adapter.parse is parse
    assert Adapter.api_base == "https://api.binderbyte.com"


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"status": 400, "message": "Invalid API Key"}, ErrorKind.AUTH),
        ({"status": 401, "message": "Unauthorized"}, ErrorKind.AUTH),
        ({"status": 500, "message": "Internal Server Error"}, ErrorKind.UNAVAILABLE),
        (
            {"status": 400, "message": "Server kurir sedang gangguan, coba beberapa saat lagi"},
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


INDONESIAN_TIMES = [("17 Mei 2024 12:20", True), ("17-05-2024 12:20", True),
                    ("17/05/2024 12:20:00", True), ("17 Mei 2024 12:20 WIB", True),
                    ("17 Mei 12:20 WIB", False)]  # fmt: skip


@pytest.mark.parametrize(("value", "valid"), TIME_CASES + INDONESIAN_TIMES)
def test_time_variants(value: Any, valid: bool) -> None:
    with_times(parse, JNT, lambda d: d["data"]["history"], value, valid, ("date",))


def test_missing_history() -> None:
    without_events(parse, JNT, lambda d: d["data"], "history")
