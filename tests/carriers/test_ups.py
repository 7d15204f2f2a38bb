"""UPS Track API v1: samples, documented codes the samples don't show, garbage, the adapter."""

from __future__ import annotations

import base64
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
from carriers.ups import _GROUPS, STATUS_CODES, Adapter, parse
from tests.carriers.samples import assert_matches_expected, sample_pairs
from tests.carriers.variants import without_events

PAIRS = sample_pairs("ups")
SAMPLE = next(b for b, _ in PAIRS if "placeholders" in b.name).read_text()


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[b.name for b, _ in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    numbers = ["1ZA82D672031716786"] if body.name.startswith("error") else []
    assert_matches_expected(parse(body.read_bytes(), numbers), expected)


def activity(kind: str, code: str, description: str = "x", **extra: Any) -> dict[str, Any]:
    status = {"type": kind, "statusCode": code, "description": description, "code": "ZZ"}
    return {"status": status, "date": "20240102", "time": "101500", **extra}


def body(*activities: dict[str, Any], **package: Any) -> str:
    pkg = {"trackingNumber": "1Z999", "activity": list(activities), **package}
    return json.dumps(
        {"trackResponse": {"shipment": [{"inquiryNumber": "1Z999", "package": [pkg]}]}}
    )


@pytest.mark.parametrize(
    ("kind", "code", "want"),
    [
        ("M", "003", Status.INFO_RECEIVED),
        ("MV", "007", Status.EXCEPTION),
        ("P", "038", Status.IN_TRANSIT),
        ("I", "005", Status.IN_TRANSIT),
        ("I", "021", Status.OUT_FOR_DELIVERY),
        ("I", "072", Status.OUT_FOR_DELIVERY),
        ("I", "003", Status.IN_TRANSIT),  # family I: a label code cannot pull it back
        ("I", "035", Status.RETURNED_TO_SENDER),
        ("X", "060", Status.FAILED_ATTEMPT),
        ("X", "022", Status.FAILED_ATTEMPT),
        ("X", "048", Status.EXCEPTION),  # delay
        ("X", "059", Status.EXCEPTION),  # damage reported
        ("X", "005", Status.EXCEPTION),  # family X: an in-transit code stays an exception
        ("X", "040", Status.AVAILABLE_FOR_PICKUP),
        ("X", "119", Status.RETURNED_TO_SENDER),
        ("D", "011", Status.DELIVERED),
        ("D", "161", Status.DELIVERED),  # delivered to an access point: the body says delivered
        ("D", "034", Status.RETURNED_TO_SENDER),
        ("RS", "034", Status.RETURNED_TO_SENDER),
        ("NA", "000", Status.PENDING),
        ("Q", "021", Status.OUT_FOR_DELIVERY),  # unknown type: the statusCode alone
        ("Q", "999", Status.IN_TRANSIT),  # unknown everything: nearest safe status
    ],
)
def test_type_family_refined_by_status_code(kind: str, code: str, want: Status) -> None:
    (result,) = parse(body(activity(kind, code)))
    assert result.status is want
    assert result.events[0].status is want
    assert result.raw_status == f"{kind}/{code}"


def test_unknown_code_warns(caplog: pytest.LogCaptureFixture) -> None:
    parse(body(activity("Q", "999")))
    assert "unknown status type" in caplog.text


def test_table_is_the_documented_one_without_duplicates() -> None:
    listed = [c for codes in _GROUPS.values() for c in codes.split()]
    assert len(listed) == len(set(listed)) == len(STATUS_CODES) == 160


def test_current_status_wins_and_events_oldest_first_with_gmt_offset() -> None:
    newest = activity("I", "021", gmtOffset="-05:00")
    oldest = activity("M", "003", date="20240101")
    current = {"type": "X", "statusCode": "022", "description": "attempt"}
    dates = [{"type": "SDD", "date": "20240105"}, {"type": "RDD", "date": "20240107"}]
    (result,) = parse(body(newest, oldest, currentStatus=current, deliveryDate=dates))
    assert result.status is Status.FAILED_ATTEMPT
    assert [e.status for e in result.events] == [Status.INFO_RECEIVED, Status.OUT_FOR_DELIVERY]
    assert result.events[-1].time is not None
    assert result.events[-1].time.isoformat() == "2024-01-02T10:15:00-05:00"
    assert str(result.estimated_delivery) == "2024-01-07"  # RDD beats SDD


def test_actual_delivery_date_is_not_an_eta() -> None:
    (result,) = parse(
        body(activity("D", "011"), deliveryDate=[{"type": "DEL", "date": "20240103"}])
    )
    assert result.estimated_delivery is None


def test_not_found_warning_and_error_envelopes() -> None:
    warned = {"trackResponse": {"shipment": [{"inquiryNumber": "1Z1", "warnings": [
        {"code": "TW0001", "message": "Tracking Information Not Found"}]}]}}  # fmt: skip
    (result,) = parse(json.dumps(warned))
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND
    assert result.tracking_number == "1Z1"
    for code, kind in [("250002", ErrorKind.AUTH), ("TV1002", ErrorKind.INVALID_NUMBER),
                       ("XYZ", ErrorKind.BAD_REQUEST)]:  # fmt: skip
        envelope = {"response": {"errors": [{"code": code, "message": "m"}]}}
        (err,) = parse(json.dumps(envelope), ["1Z1"])
        assert err.error is not None and err.error.kind is kind and err.tracking_number == "1Z1"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{", b"[]", b"null", b"7", '{"output": 5}', '{"trackResponse": {"shipment": 3}}',
     '{"response": {"errors": []}}', b"\xff", "[" * 5000 + "]" * 5000],
)  # fmt: skip
def test_garbage_raises_response_error_only(garbage: bytes | str) -> None:
    with pytest.raises(CarrierResponseError):
        parse(garbage)


def test_wrongly_typed_fields_do_not_crash() -> None:
    weird = {"trackResponse": {"shipment": [
        {"inquiryNumber": 5, "package": [{"activity": [{"status": 3, "date": 20240101}]}]},
        {"package": {"a": 1}, "warnings": "x"},
        {"package": [{"currentStatus": {"type": 1, "statusCode": "abc"}, "deliveryDate": 4}]},
        {"package": [{"activity": [{"status": {"type": "D"}, "time": None, "location": []}]}]},
    ]}}  # fmt: skip
    assert len(parse(json.dumps(weird))) == 4


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
    _check(json.dumps({"trackResponse": {"shipment": [value]}}))
    _check(json.dumps({"trackResponse": {"shipment": [{"package": [value]}]}}))
    _check(json.dumps({"trackResponse": {"shipment": [{"package": [{"activity": [value]}]}]}}))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_property_mutated_sample(data: st.DataObject) -> None:
    doc = json.loads(SAMPLE)
    node: Any = doc
    for step in data.draw(st.lists(st.integers(0, 30), max_size=7)):
        kids = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if not kids or not isinstance(kids[step % len(kids)][1], (dict, list)):
            break
        key, child = kids[step % len(kids)]
        if data.draw(st.booleans()):
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
        if request.url.path == "/security/v1/oauth/token":
            self.tokens += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.tokens}", "expires_in": "14399"}
            )
        if self.responses:
            return self.responses.pop(0)
        number = request.url.path.rsplit("/", 1)[-1]
        if number == "MISSING":
            return httpx.Response(200, json={"trackResponse": {"shipment": []}})
        doc = json.loads(body(activity("D", "011")))
        doc["trackResponse"]["shipment"][0]["inquiryNumber"] = number
        return httpx.Response(200, json=doc)


def make(api: Api, **config: Any) -> Adapter:
    config = {"client_id": "cid", "client_secret": "s3c", **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(api)))


async def test_fetch_one_get_per_number_with_basic_auth_token_reused() -> None:
    api = Api()
    results = await make(api).fetch(["1ZA", "1ZB", "MISSING"])
    assert api.tokens == 1
    token = api.requests[0]
    assert str(token.url) == "https://onlinetools.ups.com/security/v1/oauth/token"
    assert token.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:s3c").decode()
    assert token.content == b"grant_type=client_credentials"
    tracks = [r for r in api.requests if "/track/" in r.url.path]
    assert len(tracks) == 3
    assert tracks[0].url.path == "/api/track/v1/details/1ZA"
    assert tracks[0].url.params["locale"] == "en_US"
    assert tracks[0].headers["Authorization"] == "Bearer t1"
    assert tracks[0].headers["transactionSrc"] == "shipment-notifier"
    assert (
        len(tracks[0].headers["transId"]) == 32
        and tracks[0].headers["transId"] != tracks[1].headers["transId"]
    )
    assert [r.status for r in results[:2]] == [Status.DELIVERED, Status.DELIVERED]
    assert results[2].error is not None and results[2].error.kind is ErrorKind.NOT_FOUND


async def test_sandbox_base_and_error_body_as_data() -> None:
    envelope = {"response": {"errors": [{"code": "TV1002", "message": "Invalid inquiry number"}]}}
    api = Api(httpx.Response(400, json=envelope))
    (result,) = await make(api, sandbox=True).fetch(["1ZBAD"])
    assert str(api.requests[-1].url).startswith("https://wwwcie.ups.com/api/track/v1/details/1ZBAD")
    assert result.tracking_number == "1ZBAD"
    assert result.error is not None and result.error.kind is ErrorKind.INVALID_NUMBER
    assert result.error.http_status == 400


async def test_401_refreshes_token_once() -> None:
    api = Api(httpx.Response(401, json={"response": {"errors": [{"code": "250002"}]}}))
    (result,) = await make(api).fetch(["1ZA"])
    assert api.tokens == 2 and result.status is Status.DELIVERED
    assert api.requests[-1].headers["Authorization"] == "Bearer t2"
    refused = httpx.Response(401, json={})
    with pytest.raises(CarrierAuthError):
        await make(Api(refused, refused)).fetch(["1ZA"])


async def test_429_retry_after() -> None:
    api = Api(httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(CarrierUnavailable) as info:
        await make(api).fetch(["1ZA"])
    assert info.value.retry_after == 30


def test_current_status_without_codes_falls_back_to_newest_activity() -> None:
    (result,) = parse(body(activity("I", "021"), currentStatus={"description": "On the way"}))
    assert result.status is Status.OUT_FOR_DELIVERY


@pytest.mark.parametrize(
    ("current", "want"),
    [
        ({"code": "011", "description": "Delivered"}, Status.DELIVERED),  # code holds statusCode
        ({"code": "021", "description": "Out For Delivery Today"}, Status.OUT_FOR_DELIVERY),
        ({"simplifiedTextDescription": "Delivered"}, Status.DELIVERED),  # text: last resort
        ({"description": "Returned to Sender"}, Status.RETURNED_TO_SENDER),
        ({"code": "SR", "description": "???"}, Status.IN_TRANSIT),
    ],
)
def test_current_status_without_type(current: dict[str, str], want: Status) -> None:
    (result,) = parse(body(currentStatus=current))
    assert result.status is want


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "response": {
                    "errors": [{"code": "250003", "message": "Invalid Access License number"}]
                }
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "response": {
                    "errors": [{"code": "250002", "message": "Invalid Authentication Information."}]
                }
            },
            ErrorKind.AUTH,
        ),
        (
            {"response": {"errors": [{"code": "10401", "message": "ClientId is Invalid"}]}},
            ErrorKind.AUTH,
        ),
        (
            {"response": {"errors": [{"code": "9999", "message": "Internal Server Error"}]}},
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "response": {
                    "errors": [
                        {
                            "code": "TV5001",
                            "message": "The system is temporarily unavailable. Try again later.",
                        }
                    ]
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


def _package(doc: Any) -> Any:
    return doc["trackResponse"]["shipment"][0]["package"][0]


@pytest.mark.parametrize(
    ("clock", "offset", "expected"),
    [("101500", None, "2024-01-02T10:15:00"), ("1015", None, "2024-01-02T10:15:00"),
     ("", None, "2024-01-02T00:00:00"), (None, None, "2024-01-02T00:00:00"),
     ("101500", "-05:00", "2024-01-02T10:15:00-05:00"),
     ("101500", "-0500", "2024-01-02T10:15:00-05:00"),
     ("101500", "+07:00", "2024-01-02T10:15:00+07:00"), ("101500", "EST", "2024-01-02T10:15:00"),
     (101500, None, "2024-01-02T10:15:00")],
)  # fmt: skip
def test_activity_time_variants(clock: Any, offset: Any, expected: str) -> None:
    extra = {"time": clock} | ({"gmtOffset": offset} if offset else {})
    (result,) = parse(body(activity("I", "005", **extra)))
    time = result.events[0].time
    assert time is not None and time.isoformat() == expected


@pytest.mark.parametrize("day", [None, "", "2024-01-02", "2024/01/02", 20240102])
def test_activity_date_variants_never_crash(day: Any) -> None:
    (result,) = parse(body(activity("I", "005", date=day)))
    assert result.status is Status.IN_TRANSIT and len(result.events) == 1


@pytest.mark.parametrize(
    ("dates", "expected"),
    [([{"type": "SDD", "date": "20240520"}], "2024-05-20"),
     ([{"type": "SDD", "date": "2024-05-20"}], "2024-05-20"),
     ([{"type": "SDD", "date": 20240520}], "2024-05-20"),
     ([{"type": "SDD", "date": "20240520"}, {"type": "RDD", "date": "20240522"}], "2024-05-22"),
     ([{"type": "DEL", "date": "20240519"}], None), ([{"type": "SDD", "date": ""}], None),
     ([{"type": "SDD", "date": None}], None), ([], None), (None, None), ("x", None)],
)  # fmt: skip
def test_eta_variants(dates: Any, expected: str | None) -> None:
    (result,) = parse(body(activity("I", "005"), deliveryDate=dates))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_activity() -> None:
    without_events(parse, json.loads(SAMPLE), _package, "activity")
