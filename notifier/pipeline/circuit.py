"""A circuit breaker per carrier: stop calling a carrier that keeps failing, try again later.

::

    closed --(THRESHOLD failed calls in a row)--> open --(cooldown over)--> half-open
    half-open --(the one trial call succeeds)--> closed
    half-open --(the trial call fails)--> open again, cooldown doubled (up to MAX_COOLDOWN)

A failed call is one that raised a :class:`~carriers.errors.CarrierError` other than a rate
limit (timeouts, resets, 5xx, unreadable bodies, refused credentials), or whose every result is
the carrier's own server error or an auth refusal in the body. A rate limit (429, or the
adapter's own Retry-After pause) is neither: the adapter already waits it out, and a busy
carrier is not a broken one. While the circuit is open, ``fetch`` raises ``CarrierUnavailable``
("circuit open") without a request, with ``retry_after`` = the rest of the cooldown, so the
sweep records an ordinary failure and reschedules those shipments after it.

Cooldowns are wall time (a carrier's outage is), turned into the runtime clock's seconds for
``retry_after`` (:meth:`notifier.runtime.Runtime.span`). Each replica has its own breakers.

The breaker wraps adapters where they are handed out: :func:`protect` makes ``rt.carriers`` a
:class:`GuardedCarriers` (the daemon calls it at start), so the stages need no change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import structlog
from prometheus_client import Counter, Gauge

from carriers.base import CarrierAdapter, ErrorKind, TrackingResult
from carriers.errors import CarrierError, CarrierUnavailable
from notifier.runtime import Carriers, Runtime

log = structlog.get_logger(__name__)

THRESHOLD = 5  # failed calls in a row that open the circuit
COOLDOWN = 30.0  # s open before the first trial call
MAX_COOLDOWN = 600.0  # s; the cooldown doubles after each failed trial, up to this
TRIAL_WAIT = 1.0  # s other callers are told to wait while the trial call is in flight
BROKEN_KINDS = frozenset({ErrorKind.UNAVAILABLE, ErrorKind.AUTH})

OPEN = Gauge("notifier_circuit_open", "1 while a carrier's circuit is open", ["carrier"])
TRANSITIONS = Counter(
    "notifier_circuit_transitions_total", "Circuit state changes", ["carrier", "state"]
)


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class Breaker:
    """One carrier's circuit. ``clock`` returns wall seconds (monotonic)."""

    carrier: str
    threshold: int = THRESHOLD
    cooldown: float = COOLDOWN
    max_cooldown: float = MAX_COOLDOWN
    clock: Callable[[], float] = time.monotonic
    state: State = State.CLOSED
    failures: int = 0  # in a row
    opened: int = 0  # times opened, for metrics and tests
    closed: int = 0  # times closed again after a trial
    refused: int = 0  # calls refused while open
    history: list[tuple[float, State]] = field(default_factory=list)
    _until: float = 0.0
    _wait: float = 0.0  # the current cooldown
    _trial: bool = False

    def allow(self) -> float | None:
        """None if a call may go now (it may be the trial); else seconds to wait."""
        now = self.clock()
        if self.state is State.OPEN and now >= self._until:
            self._move(State.HALF_OPEN)
        if self.state is State.CLOSED:
            return None
        if self.state is State.HALF_OPEN and not self._trial:
            self._trial = True
            return None
        self.refused += 1
        return max(self._until - now, 0.0) if self.state is State.OPEN else TRIAL_WAIT

    def succeeded(self) -> None:
        """The call worked: close (after a trial) and forget earlier failures."""
        self.failures, self._trial = 0, False
        if self.state is not State.CLOSED:
            self._wait = 0.0
            self.closed += 1
            self._move(State.CLOSED)

    def failed(self, retry_after: float | None = None) -> None:
        """The call failed: open after ``threshold`` in a row, or at once after a trial."""
        self.failures += 1
        trial, self._trial = self._trial, False
        if not trial and (self.state is not State.CLOSED or self.failures < self.threshold):
            return
        self._wait = min(self.max_cooldown, self._wait * 2 if trial else self.cooldown)
        self._until = self.clock() + max(self._wait, retry_after or 0.0)
        self.opened += 1
        self._move(State.OPEN)

    def neutral(self) -> None:
        """The call said nothing about health (a rate limit): a trial may go again."""
        self._trial = False

    def _move(self, state: State) -> None:
        if state is self.state:
            return
        self.state = state
        self.history.append((self.clock(), state))
        OPEN.labels(self.carrier).set(1 if state is State.OPEN else 0)
        TRANSITIONS.labels(self.carrier, state.value).inc()
        level = log.warning if state is State.OPEN else log.info
        level(f"circuit.{state.value}", carrier=self.carrier, failures=self.failures)


class Guarded:
    """An adapter behind a breaker; everything but ``fetch`` is the adapter's own."""

    def __init__(self, adapter: Any, breaker: Breaker, to_clock: Callable[[float], float]):
        self.adapter = adapter
        self.breaker = breaker
        self.to_clock = to_clock  # wall seconds -> the runtime clock's seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """The adapter's ``fetch`` if the circuit lets it through; raises CarrierUnavailable
        ("circuit open", ``retry_after`` = the rest of the cooldown) if not."""
        wait = self.breaker.allow()
        if wait is not None:
            raise CarrierUnavailable(
                "circuit open",
                carrier=self.breaker.carrier,
                tracking_numbers=tuple(numbers),
                retry_after=self.to_clock(wait),
            )
        try:
            results: list[TrackingResult] = await self.adapter.fetch(numbers, courier)
        except CarrierUnavailable as err:
            if err.status_code == 429 or (err.status_code is None and err.retry_after):
                self.breaker.neutral()
            else:
                self.breaker.failed(err.retry_after)
            raise
        except CarrierError:
            self.breaker.failed()
            raise
        except BaseException:  # a crashing adapter, or a cancelled sweep: no verdict
            self.breaker.neutral()
            raise
        self._judge(results)
        return results

    def _judge(self, results: list[TrackingResult]) -> None:
        kinds = [r.error.kind if r.error else None for r in results]
        if results and all(k is ErrorKind.RATE_LIMITED for k in kinds):
            self.breaker.neutral()
        elif results and all(k in BROKEN_KINDS for k in kinds):
            self.breaker.failed()
        else:
            self.breaker.succeeded()


@dataclass
class GuardedCarriers(Carriers):
    """:class:`notifier.runtime.Carriers` whose adapters sit behind one breaker per carrier."""

    breakers: dict[str, Breaker] = field(default_factory=dict)
    make_breaker: Callable[[str], Breaker] = Breaker
    scale: float = 1.0  # the runtime clock's seconds per wall second

    def get(self, carrier: str) -> CarrierAdapter:
        adapter = super().get(carrier)
        if isinstance(adapter, Guarded):
            return cast(CarrierAdapter, adapter)
        if carrier not in self.breakers:
            self.breakers[carrier] = self.make_breaker(carrier)
        guarded = Guarded(adapter, self.breakers[carrier], lambda s: s * self.scale)
        self._adapters[carrier] = cast(CarrierAdapter, guarded)
        return cast(CarrierAdapter, guarded)


def protect(rt: Runtime, make_breaker: Callable[[str], Breaker] = Breaker) -> GuardedCarriers:
    """Put every carrier of ``rt`` behind a breaker (once; later calls return the same)."""
    if isinstance(rt.carriers, GuardedCarriers):
        return rt.carriers
    old = rt.carriers
    rt.carriers = GuardedCarriers(
        old.settings,
        old.client,
        old._adapters,
        make_breaker=make_breaker,
        scale=float(getattr(rt.clock, "scale", 1.0)),
    )
    return rt.carriers
