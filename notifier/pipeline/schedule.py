"""When to ask the carrier again. Pure functions: no clock, no I/O.

The aim (DESIGN.md, "Polling that costs little") is the fewest carrier calls for a given latency
from a carrier scan to the shopper's message. Calls are spent where news is due and news is
owed quickly (out for delivery, delivered, exceptions, a late parcel's new ETA); they are saved
where nothing the shopper hears about can happen (nights, a label waiting for pickup, the quiet
middle of a line haul). Every rule below was kept because ``bench/timeliness.py`` measured that
it pays; the docstring of each constant says why it has its value.

Times of day are the parcel's local time (``tz``). A carrier's working day is an :class:`Hours`;
:data:`DEFAULT_HOURS` are Indonesian couriers' (the simulator's journeys follow them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from carriers.base import Status

MINUTE = 60  # s
HOUR = 3600  # s
DAY = 24 * HOUR  # s


@dataclass(frozen=True, slots=True)
class Hours:
    """A carrier's working day in the parcel's local time.

    ``out_from``-``out_until``: when couriers leave with parcels (out-for-delivery scans);
    ``deliver_until``: the last deliveries and failed attempts; ``counter_from``-``counter_until``:
    when pickup points hand parcels over.
    """

    out_from: time = time(7, 15)
    out_peak_until: time = time(9, 15)
    out_until: time = time(11, 0)
    deliver_until: time = time(20, 0)
    counter_from: time = time(8, 45)
    counter_until: time = time(22, 45)


# Indonesian couriers (JNE, J&T, SiCepat) load vans from 07:30 and are out by 11:00; deliveries
# run until about 19:00; Indomaret/Alfamart counters hand over parcels until about 22:00. Each
# window starts 15 minutes early so the first scans of the day are caught by a dense poll.
DEFAULT_HOURS = Hours()

DENSE = 13 * MINUTE  # news is due within the hour: 13 min +-10 % keeps p95 under 15 min
FIRST_HOUR = 30 * MINUTE  # just registered: the first pickup scan often follows quickly
LABEL = 4 * HOUR  # label made, not picked up: the pickup itself is not news for the shopper
QUIET_SHARE = 0.25  # in transit: wait a quarter of the time since the last scan ...
TRANSIT_MIN = 1 * HOUR  # ... at least this (hub scans come 2-16 h apart) ...
TRANSIT_MAX = 6 * HOUR  # ... at most this, so a stored ETA is never stale for long
TRANSIT_FRESH = 0  # s
OVERDUE_FRESH = 8 * HOUR
FAILED_OTHERWISE: float | None = DENSE
TOMORROW_PEAK = True
LAST_LOOK: time | None = time(23, 58)
NIGHT_LABEL = True
NEAR_ETA = timedelta(days=1)  # ETA today or tomorrow: the van may leave on any such morning
EXCEPTION_WATCH = 3 * DAY  # an exception resolves (return, release) within days, at any hour
EXCEPTION_LATE = 6 * HOUR  # after that, an old exception is looked at rarely
PUSHED = 6 * HOUR  # the carrier pushes every change: polls are only a safety net
ALIGN_SPREAD = 10 * MINUTE  # wake-ups at a window's start are spread over the minutes before it
JITTER = 0.1  # +-10 %, so shipments registered together do not stay in lockstep
MIN_GAP = 1 * MINUTE  # never sooner than this


def next_check(
    status: Status,
    *,
    now: datetime,
    created_at: datetime,
    eta: date | None,
    tz: tzinfo,
    key: int,
    last_event_at: datetime | None = None,
    hours: Hours = DEFAULT_HOURS,
    pushes: bool = False,
) -> datetime | None:
    """The next poll time for a shipment in ``status``; None for a final status.

    ``last_event_at`` is the newest scan's time (None: no scan yet), ``hours`` the carrier's
    working day, ``pushes`` whether the carrier pushes this shipment's changes to us. The result
    is always later than ``now``.
    """
    if status.is_final:
        return None
    day = _Day(now, tz, hours, key)
    if pushes:
        return day.after(PUSHED)
    if status is Status.OUT_FOR_DELIVERY or status is Status.FAILED_ATTEMPT:
        return _doorstep(status, day)
    if status is Status.AVAILABLE_FOR_PICKUP:
        return day.dense_within(hours.counter_from, hours.counter_until)
    if status is Status.EXCEPTION:
        quiet = (now - (last_event_at or created_at)).total_seconds()
        return day.after(DENSE if quiet < EXCEPTION_WATCH else EXCEPTION_LATE)
    if status is Status.IN_TRANSIT:
        return _in_transit(day, eta, last_event_at or created_at)
    if now - created_at < timedelta(hours=1):  # pending, info_received
        return day.after(FIRST_HOUR)
    if NIGHT_LABEL:
        return day.dense_within(hours.out_from, hours.deliver_until, every=LABEL)
    return day.after(LABEL)


def _doorstep(status: Status, day: _Day) -> datetime:
    """Out for delivery: the delivery (or the failed attempt) comes within the working day.
    A failed attempt: the next run comes the next morning."""
    if status is Status.OUT_FOR_DELIVERY:
        return day.dense_within(day.hours.out_from, day.hours.deliver_until)
    return day.dense_within(day.hours.out_from, day.hours.out_until, otherwise=FAILED_OTHERWISE)


def _in_transit(day: _Day, eta: date | None, since: datetime) -> datetime:
    """Between hubs: back off as the journey goes quiet; near (or past) the ETA, watch the
    morning the van may leave."""
    quiet = (day.now - since).total_seconds()
    today = day.local.date()
    overdue = eta is not None and eta < today
    if quiet < (OVERDUE_FRESH if overdue else TRANSIT_FRESH):
        return day.after(DENSE)
    wait = min(TRANSIT_MAX, max(TRANSIT_MIN, QUIET_SHARE * quiet))
    if eta is not None and eta - today > NEAR_ETA:
        return day.after(wait)
    h = day.hours
    tomorrow = eta is not None and eta - today == NEAR_ETA
    ends = h.out_peak_until if tomorrow and TOMORROW_PEAK else h.out_until
    when = day.dense_within(h.out_from, ends, otherwise=wait)
    if eta == today and LAST_LOOK is not None:
        look = day.last_look()
        if look <= day.now:  # looked already: next, just after the ETA has passed
            look = day.after_midnight()
        when = min(when, look)
    return when


class _Day:
    """``now`` in the parcel's local day, with the helpers the rules share."""

    def __init__(self, now: datetime, tz: tzinfo, hours: Hours, key: int) -> None:
        self.now, self.tz, self.hours, self.key = now, tz, hours, key
        self.local = now.astimezone(tz)

    def after(self, seconds: float) -> datetime:
        """``seconds`` from now, jittered by the shipment's key."""
        return self.now + timedelta(
            seconds=max(MIN_GAP, seconds * (1 + JITTER * _spread(self.key)))
        )

    def last_look(self) -> datetime:
        """Just before local midnight: a look before the delay scan judges an ETA passed."""
        assert LAST_LOOK is not None
        spread = timedelta(seconds=60 * (1 + _spread(self.key)))
        return self._at(self.local.date(), LAST_LOOK) - spread

    def after_midnight(self) -> datetime:
        """:data:`DENSE` after the next local midnight, jittered."""
        midnight = self._at(self.local.date() + timedelta(days=1), time())
        return midnight + (self.after(DENSE) - self.now)

    def dense_within(
        self, start: time, end: time, otherwise: float | None = None, every: float = DENSE
    ) -> datetime:
        """Every :data:`DENSE` inside the local window ``start``-``end``; outside it, after
        ``otherwise`` seconds but no later than the window's next opening (None: at the opening).

        The window opens up to :data:`ALIGN_SPREAD` early, by the shipment's key, so shipments
        waiting for the same morning do not all wake in the same second."""
        today = self.local.date()
        opens, closes = self._at(today, start, early=True), self._at(today, end)
        if opens <= self.now < closes:
            return self.after(every)
        if self.now >= closes:
            opens = self._at(today + timedelta(days=1), start, early=True)
        if otherwise is not None:
            return min(self.after(otherwise), opens)
        return opens

    def _at(self, day: date, moment: time, *, early: bool = False) -> datetime:
        at = datetime.combine(day, moment, tzinfo=self.tz)
        if early:
            at -= timedelta(seconds=ALIGN_SPREAD * (1 + _spread(self.key)) / 2)
        return at


def backoff(
    failures: int, *, now: datetime, base: float, cap: float, key: int, retry_after: float | None
) -> datetime:
    """After ``failures`` consecutive failed checks: base * 2^(failures-1), capped, jittered,
    and never sooner than the carrier's Retry-After."""
    seconds = min(cap, base * 2 ** max(0, failures - 1)) * (1 + JITTER * _spread(key))
    if retry_after is not None:
        seconds = max(seconds, retry_after)
    return now + timedelta(seconds=seconds)


def _spread(key: int) -> float:
    """A stable number in [-1, 1) for ``key``."""
    digest = hashlib.blake2b(key.to_bytes(8, "little", signed=True), digest_size=2).digest()
    return int.from_bytes(digest, "little") / 32768 - 1
