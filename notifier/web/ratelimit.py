"""An in-process rate limiter: sliding windows per key (a client address, an order number).

Used by the shopper's order look-up (``POST /t``), where guessing order numbers and contact
details must stay slow. Each process keeps its own counts in memory: with N replicas behind a
load balancer a client gets up to N times the allowance (acceptable for a look-up that reveals
nothing without the right contact; put a shared limiter in the proxy if that matters). Counts are
lost on restart, which is fine for windows of minutes to an hour.

Time is the process's monotonic clock, not the pipeline's injected clock: the demo runs the
pipeline on accelerated virtual time, and a shopper's minute is a real minute.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_APP_LOCK = threading.Lock()
MAX_KEYS = 100_000  # keys remembered; the least recently used are forgotten beyond this


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``count`` hits per ``seconds``."""

    count: int
    seconds: float


class RateLimiter:
    """Sliding-window log per key: a hit is allowed when, for every rule, fewer than
    ``count`` allowed hits of that key fall within the last ``seconds``. Refused hits are not
    recorded, so hammering does not extend a wait (nor lock a shopper out for longer).
    Thread-safe."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        now: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if not rules:
            raise ValueError("a rate limiter needs at least one rule")
        self.rules = tuple(rules)
        self._now = now
        self._max_keys = max_keys
        self._depth = max(rule.count for rule in self.rules)
        self._longest = max(rule.seconds for rule in self.rules)
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, *keys: str) -> float:
        """Record one hit on every key and return 0, or return the seconds to wait (rounded
        up, at least 1) and record nothing when any key is over a rule."""
        with self._lock:
            now = self._now()
            wait = max(self._wait(key, now) for key in keys)
            if wait > 0:
                return float(max(1, math.ceil(wait)))
            for key in keys:
                self._record(key, now)
            return 0.0

    def _wait(self, key: str, now: float) -> float:
        times = self._hits.get(key)
        if not times:
            return 0.0
        wait = 0.0
        for rule in self.rules:
            recent = [t for t in times if t > now - rule.seconds]
            if len(recent) >= rule.count:
                # the oldest hit that keeps the window full must leave it first
                wait = max(wait, recent[-rule.count] + rule.seconds - now)
        return wait

    def _record(self, key: str, now: float) -> None:
        times = self._hits.pop(key, None)
        if times is None:
            times = deque(maxlen=self._depth)
        times.append(now)
        self._hits[key] = times  # most recently used last
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        """Drops keys whose newest hit is older than the longest window (oldest first)."""
        while self._hits:
            key, times = next(iter(self._hits.items()))
            if times and times[-1] > now - self._longest:
                return
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)


def app_limiter(state: Any, name: str, rules: Sequence[Rule]) -> RateLimiter:
    """The app's limiter ``name`` in ``state`` (``request.app.state``), created on first use;
    tests may set their own there. Per process: replicas do not share it."""
    with _APP_LOCK:
        limiter: RateLimiter | None = getattr(state, name, None)
        if limiter is None:
            limiter = RateLimiter(rules)
            setattr(state, name, limiter)
    return limiter
