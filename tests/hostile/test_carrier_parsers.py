"""One property over every registered carrier: whatever JSON (or bytes) a carrier API answers,
``parse()`` returns well-formed results or raises :class:`CarrierResponseError` -- never any
other exception (design invariant 5: one bad input never stops the service).

The carriers are the ``notifier.carriers`` entry points, so a new carrier is covered the day it
is registered. Each one gets three kinds of body: its own real samples (``tests/carriers/
samples``) with one to four values anywhere replaced, deleted or retyped; arbitrary JSON; raw
bytes. Replacement values lean on what breaks parsers: non-ASCII digits, huge and non-finite
numbers, impossible dates, epoch-like strings, very long text.
"""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status, TrackingResult
from carriers.errors import CarrierResponseError
from notifier import plugins
from tests.hostile.mutations import mutate

SAMPLES = Path(__file__).parent.parent / "carriers" / "samples"
CARRIERS = plugins.names("carriers")
EXAMPLES = 40  # per carrier and kind of body; `--hypothesis-seed` reproduces a failure

# Values that have broken parsers somewhere: digits that are not ASCII, numbers past every
# range, dates that do not exist, epoch-like and date-like strings, control characters.
NASTY = st.sampled_from(
    [
        "²³",
        "١٢٣٤٥٦٧٨٩٠",
        "²" * 10,
        "²" * 13,
        "²" * 8,
        "9" * 8,
        "9" * 10,
        "9" * 13,
        "-1",
        "0",
        "",
        " ",
        "\x00",
        "NaN",
        "Infinity",
        "2026-13-45T99:99:99",
        "2026-02-30",
        "0000-00-00 00:00:00",
        "2026-12-01T10:00:00+25:00",
        "2026-12-01T10:00:00.123456789123+07:00",
        "9999-12-31T23:59:59Z",
        "31/02/2026",
        "Mon, 32 Foo 2026 25:61:61 GMT",
        "x" * 5000,
        10**30,
        -(10**30),
        2**63,
        -1,
        0,
        1e308,
        -1e308,
        math.inf,
        -math.inf,
        math.nan,
        253402300800,  # the first second after 9999-12-31 (epoch seconds)
        253402300800000,
        True,
        [],
        {},
    ]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | NASTY
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=20,
)


def _simulator_sample() -> bytes:
    from carriers.simulator.journeys import script
    from carriers.simulator.registry import compile_journey

    start = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    item = compile_journey("SIMFAT000001", script("SIMFAT000001", start).journey, start.timestamp())
    return b'{"data":[%s],"errors":[]}' % item.render(start.timestamp() + 4 * 86400)


def samples(carrier: str) -> list[Any]:
    """The carrier's real JSON samples, parsed (XML carriers get none here)."""
    if carrier == "simulator":
        return [json.loads(_simulator_sample())]
    folder = SAMPLES / carrier
    return [
        json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"))
        if not p.name.endswith(".expected.json")
    ]


@st.composite
def mutated(draw: st.DrawFn, docs: list[Any]) -> str:
    """A sample with one to four values replaced, deleted or wrapped in a list."""
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    return json.dumps(mutate(draw, doc, 4, JSON))


def parser(carrier: str) -> Any:
    return plugins.load_carrier(carrier).parse


def check(carrier: str, body: str | bytes, numbers: list[str]) -> None:
    """The property: well-formed results, or CarrierResponseError (anything else fails)."""
    try:
        results = parser(carrier)(body, numbers)
    except CarrierResponseError as err:
        assert err.carrier, "a CarrierResponseError names its carrier"
        return
    assert isinstance(results, list)
    for r in results:
        assert isinstance(r, TrackingResult)
        assert r.status is None or isinstance(r.status, Status)
        assert r.error is None or isinstance(r.error.kind, ErrorKind)
        assert r.estimated_delivery is None or isinstance(r.estimated_delivery, date)
        for e in r.events:
            assert isinstance(e.status, Status)
            assert e.time is None or isinstance(e.time, datetime)
        json.dumps(r.as_dict())  # what `notifier carriers parse` prints


PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("carrier", CARRIERS)
def test_a_mutated_sample_parses_or_raises_the_typed_error(carrier: str) -> None:
    docs = samples(carrier)
    if not docs:
        pytest.skip(f"{carrier}: no JSON samples (XML: see the arbitrary-bytes property)")

    @PROFILE
    @given(mutated(docs), st.lists(st.text(max_size=8), max_size=2))
    def prop(body: str, numbers: list[str]) -> None:
        check(carrier, body, numbers)

    prop()


@pytest.mark.parametrize("carrier", CARRIERS)
def test_arbitrary_json_parses_or_raises_the_typed_error(carrier: str) -> None:
    @PROFILE
    @given(JSON, st.lists(st.text(max_size=8), max_size=2))
    def prop(value: Any, numbers: list[str]) -> None:
        check(carrier, json.dumps(value), numbers)

    prop()


@pytest.mark.parametrize("carrier", CARRIERS)
def test_arbitrary_bytes_parse_or_raise_the_typed_error(carrier: str) -> None:
    @PROFILE
    @given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    def prop(body: bytes) -> None:
        check(carrier, body, [])

    prop()


def test_every_registered_carrier_is_covered() -> None:
    assert {"ups", "fedex", "dhl", "aftership", "simulator", "biteship"} <= set(CARRIERS)
    with_samples = [c for c in CARRIERS if samples(c)]
    assert len(with_samples) >= len(CARRIERS) - 1  # canadapost answers XML
