"""The sweep's bulk writes store exactly what the ORM would (same text for times on SQLite, so
comparisons of one column agree), skip known rows and say which rows were new."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import select

from notifier.pipeline import bulk
from notifier.pipeline.bulk import page_sizes
from notifier.store.models import Notification, NotificationState, Shipment
from notifier.store.models import TrackingEvent as EventRow
from tests.factories import parcel

WIB = timezone(timedelta(hours=7))
MOMENT = datetime(2026, 12, 1, 10, 30, 5, 1234, tzinfo=WIB)  # 03:30:05.001234 UTC


def event_values(shipment_id: int, fingerprint: str) -> dict:
    return {
        "shipment_id": shipment_id,
        "fingerprint": fingerprint,
        "seq": 0,
        "time": MOMENT,
        "time_raw": MOMENT.isoformat(),
        "status": "in_transit",
        "raw_code": "ARRIVED_HUB",
        "location": "Jakarta",
        "description": "Tiba di hub",
        "created_at": MOMENT,
    }


def test_inserted_rows_read_back_as_the_orm_writes_them(rt, merchant) -> None:
    sh = parcel(rt, merchant)
    with rt.sessions() as session, session.begin():
        session.add(EventRow(**event_values(sh.id, "orm")))
    columns = list(event_values(0, ""))
    with rt.sessions() as session, session.begin():
        conn = session.connection()
        funcs = bulk.converters(conn, EventRow.__table__, columns)
        row = bulk.convert(list(event_values(sh.id, "bulk").values()), funcs)
        first = bulk.insert_new(
            conn, EventRow.__table__, columns, [row, row], ["shipment_id", "fingerprint"], ["seq"]
        )
        again = bulk.insert_new(
            conn, EventRow.__table__, columns, [row], ["shipment_id", "fingerprint"], ["seq"]
        )
    assert (len(first), again) == (1, [])  # the duplicate in one statement and the re-insert
    with rt.sessions() as session:
        rows = {e.fingerprint: e for e in session.exec(select(EventRow))}
        raw = session.execute(sa.text("SELECT fingerprint, time FROM tracking_event")).all()
    assert rows["bulk"].time == rows["orm"].time == MOMENT.astimezone(UTC)
    assert len({str(t) for _, t in raw}) == 1  # stored alike, byte for byte on SQLite
    with rt.sessions() as session:  # and a range query finds both
        later = session.exec(select(EventRow).where(EventRow.time < MOMENT + timedelta(0, 1))).all()
    assert len(later) == 2


def test_dates_json_and_state_enums_are_stored_as_the_models_say(rt, merchant) -> None:
    sh = parcel(rt, merchant)
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    values = {
        "merchant_id": merchant.id,
        "order_id": sh.order_id,
        "shipment_id": sh.id,
        "recipient_id": 1,
        "trigger": "delayed",
        "channel": "email",
        "episode": "1",
        "dedupe_key": "k1",
        "state": NotificationState.SUPPRESSED,
        "last_error": None,
        "not_before": None,
        "next_attempt_at": now,
        "context": {"delay_kind": "eta_passed"},
        "created_at": now,
        "updated_at": now,
    }
    with rt.sessions() as session, session.begin():
        conn = session.connection()
        table = Notification.__table__
        row = bulk.convert(list(values.values()), bulk.converters(conn, table, list(values)))
        got = bulk.insert_new(conn, table, list(values), [row], ["dedupe_key"], ["trigger"])
        funcs = bulk.converters(conn, Shipment.__table__, ["eta", "last_checked_at"])
        update = bulk.convert([date(2026, 12, 3), now], funcs)
        bulk.update_many(
            conn, Shipment.__table__, ["eta", "last_checked_at"], ["id"], [(*update, sh.id)]
        )
    assert got == [("delayed",)]
    with rt.sessions() as session:
        n = session.exec(select(Notification)).one()
        stored = session.get(Shipment, sh.id)
    assert (n.state, n.context, n.attempts) == ("suppressed", {"delay_kind": "eta_passed"}, 0)
    assert n.next_attempt_at == now
    assert (stored.eta, stored.last_checked_at) == (date(2026, 12, 3), now)


@pytest.mark.parametrize("count", [0, 1, 37, 499, 500, 501, 1234, 5000])
def test_pages_come_in_few_sizes_and_cover_every_row(count: int) -> None:
    sizes = page_sizes(count, 500)
    assert sum(sizes) == count and all(0 < s <= 500 for s in sizes)
    assert set(sizes) <= {500, 256, 128, 64, 32, 16, 8, 4, 2, 1}  # few statement texts
