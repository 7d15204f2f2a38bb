"""Compare a carrier module's parse() with the ``.expected.json`` beside each real sample.

The convention is in ``tests/carriers/samples/README.md``: status, ETA, event count and the last
event's status and time are strict; description and location are compared after trimming (and
location case- and separator-insensitively, since its formatting is a suggestion).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from carriers.base import TrackingResult

SAMPLES = Path(__file__).parent / "samples"


def sample_pairs(carrier_dir: str) -> list[tuple[Path, Path]]:
    """(body, expected) pairs for one carrier folder."""
    folder = SAMPLES / carrier_dir
    pairs = []
    for expected in sorted(folder.glob("*.expected.json")):
        stem = expected.name.removesuffix(".expected.json")
        body = next(p for p in folder.iterdir() if p.stem == stem and p != expected)
        pairs.append((body, expected))
    return pairs


def _loose(text: str | None) -> str | None:
    if text is None:
        return None
    return re.sub(r"[\s,]+", " ", text).strip().casefold()


def assert_result(result: TrackingResult, expected: dict[str, Any]) -> None:
    """One normalized result against one expected object."""
    want_number = expected.get("tracking_number")
    if want_number and result.tracking_number:
        assert result.tracking_number == want_number
    assert (result.status.value if result.status else None) == expected["status"]
    eta = result.estimated_delivery.isoformat() if result.estimated_delivery else None
    assert eta == expected["estimated_delivery"]
    assert len(result.events) == expected["events_count"]
    want_last = expected["last_event"]
    if want_last is None:
        assert result.last_event is None
    else:
        got = result.last_event
        assert got is not None
        assert got.status.value == want_last["status"]
        assert (got.time.isoformat() if got.time else None) == want_last["time"]
        assert got.description.strip() == (want_last["description"] or "").strip()
        assert _loose(got.location) == _loose(want_last["location"])
    want_error = expected.get("error")
    if want_error is None:
        assert result.error is None
    else:
        assert result.error is not None
        assert result.error.kind.value == want_error["kind"]
        if want_error.get("code") is not None:
            assert result.error.code == want_error["code"]


def assert_matches_expected(results: list[TrackingResult], expected_path: Path) -> None:
    """All results of one body against its expected file (multi-number bodies too)."""
    expected = json.loads(expected_path.read_text())
    wanted = expected.get("results", [expected])
    assert len(results) == len(wanted)
    for result, want in zip(results, wanted, strict=True):
        assert_result(result, want)
