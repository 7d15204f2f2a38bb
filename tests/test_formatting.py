"""Dates, times, money and labels as an Indonesian or English shopper reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from carriers.base import Status
from notifier import formatting as f
from notifier.sms import is_gsm7
from notifier.templating import Templates

AFTERNOON = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 14.30 in Jakarta, 16.30 in Jayapura


def test_long_date_in_indonesian_and_english() -> None:
    assert f.format_date(date(2025, 12, 1), "id") == "Senin, 1 Desember 2025"
    assert f.format_date(date(2025, 12, 1), "en") == "Monday, 1 December 2025"
    assert f.format_date(date(2026, 12, 1), "id") == "Selasa, 1 Desember 2026"
    assert f.format_date(date(2026, 12, 1), "id-ID") == "Selasa, 1 Desember 2026"


def test_date_of_a_datetime_is_the_shoppers_local_day() -> None:
    late = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 23.30 WIB, already 01.30 WIT next day
    assert f.format_date(late, "id", "Asia/Jakarta") == "Selasa, 1 Desember 2026"
    assert f.format_date(late, "id", "Asia/Jayapura") == "Rabu, 2 Desember 2026"


def test_short_date_is_compact_enough_for_sms() -> None:
    assert f.format_short_date(date(2026, 12, 3), "id") == "3 Des"
    assert f.format_short_date(date(2026, 5, 3), "id") == "3 Mei"
    assert f.format_short_date(date(2026, 12, 3), "en") == "3 Dec"


def test_time_is_converted_to_the_shoppers_zone_with_its_short_name() -> None:
    assert f.format_time(AFTERNOON, "id", "Asia/Jakarta") == "14.30 WIB"
    assert f.format_time(AFTERNOON, "id", "Asia/Makassar") == "15.30 WITA"
    assert f.format_time(AFTERNOON, "id", "Asia/Jayapura") == "16.30 WIT"
    assert f.format_datetime(AFTERNOON, "id", "Asia/Jayapura") == "1 Des 16.30 WIT"


def test_time_without_a_zone_name_shows_just_the_time() -> None:
    # CLDR has no English abbreviation for WIB, only "+0700": better left out.
    assert f.format_time(AFTERNOON, "en", "Asia/Jakarta") == "2:30 PM"
    assert f.format_datetime(AFTERNOON, "en", "Asia/Jayapura") == "1 Dec 4:30 PM"
    assert f.format_time(AFTERNOON, "en", "America/New_York") == "2:30 AM EST"


def test_times_contain_only_gsm_characters() -> None:
    # CLDR puts a narrow no-break space before AM/PM; it would switch an SMS to UCS-2.
    assert is_gsm7(f.format_datetime(AFTERNOON, "en", "Asia/Jakarta"))


def test_same_instant_in_two_zones_is_not_confused_by_the_cache() -> None:
    other_offset = AFTERNOON.astimezone(timezone(timedelta(hours=9)))
    assert f.format_time(AFTERNOON, "id", "Asia/Jakarta") == "14.30 WIB"
    assert f.format_time(other_offset, "id", "Asia/Jayapura") == "16.30 WIT"
    assert f.format_time(AFTERNOON, "id", "Asia/Jakarta") == "14.30 WIB"


def test_naive_times_are_taken_as_local_wall_clock() -> None:
    assert f.format_time(datetime(2026, 12, 1, 9, 5), "id", "Asia/Jakarta") == "09.05 WIB"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (Decimal("150000"), "IDR", "id", "Rp150.000"),
        (Decimal("150000.00"), "IDR", "id", "Rp150.000"),
        (Decimal("1250000"), "idr", "id", "Rp1.250.000"),
        (Decimal("150000"), "IDR", "en", "Rp150,000"),
        (Decimal("12.5"), "USD", "en", "$12.50"),
        (Decimal("12.5"), "USD", "id", "US$12,50"),
        (Decimal("1000"), "JPY", "en", "¥1,000"),
        (150000, None, "id", "150.000"),
    ],
)
def test_money(amount: Decimal | int, currency: str | None, locale: str, expected: str) -> None:
    assert f.format_money(amount, currency, locale) == expected


def test_every_status_has_indonesian_and_english_labels() -> None:
    for status in Status:
        assert f.STATUS_LABELS[status.value].keys() == {"id", "en"}
    assert f.status_label("out_for_delivery", "id") == "Sedang diantar kurir"
    assert f.status_label("out_for_delivery", "fr") == "Out for delivery"
    assert f.status_label("lost_in_space", "id") == "lost in space"


@pytest.mark.parametrize(
    "status", ["requested", "approved", "rejected", "in_transit", "received", "completed"]
)
def test_return_labels(status: str) -> None:
    assert f.return_label(status, "id") != f.return_label(status, "en")
    assert "_" not in f.return_label(status, "id")


@pytest.mark.parametrize(
    "status", ["requested", "pending", "approved", "processed", "completed", "rejected", "failed"]
)
def test_refund_labels(status: str) -> None:
    assert f.refund_label(status, "id") != f.refund_label(status, "en")
    assert f.REFUND_LABELS[status].keys() == {"id", "en"}


def test_phone_and_whatsapp_link() -> None:
    assert f.format_phone("+6281234567890") == "+62 812-3456-7890"
    assert f.format_phone("not a number") == "not a number"
    assert f.wa_link("+62 812-3456-7890") == "https://wa.me/6281234567890"


def test_none_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="guard optional values"):
        f.format_date(None, "id")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        f.format_time(date(2026, 12, 1), "id", "Asia/Jakarta")  # type: ignore[arg-type]


def test_filters_use_the_locale_and_zone_of_the_render() -> None:
    templates = Templates()
    context = templates.sample_context("delivered", "id")
    source = (
        "{{ shipment.eta | date }} | {{ shipment.eta | short_date }} | "
        "{{ shipment.last_event.time | datetime }} | {{ shipment.last_event.time | time }} | "
        "{{ order.total | money(order.currency) }} | {{ shipment.status | status_label }} | "
        "{{ shipment.eta | date('d/M/y') }} {{ shipment.tracking_url }}"
    )
    text = templates.render(
        "delivered", "sms", "en", context, timezone="Asia/Jayapura", override=source
    ).text
    assert text.startswith(
        "Thursday, 3 December 2026 | 3 Dec | 3 Dec 5:47 PM | 5:47 PM | "
        "Rp150,000 | Delivered | 3/12/2026"
    )
