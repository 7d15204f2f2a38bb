"""FedEx Track API v1: samples, documented codes the samples don't show, garbage, the adapter."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.fedex import STATUS_CODES, Adapter, parse
from tests.carriers.samples import assert_matches_expected, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events

PAIRS = sample_pairs("fedex")
SAMPLE = next(b for b, _ in PAIRS if "out-for-delivery" in b.name).read_text()


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[b.name for b, _ in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def track(code: str, derived: str = "", reasons: list[tuple[str, str]] = (), **extra: Any) -> str:  # type: ignore[assignment]
    latest = {
        "code": code,
        "derivedCode": derived or code,
        "description": "x",
        "ancillaryDetails": [{"reason": r, "reasonDescription": d} for r, d in reasons],
    }
    result = {"trackingNumberInfo": {"trackingNumber": "111"}, "latestStatusDetail": latest}
    result.update(extra)
    return json.dumps(
        {"output": {"completeTrackResults": [{"trackingNumber": "111", "trackResults": [result]}]}}
    )


@pytest.mark.parametrize(
    ("code", "derived", "reasons", "want"),
    [
        ("OC", "IN", [], Status.INFO_RECEIVED),
        ("PU", "PU", [], Status.IN_TRANSIT),
        ("AR", "IT", [], Status.IN_TRANSIT),
        ("OD", "IT", [], Status.OUT_FOR_DELIVERY),
        ("HL", "HL", [], Status.AVAILABLE_FOR_PICKUP),
        ("HP", "IT", [], Status.AVAILABLE_FOR_PICKUP),
        ("DL", "DL", [], Status.DELIVERED),
        ("DE", "DE", [("007", "Customer not available or business closed")], Status.FAILED_ATTEMPT),
        ("DE", "DE", [("15", "Customer not available or business closed")], Status.FAILED_ATTEMPT),
        ("DE", "DE", [("07", "Customer not available or business closed")], Status.FAILED_ATTEMPT),
        ("DE", "DE", [("08", "Recipient not in")], Status.FAILED_ATTEMPT),
        ("DE", "DE", [("", "Business closed at time of delivery")], Status.FAILED_ATTEMPT),
        ("EO", "IT", [], Status.IN_TRANSIT),
        ("DE", "DE", [("083", "Local restriction, delivery not attempted")], Status.EXCEPTION),
        ("DE", "DE", [("A13", "Redirecting to FedEx Office")], Status.EXCEPTION),
        ("DE", "DE", [("060G", "Returning to shipper")], Status.RETURNED_TO_SENDER),
        ("DE", "DE", [], Status.EXCEPTION),
        ("SE", "SE", [("099", "Unable to deliver")], Status.EXCEPTION),
        ("CD", "CD", [], Status.EXCEPTION),
        ("CA", "CA", [], Status.EXCEPTION),
        ("RS", "DL", [], Status.RETURNED_TO_SENDER),  # the specific code beats derived DL
        ("ZZ", "OD", [], Status.OUT_FOR_DELIVERY),  # unknown code: fall back to derived
        ("ZZ", "ZZ", [], Status.IN_TRANSIT),  # unknown everything: nearest safe status
    ],
)  # fmt: skip
def test_documented_codes(code: str, derived: str, reasons: list, want: Status) -> None:
    (result,) = parse(track(code, derived, reasons))
    assert result.status is want
    assert result.raw_status == code


def test_unknown_code_warns_and_keeps_raw(caplog: pytest.LogCaptureFixture) -> None:
    (result,) = parse(track("Q9", "Q9"))
    assert result.status is Status.IN_TRANSIT and result.raw_status == "Q9"
    assert "unknown status code" in caplog.text


def test_every_table_code_maps_to_a_status() -> None:
    assert len(STATUS_CODES) >= 60
    assert all(isinstance(s, Status) for s in STATUS_CODES.values())


def test_returning_event_with_derived_delivered_is_a_return() -> None:
    scan = {
        "date": "2014-01-15T08:32:31-06:00",
        "eventType": "RS",
        "eventDescription": "Returning package to shipper",
        "exceptionCode": "060G",
        "derivedStatusCode": "DL",
        "scanLocation": {"city": "GRIMES", "stateOrProvinceCode": "IA", "countryCode": "US"},
    }
    (result,) = parse(track("DE", "DE", [("060G", "Returning to shipper")], scanEvents=[scan]))
    assert result.status is Status.RETURNED_TO_SENDER
    assert result.events[-1].status is Status.RETURNED_TO_SENDER
    assert result.events[-1].location == "GRIMES, IA, US"


def test_events_are_reversed_not_sorted_and_eta_prefers_estimated_delivery() -> None:
    scans = [
        {"date": "2024-08-20T12:41:57-04:00", "eventType": "DL", "eventDescription": "Delivered"},
        {"date": "2024-08-15T00:00:00", "eventType": "PU", "eventDescription": "Picked up"},
        {"date": "2024-08-15T10:36:00-05:00", "eventType": "OC", "eventDescription": "Label"},
    ]
    dates = [{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-08-21T00:00:00-06:00"}]
    window = {"window": {"ends": "2024-08-25T00:00:00-06:00"}}
    (result,) = parse(
        track("IT", scanEvents=scans, dateAndTimes=dates, estimatedDeliveryTimeWindow=window)
    )
    assert [e.raw_code for e in result.events] == ["OC", "PU", "DL"]
    assert result.events[1].time is not None and result.events[1].time.tzinfo is None
    assert str(result.estimated_delivery) == "2024-08-21"


def test_per_number_invalid_and_whole_response_auth_error() -> None:
    body = {
        "output": {
            "completeTrackResults": [
                {
                    "trackingNumber": "abc",
                    "trackResults": [
                        {"error": {"code": "TRACKING.TRACKINGNUMBER.INVALID", "message": "bad"}}
                    ],
                }
            ]
        }
    }
    (result,) = parse(json.dumps(body))
    assert result.error is not None and result.error.kind is ErrorKind.INVALID_NUMBER
    auth = {"errors": [{"code": "NOT.AUTHORIZED.ERROR", "message": "Access token expired"}]}
    results = parse(json.dumps(auth), ["1", "2"])
    assert [r.tracking_number for r in results] == ["1", "2"]
    assert all(r.error and r.error.kind is ErrorKind.AUTH for r in results)
    (blank,) = parse(json.dumps(auth))
    assert blank.tracking_number == "" and blank.error is not None


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b"null", b"5", '{"output": 5}', '{"output": {}}', b'"x"',
     '{"errors": []}', b"\xff\xfe", "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_garbage_raises_response_error_only(body: bytes | str) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


def test_wrongly_typed_fields_do_not_crash() -> None:
    body = {
        "output": {
            "completeTrackResults": [
                {"trackingNumber": 5, "trackResults": {"x": 1}},
                {"trackingNumber": "1", "trackResults": [None, 3, {"latestStatusDetail": 7}]},
                {"trackResults": [{"latestStatusDetail": {"code": 5}, "scanEvents": [1, None]}]},
                {"trackResults": [{"latestStatusDetail": {"code": "DL"}, "dateAndTimes": 4}]},
            ]
        }
    }
    assert len(parse(json.dumps(body))) == 4


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


def _check(body: str | bytes) -> None:
    with contextlib.suppress(CarrierResponseError):
        assert isinstance(parse(body), list)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_property_arbitrary_json(value: Any) -> None:
    _check(json.dumps(value))
    _check(json.dumps({"output": {"completeTrackResults": [value]}}))
    _check(json.dumps({"output": {"completeTrackResults": [{"trackResults": [value]}]}}))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_property_mutated_sample(data: st.DataObject) -> None:
    doc = json.loads(SAMPLE)
    node: Any = doc
    path = data.draw(st.lists(st.integers(0, 30), max_size=6))
    for step in path:  # walk somewhere into the real sample and replace that node
        kids = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if not kids or not isinstance(kids[step % len(kids)][1], (dict, list)):
            break
        key, node_next = kids[step % len(kids)]
        if data.draw(st.booleans()):
            node[key] = data.draw(JSON)
            break
        node = node_next
    _check(json.dumps(doc))
    _check(json.dumps(doc)[: data.draw(st.integers(0, len(SAMPLE)))])


# -- adapter ---------------------------------------------------------------------------------


def body_for(numbers: list[str]) -> dict[str, Any]:
    entries = [json.loads(track("DL"))["output"]["completeTrackResults"][0] for _ in numbers]
    for n, entry in zip(numbers, entries, strict=True):
        entry["trackingNumber"] = n
    return {"output": {"completeTrackResults": entries}}


class Api:
    """A fake FedEx: token endpoint plus track endpoint, recording every request."""

    def __init__(self, *track_responses: httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.track_responses = list(track_responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/token":
            self.tokens += 1
            return httpx.Response(
                200, json={"access_token": f"tok{self.tokens}", "expires_in": 3599}
            )
        if self.track_responses:
            return self.track_responses.pop(0)
        numbers = [
            i["trackingNumberInfo"]["trackingNumber"]
            for i in json.loads(request.content)["trackingInfo"]
        ]
        return httpx.Response(200, json=body_for(numbers[:-1]))  # the last one is "missing"


def make(api: Api, **config: Any) -> Adapter:
    config = {"client_id": "id", "client_secret": "sec", **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(api)))


async def test_fetch_posts_batch_with_cached_token() -> None:
    api = Api()
    adapter = make(api, sandbox=True)
    first = await adapter.fetch(["A1", "B2", "C3"])
    await adapter.fetch(["D4", "E5"])
    assert api.tokens == 1  # fetched once, reused
    token_req, track_req = api.requests[0], api.requests[1]
    assert str(token_req.url) == "https://apis-sandbox.fedex.com/oauth/token"
    assert b"grant_type=client_credentials" in token_req.content
    assert b"client_id=id" in token_req.content and b"client_secret=sec" in token_req.content
    assert str(track_req.url) == "https://apis-sandbox.fedex.com/track/v1/trackingnumbers"
    assert track_req.headers["Authorization"] == "Bearer tok1"
    payload = json.loads(track_req.content)
    assert payload["includeDetailedScans"] is True and len(payload["trackingInfo"]) == 3
    assert [r.tracking_number for r in first] == ["A1", "B2", "C3"]
    assert first[0].status is Status.DELIVERED
    assert first[2].error is not None and first[2].error.kind is ErrorKind.NOT_FOUND
    assert Adapter.batch_size == 30 and Adapter.rate / Adapter.per == 140


async def test_401_invalidates_token_and_retries_once() -> None:
    api = Api(httpx.Response(401, json={"errors": [{"code": "NOT.AUTHORIZED.ERROR"}]}))
    results = await make(api).fetch(["A1", "B2"])
    assert api.tokens == 2
    assert api.requests[-1].headers["Authorization"] == "Bearer tok2"
    assert results[0].status is Status.DELIVERED


async def test_second_401_is_an_auth_error() -> None:
    refused = httpx.Response(401, json={"errors": [{"code": "NOT.AUTHORIZED.ERROR"}]})
    api = Api(refused, refused)
    with pytest.raises(CarrierAuthError):
        await make(api).fetch(["A1"])


async def test_429_with_retry_after_is_unavailable() -> None:
    api = Api(httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": []}))
    with pytest.raises(CarrierUnavailable) as info:
        await make(api).fetch(["A1"])
    assert info.value.retry_after == 7


async def test_400_envelope_becomes_data_with_http_status() -> None:
    envelope = {"errors": [{"code": "TRACKING.TRACKINGNUMBER.EMPTY", "message": "empty"}]}
    api = Api(httpx.Response(400, json=envelope))
    (result,) = await make(api).fetch(["A1"])
    assert result.error is not None and result.error.kind is ErrorKind.BAD_REQUEST
    assert result.error.http_status == 400


async def test_missing_credentials_is_auth_error() -> None:
    adapter = Adapter({}, client=httpx.AsyncClient(transport=httpx.MockTransport(Api())))
    with pytest.raises(CarrierAuthError):
        await adapter.fetch(["A1"])


async def test_courier_is_sent_only_when_it_is_a_fedex_operating_company() -> None:
    api = Api()
    await make(api).fetch(["A1", "B2"], courier="fdxg")
    await make(api).fetch(["A1", "B2"], courier="fedex")
    tracks = [json.loads(r.content) for r in api.requests if r.url.path.startswith("/track")]
    assert tracks[0]["trackingInfo"][0]["trackingNumberInfo"]["carrierCode"] == "FDXG"
    assert "carrierCode" not in tracks[1]["trackingInfo"][0]["trackingNumberInfo"]


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "transactionId": "t",
                "errors": [
                    {
                        "code": "NOT.AUTHORIZED.ERROR",
                        "message": "Access token expired. Please modify your request.",
                    }
                ],
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "transactionId": "t",
                "errors": [
                    {
                        "code": "FORBIDDEN.ERROR",
                        "message": "We could not authorize your credentials.",
                    }
                ],
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "transactionId": "t",
                "errors": [
                    {
                        "code": "INTERNAL.SERVER.ERROR",
                        "message": "We encountered an unexpected error.",
                    }
                ],
            },
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "transactionId": "t",
                "errors": [
                    {
                        "code": "SERVICE.UNAVAILABLE.ERROR",
                        "message": "The service is currently unavailable.",
                    }
                ],
            },
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "transactionId": "t",
                "errors": [
                    {
                        "code": "SYSTEM.UNEXPECTED.ERROR",
                        "message": "The system has experienced an unexpected problem.",
                    }
                ],
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


def _track(doc: Any) -> Any:
    return doc["output"]["completeTrackResults"][0]["trackResults"][0]


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    doc = json.loads(SAMPLE)
    with_times(parse, doc, lambda d: _track(d)["scanEvents"], value, valid, ("date",))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(SAMPLE)
    _track(doc)["dateAndTimes"] = [{"type": "ESTIMATED_DELIVERY", "dateTime": value}]
    _track(doc).pop("estimatedDeliveryTimeWindow", None)
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_eta_window_and_appointment() -> None:
    doc = json.loads(SAMPLE)
    _track(doc)["dateAndTimes"] = [{"type": "ACTUAL_PICKUP", "dateTime": "2024-05-01T10:00:00"}]
    _track(doc)["estimatedDeliveryTimeWindow"] = {
        "window": {"begins": "2024-05-20T08:00:00-05:00", "ends": "2024-05-21T20:00:00-05:00"}
    }
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery) == "2024-05-21"  # the window's end
    _track(doc)["estimatedDeliveryTimeWindow"] = {"window": {}}
    _track(doc)["dateAndTimes"] = [{"type": "APPOINTMENT_DELIVERY", "dateTime": "2024-05-22"}]
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery) == "2024-05-22"


def test_missing_scan_events() -> None:
    without_events(parse, json.loads(SAMPLE), _track, "scanEvents")
