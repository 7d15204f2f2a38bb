"""The adaptive schedule (notifier/pipeline/schedule.py): table tests per status, time of day, ETA
and zone, and properties that hold for every input (never in the past, never None before a final
status, back-off monotone in failures)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import FINAL_STATUSES, Status
from notifier.pipeline import schedule
from notifier.pipeline.schedule import DEFAULT_HOURS, Hours, backoff, next_check

S = Status
JAKARTA = ZoneInfo("Asia/Jakarta")
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
TUESDAY = date(2026, 12, 1)


def at(clock: str, *, day: date = TUESDAY, tz: ZoneInfo = JAKARTA) -> datetime:
    """A local wall-clock time, handed to the schedule in UTC like the pipeline's clock."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=tz).astimezone(UTC)


def wait(
    status: Status,
    clock: str,
    *,
    eta_in: int | None = None,
    quiet: timedelta = 2 * H,
    age: timedelta = 2 * timedelta(days=1),
    tz: ZoneInfo = JAKARTA,
    key: int = 7,
    pushes: bool = False,
) -> timedelta:
    """How long the schedule waits from local ``clock`` on Tuesday."""
    now = at(clock, tz=tz)
    eta = None if eta_in is None else TUESDAY + timedelta(days=eta_in)
    when = next_check(
        status,
        now=now,
        created_at=now - age,
        eta=eta,
        tz=tz,
        key=key,
        last_event_at=now - quiet,
        pushes=pushes,
    )
    assert when is not None
    return when - now


def local(status: Status, clock: str, **kw: object) -> datetime:
    """The local time of the next check."""
    tz = kw.get("tz", JAKARTA)
    assert isinstance(tz, ZoneInfo)
    return (at(clock, tz=tz) + wait(status, clock, **kw)).astimezone(tz)  # type: ignore[arg-type]


DENSE = (schedule.DENSE * 0.9 * MIN / 60, schedule.DENSE * 1.1 * MIN / 60)


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_never_after_a_final_status(status: Status) -> None:
    now = at("10:00")
    assert next_check(status, now=now, created_at=now, eta=None, tz=JAKARTA, key=1) is None


@pytest.mark.parametrize(
    ("status", "clock", "kw", "low", "high"),
    [
        # out for delivery: dense during the couriers' day (the pipeline test expects <= 40 min)
        (S.OUT_FOR_DELIVERY, "10:00", {}, *DENSE),
        (S.OUT_FOR_DELIVERY, "19:50", {}, *DENSE),
        # a failed attempt: dense day and night (returns are scanned at any hour)
        (S.FAILED_ATTEMPT, "02:00", {}, *DENSE),
        # pickup counters open
        (S.AVAILABLE_FOR_PICKUP, "12:00", {}, *DENSE),
        # an exception: dense for days, then rarely
        (S.EXCEPTION, "03:00", {"quiet": 20 * H}, *DENSE),
        (S.EXCEPTION, "03:00", {"quiet": 4 * 24 * H}, 5.4 * H, 6.6 * H),
        # a label just made; a label in the couriers' day
        (S.INFO_RECEIVED, "14:00", {"age": 10 * MIN}, 27 * MIN, 33 * MIN),
        (S.PENDING, "12:00", {"age": 5 * H}, 3.6 * H, 4.4 * H),
        # in transit, ETA far: a quarter of the quiet time, between 1 h and 6 h
        (S.IN_TRANSIT, "13:00", {"eta_in": 3, "quiet": 1 * H}, 0.9 * H, 1.1 * H),
        (S.IN_TRANSIT, "13:00", {"eta_in": 3, "quiet": 12 * H}, 2.7 * H, 3.3 * H),
        (S.IN_TRANSIT, "13:00", {"eta_in": 3, "quiet": 48 * H}, 5.4 * H, 6.6 * H),
        # in transit, ETA today or unknown: dense in the morning window; tomorrow: its peak only
        (S.IN_TRANSIT, "08:00", {"eta_in": 0}, *DENSE),
        (S.IN_TRANSIT, "10:30", {"eta_in": 0}, *DENSE),
        (S.IN_TRANSIT, "10:30", {"eta_in": None}, *DENSE),
        (S.IN_TRANSIT, "08:00", {"eta_in": 1}, *DENSE),
        (S.IN_TRANSIT, "10:30", {"eta_in": 1, "quiet": 8 * H}, 1.8 * H, 2.2 * H),
        # past the ETA: dense while scans keep coming, hourly when quiet
        (S.IN_TRANSIT, "02:00", {"eta_in": -1, "quiet": 3 * H}, *DENSE),
        (S.IN_TRANSIT, "14:00", {"eta_in": -1, "quiet": 30 * H}, 0.9 * H, 1.1 * H),
        # a carrier that pushes: polls are a safety net
        (S.OUT_FOR_DELIVERY, "10:00", {"pushes": True}, 5.4 * H, 6.6 * H),
        (S.IN_TRANSIT, "08:00", {"eta_in": 0, "pushes": True}, 5.4 * H, 6.6 * H),
    ],
)
def test_waits(status: Status, clock: str, kw: dict, low: timedelta, high: timedelta) -> None:
    assert low <= wait(status, clock, **kw) <= high


@pytest.mark.parametrize(
    ("status", "clock", "kw", "earliest", "latest"),
    [
        # nights: the next morning's window, opened up to 10 minutes early
        (S.OUT_FOR_DELIVERY, "21:00", {}, "07:05", "07:15"),
        (S.AVAILABLE_FOR_PICKUP, "23:30", {}, "08:35", "08:45"),
        (S.INFO_RECEIVED, "01:00", {"age": 3 * H}, "07:05", "07:15"),
        # ETA tomorrow, long quiet: wake for the morning window rather than after 6 h
        (S.IN_TRANSIT, "04:00", {"eta_in": 1, "quiet": 30 * H}, "05:00", "07:15"),
        (S.IN_TRANSIT, "06:30", {"eta_in": 1, "quiet": 30 * H}, "07:05", "07:15"),
        # on the ETA day: a last look before midnight, then one just after
        (S.IN_TRANSIT, "23:00", {"eta_in": 0, "quiet": 6 * H}, "23:56", "23:58"),
        (S.IN_TRANSIT, "23:59", {"eta_in": 0, "quiet": 6 * H}, "00:11", "00:15"),
        # overdue and quiet before dawn: hourly, and at the morning window at the latest
        (S.IN_TRANSIT, "06:50", {"eta_in": -2, "quiet": 30 * H}, "07:05", "07:15"),
    ],
)
def test_local_times(status: Status, clock: str, kw: dict, earliest: str, latest: str) -> None:
    got = local(status, clock, **kw).time()
    assert time.fromisoformat(earliest) <= got <= time.fromisoformat(latest)


@pytest.mark.parametrize(
    "tz", [ZoneInfo("Asia/Makassar"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
)
def test_hours_are_the_parcels_local_time(tz: ZoneInfo) -> None:
    assert time(7, 5) <= local(S.OUT_FOR_DELIVERY, "21:00", tz=tz).time() <= time(7, 15)
    assert DENSE[0] <= wait(S.IN_TRANSIT, "08:00", eta_in=0, tz=tz) <= DENSE[1]
    assert wait(S.IN_TRANSIT, "14:00", eta_in=0, tz=tz, quiet=12 * H) >= 2.7 * H


def test_the_same_utc_moment_is_night_in_one_zone_and_day_in_another() -> None:
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, 04:00 in Berlin
    jakarta = next_check(S.OUT_FOR_DELIVERY, now=now, created_at=now, eta=None, tz=JAKARTA, key=1)
    berlin = next_check(
        S.OUT_FOR_DELIVERY, now=now, created_at=now, eta=None, tz=ZoneInfo("Europe/Berlin"), key=1
    )
    assert jakarta is not None and berlin is not None
    assert jakarta - now <= 15 * MIN < 3 * H <= berlin - now


def test_wake_ups_are_spread_by_key() -> None:
    times = {local(S.OUT_FOR_DELIVERY, "21:00", key=k) for k in range(50)}
    assert len(times) > 40
    assert max(times) - min(times) > 5 * MIN


def test_carrier_hours_are_an_input() -> None:
    late_couriers = Hours(
        out_from=time(9), out_peak_until=time(10), out_until=time(13), deliver_until=time(22)
    )
    now = at("21:00")
    when = next_check(
        S.OUT_FOR_DELIVERY,
        now=now,
        created_at=now,
        eta=None,
        tz=JAKARTA,
        key=3,
        hours=late_couriers,
    )
    assert when is not None and DENSE[0] <= when - now <= DENSE[1]
    assert DEFAULT_HOURS.deliver_until < time(21)


def test_hours_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="out_from"):
        Hours(out_from=time(12), out_peak_until=time(9))
    with pytest.raises(ValueError, match="counter"):
        Hours(counter_from=time(22), counter_until=time(8))


def test_backoff_doubles_caps_and_honours_retry_after() -> None:
    now = at("10:00")
    waits = [
        backoff(f, now=now, base=300, cap=3600, key=5, retry_after=None) - now for f in (1, 2, 3)
    ]
    seconds = [w.total_seconds() for w in waits]
    assert seconds[1:] == pytest.approx([2 * seconds[0], 4 * seconds[0]])
    assert backoff(9, now=now, base=300, cap=3600, key=5, retry_after=None) - now <= 1.1 * H
    assert backoff(1, now=now, base=300, cap=3600, key=5, retry_after=7200) - now >= 2 * H


ZONES = st.sampled_from(
    [
        JAKARTA,
        ZoneInfo("Europe/Berlin"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Australia/Lord_Howe"),  # a half-hour DST shift
        ZoneInfo("Asia/Kathmandu"),  # +05:45
        timezone(timedelta(hours=-11)),
        UTC,
    ]
)
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(
    status=st.sampled_from(list(Status)),
    now=MOMENTS,
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
    quiet=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
    eta_in=st.none() | st.integers(min_value=-20, max_value=20),
    tz=ZONES,
    key=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    pushes=st.booleans(),
)
def test_never_in_the_past_never_none_before_final(
    status: Status,
    now: datetime,
    age: timedelta,
    quiet: timedelta | None,
    eta_in: int | None,
    tz: timezone | ZoneInfo,
    key: int,
    pushes: bool,
) -> None:
    eta = None if eta_in is None else now.astimezone(tz).date() + timedelta(days=eta_in)
    when = next_check(
        status,
        now=now,
        created_at=now - age,
        eta=eta,
        tz=tz,
        key=key,
        last_event_at=None if quiet is None else now - quiet,
        pushes=pushes,
    )
    if status.is_final:
        assert when is None
    else:
        assert when is not None and when > now
        assert when - now <= timedelta(days=1)  # no rule sleeps for more than a day


@settings(max_examples=300, deadline=None)
@given(
    failures=st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=6),
    base=st.floats(min_value=1, max_value=3600),
    cap=st.floats(min_value=1, max_value=86400),
    key=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    retry_after=st.none() | st.floats(min_value=0, max_value=86400),
    now=MOMENTS,
)
def test_backoff_is_monotone_in_failures(
    failures: list[int],
    base: float,
    cap: float,
    key: int,
    retry_after: float | None,
    now: datetime,
) -> None:
    times = [
        backoff(f, now=now, base=base, cap=cap, key=key, retry_after=retry_after)
        for f in sorted(failures)
    ]
    assert times == sorted(times)
    assert all(t > now for t in times)
