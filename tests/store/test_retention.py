"""Retention (``notifier db prune`` and the daemon's daily job), on SQLite and PostgreSQL: old
events of parcels no longer followed go, old message texts are cleared while the record of what
was sent stays, batch by batch; 0 keeps forever; a dry run changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from typer.testing import CliRunner

from notifier.cli import app
from notifier.runtime import build_runtime
from notifier.scheduler import SINGLETONS, Daemon
from notifier.settings import RetentionSettings
from notifier.store.db import make_engine
from notifier.store.models import (
    InboundMessage,
    Notification,
    Order,
    Shipment,
    TrackingEvent,
)
from notifier.store.retention import Pruned, prune
from tests.conftest import START
from tests.factories import parcel, snapshot

DAY = timedelta(days=1)
POLICY = RetentionSettings(events_days=365, bodies_days=90, batch_size=1000)
AUDIT = ("trigger", "channel", "state", "sent_at", "provider_message_id", "attempts", "sender")


def _events(session: Any, shipment_id: int, count: int, at: Any) -> None:
    for i in range(count):
        session.add(
            TrackingEvent(
                shipment_id=shipment_id,
                fingerprint=f"{shipment_id}-{i}",
                seq=i,
                time=at,
                status="in_transit",
                description=f"scan {i}",
                created_at=at,
            )
        )


def _parcel(rt, merchant, number: str, *, age: float, followed: bool, leased: bool = False):
    """A parcel whose last change was ``age`` days ago, with 3 events stored 400 days ago."""
    sh = parcel(rt, merchant, number=number, status="delivered" if not followed else "in_transit")
    with rt.sessions() as session, session.begin():
        row = session.get(Shipment, sh.id)
        row.next_check_at = START + DAY if followed else None
        row.updated_at = START - age * DAY
        row.lease_owner = "someone:1:abc" if leased else None
        _events(session, sh.id, 3, START - 400 * DAY)
    return sh


def _message(rt, sh, key: str, *, age: float, state: str, **kw: Any) -> int:
    with rt.sessions() as session, session.begin():
        order_id = sh.order_id
        shipment = session.get(Shipment, sh.id)
        order = session.get(Order, order_id)
        n = Notification(
            merchant_id=shipment.merchant_id,
            order_id=order_id,
            shipment_id=sh.id,
            recipient_id=order.recipient_id,
            trigger="shipped",
            channel="email",
            dedupe_key=key,
            state=state,
            sender="outbox",
            provider_message_id=f"pm-{key}",
            attempts=1,
            subject=f"Paket {key}",
            body=f"Halo Rina, paket {key} sudah dikirim",
            created_at=START - age * DAY,
            sent_at=START - age * DAY if state != "pending" else None,
            updated_at=START - age * DAY,
            **kw,
        )
        session.add(n)
        session.flush()
        return int(n.id)


def _inbound(rt, merchant, key: str, *, age: float, **kw: Any) -> int:
    fields = {"from_address": "+6281234567890", "handled_as": "status_reply"} | kw
    with rt.sessions() as session, session.begin():
        row = InboundMessage(
            merchant_id=merchant.id,
            channel="whatsapp",
            body=f"paket saya {key} di mana?",
            provider_message_id=f"SM-{key}",
            received_at=START - age * DAY,
            **fields,
        )
        session.add(row)
        session.flush()
        return int(row.id)


@pytest.fixture
def world(rt, merchant) -> dict[str, Any]:
    """Rows on both sides of every line."""
    old_gone = _parcel(rt, merchant, "OLD1", age=400, followed=False)
    recent_change = _parcel(rt, merchant, "RECENT", age=10, followed=False)
    followed = _parcel(rt, merchant, "FOLLOW", age=400, followed=True)
    leased = _parcel(rt, merchant, "LEASED", age=400, followed=False, leased=True)
    return {
        "gone": old_gone.id,
        "kept": [recent_change.id, followed.id, leased.id],
        "sent_old": _message(rt, old_gone, "a", age=100, state="delivered"),
        "failed_old": _message(rt, old_gone, "b", age=100, state="failed", last_error="bounce"),
        "sent_new": _message(rt, old_gone, "c", age=10, state="sent"),
        "pending_old": _message(rt, old_gone, "d", age=100, state="pending"),
        "inbound_old": _inbound(rt, merchant, "1", age=100),
        "inbound_new": _inbound(rt, merchant, "2", age=10),
        "merchant_reason": _inbound(
            rt,
            merchant,
            "3",
            age=100,
            from_address="merchant:owner",
            handled_as="resubscribed_by_merchant",
        ),
        "forward_pending": _inbound(rt, merchant, "4", age=100, handled_as="forward_pending"),
    }


def _event_counts(rt) -> dict[int, int]:
    with rt.sessions() as session:
        rows = session.execute(
            sa.select(TrackingEvent.shipment_id, sa.func.count()).group_by(
                TrackingEvent.shipment_id
            )
        ).all()
    return {int(s): int(n) for s, n in rows}


def test_prune_deletes_and_clears_only_what_is_old_and_done(rt, world) -> None:
    with rt.sessions() as session:
        audit_before = {
            k: tuple(getattr(session.get(Notification, world[k]), f) for f in AUDIT)
            for k in ("sent_old", "failed_old")
        }
    done = prune(rt.engine, POLICY, rt.clock.now())
    assert done == Pruned(events=3, bodies=2, inbound=1)
    assert _event_counts(rt) == dict.fromkeys(world["kept"], 3)
    with rt.sessions() as session:
        for key in ("sent_old", "failed_old"):
            n = session.get(Notification, world[key])
            assert (n.subject, n.body) == (None, None)
            assert tuple(getattr(n, f) for f in AUDIT) == audit_before[key]  # the record stays
        assert session.get(Notification, world["failed_old"]).last_error == "bounce"
        for key in ("sent_new", "pending_old"):
            n = session.get(Notification, world[key])
            assert n.subject and n.body
        assert session.get(InboundMessage, world["inbound_old"]).body == ""
        assert session.get(InboundMessage, world["inbound_old"]).handled_as == "status_reply"
        for key in ("inbound_new", "merchant_reason", "forward_pending"):
            assert session.get(InboundMessage, world[key]).body
    assert prune(rt.engine, POLICY, rt.clock.now()) == Pruned()  # nothing left to do


def test_dry_run_counts_and_changes_nothing(rt, world) -> None:
    before = snapshot(rt.engine)
    assert prune(rt.engine, POLICY, rt.clock.now(), dry_run=True) == Pruned(3, 2, 1)
    assert snapshot(rt.engine) == before


def test_zero_days_keeps_forever(rt, world) -> None:
    before = snapshot(rt.engine)
    forever = RetentionSettings(events_days=0, bodies_days=0, batch_size=1)
    assert prune(rt.engine, forever, rt.clock.now() + 10_000 * DAY) == Pruned()
    assert snapshot(rt.engine) == before
    only_events = RetentionSettings(events_days=365, bodies_days=0)
    assert prune(rt.engine, only_events, rt.clock.now()) == Pruned(events=3)


def test_batch_size_rows_per_transaction(rt, merchant) -> None:
    sh = _parcel(rt, merchant, "MANY", age=400, followed=False)
    with rt.sessions() as session, session.begin():
        session.execute(sa.delete(TrackingEvent))
        _events(session, sh.id, 5, START - 400 * DAY)
    commits: list[int] = []
    deleted: list[int] = []

    def on_commit(_conn: Any) -> None:
        commits.append(1)

    def after(_conn, _cursor, statement: str, *_a: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deleted.append(_cursor.rowcount)

    sa.event.listen(rt.engine, "commit", on_commit)
    sa.event.listen(rt.engine, "after_cursor_execute", after)
    try:
        policy = RetentionSettings(events_days=365, bodies_days=0, batch_size=2)
        assert prune(rt.engine, policy, rt.clock.now()) == Pruned(events=5)
    finally:
        sa.event.remove(rt.engine, "commit", on_commit)
        sa.event.remove(rt.engine, "after_cursor_execute", after)
    assert deleted == [2, 2, 1] and len(commits) == 3
    assert _event_counts(rt) == {}


def test_a_stopping_daemon_ends_between_batches(rt, world) -> None:
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first batch

    policy = RetentionSettings(events_days=365, bodies_days=90, batch_size=1)
    done = prune(rt.engine, policy, rt.clock.now(), should_stop=stop)
    assert done == Pruned(events=1, stopped=True)
    assert prune(rt.engine, policy, rt.clock.now()) == Pruned(events=2, bodies=2, inbound=1)


async def test_the_daily_job_runs_once_across_replicas(rt, world, settings, clock) -> None:
    assert "retention" in SINGLETONS
    other = build_runtime(settings, clock, engine=rt.engine)
    try:
        daemons = [Daemon(rt, serve_http=False), Daemon(other, serve_http=False)]
        for d in daemons:
            d._schedule()  # registers the jobs and their intervals; the scheduler is not started
        assert daemons[0].intervals["retention"] == 86400.0
        for d in daemons:
            await d._guard("retention", d._retention)()
        assert [d.runs.get("retention", 0) for d in daemons] == [1, 0]
        assert daemons[1].held["retention"] == 1
        assert _event_counts(rt) == dict.fromkeys(world["kept"], 3)
        with rt.sessions() as session:
            assert session.get(Notification, world["sent_old"]).body is None
    finally:
        await other.carriers.aclose()


def test_cli_prune_dry_run_then_prune(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", url)
    runner = CliRunner()
    dry = runner.invoke(app, ["db", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete 0" in dry.stdout and "older than 365 days" in dry.stdout
    monkeypatch.setenv("NOTIFIER_RETENTION__BODIES_DAYS", "0")
    real = runner.invoke(app, ["db", "prune"])
    assert real.exit_code == 0, real.output
    assert "deleted 0" in real.stdout and "kept forever" in real.stdout
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", "postgresql+psycopg://u:pw-secret@127.0.0.1:1/x")
    down = runner.invoke(app, ["db", "prune"])
    assert down.exit_code == 1 and "prune failed" in down.output
    assert "Traceback" not in down.output and "pw-secret" not in down.output
