"""Shippo Tracks: tracking_status.status and substatus codes to the normalized statuses.

Documents read:

* statuses PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED, FAILURE, UNKNOWN and the substatus event
  definitions (https://docs.goshippo.com/docs/tracking/tracking/#event-definitions), as
  generated into goshippo's SDKs (``TrackingStatusSubstatus`` code / text / action_required and
  the substatus code enum of the PHP/C# SDKs)
* ``GET /tracks/{carrier}/{tracking_number}``, ``ShippoToken`` auth, ``{"detail": ...}`` errors
  and ``tracking_status: null`` for a number Shippo has no data for yet: goshippo
  shippo-python-client test fixtures and cassettes
* rate limits: https://docs.goshippo.com/docs/api_concepts/ratelimits/ (tracking GET 500/min
  live, 50/min test)

Bodies understood: a Track object, the ``track_updated`` webhook (``data`` is the Track) and the
``detail`` / field-map error bodies. ``tracking_history`` is oldest first and kept in order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError
from carriers.http import HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "shippo"
log = logging.getLogger(__name__)

# tracking_status.status (and each history entry's status) -> status.
STATUSES: dict[str, Status] = {
    "PRE_TRANSIT": Status.INFO_RECEIVED,
    "TRANSIT": Status.IN_TRANSIT,
    "DELIVERED": Status.DELIVERED,
    "RETURNED": Status.RETURNED_TO_SENDER,
    "FAILURE": Status.EXCEPTION,
    "UNKNOWN": Status.PENDING,
}

# substatus.code -> the status it refines to; None keeps the status.
SUBSTATUSES: dict[str, Status | None] = {
    "information_received": Status.INFO_RECEIVED,
    "address_issue": Status.EXCEPTION,  # action required: address is wrong
    "contact_carrier": Status.EXCEPTION,  # action required
    "delayed": None,  # delays are detected from the ETA, not a stage
    "delivery_attempted": Status.FAILED_ATTEMPT,
    "delivery_rescheduled": None,
    "delivery_scheduled": None,
    "location_inaccessible": Status.FAILED_ATTEMPT,
    "notice_left": Status.FAILED_ATTEMPT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "package_accepted": None,
    "package_arrived": None,
    "package_damaged": Status.EXCEPTION,
    "package_departed": None,
    "package_forwarded": None,
    "package_held": Status.EXCEPTION,  # held at a carrier location: contact the carrier
    "package_processed": None,
    "package_processing": None,
    "pickup_available": Status.AVAILABLE_FOR_PICKUP,
    "reschedule_delivery": Status.FAILED_ATTEMPT,  # contact carrier to reschedule
    "delivered": Status.DELIVERED,
    "return_to_sender": Status.RETURNED_TO_SENDER,
    "package_unclaimed": Status.EXCEPTION,
    "package_undeliverable": Status.EXCEPTION,
    "package_disposed": Status.EXCEPTION,
    "package_lost": Status.EXCEPTION,
    "other": None,
}

# UNKNOWN entries that describe a created label / electronic notice are information received
# (Shippo reports USPS "label created" history as UNKNOWN).
LABEL_WORDS = ("label", "electronic", "shipment information", "pre-shipment")
# Responses from before substatus existed say it in words: TRANSIT entries without a substatus
# are refined by these phrases of status_details (checked in this order).
TRANSIT_WORDS = (
    (("out for delivery",), Status.OUT_FOR_DELIVERY),
    (
        ("available for pickup", "available for pick up", "ready for pickup"),
        Status.AVAILABLE_FOR_PICKUP,
    ),
    (("delivery attempt", "attempted delivery", "notice left"), Status.FAILED_ATTEMPT),
)
# Words of a ``detail`` error message -> kind; anything else is a bad request.
DETAIL_WORDS = (
    (("token", "credential", "authenticat", "permission"), ErrorKind.AUTH),
    (("throttl", "rate limit", "too many"), ErrorKind.RATE_LIMITED),
    (
        ("server error", "internal error", "unavailable", "try again later", "timed out"),
        ErrorKind.UNAVAILABLE,
    ),
    (("not found",), ErrorKind.NOT_FOUND),
)
FINAL = (Status.DELIVERED, Status.RETURNED_TO_SENDER)
EXPECT = (200, 201, 400, 404)


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


def _sub_code(entry: dict[str, Any]) -> str | None:
    sub = entry.get("substatus")
    return text(_dict(sub).get("code")) if isinstance(sub, dict) else text(sub)


def _status(status: str | None, sub: str | None, details: str | None, fallback: Status) -> Status:
    """The status refined by the substatus; a final status only yields to a return."""
    if (status and status not in STATUSES) or (sub and sub not in SUBSTATUSES):
        log.warning("shippo: unknown status %r/%r", status, sub)
    base = STATUSES.get(status or "", fallback)
    words = (details or "").lower()
    if status == "UNKNOWN" and any(w in words for w in LABEL_WORDS):
        base = Status.INFO_RECEIVED
    if status == "TRANSIT" and not sub:
        base = next((st for keys, st in TRANSIT_WORDS if any(w in words for w in keys)), base)
    refined = SUBSTATUSES.get(sub or "")
    if refined is None or (base in FINAL and refined is not Status.RETURNED_TO_SENDER):
        return base
    return refined


def _event(h: dict[str, Any]) -> TrackingEvent:
    status, sub = text(h.get("status")), _sub_code(h)
    details = h.get("status_details")
    where = _dict(h.get("location"))
    return TrackingEvent(
        time=_time(h.get("status_date")),
        status=_status(status, sub, text(details), Status.IN_TRANSIT),
        description=details.strip() if isinstance(details, str) else (text(details) or ""),
        location=join_location(where.get("city"), where.get("state"), where.get("country")),
        raw_code=sub or status,
    )


def _track(t: dict[str, Any]) -> TrackingResult:
    current = _dict(t.get("tracking_status"))  # null: Shippo has no data yet -> pending
    status, sub = text(current.get("status")), _sub_code(current)
    events = tuple(_event(h) for h in _dicts(t.get("tracking_history")))
    carrier = text(t.get("carrier"))
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(t.get("tracking_number")) or "",
        status=_status(status, sub, text(current.get("status_details")), Status.PENDING),
        events=events,
        estimated_delivery=parse_date(t.get("eta")),
        courier=carrier.lower() if carrier else None,
        raw_status=sub or status,
        raw=t,
    )


def _error(doc: dict[str, Any]) -> ItemError | None:
    """``{"detail": msg}`` or a field map ``{"field": ["msg", ...]}``; None if neither."""
    detail = text(doc.get("detail"))
    if detail:
        words = detail.lower()
        kind = next((k for keys, k in DETAIL_WORDS if any(w in words for w in keys)), None)
        return ItemError(kind or ErrorKind.BAD_REQUEST, detail)
    fields = {k: v for k, v in doc.items() if isinstance(v, list) and v}
    if not fields or len(fields) != len(doc):
        return None
    message = "; ".join(
        f"{k}: {', '.join(t for t in map(text, v) if t)}" for k, v in fields.items()
    )
    kind = ErrorKind.INVALID_NUMBER if "tracking_number" in fields else ErrorKind.BAD_REQUEST
    return ItemError(kind, message or "Shippo error")


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """Normalize one Shippo body; raises only CarrierResponseError (see module docstring)."""
    try:
        doc = load_json(body, CARRIER)
    except (TypeError, RecursionError) as err:
        raise CarrierResponseError("body is not JSON", carrier=CARRIER) from err
    if not isinstance(doc, dict):
        raise CarrierResponseError("top level is not an object", carrier=CARRIER)
    if "event" in doc and isinstance(doc.get("data"), dict):  # track_updated webhook
        doc = doc["data"]
    if isinstance(doc.get("tracking_number"), str) and (
        "tracking_status" in doc or "tracking_history" in doc
    ):
        return [_track(doc)]
    error = _error(doc)
    if error is None:
        raise CarrierResponseError("not a Track object or a Shippo error", carrier=CARRIER)
    return [TrackingResult(CARRIER, n, None, error=error, raw=doc) for n in numbers or [""]]


def _with_http(results: list[TrackingResult], http_status: int) -> list[TrackingResult]:
    return [
        dataclasses.replace(r, error=dataclasses.replace(r.error, http_status=http_status))
        if r.error and r.error.http_status is None
        else r
        for r in results
    ]


class Adapter(HttpAdapter):
    """Shippo Tracks: ``GET /tracks/{carrier}/{tracking_number}``, one number a call.

    Shippo needs the carrier token (``usps``, ``ups``, ``dhl_express``...): the courier passed
    to ``fetch`` or, failing that, the ``carrier`` config key; without either each number is a
    ``bad_request`` result and no call is made. A number Shippo has no data for yet answers
    ``tracking_status: null``, which is ``pending``. Config keys (``carriers.shippo``):
    ``api_key`` (required; ``Authorization: ShippoToken <key>``; ``shippo_test_`` keys work with
    the ``shippo`` carrier and SHIPPO_* test numbers), ``carrier``, and the shared ``api_base``,
    ``rate``, ``per``, ``batch_size``, ``max_concurrency``, ``timeout``.
    """

    id = CARRIER
    api_base = "https://api.goshippo.com"
    batch_size = 1
    rate = 500.0  # tracking GET, live tokens (test tokens: 50 per minute; settable)
    per = 60.0
    max_concurrency = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        carrier = courier or text(self.config.get("carrier"))
        headers = {"Authorization": f"ShippoToken {self.setting('api_key')}"}
        results: list[TrackingResult] = []
        for number in numbers:
            if not carrier:
                missing = ItemError(ErrorKind.BAD_REQUEST, "Shippo needs the carrier token")
                results.append(TrackingResult(CARRIER, number, None, error=missing))
                continue
            path = f"/tracks/{quote(carrier, safe='')}/{quote(number, safe='')}"
            resp = await self.request("GET", path, numbers=[number], headers=headers, expect=EXPECT)
            try:
                found = parse(resp.content, [number])
            except CarrierResponseError:
                if resp.status_code != 404:  # an HTML 404 page means "no such track"
                    raise
                found = [
                    TrackingResult(
                        CARRIER, number, None, error=ItemError(ErrorKind.NOT_FOUND, "404")
                    )
                ]
            results += _with_http(found, resp.status_code)
        return align(self.id, numbers, results)
