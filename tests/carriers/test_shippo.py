"""Shippo: samples, status/substatus table, garbage bodies and the adapter."""

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
from carriers.shippo import STATUSES, SUBSTATUSES, Adapter, parse
from tests.carriers.samples import SAMPLES, assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events
from tests.hostile.mutations import paths, replaced

PAIRS = sample_pairs("shippo")
DELIVERED = SAMPLES / "shippo" / "track-get-usps-delivered-9205590164917337534322.json"


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def track(
    status: str | None, sub: str | None = None, details: str = "update", **extra: Any
) -> dict[str, Any]:
    entry = {
        "status": status,
        "status_details": details,
        "status_date": "2024-02-03T04:05:06Z",
        "substatus": {"code": sub, "text": "t", "action_required": False} if sub else None,
        "location": {"city": "Oakland", "state": "CA", "zip": "94615", "country": "US"},
    }
    return {
        "carrier": "shippo",
        "tracking_number": "SHIPPO_TRANSIT",
        "eta": "2024-02-05T00:00:00Z",
        "tracking_status": entry if status else None,
        "tracking_history": [entry] if status else [],
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "sub", "expected"),
    [
        ("PRE_TRANSIT", None, Status.INFO_RECEIVED),
        ("PRE_TRANSIT", "information_received", Status.INFO_RECEIVED),
        ("TRANSIT", None, Status.IN_TRANSIT),
        ("TRANSIT", "package_departed", Status.IN_TRANSIT),
        ("TRANSIT", "delayed", Status.IN_TRANSIT),
        ("TRANSIT", "out_for_delivery", Status.OUT_FOR_DELIVERY),
        ("TRANSIT", "delivery_attempted", Status.FAILED_ATTEMPT),
        ("TRANSIT", "notice_left", Status.FAILED_ATTEMPT),
        ("TRANSIT", "pickup_available", Status.AVAILABLE_FOR_PICKUP),
        ("TRANSIT", "address_issue", Status.EXCEPTION),
        ("TRANSIT", "package_damaged", Status.EXCEPTION),
        ("DELIVERED", "delivered", Status.DELIVERED),
        ("DELIVERED", "package_damaged", Status.DELIVERED),  # final status only yields to a return
        ("RETURNED", "return_to_sender", Status.RETURNED_TO_SENDER),
        ("RETURNED", "package_unclaimed", Status.RETURNED_TO_SENDER),
        ("RETURNED", None, Status.RETURNED_TO_SENDER),
        ("FAILURE", "package_lost", Status.EXCEPTION),
        ("FAILURE", "package_undeliverable", Status.EXCEPTION),
        ("FAILURE", None, Status.EXCEPTION),
        ("UNKNOWN", "other", Status.PENDING),
        ("UNKNOWN", None, Status.PENDING),
    ],
)
def test_status_and_substatus(status: str, sub: str | None, expected: Status) -> None:
    (result,) = parse(json.dumps(track(status, sub)))
    assert result.status is expected
    assert result.last_event is not None and result.last_event.status is expected
    assert result.raw_status == (sub or status)
    assert result.courier == "shippo"


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        (
            "UNKNOWN",
            "The shipping label has been created and the USPS is awaiting the item.",
            Status.INFO_RECEIVED,
        ),
        ("TRANSIT", "Your shipment is out for delivery.", Status.OUT_FOR_DELIVERY),
        ("TRANSIT", "Available for Pickup at the post office", Status.AVAILABLE_FOR_PICKUP),
        ("TRANSIT", "Delivery attempted - no access to delivery location", Status.FAILED_ATTEMPT),
        ("TRANSIT", "Arrived at USPS facility", Status.IN_TRANSIT),
    ],
)
def test_pre_substatus_wording(status: str, details: str, expected: Status) -> None:
    (result,) = parse(json.dumps(track(status, None, details)))
    assert result.status is expected


def test_unknown_number_is_pending_not_an_error() -> None:
    (result,) = parse(json.dumps(track(None)))
    assert result.status is Status.PENDING and result.error is None and result.events == ()


def test_unknown_codes_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carriers.shippo"):
        (a,) = parse(json.dumps(track("TELEPORTED")))
        (b,) = parse(json.dumps(track("TRANSIT", "package_beamed")))
    assert a.status is Status.PENDING and a.raw_status == "TELEPORTED"
    assert a.last_event is not None and a.last_event.status is Status.IN_TRANSIT
    assert b.status is Status.IN_TRANSIT and b.raw_status == "package_beamed"
    assert "TELEPORTED" in caplog.text and "package_beamed" in caplog.text


def test_tables() -> None:
    assert len(STATUSES) == 6 and len(SUBSTATUSES) == 27


def test_times_eta_location_and_webhook() -> None:
    hook = {"event": "track_updated", "test": True, "data": track("TRANSIT", "package_arrived")}
    (result,) = parse(json.dumps(hook))
    assert result.estimated_delivery == date(2024, 2, 5)
    assert (
        result.events[0].time is not None
        and result.events[0].time.isoformat() == "2024-02-03T04:05:06Z"
    )
    assert result.events[0].location == "Oakland, CA, US"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"detail": "Invalid token."}, ErrorKind.AUTH),
        ({"detail": "Request was throttled."}, ErrorKind.RATE_LIMITED),
        ({"detail": "Not found."}, ErrorKind.NOT_FOUND),
        ({"detail": "Carrier with name 'X' is not supported."}, ErrorKind.BAD_REQUEST),
        ({"carrier": ["This field is required."]}, ErrorKind.BAD_REQUEST),
        ({"tracking_number": ["Invalid tracking number"]}, ErrorKind.INVALID_NUMBER),
    ],
)
def test_error_bodies(body: dict[str, Any], kind: ErrorKind) -> None:
    results = parse(json.dumps(body), ["A1", "B2"])
    assert [r.tracking_number for r in results] == ["A1", "B2"]
    assert all(r.error and r.error.kind is kind for r in results)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"0",
        b'"x"',
        b"{}",
        b'{"detail": null}',
        b'{"tracking_number": 5}',
        b"\xff",
    ],
)
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


# ---- property: any JSON, and mutations of the real body, give a list or CarrierResponseError

KEYS = [
    "carrier",
    "tracking_number",
    "eta",
    "tracking_status",
    "tracking_history",
    "status",
    "status_details",
    "status_date",
    "substatus",
    "code",
    "location",
    "city",
    "state",
    "country",
    "detail",
    "event",
    "data",
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
    if data.draw(st.booleans()):  # the webhook shape
        doc = {"event": "track_updated", "test": False, "data": doc}
    for _ in range(data.draw(st.integers(1, 4))):
        doc = replaced(doc, data.draw(st.sampled_from(paths(doc))), data.draw(patches))
    check(json.dumps(doc))


# ---- adapter over httpx.MockTransport


def adapter(handler: Any, **config: Any) -> Adapter:
    transport = httpx.MockTransport(handler)
    return Adapter(
        {"api_key": "shippo_test_abc", "rate": 1000, **config},
        client=httpx.AsyncClient(transport=transport),
    )


async def test_get_url_and_token_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=DELIVERED.read_bytes())

    (result,) = await adapter(handler).fetch(["9205590164917337534322"], courier="usps")
    request = seen[0]
    assert request.method == "GET"
    assert str(request.url) == "https://api.goshippo.com/tracks/usps/9205590164917337534322"
    assert request.headers["Authorization"] == "ShippoToken shippo_test_abc"
    assert result.status is Status.DELIVERED
    assert Adapter.batch_size == 1


async def test_one_call_per_number_and_configured_carrier() -> None:
    paths_seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths_seen.append(request.url.path)
        number = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=dict(track("TRANSIT"), tracking_number=number))

    results = await adapter(handler, carrier="shippo").fetch(["SHIPPO_TRANSIT", "SHIPPO_DELIVERED"])
    assert paths_seen == ["/tracks/shippo/SHIPPO_TRANSIT", "/tracks/shippo/SHIPPO_DELIVERED"]
    assert [r.status for r in results] == [Status.IN_TRANSIT, Status.IN_TRANSIT]


async def test_no_carrier_is_a_bad_request_without_a_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call expected")

    (result,) = await adapter(handler).fetch(["X1"])
    assert result.error and result.error.kind is ErrorKind.BAD_REQUEST


async def test_400_detail_is_data_with_http_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"detail": "Carrier with name 'nope' is not supported."})

    (result,) = await adapter(handler).fetch(["X1"], courier="nope")
    assert (
        result.error
        and result.error.kind is ErrorKind.BAD_REQUEST
        and result.error.http_status == 400
    )


async def test_html_404_and_mismatched_number_come_back_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "GONE" in request.url.path:
            return httpx.Response(404, text="<html>Not Found</html>")
        return httpx.Response(200, json=dict(track("TRANSIT"), tracking_number="SOMETHING_ELSE"))

    gone, other = await adapter(handler).fetch(["GONE", "MINE"], courier="usps")
    assert gone.error and gone.error.kind is ErrorKind.NOT_FOUND
    assert other.error and other.error.kind is ErrorKind.NOT_FOUND


async def test_429_with_retry_after_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"detail": "Request was throttled."}, headers={"Retry-After": "30"}
        )

    with pytest.raises(CarrierUnavailable) as info:
        await adapter(handler).fetch(["X1"], courier="usps")
    assert info.value.retry_after == 30


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"detail": "Invalid token."}, ErrorKind.AUTH),
        ({"detail": "Authentication credentials were not provided."}, ErrorKind.AUTH),
        ({"detail": "Internal Server Error"}, ErrorKind.UNAVAILABLE),
        ({"detail": "Service temporarily unavailable, try again later."}, ErrorKind.UNAVAILABLE),
    ],
)
def test_whole_response_error_kinds(body: dict[str, Any], kind: ErrorKind) -> None:
    results = parse(json.dumps(body), ["N1", "N2"])
    assert [r.tracking_number for r in results] == ["N1", "N2"]
    assert all(r.status is None and r.error is not None for r in results)
    assert {r.error.kind for r in results if r.error} == {kind}


# -- held-out spellings: times, ETA and events as other real responses write them


_SH = next(b for b, _ in PAIRS if "delivered" in b.name).read_text()


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    doc = json.loads(_SH)
    with_times(parse, doc, lambda d: d["tracking_history"], value, valid, ("status_date",))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(_SH)
    doc["eta"] = value
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_tracking_history() -> None:
    without_events(parse, json.loads(_SH), lambda d: d, "tracking_history")
