"""carriers.indonesia beyond the words: courier codes each aggregator uses, the order of a
history and the status it decides, error kinds, and the shared time reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from carriers import indonesia as idn
from carriers.base import ErrorKind, Status, TrackingEvent
from carriers.parsing import parse_date, parse_time

S = Status

# --------------------------------------------------------------------------- courier codes


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("J&T Express", "jnt"),
        ("jnt", "jnt"),
        ("J&T", "jnt"),
        ("JNE", "jne"),
        ("JNE Express", "jne"),
        ("Jalur Nugraha Ekakurir (JNE)", "jne"),
        ("SiCepat", "sicepat"),
        ("SiCepat Ekspres", "sicepat"),
        ("Shopee Express", "spx"),
        ("spx", "spx"),
        ("SPX Express", "spx"),
        ("AnterAja", "anteraja"),
        ("Lion Parcel", "lion"),
        ("Ninja Express", "ninja"),
        ("Ninja Xpress", "ninja"),
        ("POS Indonesia", "pos"),
        ("Tiki", "tiki"),
        ("Citra Van Titipan Kilat (TIKI)", "tiki"),
        ("Wahana", "wahana"),
        ("ID Express", "ide"),
        ("idexpress", "ide"),
        ("SAP Express", "sap"),
        ("JET Express", "jet"),
        ("REX Express", "rex"),
        ("First Logistics", "first"),
        ("RPX Holding (RPX)", "rpx"),
        ("PCP Express", "pcp"),
        ("Lazada Express", "lex"),
        ("sentralcargo", "sentral"),
        ("grab", "grab"),
        ("gojek", "gojek"),
        ("paxel", "paxel"),
        ("J&T Cargo", "jnt_cargo"),
        ("Kurir Rekomendasi", "kurir_rekomendasi"),
        ("kurir_tokopedia", "kurir_rekomendasi"),
        ("Some New Courier!", "some_new_courier"),
    ],
)
def test_courier_codes(name: str, ours: str) -> None:
    assert idn.courier_code(name) == ours


@pytest.mark.parametrize("empty", [None, "", "  ", [], {}])
def test_no_courier(empty: Any) -> None:
    assert idn.courier_code(empty) is None


@pytest.mark.parametrize(
    ("ours", "api", "code"),
    [
        ("ide", "binderbyte", "ide"),
        ("ide", "biteship", "idexpress"),
        ("ide", "rajaongkir", "ide"),
        ("J&T Express", "binderbyte", "jnt"),
        ("sentral", "biteship", "sentralcargo"),
        ("sentral", "rajaongkir", "sentral"),
        ("kurir_rekomendasi", "binderbyte", "kurir_tokopedia"),
        ("indah", "binderbyte", "indah_cargo"),
        ("spx", "binderbyte", "spx"),
        ("newcourier", "biteship", "newcourier"),
    ],
)
def test_request_codes(ours: str, api: str, code: str) -> None:
    assert idn.api_courier(ours, api) == code


def test_request_codes_round_trip() -> None:
    for courier in idn.COURIERS:
        for api in ("binderbyte", "biteship", "rajaongkir"):
            request = getattr(courier, api)
            if request:
                assert idn.courier_code(request) == courier.code, (courier.code, api)
                assert idn.api_courier(courier.code, api) == request


def test_unknown_api_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        idn.api_courier("jne", "shipdeo")


# --------------------------------------------------------------------------- order and decision


def _ev(status: Status, hour: int | None = None) -> TrackingEvent:
    when = datetime(2024, 1, 1, hour) if hour is not None else None
    return TrackingEvent(when, status, status.value)


def test_orient_uses_documented_order_then_times() -> None:
    newest_first = [_ev(S.DELIVERED, 9), _ev(S.IN_TRANSIT, 3)]
    assert [e.status for e in idn.orient(newest_first, newest_first=True)][-1] is S.DELIVERED
    assert [e.status for e in idn.orient(newest_first, newest_first=False)][-1] is S.DELIVERED
    untimed = [_ev(S.DELIVERED), _ev(S.IN_TRANSIT)]
    assert idn.orient(untimed, newest_first=True)[-1].status is S.DELIVERED
    assert idn.orient(untimed, newest_first=False)[-1].status is S.IN_TRANSIT


def test_orient_survives_naive_and_aware_times() -> None:
    aware = TrackingEvent(datetime(2024, 1, 1, tzinfo=UTC), S.IN_TRANSIT, "a")
    events = [aware, _ev(S.DELIVERED, 5)]
    assert idn.orient(events, newest_first=False) == events


def test_settle_reads_an_early_delivered_as_an_acceptance() -> None:
    events = idn.settle([_ev(S.DELIVERED, 1), _ev(S.IN_TRANSIT, 2), _ev(S.DELIVERED, 3)])
    assert [e.status for e in events] == [S.IN_TRANSIT, S.IN_TRANSIT, S.DELIVERED]


@pytest.mark.parametrize(
    ("summary", "statuses", "flag", "expected"),
    [
        (S.DELIVERED, [S.IN_TRANSIT], None, S.DELIVERED),  # summary decides
        (S.DELIVERED, [S.IN_TRANSIT, S.RETURNED_TO_SENDER], None, S.RETURNED_TO_SENDER),
        (S.IN_TRANSIT, [S.OUT_FOR_DELIVERY], None, S.OUT_FOR_DELIVERY),  # refined
        (S.IN_TRANSIT, [S.FAILED_ATTEMPT], None, S.FAILED_ATTEMPT),
        (S.IN_TRANSIT, [S.EXCEPTION], None, S.EXCEPTION),
        (S.IN_TRANSIT, [S.DELIVERED], None, S.IN_TRANSIT),  # an event does not deliver
        (S.IN_TRANSIT, [S.FAILED_ATTEMPT, S.OUT_FOR_DELIVERY], None, S.OUT_FOR_DELIVERY),
        (S.INFO_RECEIVED, [S.IN_TRANSIT], None, S.IN_TRANSIT),
        (S.EXCEPTION, [S.EXCEPTION], None, S.EXCEPTION),
        (S.EXCEPTION, [S.IN_TRANSIT], None, S.EXCEPTION),
        (S.FAILED_ATTEMPT, [S.EXCEPTION], None, S.EXCEPTION),
        (None, [S.IN_TRANSIT], True, S.DELIVERED),  # RajaOngkir delivered flag
        (S.IN_TRANSIT, [S.IN_TRANSIT], True, S.DELIVERED),
        (None, [S.DELIVERED], False, S.IN_TRANSIT),  # the flag says not delivered
        (None, [S.OUT_FOR_DELIVERY], None, S.OUT_FOR_DELIVERY),
        (None, [], None, S.PENDING),
    ],
)
def test_decide(
    summary: Status | None, statuses: list[Status], flag: bool | None, expected: Status
) -> None:
    events = [_ev(s) for s in statuses]
    assert idn.decide(summary, events, delivered_flag=flag) is expected


def test_decide_unknown_summary_without_events_is_in_transit() -> None:
    assert idn.decide(None, [], summary_given=True) is S.IN_TRANSIT


# --------------------------------------------------------------------------- errors and times


@pytest.mark.parametrize(
    ("http", "message", "kind"),
    [
        (400, "Invalid awb", ErrorKind.NOT_FOUND),
        (400, "Data not found", ErrorKind.NOT_FOUND),
        (404, "Resi tidak ditemukan", ErrorKind.NOT_FOUND),
        (400, "Invalid waybill. Nomor waybill tidak ditemukan.", ErrorKind.NOT_FOUND),
        (401, "Invalid API key", ErrorKind.AUTH),
        (400, "Invalid key. API key tidak ditemukan di database RajaOngkir.", ErrorKind.AUTH),
        (None, "Invalid Api key, key not found", ErrorKind.AUTH),
        (429, "Too many requests", ErrorKind.RATE_LIMITED),
        (400, "Kuota anda sudah habis", ErrorKind.RATE_LIMITED),
        (400, "Invalid courier", ErrorKind.BAD_REQUEST),
        (400, "Kurir tidak didukung", ErrorKind.BAD_REQUEST),
        (400, "Parameters awb and courier is required", ErrorKind.BAD_REQUEST),
        (404, "something", ErrorKind.NOT_FOUND),
        (400, "something", ErrorKind.BAD_REQUEST),
        (None, None, ErrorKind.BAD_REQUEST),
    ],
)
def test_error_kind(http: int | None, message: str | None, kind: ErrorKind) -> None:
    assert idn.error_kind(http, message) is kind


WIB = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020-10-01 12:30:28", datetime(2020, 10, 1, 12, 30, 28)),
        ("2021-03-08 18:43", datetime(2021, 3, 8, 18, 43)),
        ("2023-03-09T08:12:00+07:00", datetime(2023, 3, 9, 8, 12, tzinfo=WIB)),
        ("05-03-2015 13:22", datetime(2015, 3, 5, 13, 22)),
        ("05/03/2015 13:22", datetime(2015, 3, 5, 13, 22)),
        ("17 Mei 2023 12:20", datetime(2023, 5, 17, 12, 20)),
        ("17 Mei 2023 12:20 WIB", datetime(2023, 5, 17, 12, 20, tzinfo=WIB)),
        ("17 Mei 12:20 WIB", None),  # no year: never guessed
        ("31 Feb 2023 10:00", None),
        ("kemarin", None),
        ("", None),
        (None, None),
    ],
)
def test_local_time(raw: Any, expected: datetime | None) -> None:
    assert idn.local_time(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(200, 200), ("400", 400), (401.0, 401), (True, None), ("x", None), (None, None), (1.5, None)],
)
def test_as_int(value: Any, expected: int | None) -> None:
    assert idn.as_int(value) == expected


# --------------------------------------------------------------------------- shared time reading


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-17T12:20:00+0700", "2024-05-17T12:20:00+07:00"),
        ("2024-05-17T12:20:00+07", "2024-05-17T12:20:00+07:00"),
        ("2024-05-17T05:20:00Z", "2024-05-17T05:20:00+00:00"),
        ("2024-05-17T05:20:00z", "2024-05-17T05:20:00+00:00"),
        ("2024-05-17T05:20:00.123Z", "2024-05-17T05:20:00.123000+00:00"),
        ("2024-05-17T05:20:00.123456789+07:00", "2024-05-17T05:20:00.123456+07:00"),
        ("2024-05-17 05:20:00 GMT", "2024-05-17T05:20:00+00:00"),
        ("2024-05-17 05:20:00 UTC", "2024-05-17T05:20:00+00:00"),
        ("2021-03-08 18:43", "2021-03-08T18:43:00"),
        ("2021-03-08T18:43", "2021-03-08T18:43:00"),
        ("08-03-2021 18:43", "2021-03-08T18:43:00"),
        ("20240517T122000", "2024-05-17T12:20:00"),
        (1715923200, "2024-05-17T05:20:00+00:00"),  # epoch seconds
        (1715923200123, "2024-05-17T05:20:00.123000+00:00"),  # epoch milliseconds
        ("1715923200", "2024-05-17T05:20:00+00:00"),
        (1715923200.5, "2024-05-17T05:20:00.500000+00:00"),
        (42, None),  # a number that is no time
        (True, None),
        (float("nan"), None),
        ("", None),
        ("kemarin", None),
        ({"date": "2024-05-17"}, None),
    ],
)
def test_parse_time_variants(raw: Any, expected: str | None) -> None:
    got = parse_time(raw)
    assert (got.isoformat() if got else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-17", "2024-05-17"),
        ("2024-05-17T23:59:59-05:00", "2024-05-17"),  # the date written, never shifted
        ("20240517", "2024-05-17"),
        (20240517, "2024-05-17"),
        ("17 Mei 2024", None),  # Indonesian month names: indonesia.local_time's job
        ("", None),
        (None, None),
        ("2024-02-30", None),
    ],
)
def test_parse_date_variants(raw: Any, expected: str | None) -> None:
    got = parse_date(raw)
    assert (got.isoformat() if got else None) == expected


def test_local_time_indonesian_month_and_zone() -> None:
    assert idn.local_time("17 Mei 2024 12:20") == datetime(2024, 5, 17, 12, 20)
    assert idn.local_time("17 Agustus 2024 08:05 WITA") == datetime(
        2024, 8, 17, 8, 5, tzinfo=timezone(timedelta(hours=8))
    )
    assert idn.local_time(1715923200) == datetime(2024, 5, 17, 5, 20, tzinfo=UTC)
