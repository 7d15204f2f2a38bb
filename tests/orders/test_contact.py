"""Phone numbers and emails as Indonesian shops type them, and the order schema's field checks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from notifier.errors import InputError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.orders.schema import OrderIn

PHONES = [  # (as typed, merchant's country, E.164, kind)
    ("0812-3456-7890", "ID", "+6281234567890", "mobile"),
    ("081234567890", "ID", "+6281234567890", "mobile"),
    ("6281234567890", "ID", "+6281234567890", "mobile"),  # country code without the plus
    ("+62 812-3456-7890", "ID", "+6281234567890", "mobile"),
    ("+62 (0)812 3456 7890", "ID", "+6281234567890", "mobile"),  # the trunk 0 kept by habit
    ("81234567890", "ID", "+6281234567890", "mobile"),  # the leading 0 forgotten
    (" 0856.1234.5678 ", "ID", "+6285612345678", "mobile"),  # Indosat, dots
    ("021 5550 1234", "ID", "+622155501234", "landline"),  # Jakarta
    ("(021) 555-0123", "ID", "+62215550123", "landline"),
    ("+62 21 5550 1234", "ID", "+622155501234", "landline"),
    ("0800-1-500-888", "ID", "+628001500888", "landline"),  # toll free: no SMS either
    ("+65 9123 4567", "ID", "+6591234567", "mobile"),  # Singapore, from an Indonesian shop
    ("+44 7911 123456", "ID", "+447911123456", "mobile"),
    ("+49 30 123456", "ID", "+4930123456", "landline"),  # Berlin
    ("+1 415 555 2671", "ID", "+14155552671", "mobile"),  # US: fixed line or mobile
    ("030 123456", "DE", "+4930123456", "landline"),  # a German shop's own format
]


@pytest.mark.parametrize(("raw", "region", "e164", "kind"), PHONES)
def test_phone_numbers_become_e164_with_their_kind(raw, region, e164, kind):
    phone = normalize_phone(raw, region)
    assert (phone.e164, phone.kind) == (e164, kind)


BAD_PHONES = [  # (as typed, what the reason says)
    ("", "empty"),
    ("halo kak", "is not a phone number"),
    ("0812", "too short"),
    ("08123456789012345", "not a valid phone number in ID"),
    ("081234567890123456789", "too long"),
    ("+999 1234567", "unknown country code"),
    ("12", "too short"),
    ("0812-3456-7890-1234-5678-9012-3456-7890-1234", "longer than 40"),
]


@pytest.mark.parametrize(("raw", "says"), BAD_PHONES)
def test_garbage_phone_numbers_are_refused_with_a_reason(raw, says):
    with pytest.raises(InputError) as caught:
        normalize_phone(raw, "ID")
    assert caught.value.field == "phone"
    assert says in str(caught.value)


def test_a_number_without_country_code_needs_a_default_country():
    with pytest.raises(InputError, match="no country code"):
        normalize_phone("0812-3456-7890", None)
    assert normalize_phone("+6281234567890", None).e164 == "+6281234567890"


def test_emails_are_checked_without_dns_and_normalized():
    assert normalize_email("  Rina.W@Example.COM ") == "rina.w@example.com"
    assert normalize_email("budi@toko-sekar.co.id") == "budi@toko-sekar.co.id"
    for bad, says in [("rina@gmail", "period"), ("rina gmail.com", "@"), ("@x.com", "before")]:
        with pytest.raises(InputError, match=says):
            normalize_email(bad)


def test_order_fields_are_trimmed_and_normalized():
    order = OrderIn.model_validate(
        {
            "external_id": " 5001 ",
            "status": " PAID ",
            "currency": "idr",
            "total": "150000.00",
            "customer": {
                "name": " Rina ",
                "email": "Rina@Example.com",
                "locale": "id_id",
                "timezone": "Asia/Makassar",
                "phone": "  ",
            },
            "shipments": [
                {
                    "carrier": " BinderByte ",
                    "courier": "JNE",
                    "tracking_number": " jp 1234 5678 90 ",
                    "tracking_url": "",
                }
            ],
        }
    )
    assert (order.external_id, order.number, order.status) == ("5001", "5001", "paid")
    assert (order.total_minor, order.currency) == (150000, "IDR")
    assert order.customer.model_dump() == {
        "name": "Rina",
        "phone": None,
        "email": "rina@example.com",
        "locale": "id-ID",
        "timezone": "Asia/Makassar",
    }
    parcel = order.shipments[0]
    assert (parcel.carrier, parcel.courier, parcel.tracking_number, parcel.tracking_url) == (
        "binderbyte",
        "jne",
        "JP1234567890",
        None,
    )
    usd = OrderIn.model_validate({"external_id": "x", "total": "12.5", "currency": "USD"})
    assert usd.total_minor == 1250


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate(
            {
                "external_id": "",
                "total": "10",
                "unknown": 1,
                "customer": {"timezone": "WIB"},
                "shipments": [{"carrier": "jnt", "tracking_number": "JT1"}],
            }
        )
    where = {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}
    assert set(where) == {
        "external_id",
        "total",
        "unknown",
        "customer.timezone",
        "shipments.0.carrier",
        "shipments.0.tracking_number",
    }
    assert where["total"] == "a total needs a currency (ISO 4217 code)"
    assert (
        "installed: " in where["shipments.0.carrier"]
        and "binderbyte" in where["shipments.0.carrier"]
    )


def test_naive_paid_at_is_read_in_the_given_zone():
    order = OrderIn.model_validate({"external_id": "x", "paid_at": "2026-12-01T10:00:00"})
    assert order.paid_at_in(ZoneInfo("Asia/Jakarta")) == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    offset = OrderIn.model_validate({"external_id": "x", "paid_at": "2026-12-01T10:00:00+08:00"})
    assert offset.paid_at_in(ZoneInfo("Asia/Jakarta")) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert offset.is_paid and not OrderIn(external_id="y").is_paid
