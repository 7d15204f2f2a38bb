"""Recording one chunk of poll outcomes: new events, shipment updates and the notifications they
cause, written together in one transaction (invariant 1: nothing is lost)."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from carriers.base import ErrorKind, Status, TrackingEvent, TrackingResult
from notifier import metrics
from notifier.pipeline import bulk, schedule
from notifier.pipeline.detect import Facts, NewEvent, Rules, detect
from notifier.pipeline.outbox import Party, feedback_trigger, notification_rows
from notifier.runtime import Runtime
from notifier.store.lease import retrying
from notifier.store.models import Notification, Shipment
from notifier.store.models import TrackingEvent as EventRow

# Item errors that will not fix themselves: back off as for a failure.
FAILING_KINDS = frozenset(
    {
        ErrorKind.AUTH,
        ErrorKind.RATE_LIMITED,
        ErrorKind.BAD_REQUEST,
        ErrorKind.INVALID_NUMBER,
        ErrorKind.UNAVAILABLE,
    }
)
CANCELLED = frozenset({"cancelled"})  # order statuses whose parcels nobody waits for
TEXT_LIMITS = {"description": 1000, "location": 300, "raw_code": 200, "time_raw": 40}


@dataclass(frozen=True, slots=True)
class Loaded:
    """A leased shipment with the party its messages go to."""

    shipment: Shipment
    party: Party
    id: int = field(init=False)  # the shipment's; read for every outcome, so kept at hand

    def __post_init__(self) -> None:
        assert self.shipment.id is not None
        object.__setattr__(self, "id", self.shipment.id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the carrier said about one shipment: a result, or why there is none.

    Neither set means no call was made (the delay scan: only time has passed)."""

    result: TrackingResult | None = None
    error: str | None = None
    retry_after: float | None = None


def take_results(
    batch: Sequence[Loaded],
    results: Sequence[TrackingResult],
    label: str,
    outcomes: dict[int, Outcome],
) -> None:
    """One batch's answers as outcomes, in order (counting per-number errors by ``label``, the
    carrier or marketplace); a batch member left without an answer gets an error outcome."""
    for item, result in zip(batch, results, strict=False):
        outcomes[item.id] = Outcome(result=result)
        if result.error is not None:
            metrics.CARRIER_ITEM_ERRORS.labels(label, result.error.kind.value).inc()
    for item in batch[len(results) :]:  # an adapter that broke the one-result-per-number rule
        outcomes[item.id] = Outcome(error=f"{label} returned no result for this parcel")


@dataclass
class Recorded:
    new_events: int = 0
    notifications: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def fingerprint(event: TrackingEvent) -> str:
    """Identity of an event across polls: the carrier's own time text, code, place and words.

    The raw code (not our mapped status) is used, so improving a mapping table does not make old
    events look new.
    """
    parts = [
        event.time.isoformat() if event.time else "",
        event.raw_code or event.status.value,
        (event.location or "").strip().casefold(),
        " ".join(event.description.split()).casefold(),
    ]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def to_utc(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """A carrier time as aware UTC; a naive one is read in the shipment's local zone."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


EVENT_COLUMNS = (
    "shipment_id",
    "fingerprint",
    "seq",
    "time",
    "time_raw",
    "status",
    "raw_code",
    "location",
    "description",
    "created_at",
)


def record_chunk(
    rt: Runtime, chunk: Sequence[Loaded], outcomes: dict[int, Outcome], now: datetime
) -> Recorded:
    """Write the chunk's outcomes in one transaction; shipments whose lease we lost are skipped.
    A transaction PostgreSQL aborts as a deadlock victim is run again (its chunk would
    otherwise wait out its leases)."""
    return retrying(lambda: _record_chunk(rt, chunk, outcomes, now))


def _record_chunk(
    rt: Runtime, chunk: Sequence[Loaded], outcomes: dict[int, Outcome], now: datetime
) -> Recorded:
    out = Recorded()
    with rt.sessions() as session, session.begin():
        conn = session.connection()
        db_value = bulk.converter(conn)
        new = _insert_events(conn, db_value, chunk, outcomes, now)
        updates, rows = [], []
        for item in chunk:
            outcome = outcomes.get(item.id, NO_OUTCOME)
            update, notes = _apply(rt, item, outcome, new.get(item.id, []), now)
            updates.append(update)
            rows.extend(notes)
            status = update.get("status", item.shipment.status)
            out.by_status[status] = out.by_status.get(status, 0) + 1
        _update_shipments(conn, updates, rt.worker)
        inserted = _insert_notifications(conn, rows)
    out.new_events = sum(len(v) for v in new.values())
    out.notifications = len(inserted)
    metrics.EVENTS.inc(out.new_events)
    for (trigger, channel), count in Counter((r[0], r[1]) for r in inserted).items():
        metrics.NOTIFICATIONS_ENQUEUED.labels(trigger, channel).inc(count)
    return out


NO_OUTCOME = Outcome(error="no outcome recorded")


def _insert_events(
    conn: sa.Connection,
    db_value: Any,
    chunk: Sequence[Loaded],
    outcomes: dict[int, Outcome],
    now: datetime,
) -> dict[int, list[NewEvent]]:
    """Insert every event of the chunk, skipping known ones; the new ones per shipment, in order."""
    rows, order = [], {}
    created = db_value(now)
    for item in chunk:
        outcome = outcomes.get(item.id)
        result = outcome.result if outcome else None
        if result is None or result.error is not None:
            continue
        tz = item.party.tz
        for seq, event in enumerate(result.events):
            fp = fingerprint(event)
            moment = to_utc(event.time, tz)
            order[(item.id, fp)] = NewEvent(event.status, moment)
            rows.append(_event_row(item.id, seq, fp, event, db_value(moment), created))
    table = EventRow.__table__  # type: ignore[attr-defined]
    conflict = ["shipment_id", "fingerprint"]
    inserted = bulk.insert_new(conn, table, EVENT_COLUMNS, rows, conflict, EVENT_COLUMNS[:3])
    new: dict[int, list[tuple[int, NewEvent]]] = {}
    for shipment_id, fp, seq in inserted:
        new.setdefault(shipment_id, []).append((seq, order[(shipment_id, fp)]))
    return {sid: [e for _, e in sorted(evs, key=lambda p: p[0])] for sid, evs in new.items()}


def _event_row(
    shipment_id: int, seq: int, fp: str, event: TrackingEvent, moment: Any, created: Any
) -> tuple[Any, ...]:
    """The event's values in EVENT_COLUMNS order, texts cut to their columns' sizes."""
    return (
        shipment_id,
        fp,
        seq,
        moment,
        event.time.isoformat()[: TEXT_LIMITS["time_raw"]] if event.time else None,
        event.status.value,
        event.raw_code[: TEXT_LIMITS["raw_code"]] if event.raw_code else event.raw_code,
        event.location[: TEXT_LIMITS["location"]] if event.location else event.location,
        (event.description or "")[: TEXT_LIMITS["description"]],
        created,
    )


def _insert_notifications(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The outbox rows (duplicates by dedupe_key skipped); (trigger, channel) of those inserted."""
    if not rows:
        return []
    columns = list(rows[0])
    table = Notification.__table__  # type: ignore[attr-defined]
    funcs = bulk.converters(conn, table, columns)
    values = [bulk.convert([row.get(c) for c in columns], funcs) for row in rows]
    return bulk.insert_new(conn, table, columns, values, ["dedupe_key"], ["trigger", "channel"])


def _apply(
    rt: Runtime, item: Loaded, outcome: Outcome, new_events: list[NewEvent], now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The shipment's new row values and its notification rows."""
    sh, party, poll = item.shipment, item.party, rt.settings.poll
    tz = party.tz
    before = Facts(
        status=Status(sh.status),
        eta=sh.eta,
        eta_told=sh.eta_told,
        last_event_at=sh.last_event_at,
        created_at=sh.created_at,
        scanned=sh.last_event_at is not None,
        delay_open=sh.delay_open,
        delay_episode=sh.delay_episode,
    )
    update: dict[str, Any] = {
        "_id": sh.id,
        "last_checked_at": now,
        "updated_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    result = outcome.result
    failed = outcome.error is not None or (
        result is not None and result.error is not None and result.error.kind in FAILING_KINDS
    )
    if failed:
        failures = sh.consecutive_failures + 1
        reason = outcome.error or (result.error.message if result and result.error else "")
        update |= {
            "status": sh.status,
            "consecutive_failures": failures,
            "last_error": reason[:500],
            "next_check_at": schedule.backoff(
                failures,
                now=now,
                base=poll.backoff_base,
                cap=poll.backoff_max,
                key=item.id,
                retry_after=outcome.retry_after,
            ),
        }
        return update, []
    after = _after(before, result, new_events, now, timedelta(days=poll.expire_after_days))
    rules = _rules(party.prefs, tz)
    decision = detect(before, after, new_events, now, rules)
    rows = notification_rows(party, sh.id, decision.triggers, now)
    delivered_at = sh.delivered_at
    if after.status is Status.DELIVERED and before.status is not Status.DELIVERED:
        delivered_at = after.last_event_at if new_events else now
        trig, due = feedback_trigger(party, max(delivered_at or now, now))
        rows += notification_rows(party, sh.id, [trig], now, not_before=due)
    update |= {
        "eta_told": decision.eta_told,
        "delay_open": decision.delay_open,
        "delay_episode": decision.delay_episode,
    }
    if result is None:  # the delay scan: only time passed; status and schedule are the sweep's
        del update["last_checked_at"]
        return update, rows
    update |= {
        "status": after.status.value,
        "eta": after.eta,
        "last_event_at": after.last_event_at,
        "delivered_at": delivered_at,
    }
    cancelled = party.order.status in CANCELLED
    update |= {
        "raw_status": result.raw_status or sh.raw_status,
        "consecutive_failures": 0,
        "last_error": result.error.message[:500] if result.error else None,
        "next_check_at": None  # a cancelled order's parcels are no longer watched
        if cancelled
        else schedule.next_check(
            after.status, now=now, created_at=sh.created_at, eta=after.eta, tz=tz, key=item.id
        ),
    }
    return update, rows


@functools.lru_cache(maxsize=256)
def _rules_of(stall: float, pickup: float, disabled: tuple[str, ...], tz: tzinfo) -> Rules:
    return Rules(
        tz=tz,
        stall=timedelta(hours=stall),
        pickup_stall=timedelta(hours=pickup),
        disabled=frozenset(disabled),
    )


def _rules(prefs: Any, tz: tzinfo) -> Rules:
    """The merchant's detection rules in the shopper's zone (few distinct ones: cached)."""
    disabled = tuple(prefs.disabled_triggers)
    return _rules_of(prefs.stall_hours, prefs.pickup_stall_hours, disabled, tz)


def _after(
    before: Facts,
    result: TrackingResult | None,
    new_events: list[NewEvent],
    now: datetime,
    expire_after: timedelta,
) -> Facts:
    status, eta = before.status, before.eta
    if result is not None and result.error is None:
        status = result.status or status
        eta = result.estimated_delivery or eta
    times = [e.time for e in new_events if e.time is not None]
    last = max([t for t in (before.last_event_at, *times) if t is not None], default=None)
    if new_events and last is None:
        last = now  # scanned, but the carrier gave no usable time
    never_scanned = last is None and status in (Status.PENDING, Status.INFO_RECEIVED)
    if never_scanned and before.created_at and now - before.created_at > expire_after:
        status = Status.EXPIRED
    return Facts(
        status=status,
        eta=eta,
        eta_told=before.eta_told,
        last_event_at=last,
        created_at=before.created_at,
        scanned=last is not None,
        delay_open=before.delay_open,
        delay_episode=before.delay_episode,
    )


def _update_shipments(conn: sa.Connection, updates: list[dict[str, Any]], owner: str) -> None:
    """One executemany per shape of update (failures and successes set different columns);
    a row whose lease another worker took meanwhile is left alone."""
    table = Shipment.__table__  # type: ignore[attr-defined]
    shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for update in updates:
        keys = tuple(sorted(k for k in update if k != "_id"))
        shapes.setdefault(keys, []).append((*(update[k] for k in keys), update["_id"], owner))
    for keys, rows in shapes.items():
        funcs = bulk.converters(conn, table, keys)
        values = [bulk.convert(list(row), funcs) for row in rows]
        bulk.update_many(conn, table, keys, ["id", "lease_owner"], values)
