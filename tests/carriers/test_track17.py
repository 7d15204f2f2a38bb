"""17TRACK: samples, status/sub-status table, garbage bodies, register-then-track adapter, whole-
response errors (unseen bodies and spellings: test_track17_variants.py)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.track17 import ERRORS, STAGES, STATUSES, SUB_STATUSES, Adapter, parse
from tests.carriers.samples import assert_matches_expected, sample_pairs

PAIRS = sample_pairs("17track")


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[p[0].name for p in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def event(
    stage: str | None, when: str | None, sub: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "time_iso": when,
        "time_utc": None,
        "description": f"scan {stage}",
        "location": "SHENZHEN, CN",
        "stage": stage,
        **({"sub_status": sub} if sub else {}),
        **extra,
    }


def accepted(
    number: str,
    status: str,
    sub: str | None,
    events: list[dict[str, Any]],
    eta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "number": number,
        "carrier": 3011,
        "param": None,
        "tag": "",
        "track_info": {
            "latest_status": {"status": status, "sub_status": sub, "sub_status_descr": None},
            "time_metrics": {
                "estimated_delivery_date": eta or {"source": None, "from": None, "to": None}
            },
            "tracking": {"providers": [{"provider": {"key": 3011}, "events": events}]},
        },
    }


def envelope(acc: list[Any], rej: list[Any] | None = None) -> bytes:
    return json.dumps({"code": 0, "data": {"accepted": acc, "rejected": rej or []}}).encode()


@pytest.mark.parametrize(
    ("status", "sub", "expected"),
    [
        ("NotFound", "NotFound_Other", Status.PENDING),
        ("NotFound", "NotFound_InvalidCode", Status.PENDING),
        ("InfoReceived", "InfoReceived", Status.INFO_RECEIVED),
        ("InTransit", "InTransit_PickedUp", Status.IN_TRANSIT),
        ("InTransit", "InTransit_CustomsRequiringInformation", Status.IN_TRANSIT),
        ("Expired", "Expired_Other", Status.EXPIRED),
        ("AvailableForPickup", "AvailableForPickup_Other", Status.AVAILABLE_FOR_PICKUP),
        ("OutForDelivery", "OutForDelivery_Other", Status.OUT_FOR_DELIVERY),
        ("DeliveryFailure", "DeliveryFailure_NoBody", Status.FAILED_ATTEMPT),
        ("DeliveryFailure", "DeliveryFailure_InvalidAddress", Status.FAILED_ATTEMPT),
        ("Delivered", "Delivered_Other", Status.DELIVERED),
        ("Exception", "Exception_Returning", Status.RETURNED_TO_SENDER),
        ("Exception", "Exception_Returned", Status.RETURNED_TO_SENDER),
        ("Exception", "Exception_Lost", Status.EXCEPTION),
        ("Exception", "Exception_Cancel", Status.EXCEPTION),
        ("Delivered", None, Status.DELIVERED),
        ("DeliveryFailure", None, Status.FAILED_ATTEMPT),
    ],
)
def test_status_and_sub_status(status: str, sub: str | None, expected: Status) -> None:
    (result,) = parse(envelope([accepted("RR1CN", status, sub, [])]))
    assert result.status is expected
    assert result.raw_status == (sub or status)
    assert result.courier == "3011"


@pytest.mark.parametrize(
    ("stage", "sub", "expected"),
    [
        ("InfoReceived", None, Status.INFO_RECEIVED),
        ("PickedUp", None, Status.IN_TRANSIT),
        ("Departure", None, Status.IN_TRANSIT),
        ("Arrival", None, Status.IN_TRANSIT),
        ("AvailableForPickup", None, Status.AVAILABLE_FOR_PICKUP),
        ("OutForDelivery", None, Status.OUT_FOR_DELIVERY),
        ("Delivered", None, Status.DELIVERED),
        ("Returning", None, Status.RETURNED_TO_SENDER),
        ("Returned", None, Status.RETURNED_TO_SENDER),
        (None, None, Status.IN_TRANSIT),
        (None, "DeliveryFailure_Rejected", Status.FAILED_ATTEMPT),
        ("Arrival", "Exception_Delayed", Status.EXCEPTION),
    ],
)
def test_event_stage_and_sub_status(stage: str | None, sub: str | None, expected: Status) -> None:
    body = envelope(
        [
            accepted(
                "RR1CN",
                "InTransit",
                "InTransit_Other",
                [event(stage, "2024-01-02T10:00:00+08:00", sub)],
            )
        ]
    )
    (result,) = parse(body)
    assert result.events[0].status is expected


def test_events_are_reversed_to_oldest_first_and_keep_offsets() -> None:
    events = [
        event("Delivered", "2022-05-02T14:34:00-04:00"),
        event(None, "2022-04-28T09:00:00-04:00"),
        event("PickedUp", "2022-04-26T14:30:00+08:00"),
    ]
    eta = {
        "source": "Official",
        "from": "2022-05-01T08:00:00-04:00",
        "to": "2022-05-03T20:00:00-04:00",
    }
    (result,) = parse(envelope([accepted("RR1CN", "Delivered", "Delivered_Other", events, eta)]))
    assert [e.status for e in result.events] == [
        Status.IN_TRANSIT,
        Status.IN_TRANSIT,
        Status.DELIVERED,
    ]
    assert (
        result.events[0].time is not None
        and result.events[0].time.isoformat() == "2022-04-26T14:30:00+08:00"
    )
    assert result.estimated_delivery == date(2022, 5, 3)
    assert result.events[-1].location == "SHENZHEN, CN"


def test_time_falls_back_to_utc_then_raw() -> None:
    no_iso = event("PickedUp", None, time_utc="2024-01-01T01:02:03Z")
    raw = event(
        "PickedUp", None, time_raw={"date": "2024-01-03", "time": "10:20", "timezone": None}
    )
    (result,) = parse(envelope([accepted("RR1CN", "InTransit", None, [raw, no_iso])]))
    assert [e.time.isoformat() if e.time else None for e in result.events] == [
        "2024-01-01T01:02:03Z",
        "2024-01-03T10:20:00",
    ]


def test_unknown_codes_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carriers.track17"):
        (r1,) = parse(envelope([accepted("A1", "Exception", "Exception_Held", [])]))
        (r2,) = parse(
            envelope([accepted("A2", "Teleported", None, [event("Beamed", "2024-01-01")])])
        )
    assert r1.status is Status.EXCEPTION and r1.raw_status == "Exception_Held"
    assert r2.status is Status.IN_TRANSIT and r2.raw_status == "Teleported"
    assert r2.events[0].status is Status.IN_TRANSIT and r2.events[0].raw_code == "Beamed"
    assert "Exception_Held" in caplog.text and "Beamed" in caplog.text


def test_tables() -> None:
    assert len(STATUSES) == 9 and len(SUB_STATUSES) == 30 and len(STAGES) == 9
    assert len(ERRORS) == 29


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (-18019902, ErrorKind.NOT_FOUND),
        (-18019909, ErrorKind.NOT_FOUND),
        (-18010012, ErrorKind.INVALID_NUMBER),
        (-18019910, ErrorKind.BAD_REQUEST),
        (-18019908, ErrorKind.RATE_LIMITED),
    ],
)
def test_rejected_numbers_are_results(code: int, kind: ErrorKind) -> None:
    body = envelope(
        [accepted("OK1", "InTransit", "InTransit_Other", [])],
        [{"number": "BAD1", "error": {"code": code, "message": "no"}}],
    )
    ok, bad = parse(body)
    assert ok.tracking_number == "OK1" and ok.error is None
    assert bad.tracking_number == "BAD1" and bad.status is None
    assert bad.error is not None and bad.error.kind is kind and bad.error.code == str(code)


def test_envelope_error_is_one_result_per_number() -> None:
    body = {
        "code": -18010002,
        "data": {"errors": [{"code": -18010002, "message": "Invalid security key."}]},
    }
    results = parse(json.dumps(body), ["A", "B"])
    assert [r.tracking_number for r in results] == ["A", "B"]
    assert all(r.error and r.error.kind is ErrorKind.AUTH for r in results)
    (blank,) = parse(json.dumps(body))
    assert blank.tracking_number == "" and blank.error is not None


def test_stopped_webhook_has_no_news() -> None:
    body = {
        "event": "TRACKING_STOPPED",
        "data": {"number": "RR1CN", "carrier": 3011, "param": None},
    }
    assert parse(json.dumps(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"1.5",
        b'"x"',
        b"{}",
        b'{"code": 0, "data": []}',
        b'{"code": 0}',
        b'{"event": "TRACKING_UPDATED", "data": []}',
        b"\x80",
    ],
)
def test_garbage_raises_response_error(body: bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


# ---- adapter over httpx.MockTransport


def adapter(handler: Any, **config: Any) -> Adapter:
    transport = httpx.MockTransport(handler)
    return Adapter(
        {"api_key": "tok-17", "rate": 1000, **config}, client=httpx.AsyncClient(transport=transport)
    )


def info_for(
    items: list[dict[str, Any]], unregistered: frozenset[str] | set[str] = frozenset()
) -> httpx.Response:
    acc = [
        accepted(i["number"], "InTransit", "InTransit_Other", [])
        for i in items
        if i["number"] not in unregistered
    ]
    rej = [
        {"number": i["number"], "error": {"code": -18019902, "message": "not registered"}}
        for i in items
        if i["number"] in unregistered
    ]
    return httpx.Response(200, content=envelope(acc, rej))


async def test_gettrackinfo_url_header_body_and_batch_of_40() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return info_for(json.loads(request.content))

    numbers = [f"RR{i:09d}CN" for i in range(40)]
    results = await adapter(handler).fetch(numbers, courier="3011")
    assert len(seen) == 1 and Adapter.batch_size == 40 and Adapter.rate == 3.0
    request = seen[0]
    assert str(request.url) == "https://api.17track.net/track/v2.2/gettrackinfo"
    assert request.method == "POST" and request.headers["17token"] == "tok-17"
    assert json.loads(request.content)[0] == {"number": "RR000000000CN", "carrier": 3011}
    assert [r.tracking_number for r in results] == numbers
    assert all(r.status is Status.IN_TRANSIT for r in results)


async def test_unregistered_numbers_are_registered_then_tracked() -> None:
    calls: list[tuple[str, list[str]]] = []
    registered: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        calls.append((request.url.path.rsplit("/", 1)[-1], [i["number"] for i in items]))
        if request.url.path.endswith("/register"):
            registered.update(i["number"] for i in items)
            acc = [{"number": "NEW1", "carrier": 3011}]
            rej = [
                {"number": "OLD2", "error": {"code": -18019901, "message": "already"}},
                {"number": "BAD3", "error": {"code": -18010012, "message": "format invalid"}},
            ]
            return httpx.Response(200, content=envelope(acc, rej))
        return info_for(items, unregistered={"NEW1", "OLD2", "BAD3"} - registered)

    results = await adapter(handler).fetch(["KNOWN", "NEW1", "OLD2", "BAD3"])
    assert calls == [
        ("gettrackinfo", ["KNOWN", "NEW1", "OLD2", "BAD3"]),
        ("register", ["NEW1", "OLD2", "BAD3"]),
        ("gettrackinfo", ["NEW1", "OLD2"]),
    ]
    assert [r.status for r in results[:3]] == [Status.IN_TRANSIT] * 3
    assert results[3].error and results[3].error.kind is ErrorKind.INVALID_NUMBER


async def test_missing_number_is_not_found() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path.rsplit("/", 1)[-1])
        if request.url.path.endswith("/register"):  # absent from gettrackinfo: registered once
            rej = [
                {"number": "GONE", "error": {"code": -18019903, "message": "carrier not detected"}}
            ]
            return httpx.Response(200, content=envelope([], rej))
        return httpx.Response(
            200, content=envelope([accepted("A1", "Delivered", "Delivered_Other", [])])
        )

    a1, gone = await adapter(handler).fetch(["A1", "GONE"])
    assert calls == ["gettrackinfo", "register"]
    assert a1.status is Status.DELIVERED
    assert gone.error and gone.error.kind is ErrorKind.NOT_FOUND and gone.error.code == "-18019903"
    (plain,) = await adapter(handler, register=False).fetch(["GONE"])
    assert plain.error and plain.error.kind is ErrorKind.NOT_FOUND


async def test_whole_request_error_is_not_retried_by_registering() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        body = {"code": -18019908, "data": {"errors": [{"code": -18019908, "message": "quota"}]}}
        return httpx.Response(200, json=body)

    results = await adapter(handler).fetch(["A1", "B2"])
    assert len(calls) == 1
    assert all(
        r.error and r.error.kind is ErrorKind.RATE_LIMITED and r.error.http_status == 200
        for r in results
    )


async def test_429_with_retry_after_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "2"})

    with pytest.raises(CarrierUnavailable) as info:
        await adapter(handler).fetch(["A1"])
    assert info.value.retry_after == 2


async def test_401_is_an_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "bad key"}]}}
        return httpx.Response(401, json=body)

    with pytest.raises(CarrierAuthError):
        await adapter(handler).fetch(["A1"])


# -- whole-response errors: every requested number gets the kind (an all-AUTH batch is a
# refused credential to the pipeline; the carrier's own fault is unavailable, not rate_limited)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "code": 0,
                "data": {"errors": [{"code": -18010002, "message": "Invalid security key."}]},
            },
            ErrorKind.AUTH,
        ),
        ({"code": -18010001, "data": "IP not in whitelist"}, ErrorKind.AUTH),
        (
            {
                "code": 0,
                "data": {
                    "errors": [
                        {
                            "code": -18010003,
                            "message": "Internal service error, please try again later.",
                        }
                    ]
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
