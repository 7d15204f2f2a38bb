"""Importing order files as shops export them: good rows in, bad rows named, Excel's quirks."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from notifier.orders import importer
from notifier.orders.importer import FileError, RowError, import_file, parse_bytes
from notifier.store.models import Order, Recipient, Shipment
from tests.orders.helpers import count, messages

HEADER = (
    "order_id,order_number,status,paid_at,total,currency,customer_name,phone,email,locale,"
    "timezone,carrier,courier,tracking_number,tracking_url"
)

MIXED = (
    "\n".join(
        [
            HEADER,
            "A-1,INV/1,paid,2026-11-30T10:00:00+07:00,150000,IDR,Rina,0812-3456-7890,rina@example.com,id,"
            "Asia/Jakarta,binderbyte,jne,JP0000000001,",
            "A-2,INV/2,paid,,99000,IDR,Budi,0812,budi@example.com,id,,binderbyte,jne,JP0000000002,",
            "A-3,INV/3,paid,,99000,IDR,Sari,0813-1111-2222,sari@example,id,,binderbyte,jne,JP0000000003,",
            "A-4,INV/4,paid,,75000,IDR,Dewi,0857-1234-5678,,id,,kurir_x,,JP0000000004,",
            ",INV/5,paid,,75000,IDR,Tono,0857-9999-0000,,id,,binderbyte,jne,JP0000000005,",
            "A-6,INV/6,paid,,10.000,IDR,Ayu,0821-5555-6666,,id,Asia/Jakrta,simulator,,SIM-6,",
            "A-7,INV/7,pending,,20000,IDR,Eko,0821-7777-8888,eko@example.com,en,,,,,",
        ]
    )
    + "\n"
)


def parse(text: str | bytes):
    return parse_bytes(text.encode() if isinstance(text, str) else text)


def errors_of(parsed) -> list[RowError]:
    return sorted(e for r in parsed.records for e in r.errors)


def test_csv_bad_rows_are_named_by_row_and_column():
    parsed = parse(MIXED)
    assert parsed.kind == "csv" and parsed.rows == 7
    good = [r.order.external_id for r in parsed.records if r.order]
    assert good == ["A-1", "A-2", "A-7"]  # A-2's phone is only checked for the merchant's country
    found = [(e.row, e.field) for e in errors_of(parsed)]
    assert found == [(4, "email"), (5, "carrier"), (6, "order_id"), (7, "timezone")]


def test_several_rows_of_one_order_are_its_parcels():
    text = "\n".join(
        [
            HEADER,
            "B-1,INV/B1,paid,,250000,IDR,Rina,081234567890,,id,,binderbyte,jne,JP1111111111,",
            "B-2,INV/B2,pending,,50000,IDR,Budi,081298765432,,id,,,,,",
            "B-1,,,,,,,,,,,binderbyte,sicepat,SC2222222222,https://sicepat.com/t/SC2222222222",
            "B-1,INV/B1,paid,,250000,IDR,Rina,081234567890,,id,,simulator,,SIM-3333",
        ]
    )
    parsed = parse(text)
    orders = {r.order.external_id: r for r in parsed.records if r.order}
    b1 = orders["B-1"]
    assert b1.rows == [2, 4, 5]
    assert [(s.carrier, s.courier, s.tracking_number) for s in b1.order.shipments] == [
        ("binderbyte", "jne", "JP1111111111"),
        ("binderbyte", "sicepat", "SC2222222222"),
        ("simulator", None, "SIM-3333"),
    ]
    assert b1.order.shipments[1].tracking_url == "https://sicepat.com/t/SC2222222222"
    assert orders["B-2"].order.shipments == []


def test_a_bad_parcel_row_rejects_its_whole_order_naming_that_row():
    text = "\n".join(
        [
            HEADER,
            "C-1,INV/C1,paid,,250000,IDR,Rina,081234567890,,id,,binderbyte,jne,JP1111111111,",
            "C-1,,,,,,,,,,,binderbyte,jne,,",
        ]
    )
    (record,) = parse(text).records
    assert record.order is None and record.errors == [RowError(3, "tracking_number", "missing")]


def test_excel_semicolons_bom_day_first_dates_and_rupiah_amounts():
    text = "\n".join(
        [
            "Order ID;Customer Name;Phone;Paid At;Total;Currency;Carrier;Courier;Resi",
            "X-1;Rina;0812-3456-7890;30/11/2026 19:30;Rp 1.250.000;IDR;binderbyte;jne;jp 1234 5678",
            "X-2;Budi;0813-1234-5678;;150.000,00;IDR;;;",
            ";;;;;;;;",
        ]
    )
    parsed = parse(codecs.BOM_UTF8 + text.encode())
    assert errors_of(parsed) == [] and parsed.rows == 2
    x1, x2 = (r.order for r in parsed.records)
    assert x1.total_minor == 1_250_000 and x2.total_minor == 150_000
    assert x1.paid_at == datetime(2026, 11, 30, 19, 30)  # naive: read in the merchant's zone
    assert x1.shipments[0].tracking_number == "JP12345678"


@pytest.mark.parametrize(
    ("text", "semicolons", "currency", "amount"),
    [
        ("150000", False, "IDR", "150000"),
        ("10.000", False, "IDR", "10000"),  # how Indonesians write ten thousand rupiah
        ("Rp 1.250.000", False, "IDR", "1250000"),
        ("1,250,000", False, "IDR", "1250000"),
        ("12.50", False, "USD", "12.50"),
        ("1.250.000,00", True, "IDR", "1250000.00"),
        ("12,50", True, "EUR", "12.50"),
    ],
)
def test_amounts_as_shops_write_them(text, semicolons, currency, amount):
    digits = 0 if currency == "IDR" else 2
    assert importer.parse_amount(text, decimal_comma=semicolons, digits=digits) == Decimal(amount)


def test_excel_sep_hint_line_and_utf16_unicode_text():
    hinted = parse("sep=;\norder_id;phone\nS-1;081234567890\nS-2;\n")
    assert [r.rows for r in hinted.records] == [[3], [4]]  # the hint is row 1 in Excel
    utf16 = parse("order_id\tcustomer_name\tphone\nU-1\tRina\t081234567890\n".encode("utf-16"))
    assert utf16.records[0].order.customer.name == "Rina"


def test_jsonl_with_a_broken_line_keeps_the_others():
    good = {"external_id": "J-1", "status": "paid", "customer": {"email": "rina@example.com"}}
    lines = [
        json.dumps(good),
        '{"external_id": "J-2", "status": ',
        "",
        json.dumps({"external_id": "J-3", "shipments": [{"carrier": "dhl"}]}),
        "[1, 2]",
    ]
    parsed = parse("\n".join(lines))
    assert parsed.kind == "jsonl" and parsed.rows == 4
    assert [r.order.external_id for r in parsed.records if r.order] == ["J-1"]
    assert [(e.row, e.field) for e in errors_of(parsed)] == [
        (2, "line"),
        (4, "shipments.0.tracking_number"),
        (5, "line"),
    ]
    assert "not valid JSON" in errors_of(parsed)[0].reason


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
        (b"order_id,phone\nA,\xff\xfe\xfa\n", "not UTF-8"),
        (b"  \n\n", "empty"),
        (b'[{"external_id": "1"}]', "JSON array"),
        (b"Dear shop, please find the orders attached.\n", "no order_id column"),
    ],
)
def test_a_file_that_is_not_orders_is_one_clear_error(content, says):
    with pytest.raises(FileError, match=says):
        parse(content)


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
