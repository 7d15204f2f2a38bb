"""TrackingMore v4: samples, the status/substatus table, garbage bodies and the adapter."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status, TrackingResult
from carriers.errors import CarrierResponseError, CarrierUnavailable
from carriers.trackingmore import DELIVERY_STATUSES, META_KINDS, SUBSTATUSES, Adapter, parse
from tests.carriers.samples import SAMPLES, assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times
from tests.hostile.mutations import paths, replaced

PAIRS = sample_pairs("trackingmore")
DELIVERED = SAMPLES / "trackingmore" / "tracking-delivered-phlpost-RR050349575PH.json"


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def tracking(number: str, status: str, sub: str | None, **extra: Any) -> dict[str, Any]:
    checkpoint = {
        "checkpoint_date": "2024-03-04T10:11:12+07:00",
        "tracking_detail": "Paket sedang diantar",
        "location": "Jakarta, ID",
        "checkpoint_delivery_status": status,
        "checkpoint_delivery_substatus": sub,
    }
    return {
        "id": "9a2f",
        "tracking_number": number,
        "courier_code": "JNE",
        "delivery_status": status,
        "substatus": sub,
        "origin_info": {"trackinfo": [checkpoint]},
        "destination_info": {"trackinfo": []},
        **extra,
    }


def listing(*trackings: dict[str, Any]) -> bytes:
    meta = {"code": 200, "message": "Request response is successful"}
    return json.dumps({"meta": meta, "data": list(trackings)}).encode()


@pytest.mark.parametrize(
    ("status", "sub", "expected"),
    [
        ("pending", "pending001", Status.PENDING),
        ("pending", "pending004", Status.INFO_RECEIVED),
        ("notfound", "notfound002", Status.PENDING),
        ("notfound", "notfound001", Status.INFO_RECEIVED),
        ("inforeceived", "inforeceived001", Status.INFO_RECEIVED),
        ("transit", "transit001", Status.IN_TRANSIT),
        ("transit", "transit007", Status.IN_TRANSIT),
        ("pickup", "pickup001", Status.OUT_FOR_DELIVERY),
        ("pickup", "pickup002", Status.AVAILABLE_FOR_PICKUP),
        ("pickup", "pickup003", Status.OUT_FOR_DELIVERY),
        ("pickup", None, Status.OUT_FOR_DELIVERY),
        ("delivered", "delivered004", Status.DELIVERED),
        ("undelivered", "undelivered002", Status.FAILED_ATTEMPT),
        ("undelivered", None, Status.FAILED_ATTEMPT),
        ("exception", "exception005", Status.EXCEPTION),
        ("exception", "exception007", Status.EXCEPTION),
        ("exception", "exception010", Status.RETURNED_TO_SENDER),
        ("exception", "exception011", Status.RETURNED_TO_SENDER),
        ("expired", "expired001", Status.EXPIRED),
        ("expired", None, Status.EXPIRED),
    ],
)
def test_statuses(status: str, sub: str | None, expected: Status) -> None:
    (result,) = parse(listing(tracking("JX1", status, sub)))
    assert result.status is expected
    assert result.last_event is not None and result.last_event.status is expected
    assert result.raw_status == (sub or status)
    assert result.courier == "jne"


def test_unknown_codes_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carriers.trackingmore"):
        (sub,) = parse(listing(tracking("JX1", "exception", "exception099")))
        (main,) = parse(listing(tracking("JX2", "lost_in_space", None)))
    assert sub.status is Status.EXCEPTION and sub.raw_status == "exception099"
    assert main.status is Status.IN_TRANSIT and main.raw_status == "lost_in_space"
    assert "exception099" in caplog.text and "lost_in_space" in caplog.text


def test_tables() -> None:
    assert len(DELIVERY_STATUSES) == 9 and len(SUBSTATUSES) == 35 and len(META_KINDS) >= 20


def test_legs_merge_oldest_first_and_eta() -> None:
    t = tracking("JX1", "delivered", "delivered001", scheduled_delivery_date="2024-03-06")
    t["origin_info"]["trackinfo"] = [
        dict(
            t["origin_info"]["trackinfo"][0],
            checkpoint_date="2024-03-02 08:00",
            tracking_detail="b",
        ),
        dict(
            t["origin_info"]["trackinfo"][0],
            checkpoint_date="2024-03-01 08:00",
            tracking_detail="a",
        ),
    ]
    t["destination_info"]["trackinfo"] = [
        dict(
            t["origin_info"]["trackinfo"][0],
            checkpoint_date="2024-03-05 18:00",
            tracking_detail="d",
        ),
        dict(
            t["origin_info"]["trackinfo"][0],
            checkpoint_date="2024-03-04 09:00",
            tracking_detail="c",
        ),
    ]
    (result,) = parse(listing(t))
    assert [e.description for e in result.events] == ["a", "b", "c", "d"]
    assert result.events[0].time is not None and result.events[0].time.tzinfo is None
    assert result.estimated_delivery == date(2024, 3, 6)


def test_single_tracking_and_webhook_bodies() -> None:
    single = {"meta": {"code": 200}, "data": tracking("JX1", "transit", "transit002")}
    assert parse(json.dumps(single))[0].status is Status.IN_TRANSIT
    hook = {"code": 200, "message": "Success", "data": tracking("JX1", "pickup", "pickup001")}
    assert parse(json.dumps(hook))[0].status is Status.OUT_FOR_DELIVERY


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (4102, ErrorKind.NOT_FOUND),
        (4110, ErrorKind.INVALID_NUMBER),
        (4120, ErrorKind.BAD_REQUEST),
        (401, ErrorKind.AUTH),
        (429, ErrorKind.RATE_LIMITED),
        (4190, ErrorKind.RATE_LIMITED),
    ],
)
def test_meta_errors_become_one_result_per_number(code: int, kind: ErrorKind) -> None:
    body = json.dumps({"meta": {"code": code, "message": "nope"}, "data": []})
    results = parse(body, ["A1", "B2"])
    assert [r.tracking_number for r in results] == ["A1", "B2"]
    assert all(r.error and r.error.kind is kind and r.error.code == str(code) for r in results)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"7",
        b'"x"',
        b"{}",
        b'{"meta": {"code": 200}, "data": 5}',
        b'{"data": []}',
        b"\xc3",
    ],
)
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


# ---- property: any JSON, and mutations of the real body, give a list or CarrierResponseError

KEYS = [
    "meta",
    "code",
    "data",
    "message",
    "tracking_number",
    "courier_code",
    "delivery_status",
    "substatus",
    "origin_info",
    "destination_info",
    "trackinfo",
    "checkpoint_date",
    "checkpoint_delivery_status",
    "checkpoint_delivery_substatus",
    "tracking_detail",
    "location",
    "scheduled_delivery_date",
    "success",
    "error",
    "errorCode",
]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)


patches = st.recursive(  # smaller values for mutating a real body: many cheap examples
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def check(body: str | bytes, numbers: list[str] | None = None) -> None:
    try:
        results = parse(body, numbers or [])
    except CarrierResponseError:
        return
    assert isinstance(results, list) and all(isinstance(r, TrackingResult) for r in results)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.lists(st.text(max_size=5), max_size=2))
def test_any_json_parses_or_raises_response_error(doc: Any, numbers: list[str]) -> None:
    check(json.dumps(doc), numbers)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_sample_parses_or_raises_response_error(data: st.DataObject) -> None:
    doc = json.loads(DELIVERED.read_text())
    if data.draw(st.booleans()):  # the list shape of GET /trackings/get
        doc["data"] = [doc["data"]]
    for _ in range(data.draw(st.integers(1, 4))):
        doc = replaced(doc, data.draw(st.sampled_from(paths(doc))), data.draw(patches))
    check(json.dumps(doc))


# ---- adapter over httpx.MockTransport


def adapter(handler: Any, **config: Any) -> Adapter:
    transport = httpx.MockTransport(handler)
    return Adapter(
        {"api_key": "tm-key", "rate": 1000, **config}, client=httpx.AsyncClient(transport=transport)
    )


async def test_get_url_header_and_batch_of_40() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        numbers = request.url.params["tracking_numbers"].split(",")
        return httpx.Response(
            200, content=listing(*(tracking(n, "transit", "transit001") for n in numbers))
        )

    numbers = [f"JX{i:08d}" for i in range(40)]
    results = await adapter(handler).fetch(numbers, courier="jne")
    assert len(seen) == 1 and Adapter.batch_size == 40
    request = seen[0]
    assert request.method == "GET"
    assert str(request.url).startswith("https://api.trackingmore.com/v4/trackings/get?")
    assert request.url.params["courier_code"] == "jne"
    assert request.headers["Tracking-Api-Key"] == "tm-key"
    assert [r.tracking_number for r in results] == numbers


async def test_missing_numbers_are_created_in_one_batch_call() -> None:
    posted: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(
                200, content=listing(tracking("OLD1", "delivered", "delivered001"))
            )
        posted.append(json.loads(request.content))
        data = {
            "success": [{"id": "x", "tracking_number": "NEW1", "courier_code": "jne"}],
            "error": [{"tracking_number": "BAD2", "errorCode": 4110, "errorMsg": "invalid"}],
        }
        return httpx.Response(200, json={"meta": {"code": 200, "message": "ok"}, "data": data})

    old, new, bad = await adapter(handler).fetch(["OLD1", "NEW1", "BAD2"], courier="jne")
    assert posted == [
        [
            {"tracking_number": "NEW1", "courier_code": "jne"},
            {"tracking_number": "BAD2", "courier_code": "jne"},
        ]
    ]
    assert old.status is Status.DELIVERED
    assert new.status is Status.PENDING and new.error is None
    assert bad.error and bad.error.kind is ErrorKind.INVALID_NUMBER


async def test_missing_number_without_courier_is_not_found() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=listing())

    (result,) = await adapter(handler).fetch(["NOPE"])
    assert len(calls) == 1
    assert result.error and result.error.kind is ErrorKind.NOT_FOUND


async def test_429_with_retry_after_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"meta": {"code": 429, "message": "Exceeded API request limits"}, "data": []}
        return httpx.Response(429, json=body, headers={"Retry-After": "120"})

    with pytest.raises(CarrierUnavailable) as info:
        await adapter(handler).fetch(["JX1"])
    assert info.value.retry_after == 120


async def test_400_envelope_is_data_with_http_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"meta": {"code": 4120, "message": "courier invalid"}, "data": []}
        )

    (result,) = await adapter(handler).fetch(["JX1"], courier="nope")
    assert (
        result.error
        and result.error.kind is ErrorKind.BAD_REQUEST
        and result.error.http_status == 400
    )


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {"meta": {"code": 401, "message": "Unauthorized. Invalid API key."}, "data": []},
            ErrorKind.AUTH,
        ),
        ({"meta": {"code": 4001, "message": "Invalid API key"}, "data": []}, ErrorKind.AUTH),
        ({"meta": {"code": 511, "message": "Server error"}, "data": []}, ErrorKind.UNAVAILABLE),
        (
            {"meta": {"code": 503, "message": "Service unavailable"}, "data": []},
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


_TM = PAIRS[0][0].read_text()


def _checkpoints(doc: Any) -> list[Any]:
    data = doc["data"]
    return [*data["origin_info"]["trackinfo"], *data["destination_info"]["trackinfo"]]


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    with_times(parse, json.loads(_TM), _checkpoints, value, valid, ("checkpoint_date",))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(_TM)
    doc["data"]["scheduled_delivery_date"] = value
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_trackinfo() -> None:
    for replacement in (None, {}, "x", {"trackinfo": None}):
        doc = json.loads(_TM)
        doc["data"]["origin_info"] = replacement
        doc["data"]["destination_info"] = replacement
        (result,) = parse(json.dumps(doc))
        assert result.status is Status.DELIVERED and result.events == ()


def test_checkpoints_without_a_status_read_the_carriers_words() -> None:
    doc = json.loads(_TM)
    for cp in _checkpoints(doc):
        cp.pop("checkpoint_delivery_status", None)
        cp.pop("checkpoint_delivery_substatus", None)
    (result,) = parse(json.dumps(doc))
    assert result.last_event is not None and result.last_event.status is Status.DELIVERED


def test_location_from_its_parts_when_no_free_text() -> None:
    doc = json.loads(_TM)
    for cp in _checkpoints(doc):
        cp.update({"location": "", "city": "Renton", "state": "WA", "country_iso2": "US"})
    (result,) = parse(json.dumps(doc))
    assert result.last_event is not None and result.last_event.location == "Renton, WA, US"
