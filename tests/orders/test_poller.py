"""Order sources polled by the scheduler: the inbox folder end to end, and failures contained."""

from __future__ import annotations

import json
from typing import ClassVar

from sqlmodel import select

from notifier.orders import poller
from notifier.orders.base import OrderSource, SourcePage
from notifier.orders.inbox import InboxSource
from notifier.orders.poller import poll_sources
from notifier.plugins import load_source
from notifier.store.models import Order, SourceCursor
from tests.orders.helpers import add_merchant, count, messages, set_settings

CSV = (
    "\n".join(
        [
            "order_id,status,customer_name,phone,email,carrier,courier,tracking_number",
            "W-1,paid,Rina,0812-3456-7890,rina@example.com,binderbyte,jne,JP0000000001",
            "W-2,paid,Budi,0812,budi@example.com,binderbyte,jne,JP0000000002",  # phone: too short
            "W-3,paid,Sari,0813-1111-2222,sari@example.com,binderbyte,jne,JP0000000003",
        ]
    )
    + "\n"
)
JSONL = (
    "\n".join(
        [
            json.dumps(
                {"external_id": "J-1", "status": "paid", "customer": {"email": "j1@example.com"}}
            ),
            '{"external_id": "J-2", ',
        ]
    )
    + "\n"
)


def cursor_of(rt, merchant, source="inbox"):
    with rt.sessions() as session:
        return session.exec(
            select(SourceCursor).where(
                SourceCursor.merchant_id == merchant.id, SourceCursor.source == source
            )
        ).first()


def test_inbox_is_the_registered_source():
    assert load_source("inbox") is InboxSource


async def test_inbox_files_are_imported_filed_away_and_not_read_twice(rt, merchant, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-orders.csv").write_text(CSV, encoding="utf-8")
    (inbox / "b-orders.jsonl").write_text(JSONL, encoding="utf-8")
    (inbox / "c-photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (inbox / "notes.txt").write_text("not an order file", encoding="utf-8")
    set_settings(rt, merchant, sources=[{"id": "inbox", "dir": str(inbox)}])

    stats = await poll_sources(rt)
    assert (stats["created"], stats["rejected"], stats["failed"], stats["pages"]) == (3, 3, 0, 3)
    with rt.sessions() as session:
        assert sorted(o.external_id for o in session.exec(select(Order))) == ["J-1", "W-1", "W-3"]
        assert {o.source for o in session.exec(select(Order))} == {"inbox"}
    assert sorted(p.name for p in inbox.iterdir()) == ["notes.txt", "rejected"]
    filed = sorted(p.name for p in (inbox / "rejected").iterdir())
    assert filed == [
        "a-orders.csv",
        "a-orders.csv.errors.txt",
        "b-orders.jsonl",
        "b-orders.jsonl.errors.txt",
        "c-photo.csv",
        "c-photo.csv.errors.txt",
    ]
    report = (inbox / "rejected" / "a-orders.csv.errors.txt").read_text()
    assert report.startswith("a-orders.csv row 3: order W-2: customer.phone: '0812': too short")
    assert (
        "b-orders.jsonl line 2: line: not valid JSON"
        in (inbox / "rejected" / "b-orders.jsonl.errors.txt").read_text()
    )
    assert "binary" in (inbox / "rejected" / "c-photo.csv.errors.txt").read_text()

    saved = cursor_of(rt, merchant)
    assert saved.cursor == "c-photo.csv" and saved.last_run_at == rt.clock.now()
    notified = len(messages(rt))

    (inbox / "d-clean.csv").write_text(CSV.replace("0812,", "0812-2222-3333,"), encoding="utf-8")
    stats = await poll_sources(rt)
    assert (stats["created"], stats["unchanged"], stats["rejected"]) == (1, 2, 0)  # W-2 now
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["d-clean.csv"]
    assert cursor_of(rt, merchant).cursor == "d-clean.csv"
    assert cursor_of(rt, merchant).last_error is None
    assert len(messages(rt)) == notified + 4  # W-2's confirmation and parcel, two channels

    stats = await poll_sources(rt)
    assert (stats["created"], stats["unchanged"], stats["pages"]) == (0, 0, 1)
    assert count(rt, Order) == 4 and len(messages(rt)) == notified + 4


async def test_a_file_of_the_same_name_next_day_does_not_overwrite_yesterdays(
    rt, merchant, tmp_path
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    set_settings(rt, merchant, sources=[{"id": "inbox", "dir": str(inbox)}])
    clean = CSV.replace("0812,", "0812-2222-3333,")
    for _ in range(2):
        (inbox / "orders.csv").write_text(clean, encoding="utf-8")
        await poll_sources(rt)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["orders-2.csv", "orders.csv"]


class Exploding(OrderSource):
    id: ClassVar[str] = "exploding"

    def __init__(self, config):
        self.config = config

    async def poll(self, cursor, now) -> SourcePage:
        raise RuntimeError("store answered 500")


async def test_a_failing_source_never_stops_another_merchants(rt, merchant, tmp_path, monkeypatch):
    real_load = poller.load_source
    monkeypatch.setattr(
        poller, "load_source", lambda name: Exploding if name == "exploding" else real_load(name)
    )
    set_settings(
        rt,
        merchant,
        sources=[
            {"id": "inbox", "dir": str(tmp_path / "missing")},  # the folder is gone
            {"id": "bukalapak", "shop": "sekar"},  # not installed here
            {"id": "exploding"},
            "inbox",  # not an entry at all
        ],
    )
    inbox = tmp_path / "mawar"
    inbox.mkdir()
    (inbox / "orders.csv").write_text(CSV, encoding="utf-8")
    mawar = add_merchant(rt, "mawar", "tok-mawar", sources=[{"id": "inbox", "dir": str(inbox)}])

    stats = await poll_sources(rt)
    assert (stats["sources"], stats["failed"], stats["created"]) == (5, 4, 2)
    assert count(rt, Order, Order.merchant_id == mawar.id) == 2
    assert "cannot read the folder" in cursor_of(rt, merchant).last_error
    assert "unknown order source 'bukalapak'" in cursor_of(rt, merchant, "bukalapak").last_error
    assert cursor_of(rt, merchant, "exploding").last_error == "RuntimeError: store answered 500"
    assert cursor_of(rt, merchant, "exploding").cursor is None
    assert "1 order(s) rejected" in cursor_of(rt, mawar).last_error


async def test_a_source_without_its_settings_is_reported(rt, merchant):
    set_settings(rt, merchant, sources=[{"id": "inbox"}])
    stats = await poll_sources(rt)
    assert stats["failed"] == 1
    assert 'inbox: the setting "dir"' in cursor_of(rt, merchant).last_error
