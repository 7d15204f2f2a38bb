"""Injected clocks: all pipeline code asks one of these for the time, never ``datetime.now()``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of timezone-aware UTC datetimes."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Virtual time running ``scale`` times faster than wall time from ``start``.

    The demo and the simulator share one of these so that a week of parcel journeys passes in a
    minute while every rule (quiet hours, ETA, stall gaps) still sees consistent times.
    """

    def __init__(self, start: datetime, scale: float) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self.scale = scale

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._t0
        return self._start + timedelta(seconds=elapsed * self.scale)

    def real_seconds(self, virtual: timedelta) -> float:
        """How many wall seconds ``virtual`` lasts on this clock."""
        return virtual.total_seconds() / self.scale
