"""The same carrier body spelled other ways, shared by every carrier's test module: random
edits of a sample (the property tests), its times and ETA in every spelling held-out responses
use, and its events array missing or malformed. Each must tell the same story, or fail cleanly."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.hostile.mutations import paths

# --------------------------------------------------------------------------- random edits

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def mutations(draw: st.DrawFn, sample: Any) -> str:
    """The sample with one value (anywhere, the root included) replaced or deleted."""
    doc = copy.deepcopy(sample)
    path = draw(st.sampled_from(paths(doc)))
    if not path:
        return json.dumps(draw(json_values))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return json.dumps(doc)


# --------------------------------------------------------------------------- spellings

GOOD_TIMES: list[Any] = [
    "2024-05-17T12:20:00+07:00",
    "2024-05-17T12:20:00+0700",
    "2024-05-17T05:20:00Z",
    "2024-05-17T05:20:00.123456Z",
    "2024-05-17T12:20:00.1234567+07:00",
    "2024-05-17 12:20:00",
    "2024-05-17 12:20",
    "2024-05-17 05:20:00 GMT",
    1715923200,
    1715923200123,
    "1715923200",
]
BAD_TIMES: list[Any] = [None, "", "n/a", 0, True, [], {}]
TIME_CASES = [(v, True) for v in GOOD_TIMES] + [(v, False) for v in BAD_TIMES]
ETA_CASES: list[tuple[Any, str | None]] = [
    ("2024-05-20", "2024-05-20"),
    ("2024-05-20T00:00:00Z", "2024-05-20"),
    ("2024-05-20T18:00:00-05:00", "2024-05-20"),  # the date written, not shifted to UTC
    ("2024-05-20T23:59:59.999+07:00", "2024-05-20"),
    ("20240520", "2024-05-20"),
    (None, None),
    ("", None),
    ("TBD", None),
    (0, None),
    ({}, None),
]


def with_times(
    parse_fn: Any,
    doc: Any,
    events_of: Any,
    value: Any,
    valid: bool,
    fields: tuple[str, ...],
    numbers: tuple[str, ...] = (),
) -> None:
    """Every event's time fields set to ``value``: status and events unchanged; times read
    when ``value`` is a time (an unreadable one may fall back to another documented field)."""
    base = parse_fn(json.dumps(doc), list(numbers))
    varied = copy.deepcopy(doc)
    events = events_of(varied)
    assert events, "the sample must have events"
    for event in events:
        for name in fields:
            event[name] = value
    got = parse_fn(json.dumps(varied), list(numbers))
    assert [r.status for r in got] == [r.status for r in base]
    assert [len(r.events) for r in got] == [len(r.events) for r in base]
    if valid:
        assert all(e.time is not None for r in got for e in r.events), value


def without_events(parse_fn: Any, doc: Any, holder_of: Any, key: str) -> None:
    """The events array missing, null or of the wrong type: a result, never a crash."""
    for replacement in ("missing", None, {}, "x", [None, 3]):
        varied = copy.deepcopy(doc)
        holder = holder_of(varied)
        if replacement == "missing":
            holder.pop(key, None)
        else:
            holder[key] = replacement
        results = parse_fn(json.dumps(varied), [])
        assert results and all(r.status is not None or r.error for r in results)
        assert all(r.events == () for r in results)
