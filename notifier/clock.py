"""Injected clocks: all pipeline code asks one of these for the time, never ``datetime.now()``."""

from __future__ import annotations

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
    """Virtual time running ``scale`` times faster than wall time, from ``start`` at ``epoch``.

    The demo and the simulator share one of these so that a week of parcel journeys passes in a
    minute while every rule (quiet hours, ETA, stall gaps) still sees consistent times. Two
    processes built with the same ``start``, ``epoch`` (a Unix time) and ``scale`` agree.
    """

    def __init__(self, start: datetime, scale: float, epoch: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock start must be timezone-aware")
        self.start = start.astimezone(UTC)
        self.epoch = time.time() if epoch is None else epoch
        self.scale = scale

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.scale)

    def real_seconds(self, virtual: timedelta) -> float:
        """How many wall seconds ``virtual`` lasts on this clock."""
        return virtual.total_seconds() / self.scale
