"""AfterShip bodies it has not seen: any JSON and random edits of a real body (a list of
results or CarrierResponseError, never a crash), and times, ETA, events and locations spelled
as other real responses spell them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.aftership import parse
from carriers.base import TrackingResult
from carriers.errors import CarrierResponseError
from tests.carriers.samples import SAMPLES, sample_pairs
from tests.carriers.variants import ETA_CASES, TIME_CASES, with_times, without_events
from tests.hostile.mutations import paths, replaced

PAIRS = sample_pairs("aftership")
DELIVERED = SAMPLES / "aftership" / "get-tracking-delivered-fedex-111111111111.json"


# ---- property: any JSON, and mutations of a real body, give a list or CarrierResponseError

KEYS = [
    "meta",
    "code",
    "data",
    "tracking",
    "trackings",
    "msg",
    "tag",
    "subtag",
    "checkpoints",
    "checkpoint_time",
    "tracking_number",
    "slug",
    "latest_estimated_delivery",
    "datetime",
    "expected_delivery",
    "message",
    "location",
]
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
)
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
    for _ in range(data.draw(st.integers(1, 4))):
        doc = replaced(doc, data.draw(st.sampled_from(paths(doc))), data.draw(patches))
    check(json.dumps(doc))


# -- held-out spellings: times, ETA and events as other real responses write them


_AS = next(b for b, _ in PAIRS if "get-tracking-delivered" in b.name).read_text()


def _tracking(doc: Any) -> Any:
    return doc["data"]["tracking"]


@pytest.mark.parametrize(("value", "valid"), TIME_CASES)
def test_time_variants(value: Any, valid: bool) -> None:
    doc = json.loads(_AS)
    with_times(
        parse, doc, lambda d: _tracking(d)["checkpoints"], value, valid, ("checkpoint_time",)
    )


@pytest.mark.parametrize(("value", "expected"), ETA_CASES)
def test_eta_variants(value: Any, expected: str | None) -> None:
    doc = json.loads(_AS)
    for key in ("latest_estimated_delivery", "courier_estimated_delivery_date",
                "aftership_estimated_delivery_date"):  # fmt: skip
        _tracking(doc).pop(key, None)
    _tracking(doc)["expected_delivery"] = value
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"latest_estimated_delivery": {"type": "range", "datetime": None,
          "datetime_min": "2024-05-20", "datetime_max": "2024-05-22"}}, "2024-05-22"),
        ({"latest_estimated_delivery": {"type": "specific", "datetime": "2024-05-21T10:00:00+08:00",
          "datetime_min": None, "datetime_max": None}}, "2024-05-21"),
        ({"courier_estimated_delivery_date": {"estimated_delivery_date": None,
          "estimated_delivery_date_min": "2024-05-20",
          "estimated_delivery_date_max": "2024-05-23"}}, "2024-05-23"),
        ({"aftership_estimated_delivery_date": {"estimated_delivery_date": "2024-05-24"}},
         "2024-05-24"),
        ({"order_promised_delivery_date": "2024-05-25"}, None),  # a merchant promise, no ETA
    ],
)  # fmt: skip
def test_eta_objects(fields: dict[str, Any], expected: str | None) -> None:
    doc = json.loads(_AS)
    _tracking(doc).update({"expected_delivery": None, "latest_estimated_delivery": None, **fields})
    (result,) = parse(json.dumps(doc))
    assert str(result.estimated_delivery or "") == (expected or "")


def test_missing_checkpoints() -> None:
    without_events(parse, json.loads(_AS), _tracking, "checkpoints")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"location": "Hamburg, Germany"}, "Hamburg, Germany"),
        ({"location": None, "city": "Hamburg", "state": "HH", "country_region_name": "Germany"},
         "Hamburg, HH, Germany"),
        ({"location": "", "city": "Hamburg", "country_name": "Germany"}, "Hamburg, Germany"),
        ({"location": {"city": "x"}, "country_iso3": "DEU"}, "DEU"),
        ({"location": None}, None),
    ],
)  # fmt: skip
def test_location_variants(fields: dict[str, Any], expected: str | None) -> None:
    doc = json.loads(_AS)
    for cp in _tracking(doc)["checkpoints"]:
        for key in ("location", "city", "state", "country_name", "country_iso3"):
            cp.pop(key, None)
        cp.update(fields)
    (result,) = parse(json.dumps(doc))
    assert result.last_event is not None and result.last_event.location == expected
