"""The simulator's scripted journeys, over virtual time, with no server."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from carriers.base import Status
from carriers.simulator.adapter import STATUS_CODES
from carriers.simulator.journeys import (
    JAKARTA,
    PREFIXES,
    STATUS_TEXT,
    Journey,
    Script,
    choose_journey,
    script,
)
from carriers.simulator.trips import NEVER_SCANNED_EXPIRY

S = Status
START = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # 09:30 in Jakarta
STEP = timedelta(minutes=30)
HORIZON = timedelta(days=8)
PREFIX = {journey: prefix for prefix, journey in PREFIXES.items()}


def numbers(journey: Journey, count: int = 12) -> list[str]:
    return [f"{PREFIX[journey]}{i:06d}" for i in range(count)]


def walk(s: Script) -> tuple[list[Status], list[object]]:
    """Step a clock through the journey; the distinct statuses and ETAs seen, in order."""
    statuses: list[Status] = []
    etas: list[object] = []
    moments = sorted({*(START + STEP * i for i in range(HORIZON // STEP)), *s.changes})
    for now in moments:
        snap = s.at(now)
        status = STATUS_CODES[snap.status_code]
        if not statuses or statuses[-1] != status:
            statuses.append(status)
        if snap.estimated_delivery is not None and (
            not etas or etas[-1] != snap.estimated_delivery
        ):
            etas.append(snap.estimated_delivery)
    return statuses, etas


NORMAL_PATH = [S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
RETURN = [S.EXCEPTION, S.RETURNED_TO_SENDER]


@pytest.mark.parametrize(
    ("journey", "expected"),
    [
        (Journey.NORMAL, NORMAL_PATH),
        (Journey.ETA_SLIP, NORMAL_PATH),
        (Journey.STALL, NORMAL_PATH),
        (
            Journey.FAILED_ATTEMPT,
            [*NORMAL_PATH[:3], S.FAILED_ATTEMPT, S.OUT_FOR_DELIVERY, S.DELIVERED],
        ),
        (Journey.PICKUP, [S.INFO_RECEIVED, S.IN_TRANSIT, S.AVAILABLE_FOR_PICKUP, S.DELIVERED]),
        (
            Journey.RETURNED,
            [*NORMAL_PATH[:3], S.FAILED_ATTEMPT, S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, *RETURN],
        ),
        (Journey.NEVER_SCANNED, [S.INFO_RECEIVED, S.EXPIRED]),
    ],
)
def test_status_sequence(journey: Journey, expected: list[Status]) -> None:
    for number in numbers(journey):
        s = script(number, START)
        assert s.journey is journey
        assert walk(s)[0] == expected, number


def test_exception_ends_damaged_or_returned_after_customs() -> None:
    endings = Counter()
    for number in numbers(Journey.EXCEPTION, 20):
        statuses, _ = walk(script(number, START))
        assert statuses[:3] == [S.INFO_RECEIVED, S.IN_TRANSIT, S.EXCEPTION], number
        assert statuses[3:] in ([], [S.RETURNED_TO_SENDER]), number
        endings[statuses[-1]] += 1
        codes = {scan.code for scan in script(number, START).scans}
        assert codes & {"DAMAGED", "CUSTOMS_HOLD"}
    assert endings[S.EXCEPTION] and endings[S.RETURNED_TO_SENDER]


def test_eta_slip_moves_the_eta_later() -> None:
    for number in numbers(Journey.ETA_SLIP):
        s = script(number, START)
        _, etas = walk(s)
        assert len(etas) >= 2, number
        assert etas == sorted(etas) and len(set(etas)) == len(etas), number
        delivered = s.scans[-1].at.astimezone(JAKARTA).date()
        assert etas[-1] >= delivered


def test_normal_delivers_on_or_before_its_eta() -> None:
    for number in numbers(Journey.NORMAL):
        s = script(number, START)
        _, etas = walk(s)
        assert len(etas) == 1
        assert s.scans[-1].at.astimezone(JAKARTA).date() <= etas[0]


def test_stall_has_a_gap_over_72_hours_while_in_transit() -> None:
    for number in numbers(Journey.STALL):
        scans = script(number, START).scans
        gaps = [
            later.at - earlier.at
            for earlier, later in pairwise(scans)
            if STATUS_CODES[earlier.code] is S.IN_TRANSIT
        ]
        # Longer than a 72 h stall rule, with 11 hours to spare for the poller to notice.
        assert max(gaps) >= timedelta(hours=83), number
        assert STATUS_CODES[scans[-1].code] is S.DELIVERED


def test_other_journeys_never_go_quiet_for_three_days() -> None:
    for journey in (Journey.NORMAL, Journey.FAILED_ATTEMPT, Journey.PICKUP):
        for number in numbers(journey):
            scans = script(number, START).scans
            gaps = [b.at - a.at for a, b in pairwise(scans)]
            assert max(gaps) < timedelta(hours=72), number


def test_never_scanned_keeps_its_label_and_then_expires() -> None:
    s = script("SIMNVR000001", START)
    before = s.at(START + NEVER_SCANNED_EXPIRY - timedelta(minutes=1))
    assert before.status_code == "MANIFESTED"
    assert [scan.code for scan in before.scans] == ["MANIFESTED"]
    after = s.at(START + NEVER_SCANNED_EXPIRY)
    assert after.status_code == "EXPIRED"
    assert len(after.scans) == 1


@pytest.mark.parametrize("journey", list(Journey))
def test_every_journey_ends_within_a_week(journey: Journey) -> None:
    for number in numbers(journey, 30):
        s = script(number, START)
        assert s.ends_at - START <= timedelta(days=7), number
        assert STATUS_CODES[s.at(START + timedelta(days=7)).status_code] in (
            S.DELIVERED,
            S.EXCEPTION,
            S.RETURNED_TO_SENDER,
            S.EXPIRED,
        )


def test_scans_are_ordered_and_look_like_a_manifest() -> None:
    for journey in Journey:
        for number in numbers(journey, 5):
            scans = script(number, START).scans
            assert [s.at for s in scans] == sorted(s.at for s in scans)
            assert len({s.at for s in scans}) == len(scans)
            for scan in scans:
                assert scan.description and scan.location
                assert scan.at.microsecond == 0
                assert scan.code in STATUS_TEXT
            first = scans[0]
            assert first.code == "MANIFESTED" and first.at <= START


def test_couriers_work_in_daylight() -> None:
    for journey in (Journey.NORMAL, Journey.FAILED_ATTEMPT):
        for number in numbers(journey, 20):
            for scan in script(number, START).scans:
                local = scan.at.astimezone(JAKARTA)
                hour = local.hour + local.minute / 60
                if scan.code == "OUT_FOR_DELIVERY":
                    assert 7.5 <= hour < 12.5, (number, local)
                if scan.code == "DELIVERED":
                    assert 8 <= hour < 19.5, (number, local)


def test_manifests_read_like_indonesian_couriers() -> None:
    descriptions = {
        scan.description
        for journey in Journey
        for number in numbers(journey, 10)
        for scan in script(number, START).scans
    }
    assert any(d.startswith("Paket telah diterima oleh [") for d in descriptions)
    assert any(d.startswith("Paket sedang diantar ke alamat tujuan") for d in descriptions)
    assert any(d.startswith("Paket telah diterima di gudang") for d in descriptions)
    assert any(d.startswith("WITH DELIVERY COURIER [") for d in descriptions)
    assert any(d.startswith("DELIVERED TO [") for d in descriptions)


def test_same_number_same_journey() -> None:
    a = script("SIMETA000123", START)
    b = script("simeta 000123", START)  # case and spaces do not make another parcel
    assert a.scans == b.scans and a.etas == b.etas
    later = script("SIMETA000123", START + timedelta(hours=5))  # same route, later start
    assert [s.code for s in later.scans] == [s.code for s in a.scans]
    assert [s.location for s in later.scans] == [s.location for s in a.scans]
    assert script("SIMETA000124", START).scans != a.scans


def test_prefixes_choose_and_hash_weights_mostly_normal() -> None:
    for prefix, journey in PREFIXES.items():
        assert choose_journey(f"{prefix}42") is journey
    mix = Counter(choose_journey(f"JP{i:010d}") for i in range(4000))
    assert set(mix) == set(Journey)
    assert 0.6 < mix[Journey.NORMAL] / 4000 < 0.8
    assert choose_journey("JP0000000001") is choose_journey("JP0000000001")


def test_explicit_journey_overrides_the_prefix() -> None:
    assert script("SIMNRM000001", START, Journey.PICKUP).journey is Journey.PICKUP
    assert script("SIMNRM000001", START, "stall").journey is Journey.STALL
    with pytest.raises(ValueError):
        script("SIMNRM000001", START, "teleport")
    with pytest.raises(ValueError):
        script("SIMNRM000001", START.replace(tzinfo=None))


def test_every_native_code_is_mapped() -> None:
    assert set(STATUS_TEXT) <= set(STATUS_CODES)
