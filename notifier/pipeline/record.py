"""Recording one chunk of poll outcomes: new events, shipment updates and the notifications they
cause, written together in one transaction (invariant 1: nothing is lost)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from carriers.base import ErrorKind, Status, TrackingEvent, TrackingResult
from notifier import metrics
from notifier.pipeline import schedule
from notifier.pipeline.detect import Facts, NewEvent, Rules, detect
from notifier.pipeline.outbox import Party, feedback_trigger, notification_rows
from notifier.runtime import Runtime
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

    @property
    def id(self) -> int:
        assert self.shipment.id is not None
        return self.shipment.id


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the carrier said about one shipment: a result, or why there is none.

    Neither set means no call was made (the delay scan: only time has passed)."""

    result: TrackingResult | None = None
    error: str | None = None
    retry_after: float | None = None


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


def record_chunk(
    rt: Runtime, chunk: Sequence[Loaded], outcomes: dict[int, Outcome], now: datetime
) -> Recorded:
    """Write the chunk's outcomes in one transaction; shipments whose lease we lost are skipped."""
    out = Recorded()
    with rt.sessions() as session, session.begin():
        new = _insert_events(session, chunk, outcomes, now)
        updates, rows = [], []
        for item in chunk:
            outcome = outcomes.get(item.id, Outcome(error="no outcome recorded"))
            update, notes = _apply(rt, item, outcome, new.get(item.id, []), now)
            updates.append(update)
            rows.extend(notes)
            status = update.get("status", item.shipment.status)
            out.by_status[status] = out.by_status.get(status, 0) + 1
        _update_shipments(session, updates, rt.worker)
        inserted = insert_new(
            session,
            Notification,
            rows,
            ["dedupe_key"],
            [Notification.trigger, Notification.channel],
        )
    out.new_events = sum(len(v) for v in new.values())
    out.notifications = len(inserted)
    metrics.EVENTS.inc(out.new_events)
    for (trigger, channel), count in Counter((r[0], r[1]) for r in inserted).items():
        metrics.NOTIFICATIONS_ENQUEUED.labels(trigger, channel).inc(count)
    return out


def _insert_events(
    session: Any, chunk: Sequence[Loaded], outcomes: dict[int, Outcome], now: datetime
) -> dict[int, list[NewEvent]]:
    """Insert every event of the chunk, skipping known ones; the new ones per shipment, in order."""
    rows, order = [], {}
    for item in chunk:
        result = outcomes.get(item.id, Outcome()).result
        if result is None or result.error is not None:
            continue
        for seq, event in enumerate(result.events):
            fp = fingerprint(event)
            order[(item.id, fp)] = NewEvent(event.status, to_utc(event.time, item.party.tz))
            rows.append(_event_row(item.id, seq, fp, event, item.party.tz, now))
    inserted = insert_new(
        session,
        EventRow,
        rows,
        ["shipment_id", "fingerprint"],
        [EventRow.shipment_id, EventRow.fingerprint, EventRow.seq],
    )
    new: dict[int, list[tuple[int, NewEvent]]] = {}
    for shipment_id, fp, seq in inserted:
        new.setdefault(shipment_id, []).append((seq, order[(shipment_id, fp)]))
    return {sid: [e for _, e in sorted(evs, key=lambda p: p[0])] for sid, evs in new.items()}


def _event_row(
    shipment_id: int, seq: int, fp: str, event: TrackingEvent, tz: tzinfo, now: datetime
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "shipment_id": shipment_id,
        "fingerprint": fp,
        "seq": seq,
        "time": to_utc(event.time, tz),
        "time_raw": event.time.isoformat() if event.time else None,
        "status": event.status.value,
        "raw_code": event.raw_code,
        "location": event.location,
        "description": event.description or "",
        "created_at": now,
    }
    for key, limit in TEXT_LIMITS.items():
        value = row[key]
        if isinstance(value, str):
            row[key] = value[:limit]
    return row


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
    rules = Rules(
        tz=tz,
        stall=timedelta(hours=party.prefs.stall_hours),
        pickup_stall=timedelta(hours=party.prefs.pickup_stall_hours),
        disabled=frozenset(party.prefs.disabled_triggers),
    )
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


def insert_new(
    session: Any, model: Any, rows: list[dict[str, Any]], conflict: list[str], returning: list[Any]
) -> list[Any]:
    """INSERT ``rows`` skipping those that collide on ``conflict``; the ``returning`` columns of
    the rows inserted.

    A Core statement on the session's connection: SQLAlchemy pages the rows into multi-row
    ``INSERT ... VALUES (...), (...) RETURNING`` statements (insertmanyvalues), one round trip
    per page. (The ORM's bulk insert of the same statement compiled and sent one per row.)
    """
    if not rows:
        return []
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(model.__table__).on_conflict_do_nothing(index_elements=conflict)
    return list(conn.execute(stmt.returning(*returning), rows).all())


def _update_shipments(session: Any, updates: list[dict[str, Any]], owner: str) -> None:
    """One executemany; a row whose lease another worker took meanwhile is left alone."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update in updates:  # failures and successes set different columns
        shapes.setdefault(tuple(sorted(update)), []).append(update | {"_owner": owner})
    for keys, rows in shapes.items():
        stmt = (
            sa.update(Shipment)
            .where(
                col(Shipment.id) == sa.bindparam("_id"),
                col(Shipment.lease_owner) == sa.bindparam("_owner"),
            )
            .values({c: sa.bindparam(c) for c in keys if c != "_id"})
        )
        session.connection().execute(stmt, rows)
