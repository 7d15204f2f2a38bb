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
aggregator's; the adapter maps them to normalized statuses with its own table. The scripts that
write each journey's scans live in :mod:`carriers.simulator.trips`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import NamedTuple

from carriers.simulator import trips

JAKARTA = timezone(timedelta(hours=7), "WIB")  # scans are written in Asia/Jakarta local time


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
    trip = trips.Trip(seed_of(number), registered_at)
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
        scans=tuple(Scan(trips.utc(at), code, text, where) for at, code, text, where in raw.scans),
        etas=tuple((trips.utc(since), eta) for since, eta in raw.etas),
        expires_at=trips.utc(raw.expires_at) if raw.expires_at is not None else None,
    )


_SCRIPTS = {
    Journey.NORMAL: trips.normal,
    Journey.ETA_SLIP: trips.eta_slip,
    Journey.STALL: trips.stall,
    Journey.FAILED_ATTEMPT: trips.failed_attempt,
    Journey.PICKUP: trips.pickup,
    Journey.EXCEPTION: trips.exception,
    Journey.RETURNED: trips.returned,
    Journey.NEVER_SCANNED: trips.never_scanned,
}
