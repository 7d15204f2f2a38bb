"""Decide which messages a change deserves. Pure: no I/O, no clock, no database.

Given a shipment's facts before and after a poll (or a push, or just the passing of time), the new
events in carrier order and the current time, :func:`detect` returns the triggers to enqueue, each
with the episode that makes its dedupe key, and the new delay-episode state. The rules:

* a new event whose status has a trigger yields it; the shipment's own status change yields it
  too when no event carried it (a carrier summary that says delivered);
* out_for_delivery, failed_attempt and exception are once per local day, the others once;
* ``shipped`` fires on the first scan (intake fires it earlier when the tracking number arrives;
  the dedupe key makes the second one a no-op);
* newer news supersedes older news (:data:`SUPERSEDED_BY`): inside one batch the older trigger is
  kept but marked suppressed, so it is recorded and never sent;
* a delay is an ETA that moved later than the ETA the shopper was told (a new episode every time),
  or an ETA that passed, or no scan for longer than the usual gap (one episode until it clears).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from carriers.base import Status

# The trigger each normalized status announces (pending, info_received, expired announce none).
TRIGGER_OF_STATUS: dict[Status, str] = {
    Status.IN_TRANSIT: "in_transit",
    Status.OUT_FOR_DELIVERY: "out_for_delivery",
    Status.FAILED_ATTEMPT: "failed_attempt",
    Status.AVAILABLE_FOR_PICKUP: "available_for_pickup",
    Status.DELIVERED: "delivered",
    Status.EXCEPTION: "exception",
    Status.RETURNED_TO_SENDER: "returned_to_sender",
}

# Triggers that may repeat, once per local calendar day (a second delivery attempt is news).
DAILY_TRIGGERS = frozenset({"out_for_delivery", "failed_attempt", "exception"})

# trigger -> the later triggers that make it stale news.
SUPERSEDED_BY: dict[str, frozenset[str]] = {
    "shipped": frozenset({"delivered", "returned_to_sender"}),
    "in_transit": frozenset(
        {
            "out_for_delivery",
            "failed_attempt",
            "available_for_pickup",
            "delivered",
            "exception",
            "returned_to_sender",
        }
    ),
    "out_for_delivery": frozenset(
        {"failed_attempt", "available_for_pickup", "delivered", "exception", "returned_to_sender"}
    ),
    "failed_attempt": frozenset(
        {"out_for_delivery", "available_for_pickup", "delivered", "returned_to_sender"}
    ),
    "available_for_pickup": frozenset({"delivered", "returned_to_sender"}),
    "exception": frozenset({"out_for_delivery", "delivered", "returned_to_sender"}),
    "delayed": frozenset(
        {
            "out_for_delivery",
            "failed_attempt",
            "available_for_pickup",
            "delivered",
            "exception",
            "returned_to_sender",
        }
    ),
}

# Statuses in which lateness is worth telling (out for delivery, pickup and exceptions have their
# own messages; final statuses are over).
DELAY_STATUSES = frozenset({Status.PENDING, Status.INFO_RECEIVED, Status.IN_TRANSIT})
PICKUP_STATUSES = frozenset({Status.PENDING, Status.INFO_RECEIVED})


@dataclass(frozen=True, slots=True)
class Facts:
    """What we know of a shipment at one moment."""

    status: Status
    eta: date | None = None
    eta_told: date | None = None
    last_event_at: datetime | None = None
    created_at: datetime | None = None
    scanned: bool = False  # the carrier has reported at least one event
    delay_open: bool = False
    delay_episode: int = 0


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event seen for the first time, in carrier order (oldest first)."""

    status: Status
    time: datetime | None  # aware


@dataclass(frozen=True, slots=True)
class Rules:
    """The merchant's rules that detection needs."""

    tz: tzinfo  # local days and ETA dates are judged in this zone
    stall: timedelta = timedelta(hours=72)
    pickup_stall: timedelta = timedelta(hours=96)
    disabled: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Trigger:
    """One message to enqueue. ``suppressed_by`` set: record it, never send it."""

    name: str
    episode: str = "1"
    context: dict[str, Any] = field(default_factory=dict)
    suppressed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    triggers: list[Trigger]
    delay_open: bool
    delay_episode: int
    eta_told: date | None

    @property
    def live(self) -> list[Trigger]:
        return [t for t in self.triggers if t.suppressed_by is None]


def detect(
    before: Facts, after: Facts, new_events: Sequence[NewEvent], now: datetime, rules: Rules
) -> Decision:
    """The triggers a change deserves, and the shipment's new delay state (see module doc)."""
    found = _status_triggers(before, after, new_events, now, rules.tz)
    delay, open_, episode = _delay(before, after, now, rules)
    if delay is not None:
        found.append(delay)
    found = [t for t in _supersede(_dedupe(found)) if t.name not in rules.disabled]
    told = before.eta_told
    if after.eta is not None and any(t.suppressed_by is None for t in found):
        told = after.eta  # every shipment message states the ETA when it is known
    return Decision(found, open_, episode, told)


def _status_triggers(
    before: Facts, after: Facts, events: Sequence[NewEvent], now: datetime, tz: tzinfo
) -> list[Trigger]:
    found: list[Trigger] = []
    if after.scanned and not before.scanned:
        found.append(Trigger("shipped"))
    for event in events:
        name = TRIGGER_OF_STATUS.get(event.status)
        if name is not None:
            found.append(Trigger(name, _episode(name, event.time or now, tz)))
    summary = TRIGGER_OF_STATUS.get(after.status)
    if summary and after.status != before.status and all(t.name != summary for t in found):
        found.append(Trigger(summary, _episode(summary, now, tz)))
    return found


def _episode(name: str, when: datetime, tz: tzinfo) -> str:
    return when.astimezone(tz).date().isoformat() if name in DAILY_TRIGGERS else "1"


def _dedupe(found: list[Trigger]) -> list[Trigger]:
    """Keep the last of each (name, episode): its position is the newest news."""
    last = {(t.name, t.episode): i for i, t in enumerate(found)}
    return [t for i, t in enumerate(found) if last[(t.name, t.episode)] == i]


def _supersede(found: list[Trigger]) -> list[Trigger]:
    out = []
    for i, trig in enumerate(found):
        stale = SUPERSEDED_BY.get(trig.name, frozenset())
        newer = next((t.name for t in found[i + 1 :] if t.name in stale), None)
        out.append(replace(trig, suppressed_by=newer) if newer else trig)
    return out


def _delay(
    before: Facts, after: Facts, now: datetime, rules: Rules
) -> tuple[Trigger | None, bool, int]:
    """(the delayed trigger if a new episode starts, whether an episode is open, its number)."""
    if after.status not in DELAY_STATUSES:
        return None, False, before.delay_episode
    today = now.astimezone(rules.tz).date()
    if after.eta and before.eta_told and after.eta > before.eta_told:
        episode = before.delay_episode + 1
        ctx = {"delay_kind": "eta_slipped", "previous_eta": before.eta_told.isoformat()}
        return Trigger("delayed", str(episode), ctx), True, episode
    promised = after.eta or before.eta_told
    kind = None
    if promised is not None and today > promised:
        kind = "eta_passed"
    elif _stalled(after, now, rules):
        kind = "stalled"
    if kind is None:
        return None, False, before.delay_episode
    if before.delay_open:
        return None, True, before.delay_episode
    episode = before.delay_episode + 1
    return Trigger("delayed", str(episode), {"delay_kind": kind}), True, episode


def _stalled(after: Facts, now: datetime, rules: Rules) -> bool:
    if after.status in PICKUP_STATUSES:
        since = after.last_event_at or after.created_at
        return since is not None and now - since > rules.pickup_stall
    return after.last_event_at is not None and now - after.last_event_at > rules.stall


def is_superseded(trigger: str, current: Status) -> bool:
    """Whether a not-yet-sent ``trigger`` is stale given the shipment's current status."""
    newer = TRIGGER_OF_STATUS.get(current)
    return newer is not None and newer in SUPERSEDED_BY.get(trigger, frozenset())


def quiet_until(now: datetime, tz: tzinfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, in the shopper's zone; None outside them.

    Windows may cross midnight (21:00-08:00). ``start == end`` means no quiet hours.
    """
    if start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=tz)
