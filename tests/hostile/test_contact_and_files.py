"""Shoppers' phone numbers, email addresses and order files, as anyone might type or save them:
arbitrary input never raises anything but :class:`InputError` (files: :class:`FileError`), and
what does parse is canonical.

Phones and emails arrive through the REST API, store webhooks, CSV imports and the tracking
page's look-up form; order files through ``notifier orders import`` and the ``inbox`` source.
"""

from __future__ import annotations

import codecs
import csv
import io
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.errors import InputError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.orders.reader import COLUMNS, FileError, Parsed, parse_bytes
from notifier.orders.schema import OrderIn

EXAMPLES = 150
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text that looks like a phone number, nearly: digits of every script, separators, prefixes.
DIGITS = "0123456789" + "٠١٢٣٤٥٦٧٨٩" + "０１２３４５６７８９" + "²³¹" + "๑๒๓"
phone_like = st.text(alphabet=DIGITS + " +-().#*xX/\\t", max_size=45)
regions = st.none() | st.sampled_from(["ID", "id", "US", "GB", "SG", "", "ZZ", "XX", "001", "İD"])
regions |= st.text(max_size=3)


@PROFILE
@given(st.text(max_size=60) | phone_like, regions)
def test_any_phone_text_is_a_number_or_an_input_error(raw: str, region: str | None) -> None:
    try:
        phone = normalize_phone(raw, region)
    except InputError as err:
        assert err.field == "phone"
        return
    assert phone.e164.startswith("+") and phone.e164[1:].isascii() and phone.e164[1:].isdigit()
    assert phone.kind in ("mobile", "landline", "unknown")
    again = normalize_phone(phone.e164, None)  # canonical: E.164 reads back as itself
    assert again == phone


email_like = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(max_size=20),
    st.text(alphabet=string.ascii_letters + "-.xn--" + "éü日本", max_size=25),
)


@PROFILE
@given(st.text(max_size=80) | email_like)
def test_any_email_text_is_an_address_or_an_input_error(raw: str) -> None:
    try:
        email = normalize_email(raw)
    except InputError as err:
        assert err.field == "email"
        return
    assert email == email.lower() and "@" in email
    assert normalize_email(email) == email


def _parses_or_file_error(data: bytes) -> Parsed | None:
    try:
        parsed = parse_bytes(data)
    except FileError:
        return None
    for record in parsed.records:
        assert (record.order is None) == bool(record.errors) or record.order is not None
        if record.order is not None:
            assert isinstance(record.order, OrderIn)
        for error in record.errors:
            assert error.row >= 1 and isinstance(error.reason, str)
    return parsed


@PROFILE
@given(st.binary(max_size=300))
def test_any_bytes_are_orders_or_a_file_error(data: bytes) -> None:
    _parses_or_file_error(data)


cell = st.text(max_size=12) | st.sampled_from(
    ["", " ", "0812-3456-7890", "+62 812 3456 7890", "²³", "150.000,50", "1.250.000", "1e309",
     "NaN", "-0", "31/02/2026", "2026-13-01", "99/99/9999 99:99", "Asia/Nowhere", "../../etc",
     '"', "\x00", "=cmd|' /C calc'!A0", "rina@", "@example.com", "jne", "JP1234567890"]
)  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A header of known columns (some aliased, repeated or unknown) and rows of nasty cells,
    written with any separator and in any of the encodings Excel uses."""
    names = draw(st.lists(st.sampled_from([*COLUMNS, "resi", "awb", "extra", ""]), max_size=9))
    header = ["order_id", *names]
    sep = draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(header)
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=5))
    for row in rows:
        writer.writerow(row)
    text = out.getvalue()
    if draw(st.booleans()):
        text = f"sep={sep}\n" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    data = text.encode(encoding, "surrogatepass")
    if draw(st.booleans()):  # cut anywhere: a truncated upload
        data = data[: draw(st.integers(0, len(data)))]
    return data


@PROFILE
@given(csv_files())
def test_any_csv_is_orders_with_row_errors_or_a_file_error(data: bytes) -> None:
    _parses_or_file_error(data)


jsonl_line = st.sampled_from(
    ['{"external_id": "1"}', '{"external_id": ""}', "{}", "{", "[]", "null", '{"shipments": 1}',
     '{"external_id": "1", "customer": {"phone": "²³"}}', '{"external_id": "1", "total": "1e999"}',
     '{"external_id": "1", "paid_at": "2026-02-30"}']
) | st.text(max_size=30).map(lambda t: "{" + t)  # fmt: skip


@PROFILE
@given(st.lists(jsonl_line, min_size=1, max_size=5))
def test_any_json_lines_are_orders_with_line_errors_or_a_file_error(lines: list[str]) -> None:
    _parses_or_file_error(("\n".join(lines)).encode())


def test_excel_utf16_with_a_bom_is_read() -> None:
    """A sanity check on the generator's encodings: a good UTF-16 file reads as one order."""
    text = "order_id\tphone\tcarrier\ttracking_number\n1001\t0812-3456-7890\tjne\tJP1\n"
    parsed = parse_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert len(parsed.records) == 1
