"""When to ask the carrier again. Pure functions: no clock, no I/O.

The aim (DESIGN.md, "Polling that costs little") is the fewest carrier calls for a given latency
from a carrier scan to the shopper's message. Calls go where news that is owed quickly is due:
out for delivery, delivered, exceptions, a late parcel's new ETA. They are saved where nothing
the shopper hears about can happen: nights, a label waiting for pickup, the quiet middle of a line
haul, a carrier that pushes every change. ``bench/timeliness.py`` measured every rule here; each
constant says why it has its value, and the module's README figures are in docs/performance.md.

The rules, by status (times of day are the parcel's local time, ``tz``; a carrier's working day
is an :class:`Hours`):

* final: never again;
* the carrier pushes this shipment's changes: a safety-net poll every :data:`PUSHED`, because a
  push makes the shipment due at once anyway (pipeline/push.py);
* out_for_delivery: every :data:`DENSE` until the couriers' day ends, then at the next morning's
  first runs (no courier delivers at 2 am);
* failed_attempt: every :data:`DENSE`, day and night: the next run starts early in the morning,
  and a parcel sent back is scanned at the hub at any hour;
* available_for_pickup: every :data:`DENSE` while pickup counters are open, asleep when closed;
* exception: every :data:`DENSE` for :data:`EXCEPTION_WATCH` after the last scan (a return or a
  release comes within days, at any hour), then every :data:`EXCEPTION_LATE`;
* in_transit: back off as the journey goes quiet (:data:`QUIET_SHARE` of the time since the last
  scan, between :data:`TRANSIT_MIN` and :data:`TRANSIT_MAX`); when the ETA is today or tomorrow,
  passed, or unknown, every :data:`DENSE` through the morning window in which vans leave (only its
  peak when the ETA is tomorrow); a look just before midnight on the ETA day and one just after, so
  the zero-call delay scan judges "ETA passed" on a fresh ETA; past the ETA, every :data:`DENSE`
  while scans keep coming (the carrier's next word is a new ETA, owed to the shopper at once);
* pending, info_received: every :data:`FIRST_HOUR` just after registration, then every
  :data:`LABEL` during the couriers' day (a pickup is not news to the shopper).

Every wait is jittered by the shipment's key (:data:`JITTER`), and wake-ups at a window's start
are spread over the :data:`ALIGN_SPREAD` before it, so shipments do not reach the carrier's rate
limit in one burst. Stalls and passed ETAs are noticed by the delay scan (pipeline/delays.py)
with no call at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from carriers.base import Status

MINUTE = 60  # s
HOUR = 3600  # s
DAY = 24 * HOUR  # s


@dataclass(frozen=True, slots=True)
class Hours:
    """A carrier's working day in the parcel's local time.

    ``out_from``-``out_until``: when couriers leave with parcels (out-for-delivery scans), most
    of them by ``out_peak_until``; ``deliver_until``: the last deliveries and failed attempts;
    ``counter_from``-``counter_until``: when pickup points hand parcels over.
    """

    out_from: time = time(7, 15)
    out_peak_until: time = time(9, 15)
    out_until: time = time(11, 0)
    deliver_until: time = time(20, 0)
    counter_from: time = time(8, 45)
    counter_until: time = time(22, 45)

    def __post_init__(self) -> None:
        if not self.out_from < self.out_peak_until <= self.out_until <= self.deliver_until:
            raise ValueError("need out_from < out_peak_until <= out_until <= deliver_until")
        if not self.counter_from < self.counter_until:
            raise ValueError("need counter_from < counter_until")


# Indonesian couriers (JNE, J&T, SiCepat, as the simulator's journeys): vans leave from 07:30,
# nine in ten by 09:00, all by 11:00; deliveries until about 19:00; Indomaret/Alfamart counters
# hand parcels over 09:00-22:30. Windows open 15 minutes early and close 15-60 minutes late.
DEFAULT_HOURS = Hours()

DENSE = 13 * MINUTE  # news due within the hour: 13 min (+10 % jitter) keeps p95 under 15 min
FIRST_HOUR = 30 * MINUTE  # just registered: a pickup scan may follow the label quickly
LABEL = 4 * HOUR  # label made, not picked up: the pickup itself is not news for the shopper
QUIET_SHARE = 0.25  # in transit, wait a quarter of the time since the last scan: scans come in
TRANSIT_MIN = 1 * HOUR  # bursts (arrival, then a hub's verdict within hours), long legs are quiet
TRANSIT_MAX = 6 * HOUR  # a stored ETA is never older than this (the delay scan judges it)
NEAR_ETA = 1  # days: ETA today or tomorrow, the van may leave on that morning
OVERDUE_FRESH = 8 * HOUR  # past the ETA, a scan this recent means the carrier is re-planning
OVERDUE_QUIET = 1 * HOUR  # past the ETA and quiet: the first new scan starts the dense watch
LAST_LOOK = time(23, 58)  # on the ETA day: look just before the ETA passes at midnight ...
LAST_LOOK_SPREAD = 2 * MINUTE  # ... spread over these minutes before it
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

    ``now`` and ``created_at`` are aware; ``eta`` is the carrier's date; ``key`` (the shipment
    id) makes the jitter stable. ``last_event_at`` is the newest scan's time (None: not known,
    or no scan yet), ``hours`` the carrier's working day, ``pushes`` whether the carrier pushes
    this shipment's changes to us. The result is always later than ``now``.
    """
    if status.is_final:
        return None
    day = _Day(now, tz, hours, key)
    if pushes:
        return day.after(PUSHED)
    rule = _RULES.get(status, _label)
    when = rule(day, eta, last_event_at or created_at, created_at)
    return max(when, now + timedelta(seconds=MIN_GAP))  # a wall-clock gap (DST) cannot undercut


def _out_for_delivery(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """The delivery (or a failed attempt) comes before the couriers' day ends; nothing at night."""
    return day.dense_within(day.hours.out_from, day.hours.deliver_until)


def _failed_attempt(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """The next run leaves early next morning; a parcel sent back is scanned at any hour."""
    return day.after(DENSE)


def _pickup(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """Collected while the counter is open."""
    return day.dense_within(day.hours.counter_from, day.hours.counter_until)


def _exception(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """A return or a release follows within days, at any hour; an old exception rarely moves."""
    quiet = (day.now - since).total_seconds()
    return day.after(DENSE if quiet < EXCEPTION_WATCH else EXCEPTION_LATE)


def _label(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """Waiting for pickup (not news for the shopper): rarely, and only in the couriers' day."""
    if day.now - created < timedelta(seconds=HOUR):
        return day.after(FIRST_HOUR)
    return day.dense_within(day.hours.out_from, day.hours.deliver_until, every=LABEL)


def _in_transit(day: _Day, eta: date | None, since: datetime, created: datetime) -> datetime:
    """Back off as the line haul goes quiet; when the van may leave this morning (ETA today,
    tomorrow, or unknown), watch the morning window; look around midnight on the ETA day."""
    quiet = (day.now - since).total_seconds()
    days_left = None if eta is None else (eta - day.local.date()).days
    if days_left is not None and days_left < 0:
        return _overdue(day, quiet)
    wait = min(TRANSIT_MAX, max(TRANSIT_MIN, QUIET_SHARE * quiet))
    if days_left is not None and days_left > NEAR_ETA:
        return day.after(wait)
    h = day.hours
    ends = h.out_peak_until if days_left == NEAR_ETA else h.out_until
    when = day.dense_within(h.out_from, ends, otherwise=wait)
    if days_left == 0:
        when = min(when, day.around_midnight())
    return when


def _overdue(day: _Day, quiet: float) -> datetime:
    """Past the ETA the shopper has been told of the delay, and the carrier's next word (a new
    ETA, the van leaving) is owed at once: dense while scans keep coming, hourly while quiet,
    dense through every morning window."""
    if quiet < OVERDUE_FRESH:
        return day.after(DENSE)
    return day.dense_within(day.hours.out_from, day.hours.out_until, otherwise=OVERDUE_QUIET)


_Rule = Callable[["_Day", date | None, datetime, datetime], datetime]
_RULES: dict[Status, _Rule] = {
    Status.OUT_FOR_DELIVERY: _out_for_delivery,
    Status.FAILED_ATTEMPT: _failed_attempt,
    Status.AVAILABLE_FOR_PICKUP: _pickup,
    Status.EXCEPTION: _exception,
    Status.IN_TRANSIT: _in_transit,
}


class _Day:
    """``now`` in the parcel's local day, with the helpers the rules share."""

    def __init__(self, now: datetime, tz: tzinfo, hours: Hours, key: int) -> None:
        self.now, self.tz, self.hours, self.key = now, tz, hours, key
        self.local = now.astimezone(tz)

    def after(self, seconds: float) -> datetime:
        """``seconds`` from now, jittered by the shipment's key; at least :data:`MIN_GAP`."""
        jittered = seconds * (1 + JITTER * _spread(self.key))
        return self.now + timedelta(seconds=max(MIN_GAP, jittered))

    def dense_within(
        self, start: time, end: time, otherwise: float | None = None, every: float | None = None
    ) -> datetime:
        """Every ``every`` (default :data:`DENSE`) inside the local window ``start``-``end``;
        outside it after ``otherwise`` seconds, but no later than the window's next opening
        (``otherwise`` None: at the opening). The window opens up to :data:`ALIGN_SPREAD` early,
        by the shipment's key."""
        today = self.local.date()
        opens, closes = self._at(today, start, ALIGN_SPREAD), self._at(today, end)
        if opens <= self.now < closes:
            return self.after(DENSE if every is None else every)
        if self.now >= closes:
            opens = self._at(today + timedelta(days=1), start, ALIGN_SPREAD)
        if otherwise is None:
            return opens
        return min(self.after(otherwise), opens)

    def around_midnight(self) -> datetime:
        """On the ETA day: the last look before midnight, or once it is done, :data:`DENSE`
        after midnight (the next check then follows the rules for an ETA that has passed)."""
        look = self._at(self.local.date(), LAST_LOOK, LAST_LOOK_SPREAD)
        if look > self.now:
            return look
        midnight = self._at(self.local.date() + timedelta(days=1), time())
        return midnight + (self.after(DENSE) - self.now)

    def _at(self, day: date, moment: time, spread: float = 0) -> datetime:
        """Local ``moment`` on ``day``, less up to ``spread`` seconds by the shipment's key."""
        early = timedelta(seconds=spread * (1 + _spread(self.key)) / 2)
        return datetime.combine(day, moment, tzinfo=self.tz) - early


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
