"""USPS Tracking v3: samples, documented codes the samples don't show, garbage, the adapter."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.usps import _GROUPS, EVENT_CODES, Adapter, parse
from tests.carriers.samples import assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events

PAIRS = sample_pairs("usps")
SAMPLE = next(b for b, _ in PAIRS if "delivered" in b.name).read_text()


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[b.name for b, _ in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def event(code: str, kind: str = "x", **extra: Any) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventCode": code,
        "eventTimestamp": "2024-11-20T09:10:00",
        "GMTOffset": "-05:00",
        "eventCity": "HERNANDO",
        "eventState": "FL",
        **extra,
    }


def body(*events: dict[str, Any], **item: Any) -> str:
    return json.dumps({"trackingNumber": "9400", "trackingEvents": list(events), **item})


@pytest.mark.parametrize(
    ("code", "want"),
    [
        ("GX", Status.INFO_RECEIVED),
        ("MA", Status.INFO_RECEIVED),
        ("03", Status.IN_TRANSIT),
        ("10", Status.IN_TRANSIT),
        ("OF", Status.OUT_FOR_DELIVERY),
        ("02", Status.FAILED_ATTEMPT),
        ("52", Status.FAILED_ATTEMPT),
        ("55", Status.FAILED_ATTEMPT),
        ("51", Status.FAILED_ATTEMPT),
        ("16", Status.AVAILABLE_FOR_PICKUP),
        ("14", Status.AVAILABLE_FOR_PICKUP),
        ("01", Status.DELIVERED),
        ("43", Status.DELIVERED),
        # USPS: "refused by the addressee ... and is being returned to the sender"; an item
        # undeliverable as addressed goes back too
        ("04", Status.RETURNED_TO_SENDER),
        ("05", Status.RETURNED_TO_SENDER),
        ("11", Status.EXCEPTION),  # dead letter
        ("30", Status.FAILED_ATTEMPT),  # delivery attempted, no access to delivery location
        ("56", Status.FAILED_ATTEMPT),  # no authorized recipient available
        ("71", Status.IN_TRANSIT),  # rescheduled to next delivery day
        ("89", Status.INFO_RECEIVED),  # merchant order receipt, USPS awaiting item
        ("83", Status.IN_TRANSIT),  # tendered to the Postal Service
        ("09", Status.RETURNED_TO_SENDER),
        ("21", Status.RETURNED_TO_SENDER),
        ("31", Status.RETURNED_TO_SENDER),
    ],
)
def test_event_codes(code: str, want: Status) -> None:
    (result,) = parse(body(event(code)))
    assert result.events[0].status is want
    assert result.events[0].raw_code == code
    assert result.status is want  # no statusCategory: the newest scan decides


@pytest.mark.parametrize(
    ("category", "code", "want"),
    [
        ("Pre-Shipment", "GX", Status.INFO_RECEIVED),
        ("Accepted", "03", Status.IN_TRANSIT),
        ("In Transit", "OF", Status.OUT_FOR_DELIVERY),  # the newest scan is more specific
        ("Alert", "02", Status.FAILED_ATTEMPT),
        ("Alert", "ZZ", Status.EXCEPTION),
        ("Delivery Attempt", "ZZ", Status.FAILED_ATTEMPT),
        ("Available for Pickup", "07", Status.AVAILABLE_FOR_PICKUP),
        ("Delivered", "ZZ", Status.DELIVERED),
        ("Return to Sender", "09", Status.RETURNED_TO_SENDER),
        ("Something New", "ZZ", Status.IN_TRANSIT),
    ],
)
def test_status_category_with_newest_scan(category: str, code: str, want: Status) -> None:
    (result,) = parse(body(event(code), statusCategory=category))
    assert result.status is want


def test_delivered_to_original_sender_is_a_return() -> None:
    (result,) = parse(
        body(event("01", "Delivered, To Original Sender"), statusCategory="Delivered")
    )
    assert result.status is Status.RETURNED_TO_SENDER


def test_table_has_no_duplicates() -> None:
    listed = [c for codes in _GROUPS.values() for c in codes.split()]
    assert len(listed) == len(set(listed)) == len(EVENT_CODES)


def test_offsets_eta_order_and_location() -> None:
    newest = event("OF", "Out for Delivery", GMTOffset="-7:00")
    oldest = event("GX", "Label", eventTimestamp="2024-11-18T08:00:00", GMTOffset=None,
                   eventCity=None, eventState=None)  # fmt: skip
    (result,) = parse(body(newest, oldest, expectedDeliveryTimeStamp="2024-11-22T00:00:00Z"))
    assert [e.raw_code for e in result.events] == ["GX", "OF"]
    assert result.events[1].time is not None
    assert result.events[1].time.isoformat() == "2024-11-20T09:10:00-07:00"
    assert result.events[0].time is not None and result.events[0].time.tzinfo is None
    assert result.events[0].location is None and result.events[1].location == "HERNANDO, FL"
    assert str(result.estimated_delivery) == "2024-11-22"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": "404", "message": "Not Found", "errors": [{"status": "404", "title": "x"}]},
         ErrorKind.NOT_FOUND),
        ({"code": "401", "message": "Unauthorized"}, ErrorKind.AUTH),
        ({"code": "429", "message": "Too Many Requests"}, ErrorKind.RATE_LIMITED),
        ({"code": "400", "message": "Invalid tracking number format"}, ErrorKind.INVALID_NUMBER),
        ({"code": "400", "message": "Bad expand value"}, ErrorKind.BAD_REQUEST),
    ],
)  # fmt: skip
def test_error_envelopes(error: dict[str, Any], kind: ErrorKind) -> None:
    results = parse(json.dumps({"apiVersion": "v3", "error": error}), ["A", "B"])
    assert [r.tracking_number for r in results] == ["A", "B"]
    assert all(r.error is not None and r.error.kind is kind for r in results)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"[]", b"null", b"3", '{"output": 5}', "[1, 2]", '{"foo": {}}', b"\xff",
     "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_garbage_raises_response_error_only(garbage: bytes | str) -> None:
    with pytest.raises(CarrierResponseError):
        parse(garbage)


def test_wrongly_typed_fields_do_not_crash() -> None:
    for item in [
        {"trackingNumber": 5, "trackingEvents": {"a": 1}},
        {
            "trackingNumber": "1",
            "trackingEvents": [None, 4, {"eventCode": 1, "GMTOffset": "+99:99"}],
        },
        {"trackingNumber": "1", "trackingEvents": [{"eventTimestamp": 7, "GMTOffset": "+²:00"}]},
        {"trackingEvents": [], "statusCategory": ["x"], "expectedDeliveryTimeStamp": {}},
        {"error": 5},
        {"error": {"errors": "x", "code": ["404"]}},
    ]:
        assert isinstance(parse(json.dumps(item)), list)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(["eventCode", "eventTimestamp", "GMTOffset", "GMTTimestamp", "eventType"])


def _check(value: str | bytes) -> None:
    with contextlib.suppress(CarrierResponseError):
        assert isinstance(parse(value), list)


@settings(max_examples=100, deadline=None)
@given(JSON, st.dictionaries(KEYS, JSON, max_size=5))
def test_property_arbitrary_json(value: Any, fields: dict[str, Any]) -> None:
    _check(json.dumps(value))
    _check(json.dumps({"trackingNumber": "1", "trackingEvents": [value, fields]}))
    _check(json.dumps({"trackingNumber": value, "statusCategory": value, "error": value}))
    _check(json.dumps({"error": value}))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_property_mutated_sample(data: st.DataObject) -> None:
    doc = json.loads(SAMPLE)
    node: Any = doc
    for step in data.draw(st.lists(st.integers(0, 30), max_size=4)):
        kids = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if not kids:
            break
        key, child = kids[step % len(kids)]
        if data.draw(st.booleans()) or not isinstance(child, (dict, list)):
            node[key] = data.draw(JSON)
            break
        node = child
    _check(json.dumps(doc))
    _check(SAMPLE[: data.draw(st.integers(0, len(SAMPLE)))])


# -- adapter ---------------------------------------------------------------------------------


class Api:
    def __init__(self, *responses: httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.responses = list(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth2/v3/token":
            self.tokens += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.tokens}", "expires_in": 28800}
            )
        if self.responses:
            return self.responses.pop(0)
        number = request.url.path.rsplit("/", 1)[-1]
        if number == "MISSING":
            error = {"code": "404", "message": "Not Found", "errors": [{"status": "404"}]}
            return httpx.Response(404, json={"apiVersion": "v3", "error": error})
        doc = json.loads(SAMPLE) | {"trackingNumber": number}
        return httpx.Response(200, json=doc)


def make(api: Api, **config: Any) -> Adapter:
    config = {"client_id": "key", "client_secret": "secret", **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(api)))


async def test_fetch_gets_each_number_with_one_token() -> None:
    api = Api()
    results = await make(api, sandbox=True).fetch(["9400A", "MISSING"])
    assert api.tokens == 1
    token = api.requests[0]
    assert str(token.url) == "https://apis-tem.usps.com/oauth2/v3/token"
    assert b"client_id=key" in token.content and b"client_secret=secret" in token.content
    tracks = [r for r in api.requests if "/tracking/" in r.url.path]
    assert {str(r.url) for r in tracks} == {
        "https://apis-tem.usps.com/tracking/v3/tracking/9400A?expand=DETAIL",
        "https://apis-tem.usps.com/tracking/v3/tracking/MISSING?expand=DETAIL",
    }
    assert all(r.headers["Authorization"] == "Bearer t1" for r in tracks)
    assert results[0].tracking_number == "9400A" and results[0].status is Status.DELIVERED
    assert results[1].error is not None and results[1].error.kind is ErrorKind.NOT_FOUND
    assert results[1].error.http_status == 404
    assert Adapter.rate == 60 and Adapter.per == 3600 and Adapter.batch_size == 1


async def test_number_absent_from_body_is_not_found() -> None:
    api = Api(httpx.Response(200, json={"trackingNumber": "OTHER", "trackingEvents": []}))
    (result,) = await make(api).fetch(["9400A"])
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND


async def test_401_refreshes_once_then_auth_error() -> None:
    api = Api(httpx.Response(401, json={"error": "invalid_token"}))
    (result,) = await make(api).fetch(["9400A"])
    assert api.tokens == 2 and result.status is Status.DELIVERED
    refused = httpx.Response(401, json={"error": "invalid_token"})
    with pytest.raises(CarrierAuthError):
        await make(Api(refused, refused)).fetch(["9400A"])


async def test_429_retry_after() -> None:
    api = Api(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(CarrierUnavailable) as info:
        await make(api).fetch(["9400A"])
    assert info.value.retry_after == 3600


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            ErrorKind.AUTH,
        ),
        (
            {
                "apiVersion": "v3",
                "error": {
                    "code": "401",
                    "message": "Unauthorized",
                    "errors": [
                        {
                            "status": "401",
                            "code": "401",
                            "title": "Unauthorized",
                            "detail": "Invalid or expired access token",
                        }
                    ],
                },
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "apiVersion": "v3",
                "error": {"code": "500", "message": "Internal Server Error", "errors": []},
            },
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "apiVersion": "v3",
                "error": {
                    "code": "503",
                    "message": "Service Unavailable",
                    "errors": [
                        {
                            "status": "503",
                            "title": "Service Unavailable",
                            "detail": "Try again later",
                        }
                    ],
                },
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


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    doc = json.loads(SAMPLE)
    fields = ("eventTimestamp", "GMTTimestamp")
    with_times(parse, doc, lambda d: d["trackingEvents"], value, valid, fields)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [("-05:00", "-05:00"), ("-5:00", "-05:00"), ("-0500", "-05:00"), ("+05:30", "+05:30"),
     (None, None), ("", None), ("EST", None), (-5, None)],
)  # fmt: skip
def test_gmt_offset_variants(offset: Any, expected: str | None) -> None:
    (result,) = parse(body(event("07", eventTimestamp="2024-11-20T09:10:00", GMTOffset=offset)))
    time = result.events[0].time
    assert time is not None and time.isoformat()[:19] == "2024-11-20T09:10:00"
    assert (time.isoformat()[19:] or None) == expected


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(SAMPLE)
    for key in ("expectedDeliveryTimeStamp", "expectedDeliveryDate", "predictedDeliveryDate",
                "predictedDeliveryTimeStamp"):  # fmt: skip
        doc.pop(key, None)
    doc["expectedDeliveryTimeStamp"] = value
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_tracking_events() -> None:
    without_events(parse, json.loads(SAMPLE), lambda d: d, "trackingEvents")
