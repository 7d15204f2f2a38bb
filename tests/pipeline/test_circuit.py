"""The per-carrier circuit breaker: opens after failures in a row, refuses calls without a
request while open, lets one trial through, closes on success; rate limits are neutral; a
daemon's carriers are guarded and each carrier has its own circuit."""

from __future__ import annotations

import contextlib

import pytest

from carriers.base import ErrorKind, ItemError, TrackingResult
from carriers.errors import CarrierResponseError, CarrierUnavailable
from notifier.pipeline import circuit
from notifier.pipeline.circuit import Breaker, State


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Flaky:
    """An adapter whose next answers are scripted: an exception to raise or results."""

    batch_size = 10

    def __init__(self) -> None:
        self.script: list[object] = []
        self.calls = 0

    async def fetch(self, numbers, courier=None):
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, Exception):
            raise step
        kind = step if isinstance(step, ErrorKind) else None
        return [
            TrackingResult("flaky", n, None, error=ItemError(kind, "x") if kind else None)
            for n in numbers
        ]

    async def aclose(self) -> None:
        return None


def down(status: int | None = 503, retry_after: float | None = None) -> CarrierUnavailable:
    return CarrierUnavailable(
        "server error", carrier="flaky", status_code=status, retry_after=retry_after
    )


@pytest.fixture
def guarded():
    clock, adapter = Clock(), Flaky()
    breaker = Breaker("flaky", threshold=3, cooldown=10, max_cooldown=40, clock=clock)
    return clock, adapter, breaker, circuit.Guarded(adapter, breaker, lambda s: s * 2)


async def test_opens_refuses_tries_once_and_closes(guarded) -> None:
    clock, adapter, breaker, g = guarded
    adapter.script = [down(), CarrierResponseError("garbage", carrier="flaky"), ErrorKind.AUTH]
    for _ in range(2):
        with pytest.raises((CarrierUnavailable, CarrierResponseError)):
            await g.fetch(["A"])
    assert breaker.state is State.CLOSED
    await g.fetch(["A"])  # the whole body is an auth refusal: the third failure in a row
    assert breaker.state is State.OPEN
    with pytest.raises(CarrierUnavailable) as refused:
        await g.fetch(["A", "B"])
    assert adapter.calls == 3  # no request while open
    assert refused.value.retry_after == pytest.approx(20.0)  # 10 wall s on a 2x clock
    clock.t += 10
    adapter.script = [down()]
    with pytest.raises(CarrierUnavailable):
        await g.fetch(["A"])  # the trial fails: open again, cooldown doubled
    assert breaker.state is State.OPEN and adapter.calls == 4
    clock.t += 19
    with pytest.raises(CarrierUnavailable, match="circuit open"):
        await g.fetch(["A"])
    clock.t += 1
    await g.fetch(["A"])  # the trial works
    assert breaker.state is State.CLOSED
    assert (breaker.opened, breaker.closed) == (2, 1)
    assert [s for _, s in breaker.history] == [
        State.OPEN,
        State.HALF_OPEN,
        State.OPEN,
        State.HALF_OPEN,
        State.CLOSED,
    ]


async def test_only_one_trial_at_a_time(guarded) -> None:
    clock, adapter, breaker, g = guarded
    adapter.script = [down()] * 3
    for _ in range(3):
        with pytest.raises(CarrierUnavailable):
            await g.fetch(["A"])
    clock.t += 10
    assert breaker.allow() is None  # the trial
    assert breaker.allow() == circuit.TRIAL_WAIT  # everyone else waits for its verdict
    breaker.succeeded()
    assert breaker.allow() is None and breaker.state is State.CLOSED


async def test_rate_limits_and_not_found_never_open_it(guarded) -> None:
    _, adapter, breaker, g = guarded
    adapter.script = [down(429, 2.0), down(None, 30.0), ErrorKind.RATE_LIMITED] * 3
    for _ in range(9):
        with contextlib.suppress(CarrierUnavailable):
            await g.fetch(["A"])
    adapter.script = [ErrorKind.NOT_FOUND] * 5
    for _ in range(5):
        await g.fetch(["A"])
    assert breaker.state is State.CLOSED and breaker.opened == 0


async def test_a_success_resets_the_count(guarded) -> None:
    _, adapter, breaker, g = guarded
    adapter.script = [down(), down(), "ok", down(), down()]
    for _ in range(5):
        with contextlib.suppress(CarrierUnavailable):
            await g.fetch(["A"])
    assert breaker.state is State.CLOSED


async def test_protect_guards_each_carrier_separately(rt) -> None:
    carriers = circuit.protect(rt)
    assert circuit.protect(rt) is carriers
    rt.carriers.install("flaky", Flaky())
    first, again = rt.carriers.get("flaky"), rt.carriers.get("flaky")
    assert isinstance(first, circuit.Guarded) and first is again
    assert first.batch_size == 10  # everything else is the adapter's own
    other = rt.carriers.get("scripted")
    assert isinstance(other, circuit.Guarded)
    assert set(carriers.breakers) == {"flaky", "scripted"}
    assert carriers.breakers["flaky"] is not carriers.breakers["scripted"]
