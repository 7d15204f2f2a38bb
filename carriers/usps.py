"""USPS Tracking API v3 (``GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL``, OAuth2).

Docs read: the USPS Tracking v3 OpenAPI (``status``/``statusCategory``/``statusSummary``,
``trackingEvents[]{eventCode, eventTimestamp, GMTOffset, GMTTimestamp, ...}``,
``expectedDeliveryTimeStamp``/``predictedDeliveryDate``, 404 "Package with tracking number not
found", the ``error{code,message,errors[]}`` envelope), developers.usps.com getting-started (60
calls/hour default quota, OAuth ``/oauth2/v3/token``) and the USPS domestic scan event codes
(Pub 199 Appendix G-4, as tabulated in USPS Web Tools clients: 02/52-56 notices left, 30 no
access, 09/21-31 return-to-sender reasons, 71 rescheduled, 80-82 shipping partner), the USPS.com
scripting for 04 Refused / 05 Undeliverable as Addressed ("being returned to the sender") and
shipping-platform tables of the pre-shipment codes (GX label created, MA, 89, TM, OA, UA).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import ClientCredentials, HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "usps"
log = logging.getLogger(__name__)
S = Status
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)

# Pub 199 Appendix G-4 domestic scan event codes, grouped by meaning (+ GX/A1/T1/TL/L1/OA as
# returned by Tracking v3 for label created, regional facility arrival/departure, in transit;
# 83/89/AD/UA as listed with their USPS descriptions by shipping-platform docs).
_GROUPS: dict[Status, str] = {
    # manifest acknowledgement / pre-shipment, label created, merchant order receipt (awaiting
    # item)
    S.INFO_RECEIVED: "MA GX 89",
    # accept or pickup, truck-manifest / passive acceptance, forwarded, arrival at unit, missent,
    # processed, DC EVS arrive, opening unit, handoff to / at / from a shipping partner, sorting
    # complete, departed sort facility / post office, regional facility, in transit, mis-shipped,
    # rescheduled to next delivery day, tendered to USPS, acceptance at destination / facility
    S.IN_TRANSIT: (
        "03 TM PA OA 06 07 08 10 15 19 41 42 71 80 81 82 83 AD UA PC EF SF A1 T1 TL L1 U1 DX"
    ),
    S.OUT_FOR_DELIVERY: "OF",
    # attempted / notice left (receptacle blocked or full, no secure location, no authorized
    # recipient), business closed, no access to the delivery location
    S.FAILED_ATTEMPT: "02 30 51 52 53 54 55 56",
    S.AVAILABLE_FOR_PICKUP: "14 16",  # arrival at pickup point, available for pickup
    S.DELIVERED: "01 17 43",  # delivered, picked up by agent, picked up
    S.EXCEPTION: "11",  # dead letter
    # refused and undeliverable as addressed ("... is being returned to the sender"), return to
    # sender and its reasons (no such number ... not picked up), customer recall
    S.RETURNED_TO_SENDER: "04 05 09 21 22 23 24 25 26 27 28 29 31 44",
}
EVENT_CODES: dict[str, Status] = {c: st for st, codes in _GROUPS.items() for c in codes.split()}
# statusCategory, the shipment-level summary (Tracking v3 `statusCategory`).
CATEGORIES: dict[str, Status] = {
    "pre-shipment": S.INFO_RECEIVED,
    "pre shipment": S.INFO_RECEIVED,
    "label created": S.INFO_RECEIVED,
    "moving through network": S.IN_TRANSIT,
    "in-transit": S.IN_TRANSIT,
    "accepted": S.IN_TRANSIT,
    "in transit": S.IN_TRANSIT,
    "missent": S.IN_TRANSIT,
    "out for delivery": S.OUT_FOR_DELIVERY,
    "delivery attempt": S.FAILED_ATTEMPT,
    "available for pickup": S.AVAILABLE_FOR_PICKUP,
    "delivered": S.DELIVERED,
    "alert": S.EXCEPTION,
    "return to sender": S.RETURNED_TO_SENDER,
    "returned to sender": S.RETURNED_TO_SENDER,
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _offset(value: Any) -> timezone | None:
    """GMTOffset as documented ("-7:00", "-05:00", "+0530") as a fixed zone."""
    raw = (text(value) or "").replace(":", "")
    sign, digits = raw[:1], raw[1:]
    if sign not in ("+", "-") or not digits.isdecimal() or len(digits) not in (3, 4):
        return None
    minutes = int(digits[:-2]) * 60 + int(digits[-2:])
    if minutes >= 24 * 60:
        return None
    return timezone(timedelta(minutes=minutes if sign == "+" else -minutes))


def _time(event: dict[str, Any]) -> datetime | None:
    local = parse_time(event.get("eventTimestamp"))
    if local is None:
        return parse_time(event.get("GMTTimestamp"))
    zone = _offset(event.get("GMTOffset"))
    return local.replace(tzinfo=zone) if zone and local.tzinfo is None else local


def _code(event: dict[str, Any]) -> tuple[Status | None, str | None]:
    """The event code's status; USPS's own "Delivered, To Original Sender" text is a return."""
    code = text(event.get("eventCode"))
    status = EVENT_CODES.get((code or "").upper())
    if code and status is None:
        log.warning("usps: unknown eventCode %r (%r)", code, text(event.get("eventType")))
    if _words(text(event.get("eventType"))) is S.RETURNED_TO_SENDER:
        return S.RETURNED_TO_SENDER, code
    return status, code


def _event(event: dict[str, Any]) -> TrackingEvent:
    status, code = _code(event)
    return TrackingEvent(
        time=_time(event),
        status=status or _words(text(event.get("eventType"))) or S.IN_TRANSIT,
        description=text(event.get("eventType")) or "",
        location=join_location(
            event.get("eventCity"), event.get("eventState"), event.get("eventCountry")
        ),
        raw_code=code,
    )


def _words(value: str | None) -> Status | None:
    """Last resort for a record without a known code: the leading words of USPS's own text."""
    lowered = (value or "").lower()
    for prefix, status in (("delivered, to original sender", S.RETURNED_TO_SENDER),
                           *CATEGORIES.items(), ("notice left", S.FAILED_ATTEMPT),
                           ("shipping label created", S.INFO_RECEIVED)):  # fmt: skip
        if lowered.startswith(prefix):
            return status
    return None


def _status(item: dict[str, Any], events: list[dict[str, Any]]) -> tuple[Status, str | None]:
    category_raw = text(item.get("statusCategory"))
    category = CATEGORIES.get((category_raw or "").lower())
    newest, code = _code(events[0]) if events else (None, None)
    if category_raw and category is None:
        log.warning("usps: unknown statusCategory %r", category_raw)
    if category is S.DELIVERED and newest is S.RETURNED_TO_SENDER:
        return newest, code  # "Delivered, To Original Sender"
    if category in (S.DELIVERED, S.RETURNED_TO_SENDER):
        return category, category_raw
    if newest is not None and newest is not S.IN_TRANSIT:
        return newest, code  # the newest scan's own code is the most specific
    if category is not None:
        return category, category_raw
    fallback = newest or _words(text(item.get("status")))
    return fallback or (S.IN_TRANSIT if events else S.PENDING), code or category_raw


def _eta(item: dict[str, Any]) -> date | None:
    for key in ("expectedDeliveryTimeStamp", "expectedDeliveryDate", "predictedDeliveryDate",
                "predictedDeliveryTimeStamp"):  # fmt: skip
        if found := parse_date(item.get(key)):
            return found
    return None


def _result(item: dict[str, Any], numbers: Sequence[str]) -> TrackingResult:
    events = [_dict(e) for e in _list(item.get("trackingEvents")) if _dict(e)]
    number = text(item.get("trackingNumber")) or (numbers[0] if len(numbers) == 1 else "")
    status, raw = _status(item, events)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        events=tuple(_event(e) for e in reversed(events)),  # USPS lists newest first
        estimated_delivery=_eta(item),
        raw_status=raw,
        raw=item,
    )


def _error(body: dict[str, Any]) -> ItemError:
    err = body.get("error")
    if isinstance(err, str):  # OAuth (RFC 6749) error from the token endpoint
        return ItemError(ErrorKind.AUTH, text(body.get("error_description")) or err, err)
    err = _dict(err)
    detail = next((_dict(e) for e in _list(err.get("errors")) if _dict(e)), {})
    code = text(detail.get("code")) or text(err.get("code"))
    message = text(err.get("message")) or text(detail.get("detail")) or text(detail.get("title"))
    status = next(
        (
            s
            for s in (text(detail.get("status")), text(err.get("code")))
            if s and len(s) == 3 and s.isdecimal()
        ),
        "",
    )
    words = " ".join(filter(None, (message, text(detail.get("title")), text(detail.get("detail")))))
    kind = _error_kind(int(status) if status else None, words.lower())
    return ItemError(
        kind, message or "USPS reported an error", code, int(status) if status else None
    )


AUTH_WORDS = ("unauthori", "invalid_client", "invalid_token", "invalid token", "access token",
              "credential", "forbidden")  # fmt: skip
UNAVAILABLE_WORDS = ("internal server", "server error", "service unavailable", "temporarily",
                     "try again later", "timed out", "gateway")  # fmt: skip


def _error_kind(status: int | None, words: str) -> ErrorKind:
    if status in (401, 403) or any(w in words for w in AUTH_WORDS):
        return ErrorKind.AUTH
    if status == 429 or "too many" in words or "quota" in words:
        return ErrorKind.RATE_LIMITED
    if (status or 0) >= 500 or any(w in words for w in UNAVAILABLE_WORDS):
        return ErrorKind.UNAVAILABLE
    if status == 404 or "not found" in words or "could not locate" in words:
        return ErrorKind.NOT_FOUND
    if "tracking number" in words and ("invalid" in words or "format" in words):
        return ErrorKind.INVALID_NUMBER
    return ErrorKind.BAD_REQUEST


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result per tracking object (a single object, or a list of them); an ``error``
    envelope (API or OAuth) becomes one error result per requested number."""
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:  # a shape no branch above expected: still only a response error
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    data = load_json(body, CARRIER)
    items = data if isinstance(data, list) and data else [data]
    if all(isinstance(i, dict) for i in items):
        if any("error" in i and "trackingNumber" not in i for i in items):
            errors = [(i, _error(i)) for i in items if "error" in i][:1]
            return [
                TrackingResult(CARRIER, n, None, error=e, raw=i)
                for i, e in errors
                for n in numbers or [""]
            ]
        if all("trackingNumber" in i or "trackingEvents" in i for i in items):
            return [_result(i, numbers) for i in items]
    raise CarrierResponseError(
        "not a USPS tracking response", carrier=CARRIER, body_excerpt=excerpt(body)
    )


class Adapter(HttpAdapter):
    """USPS Tracking API v3, one number per request.

    Config keys (``carriers.usps``): ``client_id`` (consumer key) and ``client_secret``
    (consumer secret), optional ``scope`` (sent with the token request), ``api_base`` /
    ``sandbox`` (apis-tem) and the limit overrides (the default quota is 60 calls per hour;
    raise ``rate`` once USPS grants more).
    """

    id = CARRIER
    api_base = "https://apis.usps.com"
    sandbox_api_base = "https://apis-tem.usps.com"
    batch_size = 1
    rate, per = 60.0, 3600.0  # default product quota (developers.usps.com getting-started)
    max_concurrency = 2
    parse = staticmethod(parse)

    _creds: ClientCredentials | None = None

    def _credentials(self) -> ClientCredentials:
        if self._creds is None:
            self._creds = ClientCredentials(
                f"{self.base_url}/oauth2/v3/token",
                self.setting("client_id"),
                self.setting("client_secret"),
                style="body",
                extra={"scope": str(self.config["scope"])} if self.config.get("scope") else None,
                carrier=self.id,
            )
        return self._creds

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One GET per number; a 404 "not found" body comes back as a not_found result."""
        batches = await asyncio.gather(*(self._one(n, retry=True) for n in numbers))
        return align(self.id, numbers, [r for batch in batches for r in batch])

    async def _one(self, number: str, *, retry: bool) -> list[TrackingResult]:
        creds = self._credentials()
        token = await creds.token(self.client)
        resp = await self.request(
            "GET",
            f"/tracking/v3/tracking/{quote(number, safe='')}",
            numbers=[number],
            expect=(200, 400, 404, 401) if retry else (200, 400, 404),
            params={"expand": "DETAIL"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if resp.status_code == 401:  # expired or revoked token: one retry with a fresh one
            creds.invalidate(token)
            return await self._one(number, retry=False)
        results = parse(resp.content, [number])
        if resp.status_code != 200:
            results = [_with_status(r, resp.status_code) for r in results]
        return results


def _with_status(result: TrackingResult, code: int) -> TrackingResult:
    if result.error and result.error.http_status is None:
        return replace(result, error=replace(result.error, http_status=code))
    return result
