"""detect() as a table of cases: every trigger, every delay kind, supersession, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from carriers.base import Status as S
from notifier.pipeline.detect import (
    Facts,
    NewEvent,
    Rules,
    detect,
    is_superseded,
    quiet_until,
)

JKT = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
RULES = Rules(tz=JKT)


def ev(status: S, hours_ago: float = 1) -> NewEvent:
    return NewEvent(status, NOW - timedelta(hours=hours_ago))


def names(decision) -> list[tuple[str, str, str | None]]:
    return [(t.name, t.episode, t.suppressed_by) for t in decision.triggers]


TRANSIT = Facts(S.IN_TRANSIT, scanned=True, last_event_at=NOW - timedelta(hours=5))

CASES = [
    # (id, before, after, events, expected [(trigger, episode, suppressed_by)])
    (
        "first scan is shipped",
        Facts(S.INFO_RECEIVED),
        Facts(S.IN_TRANSIT, scanned=True),
        [ev(S.IN_TRANSIT)],
        [("shipped", "1", None), ("in_transit", "1", None)],
    ),
    (
        "out for delivery, once per local day",
        TRANSIT,
        Facts(S.OUT_FOR_DELIVERY, scanned=True),
        [ev(S.OUT_FOR_DELIVERY)],
        [("out_for_delivery", "2026-12-01", None)],
    ),
    (
        "failed attempt",
        Facts(S.OUT_FOR_DELIVERY, scanned=True),
        Facts(S.FAILED_ATTEMPT, scanned=True),
        [ev(S.FAILED_ATTEMPT)],
        [("failed_attempt", "2026-12-01", None)],
    ),
    (
        "available for pickup",
        TRANSIT,
        Facts(S.AVAILABLE_FOR_PICKUP, scanned=True),
        [ev(S.AVAILABLE_FOR_PICKUP)],
        [("available_for_pickup", "1", None)],
    ),
    (
        "delivered",
        Facts(S.OUT_FOR_DELIVERY, scanned=True),
        Facts(S.DELIVERED, scanned=True),
        [ev(S.DELIVERED)],
        [("delivered", "1", None)],
    ),
    (
        "exception",
        TRANSIT,
        Facts(S.EXCEPTION, scanned=True),
        [ev(S.EXCEPTION)],
        [("exception", "2026-12-01", None)],
    ),
    (
        "returned to sender",
        TRANSIT,
        Facts(S.RETURNED_TO_SENDER, scanned=True),
        [ev(S.RETURNED_TO_SENDER)],
        [("returned_to_sender", "1", None)],
    ),
    (
        "summary status without an event still counts",
        Facts(S.OUT_FOR_DELIVERY, scanned=True),
        Facts(S.DELIVERED, scanned=True),
        [ev(S.IN_TRANSIT)],
        [("in_transit", "1", "delivered"), ("delivered", "1", None)],
    ),
    (
        "delivered supersedes out for delivery in one poll",
        TRANSIT,
        Facts(S.DELIVERED, scanned=True),
        [ev(S.OUT_FOR_DELIVERY, 3), ev(S.DELIVERED, 1)],
        [("out_for_delivery", "2026-12-01", "delivered"), ("delivered", "1", None)],
    ),
    (
        "late registration: shipped superseded by delivered",
        Facts(S.PENDING),
        Facts(S.DELIVERED, scanned=True),
        [ev(S.IN_TRANSIT, 30), ev(S.DELIVERED)],
        [("shipped", "1", "delivered"), ("in_transit", "1", "delivered"), ("delivered", "1", None)],
    ),
    (
        "failed, out again next day, delivered: only delivered is live",
        Facts(S.IN_TRANSIT, scanned=True),
        Facts(S.DELIVERED, scanned=True),
        [
            ev(S.OUT_FOR_DELIVERY, 30),
            ev(S.FAILED_ATTEMPT, 26),
            ev(S.OUT_FOR_DELIVERY, 3),
            ev(S.DELIVERED, 1),
        ],
        [
            ("out_for_delivery", "2026-11-30", "failed_attempt"),
            ("failed_attempt", "2026-11-30", "out_for_delivery"),
            ("out_for_delivery", "2026-12-01", "delivered"),
            ("delivered", "1", None),
        ],
    ),
    (
        "two out-for-delivery scans the same day make one",
        TRANSIT,
        Facts(S.OUT_FOR_DELIVERY, scanned=True),
        [ev(S.OUT_FOR_DELIVERY, 2), ev(S.OUT_FOR_DELIVERY, 1)],
        [("out_for_delivery", "2026-12-01", None)],
    ),
    ("a re-poll with nothing new says nothing", TRANSIT, TRANSIT, [], []),
    (
        "pickup then collected",
        Facts(S.AVAILABLE_FOR_PICKUP, scanned=True),
        Facts(S.DELIVERED, scanned=True),
        [ev(S.DELIVERED)],
        [("delivered", "1", None)],
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "events", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_status_triggers(before, after, events, want) -> None:
    assert names(detect(before, after, events, NOW, RULES)) == want


def test_event_day_is_the_shoppers_local_day() -> None:
    late = NewEvent(S.OUT_FOR_DELIVERY, datetime(2026, 11, 30, 18, 0, tzinfo=UTC))  # 01:00 WIB
    got = detect(TRANSIT, Facts(S.OUT_FOR_DELIVERY, scanned=True), [late], NOW, RULES)
    assert got.triggers[0].episode == "2026-12-01"


def test_disabled_triggers_are_left_out() -> None:
    rules = Rules(tz=JKT, disabled=frozenset({"in_transit"}))
    got = detect(Facts(S.INFO_RECEIVED, scanned=True), TRANSIT, [ev(S.IN_TRANSIT)], NOW, rules)
    assert got.triggers == []


# ---- delays ------------------------------------------------------------------------------


def transit(**kw) -> Facts:
    base = dict(status=S.IN_TRANSIT, scanned=True, last_event_at=NOW - timedelta(hours=5))
    return Facts(**(base | kw))


def test_eta_slip_opens_an_episode_and_records_the_new_eta_as_told() -> None:
    before = transit(eta=date(2026, 12, 2), eta_told=date(2026, 12, 2))
    got = detect(before, transit(eta=date(2026, 12, 4), eta_told=date(2026, 12, 2)), [], NOW, RULES)
    assert names(got) == [("delayed", "1", None)]
    assert got.triggers[0].context == {"delay_kind": "eta_slipped", "previous_eta": "2026-12-02"}
    assert (got.delay_open, got.delay_episode, got.eta_told) == (True, 1, date(2026, 12, 4))


def test_each_further_slip_is_news_but_a_repoll_is_not() -> None:
    before = transit(
        eta=date(2026, 12, 4), eta_told=date(2026, 12, 4), delay_open=True, delay_episode=1
    )
    same = detect(before, before, [], NOW, RULES)
    assert same.triggers == [] and same.delay_episode == 1
    later = detect(before, replace_eta(before, date(2026, 12, 6)), [], NOW, RULES)
    assert names(later) == [("delayed", "2", None)]


def replace_eta(facts: Facts, eta: date) -> Facts:
    from dataclasses import replace

    return replace(facts, eta=eta)


def test_eta_earlier_than_told_is_not_a_delay() -> None:
    before = transit(eta=date(2026, 12, 4), eta_told=date(2026, 12, 4))
    got = detect(before, transit(eta=date(2026, 12, 2), eta_told=date(2026, 12, 4)), [], NOW, RULES)
    assert got.triggers == []


def test_untold_eta_moving_is_not_a_delay() -> None:
    got = detect(transit(eta=date(2026, 12, 2)), transit(eta=date(2026, 12, 5)), [], NOW, RULES)
    assert got.triggers == []


def test_eta_passed_once_per_episode() -> None:
    before = transit(eta=date(2026, 11, 30), eta_told=date(2026, 11, 30))
    first = detect(before, before, [], NOW, RULES)
    assert names(first) == [("delayed", "1", None)]
    assert first.triggers[0].context == {"delay_kind": "eta_passed"}
    again = Facts(**{**_fields(before), "delay_open": True, "delay_episode": 1})
    assert detect(again, again, [], NOW + timedelta(hours=3), RULES).triggers == []


def test_eta_today_is_not_passed() -> None:
    f = transit(eta=date(2026, 12, 1), eta_told=date(2026, 12, 1))
    assert detect(f, f, [], NOW, RULES).triggers == []


def test_stall_in_transit_after_the_usual_gap() -> None:
    f = transit(last_event_at=NOW - timedelta(hours=73))
    got = detect(f, f, [], NOW, RULES)
    assert names(got) == [("delayed", "1", None)]
    assert got.triggers[0].context == {"delay_kind": "stalled"}
    assert (
        detect(transit(last_event_at=NOW - timedelta(hours=71)), transit(), [], NOW, RULES).triggers
        == []
    )


def test_never_scanned_after_label_is_a_delay() -> None:
    f = Facts(S.INFO_RECEIVED, created_at=NOW - timedelta(hours=97))
    assert names(detect(f, f, [], NOW, RULES)) == [("delayed", "1", None)]


def test_stall_clears_when_a_scan_arrives_and_a_new_stall_is_a_new_episode() -> None:
    stalled = transit(last_event_at=NOW - timedelta(hours=80), delay_open=True, delay_episode=1)
    moving = transit(last_event_at=NOW - timedelta(hours=1))
    cleared = detect(
        stalled, moving, [ev(S.IN_TRANSIT)], NOW, Rules(tz=JKT, disabled=frozenset({"in_transit"}))
    )
    assert cleared.delay_open is False and cleared.triggers == []
    again = transit(last_event_at=NOW - timedelta(hours=80), delay_episode=1)
    assert names(detect(again, again, [], NOW, RULES)) == [("delayed", "2", None)]


def test_no_delay_once_out_for_delivery_or_final() -> None:
    for status in (S.OUT_FOR_DELIVERY, S.DELIVERED, S.AVAILABLE_FOR_PICKUP):
        f = transit(status=status, eta=date(2026, 11, 20), eta_told=date(2026, 11, 20))
        assert all(t.name != "delayed" for t in detect(f, f, [], NOW, RULES).triggers)


def test_a_pending_delay_is_stale_once_out_for_delivery() -> None:
    assert is_superseded("delayed", S.OUT_FOR_DELIVERY)
    assert is_superseded("out_for_delivery", S.DELIVERED)
    assert is_superseded("failed_attempt", S.OUT_FOR_DELIVERY)
    assert not is_superseded("delivered", S.DELIVERED)
    assert not is_superseded("shipped", S.OUT_FOR_DELIVERY)
    assert not is_superseded("out_for_delivery", S.OUT_FOR_DELIVERY)


def _fields(f: Facts) -> dict:
    return {k: getattr(f, k) for k in Facts.__slots__}


# ---- quiet hours -------------------------------------------------------------------------

Q = (time(21, 0), time(8, 0))


@pytest.mark.parametrize(
    ("utc", "zone", "expected_local_end"),
    [
        # 22:30 in Jakarta (UTC+7): quiet until 08:00 the next morning
        (datetime(2026, 12, 1, 15, 30, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 12, 2, 8, 0)),
        # 02:00 in Jakarta: after midnight, quiet until 08:00 the same day
        (datetime(2026, 11, 30, 19, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 12, 1, 8, 0)),
        # the same instant is 03:00 in Makassar (UTC+8): quiet until 08:00 WITA
        (datetime(2026, 11, 30, 19, 0, tzinfo=UTC), "Asia/Makassar", datetime(2026, 12, 1, 8, 0)),
        # 21:00 sharp in Jayapura (UTC+9) starts the quiet hours
        (datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "Asia/Jayapura", datetime(2026, 12, 2, 8, 0)),
        # 07:59 in Berlin (UTC+1 in winter) is still quiet
        (datetime(2026, 12, 1, 6, 59, tzinfo=UTC), "Europe/Berlin", datetime(2026, 12, 1, 8, 0)),
        # 08:00 in Jakarta is daytime again
        (datetime(2026, 12, 1, 1, 0, tzinfo=UTC), "Asia/Jakarta", None),
        # 20:59 in Jakarta: not yet quiet
        (datetime(2026, 12, 1, 13, 59, tzinfo=UTC), "Asia/Jakarta", None),
        # the same instant is 21:59 in Makassar: quiet
        (datetime(2026, 12, 1, 13, 59, tzinfo=UTC), "Asia/Makassar", datetime(2026, 12, 2, 8, 0)),
    ],
)
def test_quiet_hours_across_midnight_and_zones(utc, zone, expected_local_end) -> None:
    tz = ZoneInfo(zone)
    got = quiet_until(utc, tz, *Q)
    if expected_local_end is None:
        assert got is None
    else:
        assert got == expected_local_end.replace(tzinfo=tz)
        assert got > utc


def test_quiet_hours_in_summer_time_berlin() -> None:
    tz = ZoneInfo("Europe/Berlin")  # UTC+2 in July
    got = quiet_until(datetime(2026, 7, 1, 20, 0, tzinfo=UTC), tz, *Q)  # 22:00 local
    assert got == datetime(2026, 7, 2, 8, 0, tzinfo=tz)
    assert got.astimezone(UTC) == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)


def test_daytime_window_and_no_window() -> None:
    tz = ZoneInfo("Asia/Jakarta")
    lunch = (time(12, 0), time(13, 0))
    assert quiet_until(datetime(2026, 12, 1, 5, 30, tzinfo=UTC), tz, *lunch) == datetime(
        2026, 12, 1, 13, 0, tzinfo=tz
    )
    assert quiet_until(datetime(2026, 12, 1, 7, 0, tzinfo=UTC), tz, *lunch) is None
    assert quiet_until(NOW, tz, time(8, 0), time(8, 0)) is None
