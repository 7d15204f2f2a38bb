"""After a final status: ask the carriers that bill per tracked number to stop tracking it.

AfterShip, 17TRACK and TrackingMore keep refreshing (and pushing) a registered number until told
to stop; their adapters have an optional ``stop(numbers, courier)``. Stopping is a courtesy to
the merchant's quota, never a reason to fail: :func:`stop_tracking` logs and counts every
failure and returns. Call it after the transaction that recorded the final status committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import structlog
from prometheus_client import Counter

from carriers.base import FINAL_STATUSES
from notifier.pipeline.record import Loaded, Outcome
from notifier.runtime import Runtime

log = structlog.get_logger(__name__)

STOPS = Counter(
    "notifier_carrier_stops_total",
    "Numbers carriers were asked to stop tracking, by outcome",
    ["carrier", "outcome"],
)


FINAL_VALUES = frozenset(s.value for s in FINAL_STATUSES)


class Tracked(Protocol):
    """What stopping needs of a shipment (a ``Shipment`` row has it)."""

    carrier: str
    courier: str
    tracking_number: str


def newly_final(chunk: Sequence[Loaded], outcomes: Mapping[int, Outcome]) -> list[Any]:
    """The shipments of a recorded chunk whose carrier now reports a final status that the
    stored row did not have yet (the rows as loaded, before the update)."""
    out = []
    for item in chunk:
        outcome = outcomes.get(item.id)
        result = outcome.result if outcome else None
        if result is None or result.error is not None or result.status is None:
            continue
        if result.status.is_final and item.shipment.status not in FINAL_VALUES:
            out.append(item.shipment)
    return out


async def stop_tracking(rt: Runtime, items: Iterable[Tracked]) -> int:
    """Ask each shipment's carrier to stop tracking it, where the adapter can (``stop``).

    One call per ``batch_size`` numbers of one (carrier, courier). Never raises; returns how
    many numbers the carriers confirmed stopped.
    """
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        groups[(item.carrier, item.courier or "")].append(item.tracking_number)
    stopped = 0
    for (carrier, courier), numbers in groups.items():
        stopped += await _stop_group(rt, carrier, courier or None, numbers)
    return stopped


async def _stop_group(rt: Runtime, carrier: str, courier: str | None, numbers: list[str]) -> int:
    try:
        adapter = rt.carriers.get(carrier)
    except (KeyError, ImportError) as err:
        log.warning("carrier.stop_unavailable", carrier=carrier, error=str(err))
        return 0
    stop = getattr(adapter, "stop", None)
    if stop is None:  # the carrier does not bill per tracked number: nothing to stop
        return 0
    size = max(1, int(getattr(adapter, "batch_size", 1)))
    stopped = 0
    for start in range(0, len(numbers), size):
        stopped += await _stop_batch(stop, carrier, courier, numbers[start : start + size])
    return stopped


async def _stop_batch(stop: Any, carrier: str, courier: str | None, numbers: list[str]) -> int:
    try:
        answers: Mapping[str, Any] = await stop(numbers, courier)
    except Exception as err:  # a stage boundary: stopping must never fail the caller
        STOPS.labels(carrier, "failed").inc(len(numbers))
        log.warning("carrier.stop_failed", carrier=carrier, numbers=len(numbers), error=str(err))
        return 0
    refused = {n: e for n, e in answers.items() if e is not None}
    for number, error in refused.items():
        log.warning("carrier.stop_refused", carrier=carrier, number=number, error=str(error))
    STOPS.labels(carrier, "refused").inc(len(refused))
    STOPS.labels(carrier, "stopped").inc(len(answers) - len(refused))
    return len(answers) - len(refused)
