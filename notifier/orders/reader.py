"""Reading order files as shops export them: CSV or JSON Lines, into :class:`OrderIn` records.

CSV has a header row with the columns in :data:`COLUMNS` (a few common aliases are accepted);
several rows with the same ``order_id`` are one order with several parcels. Files saved by Excel
work as they are: UTF-8 with a BOM, UTF-16 "Unicode text", ``;`` or tab separators, a ``sep=;``
first line, ``dd/mm/yyyy`` dates, and ``150.000,50`` amounts when ``;`` separates the columns.
JSON Lines has one :class:`~notifier.orders.schema.OrderIn` object per line.

A row that does not parse becomes a record with errors naming its row (or line) and column;
the others are returned. A file that is not CSV or JSON Lines at all raises :class:`FileError`.
Used by ``notifier orders import`` and by the ``inbox`` source.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError

from notifier.errors import InputError
from notifier.orders.schema import OrderIn, minor_digits

COLUMNS = (
    "order_id", "order_number", "status", "paid_at", "total", "currency",
    "customer_name", "phone", "email", "locale", "timezone",
    "carrier", "courier", "tracking_number", "tracking_url",
)  # fmt: skip
SHIPMENT_COLUMNS = ("carrier", "courier", "tracking_number", "tracking_url")
ORDER_COLUMNS = tuple(c for c in COLUMNS if c not in SHIPMENT_COLUMNS and c != "order_id")
ALIASES = {
    "external_id": "order_id",
    "name": "customer_name",
    "customer": "customer_name",
    "phone_number": "phone",
    "customer_phone": "phone",
    "customer_email": "email",
    "resi": "tracking_number",
    "no_resi": "tracking_number",
    "awb": "tracking_number",
}
# Where each OrderIn field comes from in a CSV row (for error messages).
_FIELD_COLUMN = {"external_id": "order_id", "name": "customer_name"}
# Excel in Indonesian (and most European) locales writes day-first dates.
DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")
_DELIMITERS = (",", ";", "\t")
_GROUPED_DOTS = re.compile(r"^\d{1,3}(\.\d{3})+$")  # 1.250.000

FileKind = Literal["csv", "jsonl"]


class FileError(InputError):
    """The file as a whole cannot be read as orders (binary, a workbook, no header...)."""


class RowError(NamedTuple):
    """Why one row (CSV) or line (JSON Lines) was rejected."""

    row: int
    field: str
    reason: str


@dataclass
class Record:
    """One order read from a file (``order`` set), or the rows that failed (``errors`` set)."""

    rows: list[int]
    order: OrderIn | None = None
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    kind: FileKind
    records: list[Record]
    rows: int  # data rows (CSV) or non-blank lines (JSON Lines)
    warnings: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return "row" if self.kind == "csv" else "line"


def read_orders(path: Path) -> Parsed:
    """Read ``path`` as CSV or JSON Lines (detected from the content). Raises FileError when
    the file cannot be read as either; bad rows are returned as records with errors."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise FileError(f"{path}: {err.strerror or err}") from err
    return parse_bytes(data)


def parse_bytes(data: bytes) -> Parsed:
    text = _decode(data)
    first = text.lstrip()[:1]
    if first == "{":
        return _parse_jsonl(text)
    if first == "[":
        raise FileError("a JSON array: expected JSON Lines, one order object per line")
    return _parse_csv(text)


def _decode(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise FileError("an Excel workbook (or a zip file): in Excel use Save As > CSV UTF-8")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError("an old Excel workbook (.xls): in Excel use Save As > CSV UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")  # Excel's "Unicode text": tab-separated UTF-16
        except UnicodeDecodeError as err:  # cut short (an odd byte count) or a lone surrogate
            raise FileError(f"not UTF-16 text (bad bytes at offset {err.start})") from err
    elif b"\x00" in data[:8192]:
        raise FileError("a binary file, not CSV or JSON Lines")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise FileError(
                f"not UTF-8 text (bad byte at offset {err.start}): save it as CSV UTF-8"
            ) from err
    if not text.strip():
        raise FileError("the file is empty")
    return text


def _parse_jsonl(text: str) -> Parsed:
    records, rows = [], 0
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        rows += 1
        records.append(_jsonl_record(number, line))
    return Parsed("jsonl", records, rows)


def _jsonl_record(number: int, line: str) -> Record:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        reason = f"not valid JSON: {err.msg} (column {err.colno})"
        return Record([number], errors=[RowError(number, "line", reason)])
    if not isinstance(obj, dict):
        return Record([number], errors=[RowError(number, "line", "not a JSON object")])
    try:
        return Record([number], OrderIn.model_validate(obj))
    except ValidationError as err:
        return Record(
            [number], errors=[RowError(number, _dotted(e["loc"]), _msg(e)) for e in err.errors()]
        )


def _dotted(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "order"


def _msg(error: Any) -> str:
    return "missing" if error["type"] == "missing" else str(error["msg"])


# ---------------------------------------------------------------- CSV


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


def _parse_csv(text: str) -> Parsed:
    first_row = 1
    lines = text.split("\n", 1)
    if lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) == 5:
        delimiter = lines[0].strip()[4]  # Excel's hint line, e.g. "sep=;"
        text, first_row = lines[1] if len(lines) > 1 else "", 2
    else:
        delimiter = max(_DELIMITERS, key=lambda d: lines[0].count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("no header row") from None
    columns, warnings = _columns(header)
    parsed = Parsed("csv", [], 0, warnings)
    groups: dict[str, list[_Row]] = {}
    try:
        for offset, cells in enumerate(reader, first_row + 1):
            row = _row(offset, columns, cells, parsed)
            if row is not None:
                groups.setdefault(row.cells["order_id"], []).append(row)
    except csv.Error as err:
        raise FileError(f"CSV is malformed near line {reader.line_num}: {err}") from err
    decimal_comma = delimiter == ";"  # Excel writes 150.000,50 where ';' separates columns
    parsed.records.extend(_order_record(rows, decimal_comma) for rows in groups.values())
    return parsed


def _columns(header: Sequence[str]) -> tuple[list[str | None], list[str]]:
    columns: list[str | None] = []
    warnings: list[str] = []
    for raw in header:
        name = raw.strip().lower().replace(" ", "_").replace("-", "_")
        name = ALIASES.get(name, name)
        if name in columns:
            warnings.append(f"column {raw.strip()!r} appears twice; the first one is used")
            name = ""
        elif name and name not in COLUMNS:
            warnings.append(f"column {raw.strip()!r} is not used")
        columns.append(name if name in COLUMNS else None)
    if "order_id" not in columns:
        found = ", ".join(h.strip() for h in header if h.strip())[:200] or "nothing"
        raise FileError(
            f"no order_id column in the header row (found: {found}); columns: {', '.join(COLUMNS)}"
        )
    return columns, warnings


def _row(number: int, columns: list[str | None], cells: list[str], parsed: Parsed) -> _Row | None:
    if not any(c.strip() for c in cells):
        return None  # Excel leaves empty rows (";;;;") at the end
    parsed.rows += 1
    values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False) if name}
    if any(c.strip() for c in cells[len(columns) :]):
        error = RowError(number, "row", f"{len(cells)} cells but {len(columns)} columns")
        parsed.records.append(Record([number], errors=[error]))
        return None
    if not values.get("order_id"):
        parsed.records.append(Record([number], errors=[RowError(number, "order_id", "missing")]))
        return None
    return _Row(number, values)


def _order_record(rows: list[_Row], decimal_comma: bool) -> Record:
    """One order from its rows: order fields from the first row that has each, a parcel from
    every row with a carrier or tracking number."""
    record = Record([r.number for r in rows])
    source: dict[str, int] = {}  # column -> the row its value came from
    values: dict[str, str] = {}
    for row in rows:
        for column in ORDER_COLUMNS:
            value = row.cells.get(column, "")
            if not value:
                continue
            if column not in values:
                values[column], source[column] = value, row.number
            elif value != values[column]:
                record.warnings.append(
                    f"row {row.number}: {column} {value!r} differs from row {source[column]}; "
                    f"{values[column]!r} used"
                )
    body: dict[str, Any] = {"external_id": rows[0].cells["order_id"], "shipments": []}
    shipment_rows = []
    for row in rows:
        parcel = {c: row.cells[c] for c in SHIPMENT_COLUMNS if row.cells.get(c)}
        if parcel.keys() & {"carrier", "tracking_number"}:
            body["shipments"].append(parcel)
            shipment_rows.append(row.number)
    first = rows[0].number
    try:
        _convert(values, body, decimal_comma)
    except _CellError as err:
        record.errors.append(RowError(source.get(err.column, first), err.column, err.reason))
        return record
    try:
        record.order = OrderIn.model_validate(body)
    except ValidationError as err:
        for e in err.errors():
            number, column = _locate(e["loc"], source, shipment_rows, first)
            record.errors.append(RowError(number, column, _msg(e)))
    return record


class _CellError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


def _convert(values: dict[str, str], body: dict[str, Any], decimal_comma: bool) -> None:
    customer_keys = {"customer_name": "name", "phone": "phone", "email": "email",
                     "locale": "locale", "timezone": "timezone"}  # fmt: skip
    body["customer"] = {customer_keys[c]: v for c, v in values.items() if c in customer_keys}
    for column in ("order_number", "status", "currency"):
        if column in values:
            body[column] = values[column]
    if "paid_at" in values:
        body["paid_at"] = parse_date(values["paid_at"])
    if "total" in values:
        digits = minor_digits(values["currency"]) if "currency" in values else 2
        body["total"] = parse_amount(values["total"], decimal_comma=decimal_comma, digits=digits)


def _locate(
    loc: Sequence[int | str], source: dict[str, int], shipment_rows: list[int], first: int
) -> tuple[int, str]:
    """The CSV row and column an OrderIn error comes from."""
    if loc and loc[0] == "shipments" and len(loc) > 1 and isinstance(loc[1], int):
        column = str(loc[2]) if len(loc) > 2 else "tracking_number"
        return shipment_rows[loc[1]], column
    name = str(loc[-1]) if loc else "order"
    column = _FIELD_COLUMN.get(name, name)
    return source.get(column, first), column


def parse_date(text: str) -> str | datetime:
    """ISO 8601 as it is (pydantic reads it); Excel's day-first dates converted."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - naive: the merchant's zone
        except ValueError:
            continue
    return text


def parse_amount(text: str, *, decimal_comma: bool, digits: int = 2) -> Decimal:
    """``150000``, ``150,000.50``, ``Rp 150.000`` (``;`` files: ``150.000,50``) as a Decimal.

    For a currency without minor units (``digits`` 0: rupiah), ``10.000`` is ten thousand: that
    is how Indonesians write it, and ten rupiah is no price."""
    cleaned = text.upper().replace("RP", "").replace("IDR", "")
    cleaned = cleaned.replace(" ", "").replace("\u00a0", "")
    if decimal_comma or (digits == 0 and _GROUPED_DOTS.match(cleaned)):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise _CellError("total", f"{text!r} is not an amount") from None
    if not amount.is_finite():
        raise _CellError("total", f"{text!r} is not an amount")
    return amount


def column_of(field_path: str | None) -> str:
    """An intake field path (``customer.phone``) as the CSV column that holds it."""
    name = (field_path or "order").split(".")[-1]
    return _FIELD_COLUMN.get(name, name)
