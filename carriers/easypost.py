"""EasyPost Trackers: status and status_detail to the normalized statuses.

Documents read:

* Tracker object, statuses and the 28 ``status_detail`` values: docs.easypost.com/docs/trackers
  ("status" / "status_detail" possible values; tracking_details; CarrierDetail
  ``est_delivery_date_local``) and EasyPost/easypost-node ``types/Tracker/TrackerStatus.d.ts``,
  ``TrackerStatusDetail.d.ts``, ``Tracker.d.ts``
* list filters ``tracking_code`` / ``carrier``: ``TrackerListParameters.d.ts``; create is
  deduplicated per tracking code and carrier for three months (``Tracker.d.ts``)
* error envelope ``{"error": {"code", "message", "errors"}}`` and ``TRACKER.CREATE.ERROR``:
  easypost-python cassettes and karrio's EasyPost connector tests
* webhook Event object (``description`` tracker.created / tracker.updated, ``result``):
  EasyPost/examples ``official/guides/tracking-guide/json/tracking-webhook.json``

Bodies understood: a Tracker, a tracker list (``trackers``), a webhook Event and the error
envelope. ``tracking_details`` are oldest first and are kept in the carrier's order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError
from carriers.http import HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "easypost"
log = logging.getLogger(__name__)

# Tracker.status / TrackingDetail.status -> status. "error" on a tracker is a per-number error
# (the tracker could not be created, e.g. a non-test number in test mode), not a shipment state.
STATUSES: dict[str, Status] = {
    "unknown": Status.PENDING,
    "pre_transit": Status.INFO_RECEIVED,
    "in_transit": Status.IN_TRANSIT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "delivered": Status.DELIVERED,
    "available_for_pickup": Status.AVAILABLE_FOR_PICKUP,
    "return_to_sender": Status.RETURNED_TO_SENDER,
    "failure": Status.EXCEPTION,
    "cancelled": Status.EXCEPTION,
    "error": Status.EXCEPTION,
}

# status_detail -> the status it refines to; None keeps the status (the detail says where or
# why, not a different stage of the journey). A ``failure`` is EasyPost's word for a delivery
# that did not happen: when the detail says the carrier tried (delivery_exception, refused at the
# door), it is a failed attempt and the carrier will usually try again; damage, loss, holds and
# carrier-side faults stay exceptions.
STATUS_DETAILS: dict[str, Status | None] = {
    "address_correction": None,
    "arrived_at_destination": None,
    "arrived_at_facility": None,
    "arrived_at_pickup_location": Status.AVAILABLE_FOR_PICKUP,
    "awaiting_information": None,
    "cancelled": Status.EXCEPTION,
    "damaged": Status.EXCEPTION,
    "delayed": None,
    "delivery_exception": Status.FAILED_ATTEMPT,
    "departed_facility": None,
    "departed_origin_facility": None,
    "expired": Status.EXPIRED,
    "failure": None,
    "held": None,
    "in_transit": None,
    "label_created": Status.INFO_RECEIVED,
    "lost": Status.EXCEPTION,
    "missorted": None,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "received_at_destination_facility": None,
    "received_at_origin_facility": None,
    "refused": Status.FAILED_ATTEMPT,
    "return": Status.RETURNED_TO_SENDER,
    "status_update": None,
    "transferred_to_destination_carrier": None,
    "transit_exception": None,
    "unknown": None,
    "weather_delay": None,
}
# Details newer than the published enum that also mean "the carrier tried to deliver":
# recognized by their words, so address_not_found / recipient_not_available / no_access... land
# on failed_attempt instead of the generic failure (a warning still flags them as undocumented).
ATTEMPT_WORDS = ("attempt", "not_available", "unavailable", "not_home", "address_not_found",
                 "no_access", "business_closed", "notice_left", "refus", "undeliverable_address",
                 "incorrect_address", "bad_address", "redeliver", "reschedul")  # fmt: skip

# error.code -> kind; codes not listed are classified by their words (see _error_kind).
ERROR_KINDS: dict[str, ErrorKind] = {
    "NOT_FOUND": ErrorKind.NOT_FOUND,
    "TRACKER.CREATE.ERROR": ErrorKind.INVALID_NUMBER,
    "APIKEY.REQUIRED": ErrorKind.AUTH,
    "APIKEY.INACTIVE": ErrorKind.AUTH,
    "FORBIDDEN": ErrorKind.AUTH,
    "RATE_LIMITED": ErrorKind.RATE_LIMITED,
    "PARAMETER.REQUIRED": ErrorKind.BAD_REQUEST,
    "PARAMETER.INVALID": ErrorKind.BAD_REQUEST,
    "INTERNAL_SERVER_ERROR": ErrorKind.UNAVAILABLE,  # EasyPost's own fault: retry later
    "SERVICE_UNAVAILABLE": ErrorKind.UNAVAILABLE,
    "MODE.UNAUTHORIZED": ErrorKind.AUTH,  # a test key used on production data or vice versa
}
EXPECT = (200, 201, 400, 404, 422)


class _Zulu(datetime):
    """A UTC time the carrier wrote with "Z": ``isoformat`` keeps the "Z" (times as given)."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        stamp = super().isoformat(sep, timespec)
        return stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp


def _time(value: Any) -> datetime | None:
    moment, raw = parse_time(value), text(value)
    if moment is not None and raw and raw[-1] in "Zz" and moment.utcoffset() is not None:
        return _Zulu.fromisoformat(moment.isoformat())
    return moment


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _status(status: str | None, detail: str | None, fallback: Status) -> Status:
    """The status, refined by status_detail; a final status only yields to a return."""
    status, detail = (status or "").lower() or None, (detail or "").lower() or None
    base = STATUSES.get(status or "")
    if (status and base is None) or (detail and detail not in STATUS_DETAILS):
        log.warning("easypost: unknown status %r/%r", status, detail)
    refined = STATUS_DETAILS.get(detail or "")
    if detail and detail not in STATUS_DETAILS and any(w in detail for w in ATTEMPT_WORDS):
        refined = Status.FAILED_ATTEMPT
    final = base in (Status.DELIVERED, Status.RETURNED_TO_SENDER)
    if refined is None or (final and refined is not Status.RETURNED_TO_SENDER):
        return base or fallback
    return refined


def _event(d: dict[str, Any]) -> TrackingEvent:
    status, detail = text(d.get("status")), text(d.get("status_detail"))
    message = d.get("message")
    where = _dict(d.get("tracking_location"))
    return TrackingEvent(
        time=_time(d.get("datetime")),
        status=_status(status, detail, Status.IN_TRANSIT),
        description=message.strip() if isinstance(message, str) else (text(message) or ""),
        location=join_location(where.get("city"), where.get("state"), where.get("country")),
        raw_code=detail or status,
    )


def _tracker(t: dict[str, Any]) -> TrackingResult:
    status, detail = text(t.get("status")), text(t.get("status_detail"))
    number = text(t.get("tracking_code")) or ""
    carrier = text(t.get("carrier"))
    courier = carrier.lower() if carrier else None
    details = _dicts(t.get("tracking_details"))
    if status == "error":  # the tracker failed: say why, as data for this number
        why = next(
            (text(d.get("message")) for d in reversed(details) if text(d.get("message"))), None
        )
        error = ItemError(ErrorKind.INVALID_NUMBER, why or "EasyPost tracker error", code="error")
        return TrackingResult(
            CARRIER, number, None, courier=courier, raw_status=status, error=error, raw=t
        )
    events = tuple(_event(d) for d in details)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=_status(status, detail, Status.IN_TRANSIT if events else Status.PENDING),
        events=events,
        estimated_delivery=_eta(t),
        courier=courier,
        raw_status=detail or status,
        raw=t,
    )


def _eta(t: dict[str, Any]) -> date | None:
    """est_delivery_date, else the carrier's own local estimate (carrier_detail)."""
    local = _dict(t.get("carrier_detail")).get("est_delivery_date_local")
    return parse_date(t.get("est_delivery_date")) or parse_date(local)


def _error_kind(code: str, message: str = "") -> ErrorKind:
    if code in ERROR_KINDS:
        return ERROR_KINDS[code]
    words = f"{code} {message}".upper()
    for marker, kind in (
        ("APIKEY", ErrorKind.AUTH),
        ("API KEY", ErrorKind.AUTH),
        ("UNAUTHORIZED", ErrorKind.AUTH),
        ("FORBIDDEN", ErrorKind.AUTH),
        ("RATE_LIMIT", ErrorKind.RATE_LIMITED),
        ("TOO MANY", ErrorKind.RATE_LIMITED),
        ("SERVER", ErrorKind.UNAVAILABLE),
        ("UNAVAILABLE", ErrorKind.UNAVAILABLE),
        ("TIMEOUT", ErrorKind.UNAVAILABLE),
        ("NOT_FOUND", ErrorKind.NOT_FOUND),
        ("TRACKING_CODE", ErrorKind.INVALID_NUMBER),
    ):
        if marker in words:
            return kind
    return ErrorKind.BAD_REQUEST


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """Normalize one EasyPost body; raises only CarrierResponseError (see module docstring)."""
    try:
        doc = load_json(body, CARRIER)
    except (TypeError, RecursionError) as err:
        raise CarrierResponseError("body is not JSON", carrier=CARRIER) from err
    if not isinstance(doc, dict):
        raise CarrierResponseError("top level is not an object", carrier=CARRIER)
    if doc.get("object") == "Event":  # webhook; only tracker events carry tracking news
        result = _dict(doc.get("result"))
        return [_tracker(result)] if result.get("object") == "Tracker" else []
    if "trackers" in doc:
        return [_tracker(t) for t in _dicts(doc["trackers"])]
    if doc.get("object") == "Tracker" or "tracking_code" in doc:
        return [_tracker(doc)]
    if isinstance(doc.get("error"), dict):
        envelope = doc["error"]
        code = text(envelope.get("code")) or "ERROR"
        message = text(envelope.get("message")) or code
        error = ItemError(_error_kind(code, message), message, code=code)
        return [TrackingResult(CARRIER, n, None, error=error, raw=doc) for n in numbers or [""]]
    raise CarrierResponseError("not a Tracker, tracker list, Event or error", carrier=CARRIER)


def _with_http(results: list[TrackingResult], http_status: int) -> list[TrackingResult]:
    return [
        dataclasses.replace(r, error=dataclasses.replace(r.error, http_status=http_status))
        if r.error and r.error.http_status is None
        else r
        for r in results
    ]


class Adapter(HttpAdapter):
    """EasyPost Trackers: one number per call, looked up by tracking code.

    ``GET /trackers?tracking_code=`` (newest tracker first); a number EasyPost has no tracker for
    is created with ``POST /trackers`` (creation is billed, so it happens once, on first sight).
    Auth is HTTP Basic with the API key as user name. Test keys only accept the test numbers
    EZ1000000001..EZ7000000007. Config keys (``carriers.easypost``): ``api_key`` (required),
    ``register`` (default true), and the shared ``api_base``, ``rate``, ``per``, ``batch_size``,
    ``max_concurrency``, ``timeout``. The courier, when given, is EasyPost's carrier name (USPS).
    """

    id = CARRIER
    api_base = "https://api.easypost.com/v2"
    batch_size = 1
    rate = 5.0  # EasyPost limits dynamically and answers 429; conservative default, settable
    per = 1.0
    max_concurrency = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        auth = httpx.BasicAuth(self.setting("api_key"), "")
        results: list[TrackingResult] = []
        for number in numbers:
            params = {
                "tracking_code": number,
                "page_size": 1,
                **({"carrier": courier} if courier else {}),
            }
            resp = await self.request(
                "GET", "/trackers", numbers=[number], params=params, auth=auth, expect=EXPECT
            )
            found = _with_http(parse(resp.content, [number]), resp.status_code)
            if not found and resp.status_code == 200 and self.config.get("register", True):
                tracker = {"tracking_code": number, **({"carrier": courier} if courier else {})}
                resp = await self.request(
                    "POST",
                    "/trackers",
                    numbers=[number],
                    json={"tracker": tracker},
                    auth=auth,
                    expect=EXPECT,
                )
                found = _with_http(parse(resp.content, [number]), resp.status_code)
            results += found[:1]
        return align(self.id, numbers, results)
