"""What the campaigns share: a database (a PostgreSQL schema of its own, or SQLite), shops and
parcels seeded straight into the store, the exactly-once audit and the half-applied-poll check.

Importable without pytest (``bench/campaign.py`` runs the same campaigns larger)."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from notifier.links import new_public_token
from notifier.store.db import make_engine
from notifier.store.migrate import upgrade
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    Order,
    Recipient,
    Shipment,
    Worker,
)
from notifier.store.models import TrackingEvent as EventRow

PG_URL = os.environ.get("NOTIFIER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Parcel news whose cause is a tracking event of that status (or a later one).
CAUSES: dict[str, frozenset[str]] = {
    "out_for_delivery": frozenset({"out_for_delivery"}),
    "failed_attempt": frozenset({"failed_attempt"}),
    "available_for_pickup": frozenset({"available_for_pickup"}),
    "delivered": frozenset({"delivered"}),
    "exception": frozenset({"exception"}),
    "returned_to_sender": frozenset({"returned_to_sender"}),
    "feedback_request": frozenset({"delivered"}),
}
OPEN = ("pending", "sending")


def pg_available() -> bool:
    try:
        with sa.create_engine(PG_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A URL of an empty, migrated database (``notifier db upgrade`` once, before any
    replica starts): a fresh schema of the test PostgreSQL, or a SQLite file in ``folder``."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'notifier.db'}"
        _migrate(url)
        yield url
        return
    schema = f"c_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        _migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


@dataclass(frozen=True)
class Shop:
    """One merchant and how its parcels travel."""

    slug: str
    carrier: str = "simulator"
    courier: str = ""
    channels: tuple[str, ...] = ("email", "whatsapp")
    numbers: Callable[[int], str] = field(default=lambda i: f"SIMNRM{i:05d}")
    disabled: tuple[str, ...] = ("in_transit",)  # triggers the shop turned off


def seed(url: str, shops: Sequence[Shop], parcels: int, start: datetime) -> dict[str, int]:
    """``parcels`` paid orders with one parcel each, spread over ``shops``, not yet due (see
    :func:`release`); returns the shop ids by slug."""
    engine = make_engine(url)
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for n, shop in enumerate(shops, 1):
            ids[shop.slug] = n
            notify = {
                "channels": list(shop.channels),
                "feedback_delay_days": 1,
                "disabled_triggers": list(shop.disabled),
            }
            conn.execute(
                sa.insert(Merchant).values(
                    id=n,
                    slug=shop.slug,
                    name=f"Toko {shop.slug}",
                    api_token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                    country="ID",
                    locale="id",
                    timezone="Asia/Jakarta",
                    created_at=start,
                    settings={"notify": notify},
                )
            )
        people, orders, parcels_ = [], [], []
        for i in range(1, parcels + 1):
            shop = shops[(i - 1) % len(shops)]
            mid = ids[shop.slug]
            people.append(_recipient(i, mid, start))
            orders.append(_order(i, mid, start))
            parcels_.append(_shipment(i, mid, shop, start))
        conn.execute(sa.insert(Recipient), people)
        conn.execute(sa.insert(Order), orders)
        conn.execute(sa.insert(Shipment), parcels_)
    engine.dispose()
    return ids


def _recipient(i: int, merchant: int, start: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "merchant_id": merchant,
        "name": f"Pembeli {i}",
        "phone": f"+62812{i:08d}",
        "phone_kind": "mobile",
        "email": f"buyer{i}@example.co.id",
        "locale": "id",
        "timezone": "Asia/Jakarta",
        "created_at": start,
    }


def _order(i: int, merchant: int, start: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "merchant_id": merchant,
        "external_id": f"o{i}",
        "order_number": f"INV/{i}",
        "recipient_id": i,
        "status": "paid",
        "source": "api",
        "created_at": start,
        "updated_at": start,
    }


def _shipment(i: int, merchant: int, shop: Shop, start: datetime) -> dict[str, Any]:
    return {
        "merchant_id": merchant,
        "order_id": i,
        "carrier": shop.carrier,
        "courier": shop.courier,
        "tracking_number": shop.numbers(i),
        "public_token": new_public_token(),
        "status": "pending",
        "next_check_at": None,
        "created_at": start,
        "updated_at": start,
    }


def release(engine: Engine, now: datetime, parcels: Iterable[int] | None = None) -> None:
    """Make parcels (seeded ``i``: order ``i``, shipment ``i``; default all) new ones, due
    ``now``: replicas take a while to start on a busy machine, and an accelerated clock would
    age parcels waiting meanwhile (late, then delayed)."""
    values = {"created_at": now, "updated_at": now}
    orders, shipments = sa.update(Order), sa.update(Shipment)
    if parcels is not None:
        ids = list(parcels)
        orders = orders.where(Order.id.in_(ids))
        shipments = shipments.where(Shipment.order_id.in_(ids))
    with engine.begin() as conn:
        conn.execute(orders.values(values))
        conn.execute(shipments.values(values | {"next_check_at": now}))


def settled(engine: Engine, *, later: Sequence[str] = ()) -> bool:
    """No shipment is due for another poll and no notification waits to be sent (those of the
    ``later`` triggers, due after the run, are not counted)."""
    waiting = [Notification.state.in_(OPEN), *(Notification.trigger != t for t in later)]
    with engine.connect() as conn:
        moving = conn.execute(
            sa.select(sa.func.count())
            .select_from(Shipment)
            .where(Shipment.next_check_at.is_not(None))
        ).scalar_one()
        waits = conn.execute(
            sa.select(sa.func.count()).select_from(Notification).where(*waiting)
        ).scalar_one()
    return moving == 0 and waits == 0


def workers_up(engine: Engine) -> set[int]:
    """The pids of the daemons that registered (``worker`` rows: ``host:pid:suffix``)."""
    with engine.connect() as conn:
        ids = conn.execute(sa.select(Worker.id)).scalars().all()
    return {pid_of(i) for i in ids}


def pid_of(worker: str) -> int:
    """The pid inside a worker id ``host:pid:suffix``."""
    try:
        return int(worker.split(":")[-2])
    except (IndexError, ValueError):
        return -1


# --------------------------------------------------------------------------- the audit


@dataclass
class Audit:
    """Every notification row against what the providers received."""

    notifications: int = 0
    states: dict[str, int] = field(default_factory=dict)
    by_trigger: dict[str, int] = field(default_factory=dict)
    delivered_parcels: int = 0
    lost: list[str] = field(default_factory=list)  # expected and never received
    duplicated: int = 0  # deliveries beyond the first, all causes
    in_window: int = 0  # of those, explained by an attempt without an outcome
    unexplained: list[str] = field(default_factory=list)  # repeats with no open attempt
    # sends beyond the row's record (a repeat, or a message out while the row says suppressed)
    # whose only explanation is a live dispatcher that failed to record the outcome (its job
    # crashed after the send): not the kill window, so not allowed either
    unrecorded: list[str] = field(default_factory=list)
    open_attempts: int = 0  # attempts whose outcome was never recorded
    unreasoned: list[str] = field(default_factory=list)  # ended unsent without a reason

    def figures(self) -> dict[str, Any]:
        return {
            "notifications": self.notifications,
            "states": self.states,
            "by_trigger": self.by_trigger,
            "lost": len(self.lost),
            "duplicated": self.duplicated,
            "duplicated_in_uncertain_send": self.in_window,
            "duplicated_unexplained": len(self.unexplained),
            "sent_unrecorded_by_live_dispatcher": len(self.unrecorded),
            "open_attempts": self.open_attempts,
            "delivered_parcels": self.delivered_parcels,
        }


def repeats_allowed_by_kills(url: str, killed: set[int]) -> Counter[str]:
    """Per dedupe key, the attempts without an outcome whose worker was SIGKILLed: the kill
    fell inside the send, which may have reached the provider."""
    return _open_attempts(url, lambda pid: pid in killed)


def unrecorded_sends(url: str, killed: set[int]) -> Counter[str]:
    """Per dedupe key, the attempts without an outcome whose worker was not killed: a live
    dispatcher sent and then failed to record the outcome (its job crashed after the send)."""
    return _open_attempts(url, lambda pid: pid not in killed)


def _open_attempts(url: str, worker_pid: Callable[[int], bool]) -> Counter[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Notification.dedupe_key, NotificationAttempt.worker)
            .join(NotificationAttempt, NotificationAttempt.notification_id == Notification.id)
            .where(NotificationAttempt.outcome.is_(None))
        ).all()
    engine.dispose()
    return Counter(k for k, worker in rows if worker_pid(pid_of(worker)))


def audit(
    url: str,
    received: Counter[str],
    channels: dict[int, Sequence[str]],
    allowed: Counter[str],
    unrecorded: Counter[str] | None = None,
) -> Audit:
    """``received``: how many times each dedupe key reached a provider; ``channels``: each
    merchant's channels (every delivered parcel's ``delivered`` message must go on each);
    ``allowed``: per dedupe key, how many repeats an uncertain send explains (a kill inside
    the provider call, a provider that timed out after taking the message); ``unrecorded``:
    per dedupe key, sends whose outcome a live process failed to record: what only they explain
    is listed apart (``Audit.unrecorded``), neither allowed nor unexplained."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Notification.dedupe_key, Notification.state, Notification.last_error)
        ).all()
        by_trigger = conn.execute(
            sa.select(Notification.trigger, Notification.state, sa.func.count()).group_by(
                Notification.trigger, Notification.state
            )
        ).all()
        open_attempts = conn.execute(
            sa.select(sa.func.count())
            .select_from(NotificationAttempt)
            .where(NotificationAttempt.outcome.is_(None))
        ).scalar_one()
        delivered = conn.execute(
            sa.select(Shipment.id, Shipment.merchant_id).where(Shipment.status == "delivered")
        ).all()
        told = set(
            conn.execute(
                sa.select(Notification.shipment_id, Notification.channel).where(
                    Notification.trigger == "delivered", Notification.state == "sent"
                )
            ).all()
        )
    engine.dispose()
    window = allowed
    out = Audit(notifications=len(rows), open_attempts=int(open_attempts))
    out.states = dict(Counter(state for _, state, _ in rows))
    out.by_trigger = {f"{t}/{s}": int(n) for t, s, n in sorted(by_trigger)}
    out.delivered_parcels = len(delivered)
    for key, state, error in rows:
        got, explained = received.get(key, 0), window.get(key, 0)
        if state in ("sent", "delivered") and got == 0:
            out.lost.append(f"{key}: marked {state}, never received")
        if state in OPEN:
            out.lost.append(f"{key}: still {state}")
        if state not in ("sent", "delivered", *OPEN) and not error:
            out.unreasoned.append(f"{key}: {state} without a reason")
        extra = max(0, got - 1) if state in ("sent", "delivered") else got
        out.duplicated += max(0, got - 1)
        failed = (unrecorded or Counter()).get(key, 0)
        if extra > explained + failed:
            out.unexplained.append(f"{key}: {state}, received {got}x, {explained} uncertain")
        elif extra > explained:
            out.unrecorded.append(
                f"{key}: {state}, received {got}x, {failed} attempt(s) of a live dispatcher open"
            )
        elif got > 1:
            out.in_window += got - 1
    for shipment, merchant in delivered:
        for channel in channels.get(merchant, ()):
            if (shipment, channel) not in told:
                out.lost.append(f"parcel {shipment}: delivered, no {channel} message sent")
    return out


def half_applied(conn: sa.Connection) -> list[str]:
    """Signs of a poll written in part (run inside one snapshot): a shipment whose status or
    last_event_at disagrees with its stored events, a notification without its cause."""
    problems = []
    newest = (
        sa.select(
            EventRow.shipment_id,
            sa.func.max(EventRow.time).label("last"),
            sa.func.count().label("n"),
        )
        .group_by(EventRow.shipment_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            Shipment.id, Shipment.status, Shipment.last_event_at, newest.c.last, newest.c.n
        ).outerjoin(newest, newest.c.shipment_id == Shipment.id)
    ).all()
    statuses = _statuses(conn)
    for sid, status, last_event_at, last, n in rows:
        if n and last is not None and last_event_at != last:
            problems.append(
                f"shipment {sid}: last_event_at {last_event_at} but newest event {last}"
            )
        if not n and status not in ("pending", "expired"):
            problems.append(f"shipment {sid}: {status} without any event")
        if n and status not in statuses.get(sid, set()) | {"expired"}:
            problems.append(f"shipment {sid}: {status}, no event says so")
    notes = conn.execute(
        sa.select(Notification.dedupe_key, Notification.trigger, Notification.shipment_id).where(
            Notification.shipment_id.is_not(None)
        )
    ).all()
    for key, trigger, sid in notes:
        need = CAUSES.get(trigger)
        if need and not need & statuses.get(sid, set()):
            problems.append(f"{key}: {trigger} without a {'/'.join(sorted(need))} event")
    return problems


def _statuses(conn: sa.Connection) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for sid, status in conn.execute(sa.select(EventRow.shipment_id, EventRow.status).distinct()):
        out.setdefault(sid, set()).add(status)
    return out


def watcher(url: str) -> Engine:
    """A small engine for looking at a live database while replicas run."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return sa.create_engine(url, pool_size=2, max_overflow=0)


def snapshot_check(engine: Engine) -> list[str]:
    """:func:`half_applied` in one consistent snapshot of a live database."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        else:
            conn.exec_driver_sql("BEGIN")  # a SQLite read transaction is one snapshot
        try:
            return half_applied(conn)
        finally:
            conn.rollback()


def log_lines(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every JSON log line of the replicas' log files (others are skipped)."""
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
