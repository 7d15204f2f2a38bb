"""Writing a journey out: a cursor in virtual time that records scans and ETA announcements,
and one script per journey (:data:`carriers.simulator.journeys.Journey` picks which).

Each script steps a :class:`Trip` through the scans its journey makes, drawing every wait from the
trip's seeded generator, so the same seed always yields the same scans. Times are POSIX seconds
(cheap to step); nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from carriers.simulator.manifest import Phrasebook, Route, pick_route

NEVER_SCANNED_EXPIRY = timedelta(days=5)  # a label nobody scans expires after this long

_HOUR = 3600.0
_DAY = 86400.0
_LOCAL_OFFSET = 7 * _HOUR  # Asia/Jakarta (WIB), as journeys.JAKARTA


def utc(timestamp: float) -> datetime:
    """Virtual POSIX seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)


class Trip:
    """Writes one journey: a cursor in virtual time (POSIX seconds, cheap to step), seeded
    jitter, and the route's phrasebook."""

    def __init__(self, seed: int, start: float) -> None:
        self.rng = random.Random(seed)
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
        return utc(self.t + _LOCAL_OFFSET).date()


def _first_mile(trip: Trip) -> float:
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


def _line_haul(trip: Trip) -> None:
    r = trip.route
    if r.transit_hub:
        trip.wait(6, 12)
        trip.scan("ARRIVED_HUB", "arrived_transit", r.transit_hub)
        trip.wait(2, 5)
        trip.scan("DEPARTED_HUB", "departed_transit", r.transit_hub)
    trip.wait(8, 16)
    trip.scan("ARRIVED_HUB", "arrived_destination", r.destination_hub)


def _out_for_delivery(trip: Trip) -> float:
    trip.wait(2, 6)
    trip.open_hours(7.5, 11)
    return trip.scan("OUT_FOR_DELIVERY", "out_for_delivery", trip.route.destination_city)


def _deliver(trip: Trip) -> None:
    trip.wait(1, 5)
    trip.open_hours(8, 18)
    trip.scan("DELIVERED", "delivered", trip.route.destination_city)


def normal(trip: Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    _out_for_delivery(trip)
    _deliver(trip)
    slack = timedelta(days=trip.rng.choice((0, 0, 1)))
    trip.eta(picked, trip.local_date() + slack)


def eta_slip(trip: Trip) -> None:
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


def stall(trip: Trip) -> None:
    picked = _first_mile(trip)
    expected = trip.local_date() + timedelta(days=2)
    trip.eta(picked, expected)
    # Lost in a sorting backlog: with the line haul after it, no scan for 83-104 hours, so a
    # 72-hour stall rule has at least 11 hours to notice before the parcel moves again.
    trip.wait(77, 88)
    _line_haul(trip)
    _out_for_delivery(trip)
    _deliver(trip)


def failed_attempt(trip: Trip) -> None:
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


def pickup(trip: Trip) -> None:
    picked = _first_mile(trip)
    _line_haul(trip)
    trip.wait(3, 8)
    trip.open_hours(8, 20)
    trip.scan("READY_FOR_PICKUP", "ready_for_pickup", trip.route.pickup_point)
    trip.eta(picked, trip.local_date())
    trip.wait(20, 50)
    trip.open_hours(9, 21)
    trip.scan("COLLECTED", "collected", trip.route.pickup_point)


def exception(trip: Trip) -> None:
    if trip.rng.random() < 0.5:
        _damaged(trip)
    else:
        _customs(trip)


def _damaged(trip: Trip) -> None:
    picked = _first_mile(trip)
    trip.eta(picked, trip.local_date() + timedelta(days=2))
    _line_haul(trip)
    trip.wait(2, 10)
    damaged = trip.scan("DAMAGED", "damaged", trip.route.destination_hub)
    trip.eta(damaged, None)  # the carrier withdraws its ETA while the claim runs


def _customs(trip: Trip) -> None:
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


def returned(trip: Trip) -> None:
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


def never_scanned(trip: Trip) -> None:
    start = trip.t
    trip.scan("MANIFESTED", "manifested", trip.route.origin_city)
    trip.expires_at = start + NEVER_SCANNED_EXPIRY.total_seconds()
