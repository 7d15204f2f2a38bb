"""EasyPost: samples, status/status_detail table, garbage bodies and the adapter."""

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
from carriers.easypost import STATUS_DETAILS, STATUSES, Adapter, parse
from carriers.errors import CarrierResponseError, CarrierUnavailable
from tests.carriers.samples import SAMPLES, assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events
from tests.hostile.mutations import paths, replaced

PAIRS = sample_pairs("easypost")
WEBHOOK = SAMPLES / "easypost" / "webhook-event-tracker-updated-delivered-EZ4000000004.json"


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def tracker(status: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    scan = {
        "object": "TrackingDetail",
        "message": "scan",
        "status": status,
        "status_detail": detail,
        "datetime": "2024-06-01T12:00:00Z",
        "tracking_location": {"city": "RENO", "state": "NV", "country": "US", "zip": "89501"},
    }
    return {
        "id": "trk_1",
        "object": "Tracker",
        "tracking_code": "EZ2000000002",
        "status": status,
        "status_detail": detail,
        "carrier": "USPS",
        "est_delivery_date": None,
        "tracking_details": [scan],
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("unknown", "unknown", Status.PENDING),
        ("pre_transit", "label_created", Status.INFO_RECEIVED),
        ("pre_transit", "status_update", Status.INFO_RECEIVED),
        ("in_transit", "arrived_at_facility", Status.IN_TRANSIT),
        ("in_transit", "weather_delay", Status.IN_TRANSIT),
        ("in_transit", "arrived_at_pickup_location", Status.AVAILABLE_FOR_PICKUP),
        ("out_for_delivery", "out_for_delivery", Status.OUT_FOR_DELIVERY),
        ("delivered", "arrived_at_destination", Status.DELIVERED),
        ("delivered", "label_created", Status.DELIVERED),  # delivered only yields to a return
        ("delivered", "return", Status.RETURNED_TO_SENDER),
        ("available_for_pickup", "arrived_at_pickup_location", Status.AVAILABLE_FOR_PICKUP),
        ("return_to_sender", "return", Status.RETURNED_TO_SENDER),
        ("return_to_sender", None, Status.RETURNED_TO_SENDER),
        # failure: an attempted delivery (delivery_exception, refused at the door) is a failed
        # attempt; damage, loss, holds and the generic failure stay exceptions
        ("failure", "delivery_exception", Status.FAILED_ATTEMPT),
        ("failure", "refused", Status.FAILED_ATTEMPT),
        ("in_transit", "delivery_exception", Status.FAILED_ATTEMPT),
        ("failure", "address_not_found", Status.FAILED_ATTEMPT),  # newer than the enum
        ("failure", "recipient_not_available", Status.FAILED_ATTEMPT),
        ("failure", "delivery_attempted", Status.FAILED_ATTEMPT),
        ("failure", "lost", Status.EXCEPTION),
        ("failure", "damaged", Status.EXCEPTION),
        ("failure", "held", Status.EXCEPTION),
        ("failure", "failure", Status.EXCEPTION),
        ("failure", "transit_exception", Status.EXCEPTION),
        ("failure", None, Status.EXCEPTION),
        ("failure", "return", Status.RETURNED_TO_SENDER),
        ("delivered", "delivery_exception", Status.DELIVERED),
        ("pre_transit", "label_created", Status.INFO_RECEIVED),
        ("unknown", None, Status.PENDING),
        ("IN_TRANSIT", "ARRIVED_AT_FACILITY", Status.IN_TRANSIT),  # case does not matter
        ("cancelled", "cancelled", Status.EXCEPTION),
        ("in_transit", "expired", Status.EXPIRED),
    ],
)
def test_status_and_detail(status: str, detail: str | None, expected: Status) -> None:
    (result,) = parse(json.dumps(tracker(status, detail)))
    assert result.status is expected
    assert result.last_event is not None and result.last_event.status is expected
    assert result.courier == "usps"
    assert result.raw_status == (detail or status)


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("APIKEY.REQUIRED", "We couldn't find a valid API key", ErrorKind.AUTH),
        ("APIKEY.INACTIVE", "This api key is no longer active", ErrorKind.AUTH),
        ("MODE.UNAUTHORIZED", "This test key cannot be used in production", ErrorKind.AUTH),
        ("ERROR", "Invalid API key", ErrorKind.AUTH),
        ("INTERNAL_SERVER_ERROR", "We're sorry, something went wrong", ErrorKind.UNAVAILABLE),
        ("SERVICE_UNAVAILABLE", "Try again later", ErrorKind.UNAVAILABLE),
        ("RATE_LIMITED", "Too many requests", ErrorKind.RATE_LIMITED),
        ("NOT_FOUND", "The requested resource could not be found.", ErrorKind.NOT_FOUND),
        ("PARAMETER.REQUIRED", "Missing required parameter", ErrorKind.BAD_REQUEST),
    ],
)
def test_whole_response_errors(code: str, message: str, kind: ErrorKind) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "errors": []}})
    results = parse(body, ["EZ1", "EZ2"])
    assert [r.tracking_number for r in results] == ["EZ1", "EZ2"]
    assert all(r.error is not None and r.error.kind is kind for r in results)


def test_eta_falls_back_to_the_carriers_local_estimate() -> None:
    t = tracker("in_transit", None, est_delivery_date=None)
    t["carrier_detail"] = {"est_delivery_date_local": "2024-06-05", "est_delivery_time_local": None}
    (result,) = parse(json.dumps(t))
    assert result.estimated_delivery == date(2024, 6, 5)


def test_error_tracker_is_an_invalid_number_without_events() -> None:
    t = tracker("error", "unknown")
    t["tracking_details"][0]["message"] = "Tracking code is invalid for this carrier"
    (result,) = parse(json.dumps(t))
    assert result.status is None and result.events == ()
    assert result.error is not None and result.error.kind is ErrorKind.INVALID_NUMBER
    assert result.error.message == "Tracking code is invalid for this carrier"


def test_unknown_codes_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carriers.easypost"):
        (a,) = parse(json.dumps(tracker("teleported", None)))
        (b,) = parse(json.dumps(tracker("in_transit", "wormhole")))
    assert a.status is Status.IN_TRANSIT and a.raw_status == "teleported"
    assert b.status is Status.IN_TRANSIT and b.raw_status == "wormhole"
    assert "teleported" in caplog.text and "wormhole" in caplog.text


def test_tables() -> None:
    assert len(STATUSES) == 10 and len(STATUS_DETAILS) == 28


def test_times_keep_z_and_eta_is_the_date_written() -> None:
    (result,) = parse(
        json.dumps(tracker("in_transit", None, est_delivery_date="2024-06-04T00:00:00Z"))
    )
    assert result.estimated_delivery == date(2024, 6, 4)
    assert (
        result.events[0].time is not None
        and result.events[0].time.isoformat() == "2024-06-01T12:00:00Z"
    )
    assert result.events[0].location == "RENO, NV, US"


def test_events_keep_carrier_order() -> None:
    (result,) = parse(WEBHOOK.read_bytes())
    assert result.events[0].description == "BILLING INFORMATION RECEIVED"
    assert result.events[-1].status is Status.DELIVERED


def test_non_tracker_event_has_no_news() -> None:
    event = {"object": "Event", "description": "batch.created", "result": {"object": "Batch"}}
    assert parse(json.dumps(event)) == []


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("NOT_FOUND", ErrorKind.NOT_FOUND),
        ("TRACKER.CREATE.ERROR", ErrorKind.INVALID_NUMBER),
        ("APIKEY.INACTIVE", ErrorKind.AUTH),
        ("RATE_LIMITED", ErrorKind.RATE_LIMITED),
        ("PARAMETER.REQUIRED", ErrorKind.BAD_REQUEST),
        ("SOMETHING.NEW", ErrorKind.BAD_REQUEST),
    ],
)
def test_error_envelope(code: str, kind: ErrorKind) -> None:
    body = {"error": {"code": code, "message": "no", "errors": []}}
    results = parse(json.dumps(body), ["EZ1", "EZ2"])
    assert [r.tracking_number for r in results] == ["EZ1", "EZ2"]
    assert all(r.error and r.error.kind is kind and r.error.code == code for r in results)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"3",
        b'"x"',
        b"{}",
        b'{"error": "x"}',
        b'{"object": "Shipment"}',
        b"\xfe",
    ],
)
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


# ---- property: any JSON, and mutations of the real webhook, give a list or CarrierResponseError

KEYS = [
    "object",
    "result",
    "description",
    "trackers",
    "tracking_code",
    "status",
    "status_detail",
    "carrier",
    "est_delivery_date",
    "tracking_details",
    "message",
    "datetime",
    "tracking_location",
    "city",
    "state",
    "country",
    "error",
    "code",
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
    doc = json.loads(WEBHOOK.read_text())
    if data.draw(st.booleans()):  # the tracker list shape
        doc = {"trackers": [doc["result"]], "has_more": False}
    for _ in range(data.draw(st.integers(1, 4))):
        doc = replaced(doc, data.draw(st.sampled_from(paths(doc))), data.draw(patches))
    check(json.dumps(doc))


# ---- adapter over httpx.MockTransport


def adapter(handler: Any, **config: Any) -> Adapter:
    transport = httpx.MockTransport(handler)
    return Adapter(
        {"api_key": "EZTK123", "rate": 1000, **config},
        client=httpx.AsyncClient(transport=transport),
    )


async def test_lookup_by_tracking_code_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"trackers": [tracker("in_transit", "arrived_at_facility")], "has_more": False},
        )

    (result,) = await adapter(handler).fetch(["EZ2000000002"], courier="USPS")
    request = seen[0]
    assert request.method == "GET"
    assert str(request.url).startswith("https://api.easypost.com/v2/trackers?")
    assert request.url.params["tracking_code"] == "EZ2000000002"
    assert request.url.params["carrier"] == "USPS"
    assert request.headers["Authorization"] == "Basic RVpUSzEyMzo="  # "EZTK123:"
    assert result.status is Status.IN_TRANSIT
    assert Adapter.batch_size == 1


async def test_unknown_code_creates_a_tracker_once() -> None:
    posted: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"trackers": [], "has_more": False})
        posted.append(json.loads(request.content))
        return httpx.Response(
            201, json=tracker("pre_transit", "label_created", tracking_code="EZ1000000001")
        )

    (result,) = await adapter(handler).fetch(["EZ1000000001"])
    assert posted == [{"tracker": {"tracking_code": "EZ1000000001"}}]
    assert result.status is Status.INFO_RECEIVED


async def test_missing_number_is_not_found_when_not_registering() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"trackers": [], "has_more": False})

    (result,) = await adapter(handler, register=False).fetch(["EZ9"])
    assert result.error and result.error.kind is ErrorKind.NOT_FOUND


async def test_create_error_is_data_for_that_number() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"trackers": [], "has_more": False})
        body = {
            "error": {
                "code": "TRACKER.CREATE.ERROR",
                "message": "In test mode, only test numbers",
                "errors": [],
            }
        }
        return httpx.Response(422, json=body)

    (result,) = await adapter(handler).fetch(["9400110898825022579493"])
    assert (
        result.error
        and result.error.kind is ErrorKind.INVALID_NUMBER
        and result.error.http_status == 422
    )


async def test_429_with_retry_after_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "RATE_LIMITED", "message": "slow down", "errors": []}}
        return httpx.Response(429, json=body, headers={"Retry-After": "3"})

    with pytest.raises(CarrierUnavailable) as info:
        await adapter(handler).fetch(["EZ1"])
    assert info.value.retry_after == 3


# -- held-out spellings: times, ETA and events as other real responses write them


_EP = next(b for b, _ in PAIRS if "tracker-retrieve" in b.name).read_text()


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    with_times(parse, json.loads(_EP), lambda d: d["tracking_details"], value, valid, ("datetime",))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(_EP)
    doc["est_delivery_date"] = value
    doc.pop("carrier_detail", None)
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_tracking_details() -> None:
    without_events(parse, json.loads(_EP), lambda d: d, "tracking_details")
