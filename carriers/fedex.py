"""FedEx Track API v1 (``POST /track/v1/trackingnumbers``, OAuth2 client credentials).

Docs read: developer.fedex.com Track API reference ("Tracking Status Codes" table and the webhook
"Status Code and Statuses" table), the rate-limit guide (1,400 transactions / 10 s per project),
the Track API OpenAPI (error envelope, ``latestStatusDetail``, ``dateAndTimes``), and FedEx
sandbox "Virtual Response" captures for DE/007 (re-attempt) and DE/060G + RS (returning).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import httpx

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import ClientCredentials, HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "fedex"
log = logging.getLogger(__name__)
S = Status
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)

# Every code in the Track API "Tracking Status Codes" table plus the webhook event codes
# (developer.fedex.com/api/en-us/guides/api-reference.html#trackingstatuscodes), grouped by the
# status they mean. The specific `latestStatusDetail.code` / `eventType` is looked up first,
# `derivedCode` only as a fallback.
_GROUPS: dict[Status, str] = {
    # order created / initiated, manifest, enroute to or at pickup, vehicle dispatched or not
    # used, pickup delay, shipment info sent to USPS, return-label link emailed/cancelled/expiring
    S.INFO_RECEIVED: "OC IN MD OX EP AP DS DR PD RP LP RG",
    # picked up, dropped off, in FedEx possession, in transit / on the way, at airport, at Canada
    # Post/USPS facility, at (local) facility, arrived, departed, enroute to airport, at
    # destination, left origin, at origin facility, plane in flight/landed, in progress, at sort
    # facility, split status, transfer, location changed, customs cleared / in progress, export
    # approved, arriving early / on time, delay / delivery updated, scheduled delivery updated,
    # delivery option requested/modified/cancelled, hold-at-location or address change requested
    S.IN_TRANSIT: (
        "PU PX DO IP IT IX OW AA AC AX AF AR DP EA FD LO OF PF PL PM SF SP TR CH CC CP "
        "AE AO DY US RR RM RC HA RA PR AS EO"
    ),
    S.OUT_FOR_DELIVERY: "OD ED AD",  # out for delivery, enroute to delivery, at delivery
    S.AVAILABLE_FOR_PICKUP: "HL HP",  # hold at location, ready for recipient pickup
    S.DELIVERED: "DL",
    # delivery/shipment exception, clearance delay, delivery delay, cancelled, return label expired
    S.EXCEPTION: "DE SE CD DD CA RD",
    S.RETURNED_TO_SENDER: "RS RT",  # return to shipper, return to shipper requested
}
# trackingNumberInfo.carrierCode values (Express, Ground, SmartPost, Freight, Custom Critical)
OPERATING_COMPANIES = frozenset({"FDXE", "FDXG", "FXSP", "FXFR", "FDXC", "FXCC"})
STATUS_CODES: dict[str, Status] = {c: st for st, codes in _GROUPS.items() for c in codes.split()}
# DE/SE reasons (`ancillaryDetails[].reason`, `scanEvents[].exceptionCode`): attempts that FedEx
# re-tries are failed attempts; "returning to shipper" (060G) is a return; the rest stay exception.
ATTEMPT_REASONS = {"7", "8", "15"}  # customer not available / not in, business closed
RETURN_REASONS = {"060G"}  # "Unable to deliver shipment - Returning to shipper"
ATTEMPT_WORDS = ("not available", "business closed", "not home", "no one", "no access",
                 "re-attempt", "reattempt", "unable to access", "recipient not in",
                 "customer not in", "not in at", "closed at time of delivery")  # fmt: skip
RETURN_WORDS = ("returning to shipper", "return to shipper", "returned to shipper",
                "returning package to shipper", "returned to sender")  # fmt: skip


def _code_status(code: str | None, derived: str | None, reasons: list[tuple[str, str]]) -> Status:
    """The status of one specific code, refined by its exception reasons (DE/SE)."""
    status = STATUS_CODES.get((code or "").upper())
    if status is None and code:
        log.warning("fedex: unknown status code %r, using derived %r", code, derived)
    status = status or STATUS_CODES.get((derived or "").upper())
    if status is None:
        log.warning("fedex: unknown status code %r (derived %r)", code, derived)
        return S.IN_TRANSIT if (code or derived) else S.PENDING
    if (code or "").upper() in ("DE", "SE", "DD", "CD"):
        for reason, words in reasons:
            lowered = words.lower()
            if reason.upper() in RETURN_REASONS or any(w in lowered for w in RETURN_WORDS):
                return S.RETURNED_TO_SENDER
            attempted = reason.lstrip("0") in ATTEMPT_REASONS or any(
                w in lowered for w in ATTEMPT_WORDS
            )
            if (code or "").upper() == "DE" and attempted and "not attempted" not in lowered:
                return S.FAILED_ATTEMPT
    return status


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return text(value) or ""


def _location(loc: Any) -> str | None:
    loc = _dict(loc)
    return join_location(loc.get("city"), loc.get("stateOrProvinceCode"), loc.get("countryCode"))


def _event(scan: dict[str, Any]) -> TrackingEvent:
    code = text(scan.get("eventType")) or text(scan.get("derivedStatusCode"))
    reason = (_str(scan.get("exceptionCode")), _str(scan.get("exceptionDescription")))
    return TrackingEvent(
        time=parse_time(scan.get("date")),
        status=_code_status(code, text(scan.get("derivedStatusCode")), [reason]),
        description=_str(scan.get("eventDescription")) or _str(scan.get("derivedStatus")),
        location=_location(scan.get("scanLocation")),
        raw_code=code,
    )


def _eta(track: dict[str, Any]) -> date | None:
    # dateAndTimes ESTIMATED_DELIVERY, else the estimated window's end. standardTransitTimeWindow
    # is the service commitment, not an estimate.
    dates = {text(_dict(i).get("type")): _dict(i).get("dateTime") for i in _list(
        track.get("dateAndTimes"))}  # fmt: skip
    for kind in ("ESTIMATED_DELIVERY", "APPOINTMENT_DELIVERY"):
        if found := parse_date(dates.get(kind)):
            return found
    window = _dict(_dict(track.get("estimatedDeliveryTimeWindow")).get("window"))
    return parse_date(window.get("ends"))


def _error_kind(code: str, default: ErrorKind) -> ErrorKind:
    upper = code.upper()
    if "NOTFOUND" in upper or "NOT.FOUND" in upper:
        return ErrorKind.NOT_FOUND
    if any(w in upper for w in ("AUTHORIZ", "FORBIDDEN", "REAUTHENTICATE", "CREDENTIAL")):
        return ErrorKind.AUTH  # NOT.AUTHORIZED.ERROR, FORBIDDEN.ERROR, LOGIN.REAUTHENTICATE...
    if "TOO.MANY" in upper or "QUOTA" in upper or "RATE.LIMIT" in upper:
        return ErrorKind.RATE_LIMITED
    if any(w in upper for w in ("INTERNAL.SERVER", "UNAVAILABLE", "UNEXPECTED", "TIMEOUT")):
        return ErrorKind.UNAVAILABLE  # INTERNAL.SERVER.ERROR, SERVICE.UNAVAILABLE.ERROR...
    if "TRACKINGNUMBER.INVALID" in upper or "INVALID.TRACKING" in upper:
        return ErrorKind.INVALID_NUMBER
    return default


def _item_error(err: dict[str, Any], default: ErrorKind, http: int | None) -> ItemError:
    code = _str(err.get("code"))
    message = _str(err.get("message")) or code or "FedEx reported an error"
    return ItemError(_error_kind(code, default), message, code or None, http)


def _result(entry: dict[str, Any]) -> TrackingResult:
    tracks = [_dict(t) for t in _list(entry.get("trackResults"))]
    track = next((t for t in tracks if _dict(t.get("latestStatusDetail"))), None)
    number = _str(entry.get("trackingNumber")) or next(
        (_str(_dict(t.get("trackingNumberInfo")).get("trackingNumber")) for t in tracks), ""
    )
    if track is None:  # only errors (or nothing) for this number, inside an HTTP 200 answer
        err = next((_dict(t.get("error")) for t in tracks if _dict(t.get("error"))), {})
        error = _item_error(err, ErrorKind.NOT_FOUND, 200) if err else None
        error = error or ItemError(ErrorKind.NOT_FOUND, "no track result", None, 200)
        return TrackingResult(CARRIER, number, None, error=error, raw=entry)
    latest = _dict(track.get("latestStatusDetail"))
    reasons = [
        (_str(_dict(a).get("reason")), _str(_dict(a).get("reasonDescription")))
        for a in _list(latest.get("ancillaryDetails"))
    ]
    code = text(latest.get("code")) or text(latest.get("derivedCode"))
    scans = [_event(_dict(s)) for s in reversed(_list(track.get("scanEvents"))) if _dict(s)]
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=_code_status(code, text(latest.get("derivedCode")), reasons),
        events=tuple(scans),
        estimated_delivery=_eta(track),
        raw_status=code,
        raw=entry,
    )


def _envelope(body: dict[str, Any], numbers: Sequence[str]) -> list[TrackingResult]:
    err = next((_dict(e) for e in _list(body.get("errors")) if _dict(e)), {})
    error = _item_error(err, ErrorKind.BAD_REQUEST, None)
    return [TrackingResult(CARRIER, n, None, error=error, raw=body) for n in (numbers or [""])]


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result per ``completeTrackResults`` entry (request order); an ``errors`` envelope
    becomes one error result per requested number. CarrierResponseError for anything else."""
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:  # a shape no branch above expected: still only a response error
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    data = load_json(body, CARRIER)
    if isinstance(data, dict) and isinstance(data.get("output"), dict):
        entries = data["output"].get("completeTrackResults")
        if isinstance(entries, list):
            return [_result(e) for e in entries if isinstance(e, dict)]
    if isinstance(data, dict) and _list(data.get("errors")):
        return _envelope(data, numbers)
    raise CarrierResponseError(
        "not a FedEx track response", carrier=CARRIER, body_excerpt=excerpt(body)
    )


class Adapter(HttpAdapter):
    """FedEx Track API v1.

    Config keys (``carriers.fedex``): ``client_id`` (API key), ``client_secret`` (secret key),
    optional ``api_base`` / ``sandbox``, ``locale`` (default en_US), and the limit overrides.
    """

    id = CARRIER
    api_base = "https://apis.fedex.com"
    sandbox_api_base = "https://apis-sandbox.fedex.com"
    batch_size = 30  # trackingInfo entries per request (Track API guide)
    rate, per = 1400.0, 10.0  # per project (developer.fedex.com rate-limit guide)
    max_concurrency = 8
    parse = staticmethod(parse)

    _creds: ClientCredentials | None = None

    def _credentials(self) -> ClientCredentials:
        if self._creds is None:
            self._creds = ClientCredentials(
                f"{self.base_url}/oauth/token",
                self.setting("client_id"),
                self.setting("client_secret"),
                style="body",
                carrier=self.id,
            )
        return self._creds

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One POST for up to 30 numbers; per-number errors come back as data."""
        if not numbers:
            return []
        info = [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers]
        if courier and courier.upper() in OPERATING_COMPANIES:  # narrows a reused number
            for item in info:
                item["trackingNumberInfo"]["carrierCode"] = courier.upper()
        payload = {"includeDetailedScans": True, "trackingInfo": info}
        resp = await self._post(numbers, payload, retry=True)
        results = parse(resp.content, numbers)
        if resp.status_code != 200:
            results = [_with_status(r, resp.status_code) for r in results]
        return align(self.id, numbers, results)

    async def _post(
        self, numbers: Sequence[str], payload: dict[str, Any], *, retry: bool
    ) -> httpx.Response:
        creds = self._credentials()
        token = await creds.token(self.client)
        locale = str(self.config.get("locale") or "en_US")
        resp = await self.request(
            "POST",
            "/track/v1/trackingnumbers",
            numbers=numbers,
            expect=(200, 400, 404, 401) if retry else (200, 400, 404),
            json=payload,
            headers={"Authorization": f"Bearer {token}", "X-locale": locale},
        )
        if resp.status_code == 401:  # expired or revoked token: one retry with a fresh one
            creds.invalidate(token)
            return await self._post(numbers, payload, retry=False)
        return resp


def _with_status(result: TrackingResult, code: int) -> TrackingResult:
    if result.error and result.error.http_status is None:
        return replace(result, error=replace(result.error, http_status=code))
    return result
