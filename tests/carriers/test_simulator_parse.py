"""The simulator adapter's pure parse(): the same rules as every real carrier module."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status
from carriers.errors import CarrierResponseError
from carriers.simulator.adapter import STATUS_CODES, parse
from carriers.simulator.faults import FaultPlan
from carriers.simulator.journeys import script
from carriers.simulator.registry import compile_journey

S = Status
START = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)


def body_at(number: str, moment: datetime, errors: list[dict[str, Any]] | None = None) -> bytes:
    """A /v1/track body exactly as the server writes it."""
    item = compile_journey(number, script(number, START).journey, START.timestamp())
    return b'{"data":[%s],"errors":%s}' % (
        item.render(moment.timestamp()),
        json.dumps(errors or []).encode(),
    )


def test_a_body_parses_to_the_script_oldest_first() -> None:
    moment = START + timedelta(days=4)
    [result] = parse(body_at("SIMFAT000001", moment))
    snap = script("SIMFAT000001", START).at(moment)
    assert result.carrier == "simulator" and result.tracking_number == "SIMFAT000001"
    assert result.status is STATUS_CODES[snap.status_code] is S.DELIVERED
    assert result.raw_status == snap.status_code
    assert result.estimated_delivery == snap.estimated_delivery
    assert [e.time for e in result.events] == [s.at for s in snap.scans]
    assert [e.raw_code for e in result.events] == [s.code for s in snap.scans]
    assert [e.status for e in result.events][-3:] == [
        S.FAILED_ATTEMPT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    assert all(e.time and e.time.utcoffset() == timedelta(hours=7) for e in result.events)
    assert result.as_dict()["events"][0]["time"].endswith("+07:00")


def test_per_number_errors_are_results() -> None:
    errors = [
        {"tracking_number": "JP1234567", "code": "NOT_FOUND", "message": "not registered"},
        {"tracking_number": "?!", "code": "INVALID_NUMBER", "message": "not valid"},
    ]
    found, missing, invalid = parse(body_at("SIMNRM000001", START, errors))
    assert found.error is None
    assert missing.tracking_number == "JP1234567" and missing.status is None
    assert missing.error is not None and missing.error.kind is ErrorKind.NOT_FOUND
    assert invalid.error is not None and invalid.error.kind is ErrorKind.INVALID_NUMBER


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("UNAUTHORIZED", ErrorKind.AUTH),
        ("RATE_LIMITED", ErrorKind.RATE_LIMITED),
        ("BATCH_TOO_LARGE", ErrorKind.BAD_REQUEST),
    ],
)
def test_error_envelopes_apply_to_every_requested_number(code: str, kind: ErrorKind) -> None:
    body = json.dumps({"error": {"code": code, "message": "no"}})
    results = parse(body, ["A1", "B2"])
    assert [r.tracking_number for r in results] == ["A1", "B2"]
    assert all(r.error is not None and r.error.kind is kind for r in results)
    [blank] = parse(body)
    assert blank.tracking_number == "" and blank.error is not None


def test_every_cut_of_a_body_is_a_response_error() -> None:
    body = body_at("SIMRTS000001", START + timedelta(days=6))
    for cut in range(len(body)):
        with pytest.raises(CarrierResponseError):
            parse(body[:cut])


@pytest.mark.parametrize("seed", range(20))
def test_garbage_is_a_response_error(seed: int) -> None:
    with pytest.raises(CarrierResponseError):
        parse(FaultPlan(seed=seed).garbage())


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '"data"',
        "null",
        "{}",
        '{"data": "x"}',
        '{"data": [1]}',
        '{"data": [{"events": []}]}',
        '{"data": [{"tracking_number": {"a": 1}}]}',
        "<html>502 Bad Gateway</html>",
        b"\xff\xfe",
    ],
)
def test_wrong_shapes_are_response_errors(body: str | bytes) -> None:
    with pytest.raises(CarrierResponseError):
        parse(body)


def test_unknown_codes_are_in_transit_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    body = {
        "data": [
            {
                "tracking_number": "SIMNRM1",
                "status_code": "TELEPORTED",
                "events": [
                    {"time": "2026-11-27T10:00:00+07:00", "code": "TELEPORTED"},
                    {"time": "2026-11-26T10:00:00+07:00", "code": "MANIFESTED"},
                ],
            }
        ]
    }
    with caplog.at_level(logging.WARNING):
        [result] = parse(json.dumps(body))
    assert result.status is S.IN_TRANSIT and result.raw_status == "TELEPORTED"
    assert [e.raw_code for e in result.events] == ["MANIFESTED", "TELEPORTED"]
    assert "TELEPORTED" in caplog.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
events = st.dictionaries(
    st.sampled_from(["time", "code", "description", "location"]), json_values, max_size=4
)
items = st.fixed_dictionaries(
    {},
    optional={
        "tracking_number": json_values | st.text(),
        "status_code": json_values | st.sampled_from(sorted(STATUS_CODES)),
        "estimated_delivery": json_values | st.just("2026-11-30"),
        "events": st.lists(events | json_values, max_size=4) | json_values,
    },
)
bodies = json_values | st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(items, max_size=3) | json_values,
        "errors": st.lists(json_values, max_size=3) | json_values,
        "error": st.dictionaries(st.sampled_from(["code", "message"]), json_values) | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_arbitrary_json_never_raises_anything_but_a_response_error(body: Any) -> None:
    try:
        results = parse(json.dumps(body), ["N1"])
    except CarrierResponseError:
        return
    for result in results:
        assert result.carrier == "simulator"
        assert (result.status is None) == (result.error is not None)
