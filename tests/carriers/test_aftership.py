"""AfterShip: samples, the tag/subtag table, garbage bodies, the adapter over MockTransport and
whole-response errors (unseen bodies and spellings: test_aftership_variants.py)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.aftership import SUBTAGS, TAGS, Adapter, parse
from carriers.base import ErrorKind, Status
from carriers.errors import CarrierResponseError, CarrierUnavailable
from tests.carriers.samples import assert_matches_expected, sample_pairs

PAIRS = sample_pairs("aftership")


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def tracking(tag: str, subtag: str | None = None, **extra: Any) -> dict[str, Any]:
    checkpoint = {
        "checkpoint_time": "2024-05-02T09:15:00+02:00",
        "location": "Berlin DE",
        "message": "scan",
        "tag": tag,
        "subtag": subtag,
    }
    return {
        "tracking_number": "LX123456789DE",
        "slug": "DHL",
        "tag": tag,
        "subtag": subtag,
        "checkpoints": [checkpoint],
        **extra,
    }


def body_of(t: dict[str, Any], version: str = "2025") -> bytes:
    data = t if version == "2025" else {"tracking": t}
    return json.dumps({"meta": {"code": 200}, "data": data}).encode()


@pytest.mark.parametrize(
    ("tag", "subtag", "status"),
    [
        ("Pending", "Pending_001", Status.PENDING),
        ("InfoReceived", "InfoReceived_001", Status.INFO_RECEIVED),
        ("InTransit", "InTransit_007", Status.IN_TRANSIT),
        ("OutForDelivery", "OutForDelivery_001", Status.OUT_FOR_DELIVERY),
        ("OutForDelivery", "OutForDelivery_004", Status.OUT_FOR_DELIVERY),
        ("AttemptFail", "AttemptFail_001", Status.FAILED_ATTEMPT),
        ("AttemptFail", "AttemptFail_003", Status.FAILED_ATTEMPT),
        ("AvailableForPickup", "AvailableForPickup_001", Status.AVAILABLE_FOR_PICKUP),
        ("Delivered", "Delivered_002", Status.DELIVERED),
        ("Exception", "Exception_001", Status.EXCEPTION),
        ("Exception", "Exception_007", Status.EXCEPTION),
        ("Exception", "Exception_010", Status.RETURNED_TO_SENDER),
        ("Exception", "Exception_011", Status.RETURNED_TO_SENDER),
        ("Exception", "Exception_013", Status.EXCEPTION),
        ("Exception", "Exception_020", Status.EXCEPTION),
        ("Expired", "Expired_001", Status.EXPIRED),
        ("OutForDelivery", None, Status.OUT_FOR_DELIVERY),
        ("AttemptFail", None, Status.FAILED_ATTEMPT),
        ("AvailableForPickup", None, Status.AVAILABLE_FOR_PICKUP),
        ("Exception", None, Status.EXCEPTION),
        ("Expired", None, Status.EXPIRED),
    ],
)
@pytest.mark.parametrize("version", ["2025", "v4"])
def test_tags_and_subtags(tag: str, subtag: str | None, status: Status, version: str) -> None:
    (result,) = parse(body_of(tracking(tag, subtag), version))
    assert result.status is status
    assert result.last_event is not None and result.last_event.status is status
    assert result.raw_status == (subtag or tag)
    assert result.courier == "dhl"


def test_subtag_wins_over_a_contradicting_tag() -> None:
    (result,) = parse(body_of(tracking("Delivered", "Exception_011")))
    assert result.status is Status.RETURNED_TO_SENDER


def test_unknown_codes_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carriers.aftership"):
        (new_subtag,) = parse(body_of(tracking("Exception", "Exception_099")))
        (new_tag,) = parse(body_of(tracking("Teleported", None)))
    assert new_subtag.status is Status.EXCEPTION and new_subtag.raw_status == "Exception_099"
    assert new_tag.status is Status.IN_TRANSIT and new_tag.raw_status == "Teleported"
    assert "Exception_099" in caplog.text and "Teleported" in caplog.text


def test_every_table_entry_is_a_status() -> None:
    assert len(TAGS) == 9 and len(SUBTAGS) == 49
    assert all(isinstance(s, Status) for s in (*TAGS.values(), *SUBTAGS.values()))


@pytest.mark.parametrize(
    ("extra", "eta"),
    [
        (
            {"latest_estimated_delivery": {"type": "range", "datetime_max": "2024-05-09"}},
            "2024-05-09",
        ),
        ({"latest_estimated_delivery": {"datetime": "2024-05-07T23:30:00-07:00"}}, "2024-05-07"),
        ({"expected_delivery": "2024-05-06T10:00:00+02:00"}, "2024-05-06"),
        (
            {"courier_estimated_delivery_date": {"estimated_delivery_date": "2024-05-08"}},
            "2024-05-08",
        ),
        ({"order_promised_delivery_date": "2024-05-01"}, None),
    ],
)
def test_eta_fields(extra: dict[str, Any], eta: str | None) -> None:
    (result,) = parse(body_of(tracking("InTransit", "InTransit_001", **extra)))
    assert result.estimated_delivery == (date.fromisoformat(eta) if eta else None)


def test_list_and_webhook_bodies() -> None:
    listed = {"meta": {"code": 200}, "data": {"trackings": [tracking("InTransit"), "junk"]}}
    assert [r.tracking_number for r in parse(json.dumps(listed))] == ["LX123456789DE"]
    hook = {"event": "tracking_update", "ts": 1, "msg": tracking("OutForDelivery")}
    (result,) = parse(json.dumps(hook))
    assert result.status is Status.OUT_FOR_DELIVERY
    assert result.events[0].time is not None and result.events[0].time.utcoffset() is not None


def test_event_order_is_kept_and_location_is_verbatim() -> None:
    t = tracking("Delivered", "Delivered_001")
    later = dict(t["checkpoints"][0], checkpoint_time="2024-05-01T09:00:00", location=" Köln  DE ")
    t["checkpoints"].append(later)  # out of time order on purpose: never re-sorted
    (result,) = parse(body_of(t))
    assert [e.time.isoformat() for e in result.events if e.time] == [
        "2024-05-02T09:15:00+02:00",
        "2024-05-01T09:00:00",
    ]
    assert result.events[-1].location == "Köln DE"


@pytest.mark.parametrize(
    ("code", "kind"),
    [(4004, ErrorKind.NOT_FOUND), (4005, ErrorKind.INVALID_NUMBER), (4010, ErrorKind.BAD_REQUEST)],
)
def test_meta_errors_become_one_result_per_number(code: int, kind: ErrorKind) -> None:
    body = json.dumps({"meta": {"code": code, "message": "nope", "type": "BadRequest"}, "data": {}})
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
        b"42",
        b'"x"',
        b"{}",
        b'{"meta": {"code": 200}, "data": []}',
        b'{"meta": "x"}',
        b"\xff\xfe",
        b'{"data": {"tracking": {}}}',
    ],
)
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


# ---- adapter over httpx.MockTransport


def adapter(handler: Any, **config: Any) -> Adapter:
    transport = httpx.MockTransport(handler)
    return Adapter({"api_key": "as-key", **config}, client=httpx.AsyncClient(transport=transport))


async def test_fetch_sends_key_numbers_and_slug() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        data = {"trackings": [tracking("InTransit", "InTransit_001")]}
        return httpx.Response(200, json={"meta": {"code": 200}, "data": data})

    (result,) = await adapter(handler).fetch(["LX123456789DE"], courier="dhl")
    request = seen[0]
    assert request.method == "GET"
    assert str(request.url).startswith("https://api.aftership.com/tracking/2025-04/trackings?")
    assert request.url.params["tracking_numbers"] == "LX123456789DE"
    assert request.url.params["slug"] == "dhl"
    assert request.headers["as-api-key"] == "as-key"
    assert result.status is Status.IN_TRANSIT


async def test_batch_is_one_call_and_missing_number_is_not_found() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        data = {"trackings": [tracking("Delivered", "Delivered_001")]}
        return httpx.Response(200, json={"meta": {"code": 200}, "data": data})

    results = await adapter(handler, register=False).fetch(["X9", "LX123456789DE"])
    assert len(calls) == 1
    assert calls[0].url.params["tracking_numbers"] == "X9,LX123456789DE"
    assert [r.tracking_number for r in results] == ["X9", "LX123456789DE"]
    assert results[0].error and results[0].error.kind is ErrorKind.NOT_FOUND
    assert results[1].status is Status.DELIVERED
    assert Adapter.batch_size >= 1 and Adapter.rate == 10.0


async def test_unknown_number_is_registered_on_first_sight() -> None:
    posted: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": []}})
        posted.append(json.loads(request.content))
        created = {"tracking_number": "NEW1", "slug": "ups", "tag": "Pending", "checkpoints": []}
        return httpx.Response(201, json={"meta": {"code": 201}, "data": created})

    (result,) = await adapter(handler).fetch(["NEW1"], courier="ups")
    assert posted == [{"tracking_number": "NEW1", "slug": "ups"}]
    assert result.status is Status.PENDING and result.error is None


async def test_429_with_retry_after_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"meta": {"code": 429, "type": "TooManyRequests", "message": "slow"}, "data": {}}
        return httpx.Response(429, json=body, headers={"Retry-After": "7"})

    with pytest.raises(CarrierUnavailable) as info:
        await adapter(handler).fetch(["LX123456789DE"])
    assert info.value.retry_after == 7


async def test_not_found_envelope_carries_http_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"meta": {"code": 4004, "message": "Tracking does not exist."}, "data": {}}
        return httpx.Response(404, json=body)

    (result,) = await adapter(handler, register=False).fetch(["A1"])
    assert result.error and result.error.kind is ErrorKind.NOT_FOUND
    assert result.error.http_status == 404


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "meta": {"code": 401, "message": "Invalid API key.", "type": "Unauthorized"},
                "data": {},
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "meta": {
                    "code": 403,
                    "message": "The API key does not have access.",
                    "type": "Forbidden",
                },
                "data": {},
            },
            ErrorKind.AUTH,
        ),
        (
            {
                "meta": {
                    "code": 500,
                    "message": "Something went wrong on AfterShip's end.",
                    "type": "InternalError",
                },
                "data": {},
            },
            ErrorKind.UNAVAILABLE,
        ),
        (
            {
                "meta": {
                    "code": 503,
                    "message": "Service Unavailable",
                    "type": "ServiceUnavailable",
                },
                "data": {},
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
