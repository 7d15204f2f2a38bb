"""Importing order files: good rows stored, bad rows counted, batches, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import select

from notifier.orders import importer
from notifier.orders.importer import import_file
from notifier.orders.reader import RowError
from notifier.store.models import Order, Recipient, Shipment
from tests.orders.helpers import count, messages
from tests.orders.samples import HEADER, MIXED


def test_import_stores_good_rows_and_counts_everything(rt, merchant, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(MIXED, encoding="utf-8")
    summary = import_file(path, rt, "sekar", progress=False)
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (2, 0, 0, 5)
    assert [(e.row, e.field) for e in summary.errors] == [
        (3, "phone"),
        (4, "email"),
        (5, "carrier"),
        (6, "order_id"),
        (7, "timezone"),
    ]
    assert "too short" in summary.errors[0].reason
    with rt.sessions() as session:
        assert sorted(o.external_id for o in session.exec(select(Order))) == ["A-1", "A-7"]
        a1 = session.exec(select(Order).where(Order.external_id == "A-1")).one()
    assert a1.paid_at == datetime(2026, 11, 30, 3, 0, tzinfo=UTC) and a1.source == "import"
    assert count(rt, Shipment) == 1 and summary.notifications == 4

    again = import_file(path, rt, "sekar", progress=True)  # the bar must not get in the way
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 5)
    assert len(messages(rt)) == 4


def test_thousands_of_rows_commit_in_batches(rt, merchant, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 50)
    rows = [HEADER] + [
        f"M-{i},INV/{i},paid,,10000,IDR,Shopper {i},0812{i:08d},,id,,simulator,,SIM-{i:05d},"
        for i in range(120)
    ]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    commits = []

    def counted(conn):
        commits.append(1)

    sa.event.listen(rt.engine, "commit", counted)
    summary = import_file(path, rt, "sekar", progress=False)
    sa.event.remove(rt.engine, "commit", counted)
    assert summary.created == 120 and summary.rejected == 0
    assert len(commits) == 3  # 50 + 50 + 20 rows, never one transaction per row
    assert count(rt, Recipient) == 120 and count(rt, Shipment) == 120


def test_a_parcel_claimed_twice_in_one_file_rejects_only_the_second_order(rt, merchant, tmp_path):
    path = tmp_path / "dupe.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "D-1,,paid,,,,Rina,081234567890,,,,simulator,,SIM-1,",
                "D-2,,paid,,,,Budi,081298765432,,,,simulator,,SIM-1,",
                "D-3,,paid,,,,Sari,081311112222,,,,simulator,,SIM-3,",
            ]
        ),
        encoding="utf-8",
    )
    summary = import_file(path, rt, "sekar", progress=False)
    assert (summary.created, summary.rejected) == (2, 1)
    assert summary.errors == [
        RowError(3, "tracking_number", "SIM-1 (simulator) already belongs to order D-1")
    ]


def test_an_order_the_database_refuses_costs_only_that_order(rt, merchant, tmp_path, monkeypatch):
    """If the database refuses one order mid-batch, the batch is replayed order by order."""
    real = importer.intake.ingest

    def refusing(session, merchant, prefs, order, now, **kw):
        if order.external_id == "E-2":
            session.execute(sa.text("INSERT INTO merchant (id) VALUES (NULL)"))  # NOT NULL fails
        return real(session, merchant, prefs, order, now, **kw)

    monkeypatch.setattr(importer.intake, "ingest", refusing)
    path = tmp_path / "e.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "external_id": f"E-{i}",
                    "status": "paid",
                    "customer": {"email": f"e{i}@example.com"},
                }
            )
            for i in range(1, 4)
        ),
        encoding="utf-8",
    )
    summary = import_file(path, rt, "sekar", progress=False)
    assert (summary.created, summary.rejected) == (2, 1)
    assert summary.errors[0][:2] == (2, "order") and "database" in summary.errors[0].reason
    with rt.sessions() as session:
        assert sorted(o.external_id for o in session.exec(select(Order))) == ["E-1", "E-3"]
