"""Canada Post tracking (XML): samples, event identifiers, garbage, the adapter."""

from __future__ import annotations

import base64
import contextlib
import random
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import ErrorKind, Status
from carriers.canadapost import _GROUPS, EVENT_CODES, Adapter, _codes, parse
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from tests.carriers.samples import assert_matches_expected, sample_pairs

PAIRS = sample_pairs("canadapost")
SAMPLE = next(b for b, _ in PAIRS if "detail" in b.name).read_text()
NS = "http://www.canadapost.ca/ws/track"


@pytest.mark.parametrize(("body", "expected"), PAIRS, ids=[b.name for b, _ in PAIRS])
def test_sample(body: Path, expected: Path) -> None:
    assert_matches_expected(parse(body.read_bytes()), expected)


def occurrence(
    code: str, description: str = "x", zone: str = "EST", day: str = "2024-03-01"
) -> str:
    return (
        f"<occurrence><event-identifier>{code}</event-identifier><event-date>{day}</event-date>"
        f"<event-time>10:20:30</event-time><event-time-zone>{zone}</event-time-zone>"
        f"<event-description>{description}</event-description><event-site>OTTAWA</event-site>"
        f"<event-province>ON</event-province></occurrence>"
    )


def detail(*occurrences: str, extra: str = "") -> str:
    return (
        f'<tracking-detail xmlns="{NS}"><pin>1371134583769923</pin>{extra}'
        f"<significant-events>{''.join(occurrences)}</significant-events></tracking-detail>"
    )


@pytest.mark.parametrize(
    ("code", "description", "want"),
    [
        ("0100", "Item processed at postal facility", Status.IN_TRANSIT),
        ("1400", "Item accepted at the Post Office", Status.IN_TRANSIT),
        ("0174", "Item out for delivery", Status.OUT_FOR_DELIVERY),
        ("0500", "Out for delivery", Status.OUT_FOR_DELIVERY),
        ("1496", "Item successfully delivered", Status.DELIVERED),
        ("1421", "Delivered to your community mailbox", Status.DELIVERED),
        # 0167 and 1415 are returns in Canada Post's code table (insufficient postage; incomplete
        # address), whatever the text says; a missed delivery is 1411/1443/2411.
        ("0167", "International item being returned to sender. Insufficient postage.",
         Status.RETURNED_TO_SENDER),
        ("1415", "Item refused by recipient", Status.RETURNED_TO_SENDER),
        ("1411", "Business closed for the day. Item on hold for second delivery attempt.",
         Status.FAILED_ATTEMPT),
        ("1443", "Attempted delivery. Item rescheduled for delivery next business day.",
         Status.FAILED_ATTEMPT),
        ("2411", "Business temporarily closed; item on hold", Status.FAILED_ATTEMPT),
        ("3000", "Electronic information submitted by shipper", Status.INFO_RECEIVED),
        ("3002", "Return label created", Status.INFO_RECEIVED),
        ("1300", "Item accepted", Status.IN_TRANSIT),
        ("1301", "Item accepted at the Post Office.", Status.IN_TRANSIT),
        ("2300", "Item picked up by Canada Post", Status.IN_TRANSIT),
        ("4202", "International item has left the origin country and is en route to Canada",
         Status.IN_TRANSIT),
        ("0161", "Delivery may be delayed due to labour disruption", Status.IN_TRANSIT),
        ("1414", "Item rescheduled for delivery next business day.", Status.IN_TRANSIT),
        ("1490", "Item redirected to recipient's new address", Status.IN_TRANSIT),
        ("1405", "Delivered to automated parcel locker", Status.AVAILABLE_FOR_PICKUP),
        ("2407", "Item available for pick-up", Status.AVAILABLE_FOR_PICKUP),
        ("0156", "Final Notice; Item will be returned to sender if not collected within 10 days",
         Status.AVAILABLE_FOR_PICKUP),
        ("1406", "Item picked up from automated parcel locker", Status.DELIVERED),
        ("1463", "Delivered to mailroom", Status.DELIVERED),
        ("0611", "Item is at recipient's front door", Status.DELIVERED),
        ("2001", "Photo available", Status.DELIVERED),
        ("0150", "Hold period expired; Item has been disposed of", Status.EXCEPTION),
        ("0810", "Item held by Customs", Status.EXCEPTION),
        ("1450", "Item on hold at a secure facility; contact Customer Service", Status.EXCEPTION),
        ("4700", "Item on hold", Status.EXCEPTION),
        ("1100", "Refused by Customs. Unacceptable sender info. Item being returned to sender",
         Status.RETURNED_TO_SENDER),
        ("2802", "International item was undeliverable. Item being returned to sender.",
         Status.RETURNED_TO_SENDER),
        ("3001", "Item being returned to sender", Status.RETURNED_TO_SENDER),
        ("1496", "L'article a été renvoyé avec succès à l'expéditeur.",
         Status.RETURNED_TO_SENDER),
        ("1479", "Tentative de renvoyer article à expéditeur. Carte laissée indiquant où ramasser",
         Status.RETURNED_TO_SENDER),
        ("1479", "Notice card left indicating where and when to pick up item",
         Status.AVAILABLE_FOR_PICKUP),
        ("0154", "Delivery attempted, no access", Status.FAILED_ATTEMPT),
        ("1701", "Item available for pickup at Post Office", Status.AVAILABLE_FOR_PICKUP),
        ("0118", "Notice card left, item at Post Office", Status.AVAILABLE_FOR_PICKUP),
        ("0125", "Item on hold, duties unpaid", Status.EXCEPTION),
        ("0146", "Item damaged", Status.EXCEPTION),
        ("0173", "Customer addressing error found; attempting to correct", Status.EXCEPTION),
        ("1481", "Item being returned to sender. Incorrect address", Status.RETURNED_TO_SENDER),
        ("9999", "Item returned to sender", Status.RETURNED_TO_SENDER),
        ("1701", "Available for pickup; it will be returned to sender after 15 days",
         Status.AVAILABLE_FOR_PICKUP),
        ("9999", "Something new", Status.IN_TRANSIT),
    ],
)  # fmt: skip
def test_event_identifiers(code: str, description: str, want: Status) -> None:
    (result,) = parse(detail(occurrence(code, description)))
    assert result.events[0].status is want
    assert result.events[0].raw_code == code
    assert result.status is want


def test_table_has_no_duplicates() -> None:
    listed = [c for spec in _GROUPS.values() for c in _codes(spec)]
    assert len(listed) == len(set(listed)) == len(EVENT_CODES) >= 140


def test_delivered_history_wins_unless_returning_and_zones_apply() -> None:
    delivered_then_signature = detail(
        occurrence("20", "Signature image recorded", zone="PDT", day="2024-03-02"),
        occurrence("1496", "Item successfully delivered", zone="NST"),
    )
    (result,) = parse(delivered_then_signature)
    assert result.status is Status.DELIVERED
    assert [e.time.isoformat() for e in result.events if e.time] == [
        "2024-03-01T10:20:30-03:30",
        "2024-03-02T10:20:30-07:00",
    ]
    returning = detail(occurrence("1481", "Item being returned to sender"), occurrence("1496"))
    assert parse(returning)[0].status is Status.RETURNED_TO_SENDER
    (naive,) = parse(detail(occurrence("0100", zone="")))
    assert naive.events[0].time is not None and naive.events[0].time.tzinfo is None
    assert naive.events[0].location == "OTTAWA, ON"


def test_changed_expected_date_beats_expected_date() -> None:
    extra = (
        "<expected-delivery-date>2024-03-05</expected-delivery-date>"
        "<changed-expected-date>2024-03-07</changed-expected-date>"
    )
    (result,) = parse(detail(occurrence("0100"), extra=extra))
    assert str(result.estimated_delivery) == "2024-03-07"


def test_summary_and_error_envelopes() -> None:
    summary = (
        f'<tracking-summary xmlns="{NS}"><pin-summary><pin>123</pin>'
        "<event-type>DELIVERED</event-type><event-date-time>20110201:075952</event-date-time>"
        "<event-description>Item successfully delivered</event-description>"
        "<actual-delivery-date>2011-02-01</actual-delivery-date></pin-summary></tracking-summary>"
    )
    (result,) = parse(summary)
    assert result.status is Status.DELIVERED and result.tracking_number == "123"
    assert result.events[0].time is not None
    assert result.events[0].time.isoformat() == "2011-02-01T07:59:52"
    for code, message, kind in [
        ("004", "No Pin History", ErrorKind.NOT_FOUND),
        ("E002", "AAA Authentication Failure", ErrorKind.AUTH),
        ("Server", "Rejected by SLM Monitor", ErrorKind.RATE_LIMITED),
        ("7", "Something else", ErrorKind.BAD_REQUEST),
    ]:
        inner = f"<code>{code}</code><description>{message}</description>"
        body = f"<messages><message>{inner}</message></messages>"
        (err,) = parse(body, ["123"])
        assert err.tracking_number == "123" and err.error is not None and err.error.kind is kind


@pytest.mark.parametrize(
    ("code", "description", "want"),
    [
        # a code the table calls a return, whose words only tell of an attempt (older feeds)
        ("1415", "Attempted delivery; recipient not at home. Notice card left",
         Status.FAILED_ATTEMPT),
        ("1415", "Item being returned to Sender. Incomplete address.", Status.RETURNED_TO_SENDER),
        ("0152", "Item damaged during processing; claim in progress", Status.EXCEPTION),
        ("0152", "COD Payment is being issued", Status.IN_TRANSIT),
        ("7777", "Tentative de livraison; avis laissé", Status.FAILED_ATTEMPT),
    ],
)  # fmt: skip
def test_words_settle_returns_attempts_and_damage(
    code: str, description: str, want: Status
) -> None:
    (result,) = parse(detail(occurrence(code, description)))
    assert result.events[0].status is want


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("Server", "Internal Server Error", ErrorKind.UNAVAILABLE),
        ("Server", "Service temporarily unavailable, try again later", ErrorKind.UNAVAILABLE),
        ("AA002", "The username and password of the request do not match", ErrorKind.AUTH),
        ("E002", "AAA Authentication Failure", ErrorKind.AUTH),
    ],
)
def test_whole_response_errors(code: str, message: str, kind: ErrorKind) -> None:
    body = f"<messages><message><code>{code}</code><description>{message}</description>"
    results = parse(body + "</message></messages>", ["A1", "A2"])
    assert [r.tracking_number for r in results] == ["A1", "A2"]
    assert all(r.error is not None and r.error.kind is kind for r in results)


@pytest.mark.parametrize(
    ("clock", "zone", "expected"),
    [
        ("10:20:30", "EST", "2024-03-01T10:20:30-05:00"),
        ("10:20", "PDT", "2024-03-01T10:20:00-07:00"),
        ("10:20:30", "-04:00", "2024-03-01T10:20:30-04:00"),
        ("10:20:30", "ISRAEL", "2024-03-01T10:20:30"),  # a zone we cannot place stays naive
        ("10:20:30", "", "2024-03-01T10:20:30"),
        ("", "EST", "2024-03-01T00:00:00-05:00"),
        ("25:99", "EST", None),
    ],
)
def test_event_time_variants(clock: str, zone: str, expected: str | None) -> None:
    xml = occurrence("0100", "Item processed", zone=zone).replace("10:20:30", clock)
    (result,) = parse(detail(xml))
    got = result.events[0].time
    assert (got.isoformat() if got else None) == expected


def test_summary_return_wording_and_unknown_type() -> None:
    summary = (
        f'<tracking-summary xmlns="{NS}"><pin-summary><pin>9</pin><event-type>NEW</event-type>'
        "<event-date-time>20240301:101500</event-date-time>"
        "<event-description>Item being returned to sender</event-description>"
        "</pin-summary></tracking-summary>"
    )
    (result,) = parse(summary)
    assert result.status is Status.RETURNED_TO_SENDER
    (unknown,) = parse(summary.replace("Item being returned to sender", "Something"))
    assert unknown.status is Status.IN_TRANSIT and unknown.raw_status == "NEW"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"<", b"{}", b"null", b"<html><body>502</body></html>", "<a/>", b"\xff\xfe",
     b'<?xml version="1.0" encoding="nope"?><tracking-detail/>',
     b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'],
)  # fmt: skip
def test_garbage_raises_response_error_only(garbage: bytes | str) -> None:
    with pytest.raises(CarrierResponseError):
        parse(garbage)


def test_odd_but_well_formed_xml_does_not_crash() -> None:
    for body in [
        "<tracking-detail/>",
        "<tracking-detail><significant-events><occurrence/><other/></significant-events></tracking-detail>",
        "<tracking-detail><significant-events><occurrence><event-date>2024-13-45</event-date>"
        "<event-identifier>abc</event-identifier></occurrence></significant-events></tracking-detail>",
        "<tracking-summary><pin-summary><event-date-time>x</event-date-time>"
        "<event-description>d</event-description></pin-summary></tracking-summary>",
        "<messages/>",
    ]:
        assert isinstance(parse(body), list)


def _check(value: str | bytes) -> None:
    with contextlib.suppress(CarrierResponseError):
        assert isinstance(parse(value), list)


TAGS = st.sampled_from(
    ["tracking-detail", "significant-events", "occurrence", "event-identifier", "event-date",
     "event-time", "event-time-zone", "pin", "messages", "message", "code", "tracking-summary",
     "pin-summary", "event-date-time", "expected-delivery-date", "x"]
)  # fmt: skip
XML = st.recursive(
    st.text(alphabet="0123456789-:ESTaz &<>", max_size=10).map(
        lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ),
    lambda kids: st.tuples(TAGS, st.lists(kids, max_size=4)).map(
        lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"
    ),
    max_leaves=25,
)


@settings(max_examples=120, deadline=None)
@given(XML, st.binary(max_size=40))
def test_property_arbitrary_documents(doc: str, noise: bytes) -> None:
    _check(doc)
    _check(f"<tracking-detail>{doc}</tracking-detail>")
    _check(f"<tracking-detail><significant-events>{doc}</significant-events></tracking-detail>")
    _check(noise)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(SAMPLE)), st.integers(0, 2**32), st.text(max_size=5))
def test_property_mutated_sample(cut: int, seed: int, junk: str) -> None:
    _check(SAMPLE[:cut])
    chars = list(SAMPLE)
    rng = random.Random(seed)
    for _ in range(3):
        chars.insert(rng.randrange(len(chars)), junk)
    _check("".join(chars))


# -- adapter ---------------------------------------------------------------------------------


def handler(requests: list[httpx.Request], *responses: httpx.Response):  # type: ignore[no-untyped-def]
    queue = list(responses)

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if queue:
            return queue.pop(0)
        pin = request.url.path.split("/")[-2]
        if pin == "MISSING":
            return httpx.Response(404, text=PAIRS[0][0].read_text())
        return httpx.Response(200, text=SAMPLE.replace("7023210039414604", pin))

    return respond


def make(respond, **config: object) -> Adapter:  # type: ignore[no-untyped-def]
    config = {"username": "user", "password": "pass", **config}
    return Adapter(config, client=httpx.AsyncClient(transport=httpx.MockTransport(respond)))


async def test_fetch_uses_basic_auth_and_maps_no_pin_history() -> None:
    requests: list[httpx.Request] = []
    results = await make(handler(requests), sandbox=True).fetch(["123", "MISSING"])
    urls = {str(r.url) for r in requests}
    assert urls == {
        "https://ct.soa-gw.canadapost.ca/vis/track/pin/123/detail",
        "https://ct.soa-gw.canadapost.ca/vis/track/pin/MISSING/detail",
    }
    want = "Basic " + base64.b64encode(b"user:pass").decode()
    assert all(r.headers["Authorization"] == want for r in requests)
    assert requests[0].headers["Accept"] == "application/vnd.cpc.track-v2+xml"
    assert requests[0].headers["Accept-language"] == "en-CA"
    assert results[0].status is Status.DELIVERED and results[0].tracking_number == "123"
    assert results[1].error is not None and results[1].error.kind is ErrorKind.NOT_FOUND
    assert results[1].error.http_status == 404 and results[1].tracking_number == "MISSING"


async def test_absent_pin_is_not_found_and_errors_raise() -> None:
    requests: list[httpx.Request] = []
    other = httpx.Response(200, text=SAMPLE)  # a body for another PIN
    (result,) = await make(handler(requests, other)).fetch(["555"])
    assert result.error is not None and result.error.kind is ErrorKind.NOT_FOUND
    busy = httpx.Response(429, headers={"Retry-After": "60"})
    with pytest.raises(CarrierUnavailable) as info:
        await make(handler(requests, busy)).fetch(["1"])
    assert info.value.retry_after == 60
    with pytest.raises(CarrierAuthError):
        await make(handler(requests, httpx.Response(401))).fetch(["1"])
    with pytest.raises(CarrierAuthError):
        await make(handler(requests), username="").fetch(["1"])
