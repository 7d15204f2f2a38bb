"""When to ask the carrier again: often when something is about to happen, rarely otherwise,
never after a final status, and further apart after each failure. Pure functions."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, tzinfo

from carriers.base import Status

MINUTE = 60  # s
HOUR = 3600  # s

# Base interval per status (seconds). Out for delivery is checked often: the delivered message
# should follow the scan within minutes; a label that was never scanned changes rarely.
INTERVAL: dict[Status, int] = {
    Status.PENDING: 4 * HOUR,
    Status.INFO_RECEIVED: 4 * HOUR,
    Status.IN_TRANSIT: 3 * HOUR,
    Status.OUT_FOR_DELIVERY: 30 * MINUTE,
    Status.FAILED_ATTEMPT: 2 * HOUR,
    Status.AVAILABLE_FOR_PICKUP: 4 * HOUR,
    Status.EXCEPTION: 2 * HOUR,
}
NEW_SHIPMENT = 30 * MINUTE  # first hour after registration: the first scan is often quick
NEAR_ETA = 1 * HOUR  # in transit with the ETA today or tomorrow
JITTER = 0.1  # +-10 %, so shipments registered together do not stay in lockstep


def next_check(
    status: Status,
    *,
    now: datetime,
    created_at: datetime,
    eta: date | None,
    tz: tzinfo,
    key: int,
) -> datetime | None:
    """The next poll time for a shipment in ``status``; None for a final status."""
    if status.is_final:
        return None
    seconds = INTERVAL.get(status, 3 * HOUR)
    if status in (Status.PENDING, Status.INFO_RECEIVED) and now - created_at < timedelta(hours=1):
        seconds = NEW_SHIPMENT
    if status is Status.IN_TRANSIT and eta is not None:
        days_left = (eta - now.astimezone(tz).date()).days
        if days_left <= 1:
            seconds = NEAR_ETA
    return now + timedelta(seconds=seconds * (1 + JITTER * _spread(key)))


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
