"""The simulator's virtual time and what is measured on it: the accelerated wall clock, the
request quota, and the counters a benchmark reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class ScaledWallClock:
    """Virtual UTC time running ``scale`` times faster than the wall clock from ``start``."""

    def __init__(self, start: datetime | None = None, scale: float = 1.0) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the simulator's start time must be timezone-aware")
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self.scale = scale
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.scale)


@dataclass(slots=True)
class Stats:
    """What the simulator served; benchmarks divide these by shipments."""

    requests: int = 0  # API requests (track and register), including refused and faulted ones
    track_requests: int = 0
    register_requests: int = 0
    numbers_tracked: int = 0  # numbers asked for in track requests, found or not
    numbers_not_found: int = 0
    numbers_invalid: int = 0
    auto_registered: int = 0
    throttled: int = 0  # refused with 429 by the quota (``rate_limit``), not by a fault
    faults_injected: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # by kind
    # per wire format (carrier id): requests, token_requests, tokens_issued, auth_refused,
    # numbers_tracked, registrations
    wire: dict[str, dict[str, int]] = field(default_factory=dict)


class Quota:
    """A carrier's request quota: ``rate`` per second of the simulator's clock, bursts of ``rate``.

    Measured on the simulator's (possibly accelerated) clock, so a benchmark that runs a week in
    minutes sees the quota a real carrier would apply over that week.
    """

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be positive")
        self.rate = rate
        self.tokens = rate
        self.stamp = now

    def take(self, now: float) -> float:
        """0 if a request may pass at ``now`` (and count it), else the seconds to wait."""
        self.tokens = min(self.rate, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
