"""DHL Shipment Tracking - Unified: samples, statusCode table, garbage, the adapter."""

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
from carriers.dhl import Adapter, parse
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from tests.carriers.samples import assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events

PAIRS = sample_pairs("dhl")
SAMPLE = next(b for b, _ in PAIRS if "7777777770" in b.name).read_text()


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[b.name for b, _ in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def shipment(code: str, description: str = "x", **extra: Any) -> dict[str, Any]:
    status = {"statusCode": code, "status": description.upper(), "description": description}
    return {"id": "00340434161094042557", "service": "parcel-de", "status": status, **extra}


def body(*shipments: dict[str, Any]) -> str:
    return json.dumps({"shipments": list(shipments)})


@pytest.mark.parametrize(
    ("code", "text", "want"),
    [
        ("pre-transit", "The instruction data for this shipment have been provided",
         Status.INFO_RECEIVED),
        ("transit", "The shipment has been processed in the parcel center", Status.IN_TRANSIT),
        ("transit", "The shipment has been loaded onto the delivery vehicle",
         Status.OUT_FOR_DELIVERY),
        ("transit", "With delivery courier", Status.OUT_FOR_DELIVERY),
        ("transit", "The shipment is ready for pick-up at the PACKSTATION",
         Status.AVAILABLE_FOR_PICKUP),
        ("transit", "The shipment is being returned to the sender", Status.RETURNED_TO_SENDER),
        ("delivered", "The shipment has been successfully delivered", Status.DELIVERED),
        ("delivered", "out for delivery", Status.DELIVERED),  # text never crosses the code
        ("failure", "Delivery attempt unsuccessful; recipient not available",
         Status.FAILED_ATTEMPT),
        ("failure", "The shipment could not be delivered, and has been returned to the sender",
         Status.RETURNED_TO_SENDER),
        ("failure", "Shipment damaged", Status.EXCEPTION),
        ("unknown", "delivered", Status.PENDING),
        ("weird-new-code", "x", Status.IN_TRANSIT),
    ],
)  # fmt: skip
def test_status_code_decides_text_only_refines(code: str, text: str, want: Status) -> None:
    (result,) = parse(body(shipment(code, text)))
    assert result.status is want
    assert result.raw_status == code


def test_unknown_code_warns(caplog: pytest.LogCaptureFixture) -> None:
    parse(body(shipment("zzz")))
    assert "unknown statusCode" in caplog.text


def test_events_reversed_eta_from_time_frame_and_several_services() -> None:
    events = [
        {"timestamp": "2023-05-05T10:02:00+02:00", "statusCode": "delivered",
         "description": "Delivered", "location": {"address": {"addressLocality": "Bonn",
                                                              "countryCode": "DE"}}},
        {"timestamp": "2023-05-03T18:00:00", "statusCode": "pre-transit", "description": "Data"},
    ]  # fmt: skip
    frame = {"estimatedFrom": "2023-05-05T08:00:00Z", "estimatedThrough": "2023-05-06T00:30:00Z"}
    first = shipment("delivered", events=events, estimatedDeliveryTimeFrame=frame)
    second = shipment("transit") | {"id": 7777777770, "service": "express"}
    one, two = parse(body(first, second))
    assert [e.status for e in one.events] == [Status.INFO_RECEIVED, Status.DELIVERED]
    assert one.events[1].location == "Bonn, DE"
    assert one.events[1].time is not None and one.events[1].time.utcoffset() is not None
    assert str(one.estimated_delivery) == "2023-05-06"
    assert two.tracking_number == "7777777770"


@pytest.mark.parametrize(
    ("problem", "kind"),
    [
        ({"title": "No result found", "status": 404, "detail": "No shipment"}, ErrorKind.NOT_FOUND),
        ({"title": "Unauthorized", "status": 401, "detail": "Invalid API key"}, ErrorKind.AUTH),
        ({"title": "Too many requests", "status": 429, "detail": "Limit"}, ErrorKind.RATE_LIMITED),
        ({"title": "Bad request", "status": 400, "detail": "service invalid"},
         ErrorKind.BAD_REQUEST),
    ],
)  # fmt: skip
def test_problem_details(problem: dict[str, Any], kind: ErrorKind) -> None:
    (result,) = parse(json.dumps(problem), ["123"])
    assert result.tracking_number == "123"
    assert result.error is not None and result.error.kind is kind
    assert result.error.http_status == problem["status"]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"[]", b"null", b"1", '{"output": 5}', '{"shipments": {}}', '{"title": "x"}',
     b"\xff", "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_garbage_raises_response_error_only(garbage: bytes | str) -> None:
    with pytest.raises(CarrierResponseError):
        parse(garbage)


def test_wrongly_typed_fields_do_not_crash() -> None:
    weird = {"shipments": [
        {"id": None, "status": "delivered", "events": {"a": 1}},
        {"id": [1], "status": {"statusCode": 5, "description": {}}, "events": [None, 1, {}]},
        {"events": [{"timestamp": 5, "location": "x", "statusCode": ["transit"]}]},
        {"estimatedTimeOfDelivery": 12, "estimatedDeliveryTimeFrame": "soon"},
    ]}  # fmt: skip
    assert len(parse(json.dumps(weird))) == 4
    assert isinstance(parse(json.dumps({"title": 1, "status": True, "detail": []})), list)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


def _check(value: str | bytes) -> None:
    with contextlib.suppress(CarrierResponseError):
        assert isinstance(parse(value), list)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_property_arbitrary_json(value: Any) -> None:
    _check(json.dumps(value))
    _check(json.dumps({"shipments": [value]}))
    _check(json.dumps({"shipments": [{"status": value, "events": [value]}]}))
    _check(json.dumps({"title": value, "status": value}))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_property_mutated_sample(data: st.DataObject) -> None:
    doc = json.loads(SAMPLE)
    node: Any = doc
    for step in data.draw(st.lists(st.integers(0, 30), max_size=6)):
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
        self.responses = list(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.responses:
            return self.responses.pop(0)
        number = request.url.params["trackingNumber"]
        if number == "MISSING":
            problem = {"title": "No result found", "status": 404, "detail": "No shipment"}
            return httpx.Response(404, json=problem)
        if number == "ABSENT":
            return httpx.Response(200, json={"shipments": []})
        twice = [shipment("transit") | {"id": number}, shipment("delivered") | {"id": number}]
        return httpx.Response(200, json={"shipments": twice})


def make(api: Api, **config: Any) -> Adapter:
    config = {"api_key": "k3y", "rate": 100, **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(api)))


async def test_fetch_sends_key_header_and_maps_404_and_absent_to_not_found() -> None:
    api = Api()
    results = await make(api).fetch(["00340434", "MISSING", "ABSENT"], courier="parcel-de")
    first = api.requests[0]
    assert first.url.host == "api-eu.dhl.com" and first.url.path == "/track/shipments"
    assert first.url.params["service"] == "parcel-de" and first.url.params["language"] == "en"
    assert first.headers["DHL-API-Key"] == "k3y"
    assert results[0].status is Status.IN_TRANSIT  # the first service's record
    assert results[1].error is not None and results[1].error.kind is ErrorKind.NOT_FOUND
    assert results[1].error.http_status == 404
    assert results[2].error is not None and results[2].error.kind is ErrorKind.NOT_FOUND
    assert Adapter.rate == 1 and Adapter.per == 1 and Adapter.batch_size == 1


async def test_429_and_401() -> None:
    api = Api(httpx.Response(429, headers={"Retry-After": "60"}, json={"status": 429}))
    with pytest.raises(CarrierUnavailable) as info:
        await make(api).fetch(["1"])
    assert info.value.retry_after == 60
    with pytest.raises(CarrierAuthError):
        await make(Api(httpx.Response(401, json={"status": 401}))).fetch(["1"])
    with pytest.raises(CarrierAuthError):
        await Adapter({}, client=httpx.AsyncClient(transport=httpx.MockTransport(Api()))).fetch(
            ["1"]
        )


async def test_unknown_service_is_not_forwarded() -> None:
    api = Api()
    await make(api).fetch(["1"], courier="dhl")
    assert "service" not in api.requests[0].url.params


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {"status": 401, "title": "Unauthorized", "detail": "Unauthorized for given resource."},
            ErrorKind.AUTH,
        ),
        ({"status": 403, "title": "Forbidden", "detail": "Invalid API key"}, ErrorKind.AUTH),
        (
            {"status": 500, "title": "Internal Server Error", "detail": "Something went wrong"},
            ErrorKind.UNAVAILABLE,
        ),
        (
            {"status": 503, "title": "Service Unavailable", "detail": "Please try again later"},
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
    with_times(parse, doc, lambda d: d["shipments"][0]["events"], value, valid, ("timestamp",))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(SAMPLE)
    doc["shipments"][0]["estimatedTimeOfDelivery"] = value
    doc["shipments"][0].pop("estimatedDeliveryTimeFrame", None)
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_events() -> None:
    without_events(parse, json.loads(SAMPLE), lambda d: d["shipments"][0], "events")


@pytest.mark.parametrize(
    ("event", "want"),
    [
        ({"description": "The shipment has been successfully delivered"}, Status.DELIVERED),
        ({"status": "Shipment is out with courier for delivery"}, Status.OUT_FOR_DELIVERY),
        ({"description": "The shipment has been delivered to the retail outlet and is ready for "
                         "pick-up"}, Status.AVAILABLE_FOR_PICKUP),
        ({"description": "The instruction data for this shipment have been provided by the "
                         "sender to DHL electronically"}, Status.INFO_RECEIVED),
        ({"description": "Arrived at DHL Sort Facility LEIPZIG - GERMANY"}, Status.IN_TRANSIT),
        ({"statusCode": "delivered", "description": "The shipment has been returned to the "
                                                    "sender"}, Status.RETURNED_TO_SENDER),
        ({"statusCode": "transit", "status": "Shipment is out with courier for delivery"},
         Status.OUT_FOR_DELIVERY),
        ({"statusCode": "failure", "description": "The recipient was not present"},
         Status.FAILED_ATTEMPT),
    ],
)  # fmt: skip
def test_events_without_a_status_code_read_dhls_words(event: dict[str, Any], want: Status) -> None:
    doc = {"shipments": [{"id": "1", "status": {"statusCode": "transit"},
                          "events": [{"timestamp": "2024-05-17T10:00:00", **event}]}]}  # fmt: skip
    (result,) = parse(json.dumps(doc))
    assert result.events[0].status is want
