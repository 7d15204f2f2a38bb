"""17TRACK bodies it has not seen: any JSON and random edits of the real webhook (a list of
results or CarrierResponseError, never a crash), and times, ETA and events spelled as other
real responses spell them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import Status, TrackingResult
from carriers.errors import CarrierResponseError
from carriers.track17 import parse
from tests.carriers.samples import SAMPLES, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events
from tests.hostile.mutations import paths, replaced

PAIRS = sample_pairs("17track")
WEBHOOK = SAMPLES / "17track" / "webhook-tracking-updated-exception-dhl-paket.json"


# ---- property: any JSON, and mutations of the real webhook, give a list or CarrierResponseError

KEYS = [
    "code",
    "data",
    "accepted",
    "rejected",
    "errors",
    "event",
    "number",
    "carrier",
    "track_info",
    "latest_status",
    "status",
    "sub_status",
    "tracking",
    "providers",
    "events",
    "stage",
    "time_iso",
    "time_utc",
    "time_raw",
    "time_metrics",
    "estimated_delivery_date",
    "to",
    "error",
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
    if data.draw(st.booleans()):  # the gettrackinfo shape of the same tracking
        doc = {"code": 0, "data": {"accepted": [doc["data"]], "rejected": []}}
    for _ in range(data.draw(st.integers(1, 4))):
        doc = replaced(doc, data.draw(st.sampled_from(paths(doc))), data.draw(patches))
    check(json.dumps(doc))


# -- held-out spellings: times, ETA and events as other real responses write them


_T17 = PAIRS[0][0].read_text()


def _info(doc: Any) -> Any:
    return doc["data"]["track_info"]


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    doc = json.loads(_T17)
    events = lambda d: _info(d)["tracking"]["providers"][0]["events"]  # noqa: E731
    with_times(parse, doc, events, value, valid, ("time_iso", "time_utc"))


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(_T17)
    _info(doc)["time_metrics"] = {"estimated_delivery_date": {"source": "Official", "from": None,
                                                              "to": value}}  # fmt: skip
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_events() -> None:
    without_events(parse, json.loads(_T17), lambda d: _info(d)["tracking"]["providers"][0],
                   "events")  # fmt: skip


@pytest.mark.parametrize(
    ("description", "want"),
    [
        ("Delivered, in/at mailbox", Status.DELIVERED),
        ("Out for delivery", Status.OUT_FOR_DELIVERY),
        ("Delivery attempted - no access to delivery location", Status.FAILED_ATTEMPT),
        ("Arrived at sort facility", Status.IN_TRANSIT),
        ("Something unheard of", Status.IN_TRANSIT),
    ],
)
def test_events_without_a_stage_read_the_carriers_words(description: str, want: Status) -> None:
    doc = json.loads(_T17)
    [event] = _info(doc)["tracking"]["providers"][0]["events"]
    event.update({"stage": None, "sub_status": None, "description": description})
    (result,) = parse(json.dumps(doc))
    assert result.events[0].status is want


def test_location_from_the_address_when_no_free_text() -> None:
    doc = json.loads(_T17)
    [event] = _info(doc)["tracking"]["providers"][0]["events"]
    event["location"] = None
    event["address"] = {"country": "DE", "state": "HH", "city": "Hamburg", "street": None}
    (result,) = parse(json.dumps(doc))
    assert result.events[0].location == "Hamburg, HH, DE"
