"""UPS Track API v1 (``GET /api/track/v1/details/{inquiryNumber}``, OAuth2 with HTTP Basic).

Docs read: the UPS Track API OpenAPI (``Tracking.yaml``: ``trackResponse.shipment[].package[]``,
``currentStatus``/``activity[].status {type, code, description, statusCode}``, ``deliveryDate``
types SDD/RDD/DEL, the ``response.errors`` envelope) and the UPS tracking reference tables
"Package Activity Types" and "Status/Description Codes", both as exported in karrio's vendor
folder. The activity type decides the family; the 3-digit statusCode refines inside it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import ClientCredentials, HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, text

CARRIER = "ups"
log = logging.getLogger(__name__)
S = Status
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)

# "Package Activity Types" (+ P pickup and RS returned to shipper from the Track API schema).
TYPES: dict[str, Status] = {
    "M": S.INFO_RECEIVED,  # billing information received (label created)
    "MV": S.EXCEPTION,  # billing information voided
    "P": S.IN_TRANSIT,  # pickup
    "I": S.IN_TRANSIT,  # in transit, out for delivery
    "D": S.DELIVERED,
    "X": S.EXCEPTION,
    "RS": S.RETURNED_TO_SENDER,
    "DO": S.IN_TRANSIT,  # delivered origin CFS (freight only): not the consignee
    "DD": S.IN_TRANSIT,  # delivered destination CFS (freight only): not the consignee
    "W": S.IN_TRANSIT,  # warehousing (freight only)
    "U": S.IN_TRANSIT,  # updates (Track Alert only)
    "NA": S.PENDING,  # not available
}
# Which statusCode refinements each family accepts: a customs-release "X" with statusCode 003
# stays an exception; "I" with 021 becomes out for delivery; "X" with 060 a failed attempt.
REFINES: dict[str, frozenset[Status]] = {
    "I": frozenset({S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.RETURNED_TO_SENDER}),
    "X": frozenset({S.FAILED_ATTEMPT, S.RETURNED_TO_SENDER, S.AVAILABLE_FOR_PICKUP}),
    "P": frozenset({S.INFO_RECEIVED}),  # a pickup attempt that did not collect the parcel
    "D": frozenset({S.RETURNED_TO_SENDER}),  # delivered back to the shipper
}
# Every code of the UPS "Status/Description Codes" table (0-169), grouped by meaning; the wire
# value is zero-padded to three digits ("003", "011").
_GROUPS: dict[Status, str] = {
    S.PENDING: "0 148 163",  # status not available, package information unavailable
    # shipment ready / order processed / on the way to UPS / pickup scheduled or attempted
    S.INFO_RECEIVED: "3 44 45 65 77 79 80 131 135 157 166",
    S.IN_TRANSIT: (
        "5 10 12 14 16 18 19 20 25 27 28 38 39 41 42 47 54 55 56 57 63 70 71 73 74 75 82 84 87 "
        "88 92 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 "
        "115 116 117 120 121 122 123 126 133 134 136 137 138 153 154 156 158 159 160 164 165 "
        "167 168 169"
    ),
    S.OUT_FOR_DELIVERY: "6 21 37 72 78 89 91 146 162",
    S.FAILED_ATTEMPT: "22 23 24 60 61 62 66 145",
    S.AVAILABLE_FOR_PICKUP: "17 40 144 161",
    S.DELIVERED: "11 26 143 155",
    # exception, action required, delays, damage, refused, lost and found, held, claims,
    # investigations, clearance information needed, seized, destroyed
    S.EXCEPTION: (
        "7 13 29 30 32 43 46 48 49 50 51 52 53 58 59 64 68 69 76 83 85 86 90 93 124 125 127 "
        "128 129 130 132 139 140 141 142 147 149"
    ),
    S.RETURNED_TO_SENDER: "33 34 35 36 67 81 118 119",  # requested, returning, returned
}
STATUS_CODES: dict[str, Status] = {c: st for st, codes in _GROUPS.items() for c in codes.split()}
# response.errors codes: TV1002 invalid inquiry number, 2500xx authorization (invalid access
# license, invalid authentication information), TW0001 not found; the OAuth endpoint answers
# 10401 "ClientId is Invalid" and friends in the same envelope.
ERROR_KINDS = {"TV1002": ErrorKind.INVALID_NUMBER, "TW0001": ErrorKind.NOT_FOUND,
               "10401": ErrorKind.AUTH, "10429": ErrorKind.RATE_LIMITED}  # fmt: skip
AUTH_WORDS = ("authori", "authenticat", "access license", "clientid", "client id", "token",
              "credential")  # fmt: skip
UNAVAILABLE_WORDS = ("internal server", "server error", "system error", "unavailable",
                     "temporarily", "try again later", "timed out")  # fmt: skip


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _status(raw: Any) -> tuple[Status, str | None]:
    """(normalized, raw code) for one ``{type, statusCode, code, ...}`` status object."""
    raw = _dict(raw)
    kind = (text(raw.get("type")) or "").upper()
    code = _numeric(raw.get("statusCode"), 3) or _numeric(raw.get("code"), 3)  # or in `code`
    by_code = STATUS_CODES.get(code.lstrip("0") or "0") if code else None
    family = TYPES.get(kind)
    raw_code = f"{kind}/{code}" if kind and code else kind or code or text(raw.get("code"))
    if family is None:
        if by_code is None:
            words = _words(raw)
            if words is None:
                log.warning("ups: unknown status type %r / statusCode %r", kind, code)
            return words or (S.IN_TRANSIT if raw_code else S.PENDING), raw_code
        return by_code, raw_code
    if code and by_code is None:
        log.warning("ups: unknown statusCode %r (type %r)", code, kind)
    if by_code is not None and (by_code is family or by_code in REFINES.get(kind, ())):
        return by_code, raw_code
    return family, raw_code


def _numeric(value: Any, width: int) -> str | None:
    """A 3-digit UPS status code ("011"), as `statusCode` or, in some answers, `code`."""
    found = text(value)
    return found if found and found.isdecimal() and len(found) == width else None


def _words(raw: dict[str, Any]) -> Status | None:
    """Last resort when neither a type nor a status code is given: UPS's simplified text."""
    lowered = text(raw.get("simplifiedTextDescription")) or text(raw.get("description")) or ""
    lowered = lowered.lower()
    for phrase, status in (("returned to sender", S.RETURNED_TO_SENDER),
                           ("returning to sender", S.RETURNED_TO_SENDER),
                           ("out for delivery", S.OUT_FOR_DELIVERY), ("delivered", S.DELIVERED),
                           ("delivery attempted", S.FAILED_ATTEMPT),
                           ("ready for", S.AVAILABLE_FOR_PICKUP), ("exception", S.EXCEPTION),
                           ("label created", S.INFO_RECEIVED), ("shipment ready", S.INFO_RECEIVED),
                           ("on the way", S.IN_TRANSIT), ("in transit", S.IN_TRANSIT)):  # fmt: skip
        if phrase in lowered:
            return status
    return None


def _offset(value: Any) -> timezone | None:
    raw = (text(value) or "").replace(":", "")
    if len(raw) == 5 and raw[0] in "+-" and raw[1:].isdecimal():
        minutes = int(raw[1:3]) * 60 + int(raw[3:])
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=minutes if raw[0] == "+" else -minutes))
    return None


def _time(activity: dict[str, Any]) -> datetime | None:
    day, clock = text(activity.get("date")) or "", text(activity.get("time")) or "000000"
    try:
        moment = datetime.strptime(day + clock[:6].ljust(6, "0"), "%Y%m%d%H%M%S")  # noqa: DTZ007
    except ValueError:
        return None  # local time without an offset stays naive, as UPS gave it
    zone = _offset(activity.get("gmtOffset"))
    return moment.replace(tzinfo=zone) if zone else moment


def _event(activity: dict[str, Any]) -> TrackingEvent:
    status, raw_code = _status(activity.get("status"))
    address = _dict(_dict(activity.get("location")).get("address"))
    country = address.get("countryCode") or address.get("country")
    return TrackingEvent(
        time=_time(activity),
        status=status,
        description=text(_dict(activity.get("status")).get("description")) or "",
        location=join_location(address.get("city"), address.get("stateProvince"), country),
        raw_code=raw_code,
    )


def _eta(package: dict[str, Any]) -> date | None:
    # deliveryDate: RDD (rescheduled) beats SDD (scheduled); DEL is the actual delivery date.
    dates = {
        text(_dict(d).get("type")): _dict(d).get("date") for d in _list(package.get("deliveryDate"))
    }
    return parse_date(dates.get("RDD")) or parse_date(dates.get("SDD"))


def _error(items: list[Any], default: ErrorKind) -> ItemError:
    err = next((_dict(e) for e in items if _dict(e)), {})
    code = text(err.get("code")) or ""
    message = text(err.get("message")) or code or "UPS reported an error"
    kind = ERROR_KINDS.get(code.upper())
    if kind is None:
        lowered = message.lower()
        kind = (
            ErrorKind.AUTH if code.startswith("2500") or any(w in lowered for w in AUTH_WORDS)
            else ErrorKind.RATE_LIMITED if "too many" in lowered or "rate limit" in lowered
            else ErrorKind.UNAVAILABLE if any(w in lowered for w in UNAVAILABLE_WORDS)
            else ErrorKind.NOT_FOUND if "not found" in lowered
            else ErrorKind.INVALID_NUMBER if "inquiry number" in lowered
            else default
        )  # fmt: skip
    return ItemError(kind, message, code or None)


def _result(shipment: dict[str, Any]) -> TrackingResult:
    packages = [_dict(p) for p in _list(shipment.get("package")) if _dict(p)]
    inquiry = text(shipment.get("inquiryNumber"))
    package = next((p for p in packages if text(p.get("trackingNumber")) == inquiry), None)
    package = package or (packages[0] if packages else None)
    number = inquiry or text((package or {}).get("trackingNumber")) or ""
    if package is None:  # TW0001 "Tracking Information Not Found" comes as a warning
        error = _error(_list(shipment.get("warnings")), ErrorKind.NOT_FOUND)
        return TrackingResult(CARRIER, number, None, error=error, raw=shipment)
    activities = [_dict(a) for a in _list(package.get("activity")) if _dict(a)]
    events = tuple(_event(a) for a in reversed(activities))  # UPS lists newest first
    current = _dict(package.get("currentStatus"))
    if not (current.get("type") or _numeric(current.get("statusCode") or current.get("code"), 3)):
        current = _dict(activities[0].get("status")) if activities else current
    status, raw_code = _status(current) if current else (S.PENDING, None)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        events=events,
        estimated_delivery=_eta(package),
        raw_status=raw_code,
        raw=shipment,
    )


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result per ``trackResponse.shipment`` entry; a ``response.errors`` envelope becomes
    one error result per requested number. CarrierResponseError for anything else."""
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:  # a shape no branch above expected: still only a response error
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    data = load_json(body, CARRIER)
    data = _dict(data)
    shipments = _dict(data.get("trackResponse")).get("shipment")
    if isinstance(shipments, list):
        return [_result(s) for s in shipments if isinstance(s, dict)]
    errors = _list(_dict(data.get("response")).get("errors"))
    if errors:
        error = _error(errors, ErrorKind.BAD_REQUEST)
        return [TrackingResult(CARRIER, n, None, error=error, raw=data) for n in numbers or [""]]
    raise CarrierResponseError(
        "not a UPS track response", carrier=CARRIER, body_excerpt=excerpt(body)
    )


class Adapter(HttpAdapter):
    """UPS Track API v1, one inquiry number per request.

    Config keys (``carriers.ups``): ``client_id`` and ``client_secret`` (the app's OAuth
    credentials, sent as HTTP Basic to the token endpoint), optional ``transaction_src``
    (``transactionSrc`` header, default ``shipment-notifier``), ``locale`` (default en_US),
    ``api_base`` / ``sandbox`` (CIE) and the limit overrides. UPS publishes no rate limit: the
    default bucket is a conservative 10 requests/s and a 429 is honoured through Retry-After.
    """

    id = CARRIER
    api_base = "https://onlinetools.ups.com"
    sandbox_api_base = "https://wwwcie.ups.com"
    batch_size = 1  # the inquiry number is a path parameter
    rate, per = 10.0, 1.0  # not published by UPS
    max_concurrency = 4
    parse = staticmethod(parse)

    _creds: ClientCredentials | None = None

    def _credentials(self) -> ClientCredentials:
        if self._creds is None:
            self._creds = ClientCredentials(
                f"{self.base_url}/security/v1/oauth/token",
                self.setting("client_id"),
                self.setting("client_secret"),
                style="basic",
                carrier=self.id,
            )
        return self._creds

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One GET per number (concurrently, within the limits); errors per number are data."""
        batches = await asyncio.gather(*(self._one(n, retry=True) for n in numbers))
        return align(self.id, numbers, [r for batch in batches for r in batch])

    async def _one(self, number: str, *, retry: bool) -> list[TrackingResult]:
        creds = self._credentials()
        token = await creds.token(self.client)
        resp = await self.request(
            "GET",
            f"/api/track/v1/details/{quote(number, safe='')}",
            numbers=[number],
            expect=(200, 400, 404, 401) if retry else (200, 400, 404),
            params={"locale": self.config.get("locale") or "en_US", "returnSignature": "false"},
            headers={
                "Authorization": f"Bearer {token}",
                "transId": uuid.uuid4().hex,
                "transactionSrc": str(self.config.get("transaction_src") or "shipment-notifier"),
            },
        )
        if resp.status_code == 401:  # expired or revoked token: one retry with a fresh one
            creds.invalidate(token)
            return await self._one(number, retry=False)
        results = parse(resp.content, [number])
        if len(results) == 1 and not results[0].tracking_number:
            results = [replace(results[0], tracking_number=number)]
        if resp.status_code != 200:
            results = [_with_status(r, resp.status_code) for r in results]
        return results


def _with_status(result: TrackingResult, code: int) -> TrackingResult:
    if result.error and result.error.http_status is None:
        return replace(result, error=replace(result.error, http_status=code))
    return result
