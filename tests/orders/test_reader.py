"""Reading order files as shops export them: bad rows named, Excel's quirks understood."""

from __future__ import annotations

import codecs
import json
from datetime import datetime
from decimal import Decimal

import pytest

from notifier.orders.reader import FileError, RowError, parse_amount, parse_bytes
from tests.orders.samples import HEADER, MIXED


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
    assert parse_amount(text, decimal_comma=semicolons, digits=digits) == Decimal(amount)


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
