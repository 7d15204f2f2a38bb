"""Scripted parcel journeys: pure functions of (tracking number, registration time, now).

A journey is written out in full when a number is registered: every scan, every ETA the carrier
will announce and, for a parcel that is never scanned, when it expires. The script depends only on
the number (its jitter comes from a hash of the number, so the same number always travels the
same way) and the registration time; :meth:`Script.at` then answers what the carrier would show at
any moment. Nothing here reads a clock or does I/O.

Journeys and the tracking-number prefixes that choose them (``SIMNRM0001``...):

==================  ========  =========  ==================================================
journey             prefix    lasts      what happens (virtual time, from registration)
==================  ========  =========  ==================================================
``normal``          SIMNRM    0.8-3 d    picked up, sorted, line haul, out for delivery,
                                         delivered on or before the ETA
``eta_slip``        SIMETA    2.8-6 d    as normal, but the carrier moves its ETA later once
                                         or twice (DELAYED scans)
``stall``           SIMSTL    4.1-7 d    no scan for 83-104 h while in transit (the ETA
                                         passes), then resumes and delivers
``failed_attempt``  SIMFAT    1.8-4.1 d  out for delivery, nobody home, out again next day,
                                         delivered
``pickup``          SIMPUP    1.9-4.9 d  held at a pickup point (Indomaret/Alfamart), ETA =
                                         that day, collected 20-50 h later (= delivered)
``exception``       SIMEXC    0.8-2.9 d  damaged at the destination hub: ends in exception
                              3.4-6 d    or (half of the numbers) held by customs, then
                                         returned to the sender
``returned``        SIMRTS    3.8-6.1 d  two failed attempts, then sent back and returned
                                         to the sender
``never_scanned``   SIMNVR    5 d        label created, then nothing; expires after 5 days
==================  ========  =========  ==================================================

Every journey starts with a MANIFESTED event at registration and ends within 7 virtual days.
Couriers keep daylight hours in Asia/Jakarta (out for delivery 07:30-12:30, deliveries until
about 19:00); hubs sort around the clock.

Any other number gets a deterministic weighted choice from its hash (mostly ``normal``; see
:data:`WEIGHTS`), which is what benchmark numbers use.

The native status codes (:data:`STATUS_TEXT`) are the simulator's own wire vocabulary, like an
aggregator's; the adapter maps them to normalized statuses with its own table.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import NamedTuple

from carriers.simulator.manifest import Phrasebook, Route, pick_route

JAKARTA = timezone(timedelta(hours=7), "WIB")  # scans are written in Asia/Jakarta local time
NEVER_SCANNED_EXPIRY = timedelta(days=5)  # a label nobody scans expires after this long


class Journey(StrEnum):
    """The scripted journeys (stable names, used by registration and the demo)."""

    NORMAL = "normal"
    ETA_SLIP = "eta_slip"
    STALL = "stall"
    FAILED_ATTEMPT = "failed_attempt"
    PICKUP = "pickup"
    EXCEPTION = "exception"
    RETURNED = "returned"
    NEVER_SCANNED = "never_scanned"


SIM_PREFIX = "SIM"  # numbers with this prefix register themselves at first sight
PREFIXES: dict[str, Journey] = {
    "SIMNRM": Journey.NORMAL,
    "SIMETA": Journey.ETA_SLIP,
    "SIMSTL": Journey.STALL,
    "SIMFAT": Journey.FAILED_ATTEMPT,
    "SIMPUP": Journey.PICKUP,
    "SIMEXC": Journey.EXCEPTION,
    "SIMRTS": Journey.RETURNED,
    "SIMNVR": Journey.NEVER_SCANNED,
}
# Weighted choice for numbers without a journey prefix (percent): roughly the mix a marketplace
# sees, so benchmarks exercise every path while most parcels simply arrive.
WEIGHTS: dict[Journey, int] = {
    Journey.NORMAL: 70,
    Journey.ETA_SLIP: 8,
    Journey.STALL: 5,
    Journey.FAILED_ATTEMPT: 7,
    Journey.PICKUP: 5,
    Journey.EXCEPTION: 2,
    Journey.RETURNED: 2,
    Journey.NEVER_SCANNED: 1,
}

# The simulator's native status codes and their English status text.
STATUS_TEXT: dict[str, str] = {
    "PENDING": "Pending",
    "MANIFESTED": "Shipment information received",
    "PICKED_UP": "Picked up by courier",
    "ARRIVED_HUB": "Arrived at sorting center",
    "DEPARTED_HUB": "Departed sorting center",
    "DELAYED": "Delayed in transit",
    "OUT_FOR_DELIVERY": "Out for delivery",
    "DELIVERY_FAILED": "Delivery attempt failed",
    "READY_FOR_PICKUP": "Available for pickup",
    "COLLECTED": "Collected by recipient",
    "DELIVERED": "Delivered",
    "DAMAGED": "Damaged",
    "CUSTOMS_HOLD": "Held by customs",
    "RETURNING": "Returning to sender",
    "RETURNED": "Returned to sender",
    "EXPIRED": "Expired",
}


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan as the carrier records it; ``at`` is aware UTC."""

    at: datetime
    code: str
    description: str
    location: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the carrier shows at one moment: status, ETA and the scans so far, oldest first."""

    status_code: str
    estimated_delivery: date | None
    scans: tuple[Scan, ...]

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status_code, self.status_code)


@dataclass(frozen=True, slots=True)
class Script:
    """A whole journey, fixed in advance. ``scans`` oldest first; ``etas`` are (from, date)."""

    number: str
    journey: Journey
    registered_at: datetime
    scans: tuple[Scan, ...]
    etas: tuple[tuple[datetime, date | None], ...] = ()
    expires_at: datetime | None = None
    _times: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_times", tuple(s.at for s in self.scans))

    def visible(self, now: datetime) -> int:
        """How many scans have happened by ``now``."""
        return bisect_right(self._times, now)

    def at(self, now: datetime) -> Snapshot:
        """The carrier's answer at ``now`` (aware)."""
        scans = self.scans[: self.visible(now)]
        code = scans[-1].code if scans else "PENDING"
        if self.expires_at is not None and now >= self.expires_at:
            code = "EXPIRED"
        eta: date | None = None
        for since, value in self.etas:
            if since > now:
                break
            eta = value
        return Snapshot(code, eta, scans)

    @property
    def changes(self) -> tuple[datetime, ...]:
        """Every moment the answer changes (scans, ETA moves, expiry), in order."""
        moments = {*self._times, *(since for since, _ in self.etas)}
        if self.expires_at is not None:
            moments.add(self.expires_at)
        return tuple(sorted(moments))

    @property
    def ends_at(self) -> datetime:
        """When the last change happens; nothing changes after this."""
        return self.changes[-1] if self.changes else self.registered_at


def number_key(number: str) -> str:
    """The canonical form of a number: no spaces, upper case (carriers ignore both)."""
    return "".join(number.split()).upper()


def seed_of(number: str) -> int:
    """A stable 64-bit seed from the number (never Python's randomized ``hash()``)."""
    digest = hashlib.blake2b(number_key(number).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def choose_journey(number: str) -> Journey:
    """The journey a number's prefix names, else a weighted choice by its hash."""
    key = number_key(number)
    named = PREFIXES.get(key[:6])
    if named is not None:
        return named
    ticket = (seed_of(key) >> 16) % sum(WEIGHTS.values())
    for journey, weight in WEIGHTS.items():
        if ticket < weight:
            return journey
        ticket -= weight
    return Journey.NORMAL  # unreachable: the tickets cover the weights


class Plan(NamedTuple):
    """A journey in raw form (POSIX seconds), for callers that answer many numbers fast."""

    journey: Journey
    scans: list[tuple[float, str, str, str]]  # (time, code, description, location), oldest first
    etas: list[tuple[float, date | None]]  # (from, ETA), in time order
    expires_at: float | None


def plan(number: str, registered_at: float, journey: Journey | str | None = None) -> Plan:
    """The whole journey of ``number`` registered at POSIX time ``registered_at``.

    Raises ValueError for an unknown journey name.
    """
    chosen = Journey(journey) if journey else choose_journey(number)
    trip = _Trip(number, registered_at)
    _SCRIPTS[chosen](trip)
    trip.etas.sort(key=lambda change: change[0])
    return Plan(chosen, trip.scans, trip.etas, trip.expires_at)


def script(number: str, registered_at: datetime, journey: Journey | str | None = None) -> Script:
    """The whole journey of ``number`` registered at ``registered_at`` (aware), as datetimes."""
    if registered_at.tzinfo is None:
        raise ValueError("registered_at must be timezone-aware")
    raw = plan(number, registered_at.timestamp(), journey)
    return Script(
        number=number,
        journey=raw.journey,
        registered_at=registered_at,
        scans=tuple(Scan(_utc(at), code, text, where) for at, code, text, where in raw.scans),
        etas=tuple((_utc(since), eta) for since, eta in raw.etas),
        expires_at=_utc(raw.expires_at) if raw.expires_at is not None else None,
    )


_HOUR = 3600.0
_DAY = 86400.0
_LOCAL_OFFSET = 7 * _HOUR  # JAKARTA


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class _Trip:
    """Writes one journey: a cursor in virtual time (POSIX seconds, cheap to step), seeded
    jitter, and the route's phrasebook."""

    def __init__(self, number: str, start: float) -> None:
        self.rng = random.Random(seed_of(number))
        self.route: Route = pick_route(self.rng)
        self.phrases = Phrasebook(self.route)
        self.t = start
        self.scans: list[tuple[float, str, str, str]] = []
        self.etas: list[tuple[float, date | None]] = []
        self.expires_at: float | None = None

    def wait(self, low_hours: float, high_hours: float) -> None:
        self.t += self.rng.uniform(low_hours, high_hours) * _HOUR

    def open_hours(self, start: float, end: float) -> None:
        """Move to working hours (local time): couriers and counters do not work at night."""
        late = self.rng.uniform(0, 1.5)  # drawn either way: the route must not depend on start
        local = self.t + _LOCAL_OFFSET
        hour = (local % _DAY) / _HOUR
        if start <= hour < end:
            return
        midnight = local - local % _DAY + (0 if hour < start else _DAY)
        opening = midnight + (start + late) * _HOUR
        self.t = opening - _LOCAL_OFFSET

    def scan(self, code: str, key: str, location: str) -> float:
        at = float(int(self.t))  # carriers report whole seconds
        text = self.phrases.describe(key, at + _LOCAL_OFFSET)
        self.scans.append((at, code, text, location))
        return at

    def eta(self, since: float, value: date | None) -> None:
        self.etas.append((since, value))

    def local_date(self) -> date:
        return _utc(self.t + _LOCAL_OFFSET).date()


def _first_mile(trip: _Trip) -> float:
    """Label, pickup, origin hub, departure; returns the pickup time (when an ETA appears)."""
    r = trip.route
    trip.scan("MANIFESTED", "manifested", r.origin_city)
    trip.wait(1, 6)
    trip.open_hours(9, 17)
    picked = trip.scan("PICKED_UP", "picked_up", r.origin_city)
    trip.wait(1, 3)
    trip.scan("ARRIVED_HUB", "received_origin", r.origin_hub)
    trip.wait(2, 6)
    trip.scan("DEPARTED_HUB", "departed_origin", r.origin_hub)
    return picked


def _line_haul(trip: _Trip) -> None:
    r = trip.route
    if r.transit_hub:
        trip.wait(6, 12)
        trip.scan("ARRIVED_HUB", "arrived_transit", r.transit_hub)
        trip.wait(2, 5)
        trip.scan("DEPARTED_HUB", "departed_transit", r.transit_hub)
    trip.wait(8, 16)
    trip.scan("ARRIVED_HUB", "arrived_destination", r.destination_hub)


def _out_for_delivery(trip: _Trip) -> float:
    trip.wait(2, 6)
    trip.open_hours(7.5, 11)
    return trip.scan("OUT_FOR_DELIVERY", "out_for_delivery", trip.route.destination_city)


def _deliver(trip: _Trip) -> None:
    trip.wait(1, 5)
    trip.open_hours(8, 18)
    trip.scan("DELIVERED", "delivered", trip.route.destination_city)


def _normal(trip: _Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    _out_for_delivery(trip)
    _deliver(trip)
    slack = timedelta(days=trip.rng.choice((0, 0, 1)))
    trip.eta(picked, trip.local_date() + slack)


def _eta_slip(trip: _Trip) -> None:
    picked = _first_mile(trip)
    promised = trip.local_date() + timedelta(days=1)
    trip.eta(picked, promised)
    trip.wait(3, 8)
    reason = trip.rng.choice(("delayed_weather", "delayed_vessel"))
    first = trip.scan("DELAYED", reason, trip.route.origin_hub)
    trip.wait(24, 40)  # the delay the carrier now announces
    moves = [first]
    _line_haul(trip)
    if trip.rng.random() < 0.5:  # half of them slip a second time at the destination hub
        trip.wait(2, 6)
        moves.append(trip.scan("DELAYED", "delayed_backlog", trip.route.destination_hub))
        trip.wait(20, 30)
    _out_for_delivery(trip)
    _deliver(trip)
    delivered_on = trip.local_date()
    for i, moved in enumerate(moves, start=1):
        # Each announcement is later than the one before; the last one is the real date.
        eta = delivered_on if i == len(moves) else promised + timedelta(days=i)
        trip.eta(moved, max(eta, promised + timedelta(days=i)))


def _stall(trip: _Trip) -> None:
    picked = _first_mile(trip)
    expected = trip.local_date() + timedelta(days=2)
    trip.eta(picked, expected)
    # Lost in a sorting backlog: with the line haul after it, no scan for 83-104 hours, so a
    # 72-hour stall rule has at least 11 hours to notice before the parcel moves again.
    trip.wait(77, 88)
    _line_haul(trip)
    _out_for_delivery(trip)
    _deliver(trip)


def _failed_attempt(trip: _Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    _out_for_delivery(trip)
    trip.eta(picked, trip.local_date() + timedelta(days=1))
    trip.wait(2, 5)
    trip.scan("DELIVERY_FAILED", "failed_not_home", trip.route.destination_city)
    trip.wait(14, 18)
    trip.open_hours(7.5, 10)
    trip.scan("OUT_FOR_DELIVERY", "out_for_delivery", trip.route.destination_city)
    _deliver(trip)


def _pickup(trip: _Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    trip.wait(3, 8)
    trip.open_hours(8, 20)
    trip.scan("READY_FOR_PICKUP", "ready_for_pickup", trip.route.pickup_point)
    trip.eta(picked, trip.local_date())
    trip.wait(20, 50)
    trip.open_hours(9, 21)
    trip.scan("COLLECTED", "collected", trip.route.pickup_point)


def _exception(trip: _Trip) -> None:
    if trip.rng.random() < 0.5:
        _damaged(trip)
    else:
        _customs(trip)


def _damaged(trip: _Trip) -> None:
    picked = _first_mile(trip)
    trip.eta(picked, trip.local_date() + timedelta(days=2))
    _line_haul(trip)
    trip.wait(2, 10)
    damaged = trip.scan("DAMAGED", "damaged", trip.route.destination_hub)
    trip.eta(damaged, None)  # the carrier withdraws its ETA while the claim runs


def _customs(trip: _Trip) -> None:
    trip.route = trip.route.from_abroad(trip.rng)
    trip.phrases = Phrasebook(trip.route)
    picked = _first_mile(trip)
    trip.eta(picked, trip.local_date() + timedelta(days=4))
    trip.wait(12, 24)
    gateway = trip.route.transit_hub or trip.route.origin_hub
    trip.scan("ARRIVED_HUB", "arrived_transit", gateway)
    trip.wait(2, 6)
    held = trip.scan("CUSTOMS_HOLD", "customs_hold", gateway)
    trip.eta(held, None)
    trip.wait(36, 60)
    trip.scan("RETURNING", "returning", gateway)
    trip.wait(20, 30)
    trip.scan("RETURNED", "returned", trip.route.origin_city)


def _returned(trip: _Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    _out_for_delivery(trip)
    trip.eta(picked, trip.local_date())
    r = trip.route
    trip.wait(2, 5)
    trip.scan("DELIVERY_FAILED", "failed_bad_address", r.destination_city)
    trip.wait(14, 18)
    trip.open_hours(7.5, 10)
    trip.scan("OUT_FOR_DELIVERY", "out_for_delivery", r.destination_city)
    trip.wait(2, 5)
    trip.scan("DELIVERY_FAILED", "failed_refused", r.destination_city)
    trip.wait(6, 12)
    returning = trip.scan("RETURNING", "returning", r.destination_hub)
    trip.eta(returning, None)
    trip.wait(16, 30)
    trip.scan("RETURNING", "returning_arrived", r.origin_hub)
    trip.wait(4, 12)
    trip.open_hours(9, 17)
    trip.scan("RETURNED", "returned", r.origin_city)


def _never_scanned(trip: _Trip) -> None:
    start = trip.t
    trip.scan("MANIFESTED", "manifested", trip.route.origin_city)
    trip.expires_at = start + NEVER_SCANNED_EXPIRY.total_seconds()


_SCRIPTS = {
    Journey.NORMAL: _normal,
    Journey.ETA_SLIP: _eta_slip,
    Journey.STALL: _stall,
    Journey.FAILED_ATTEMPT: _failed_attempt,
    Journey.PICKUP: _pickup,
    Journey.EXCEPTION: _exception,
    Journey.RETURNED: _returned,
    Journey.NEVER_SCANNED: _never_scanned,
}
