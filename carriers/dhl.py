"""DHL Shipment Tracking - Unified (``GET /track/shipments?trackingNumber=...``, DHL-API-Key).

Docs read: the Shipment Tracking - Unified OpenAPI (``shipments[].status{statusCode, status,
description, remark}``, ``statusCode`` enum ``pre-transit | transit | delivered | failure |
unknown``, ``events[]`` newest first, ``estimatedTimeOfDelivery`` /
``estimatedDeliveryTimeFrame``, RFC 7807 problem details for 401/404/429) and the developer
portal's rate-limit notes (initial 1 call/s and 250 calls/day, 429 when exceeded).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.indonesia_words import classify
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "dhl"
log = logging.getLogger(__name__)
S = Status
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)

# The documented `statusCode` enum: the code decides, the free text never overrides it.
STATUS_CODES: dict[str, Status] = {
    "pre-transit": S.INFO_RECEIVED,
    "transit": S.IN_TRANSIT,
    "delivered": S.DELIVERED,
    "failure": S.EXCEPTION,
    "unknown": S.PENDING,
}
# Inside a family the API has no finer code, so DHL's own wording may refine it (never cross
# families): "transit" -> out for delivery / ready for pickup / returning, "failure" -> attempt.
REFINES: dict[Status, tuple[tuple[Status, tuple[str, ...]], ...]] = {
    S.IN_TRANSIT: (
        (S.RETURNED_TO_SENDER, ("returned to the sender", "returned to sender",
                                "return to sender", "being returned", "returning to",
                                "on its way back to the sender")),
        (S.OUT_FOR_DELIVERY, ("out for delivery", "loaded onto the delivery vehicle",
                              "with delivery courier", "on the delivery vehicle",
                              "out with courier for delivery", "in delivery",
                              "with courier for delivery")),
        (S.AVAILABLE_FOR_PICKUP, ("ready for pick", "available for pick", "ready for collection",
                                  "awaiting collection", "can be picked up",
                                  "available for collection", "deposited in the packstation",
                                  "ready to be picked up")),
    ),
    S.EXCEPTION: (
        (S.RETURNED_TO_SENDER, ("returned to the sender", "returned to sender",
                                "return to sender", "being returned")),
        (S.FAILED_ATTEMPT, ("delivery attempt", "could not be delivered", "not at home",
                            "recipient not available", "unsuccessful delivery",
                            "recipient was not present", "recipient not present",
                            "attempted delivery", "business closed")),
    ),
    # "delivered" back to the shipper is a return (README: delivered unless a more specific
    # code says it is going back)
    S.DELIVERED: (
        (S.RETURNED_TO_SENDER, ("returned to the sender", "returned to sender",
                                "delivered back to the sender", "return to sender")),
    ),
}  # fmt: skip


# The `service` query values (DHL divisions) that disambiguate a number known to several.
SERVICES = frozenset({"express", "parcel-de", "parcel-nl", "parcel-pl", "parcel-uk", "ecommerce",
                      "ecommerce-europe", "ecommerce-apac", "dgf", "dsc", "freight", "post-de",
                      "sameday", "svb"})  # fmt: skip


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _status(record: dict[str, Any]) -> tuple[Status, str | None]:
    """(normalized, raw statusCode) for a shipment ``status`` or one event."""
    code = text(record.get("statusCode"))
    family = STATUS_CODES.get((code or "").lower())
    words = " ".join(
        t for t in (text(record.get(k)) for k in ("status", "description")) if t
    ).lower()
    if family is None:
        if code:
            log.warning("dhl: unknown statusCode %r", code)
        # Some services give events without a statusCode: DHL's own words are all there is.
        found = classify(words) if words else None
        return (found.status if found else S.IN_TRANSIT if code or words else S.PENDING), code
    for refined, phrases in REFINES.get(family, ()):
        if any(p in words for p in phrases):
            return refined, code
    return family, code


def _location(record: dict[str, Any]) -> str | None:
    address = _dict(_dict(record.get("location")).get("address"))
    return join_location(address.get("addressLocality"), address.get("countryCode"))


def _event(record: dict[str, Any]) -> TrackingEvent:
    status, code = _status(record)
    description = text(record.get("description")) or text(record.get("status")) or ""
    return TrackingEvent(
        time=parse_time(record.get("timestamp")),
        status=status,
        description=description,
        location=_location(record),
        raw_code=code,
    )


def _eta(shipment: dict[str, Any]) -> date | None:
    # estimatedTimeOfDelivery, else the end of estimatedDeliveryTimeFrame (date as written).
    frame = _dict(shipment.get("estimatedDeliveryTimeFrame"))
    return parse_date(shipment.get("estimatedTimeOfDelivery")) or parse_date(
        frame.get("estimatedThrough")
    )


def _result(shipment: dict[str, Any]) -> TrackingResult:
    records = [_dict(e) for e in _list(shipment.get("events")) if _dict(e)]
    current = _dict(shipment.get("status")) or (records[0] if records else {})
    status, code = _status(current) if current else (S.PENDING, None)
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(shipment.get("id")) or "",
        status=status,
        events=tuple(_event(e) for e in reversed(records)),  # DHL lists newest first
        estimated_delivery=_eta(shipment),
        raw_status=code,
        raw=shipment,
    )


def _problem(body: dict[str, Any]) -> ItemError:
    """RFC 7807 problem details: 404 no result, 401/403 key refused, 429 limit, 400 request."""
    status = body.get("status")
    http = status if isinstance(status, int) and not isinstance(status, bool) else None
    words = f"{text(body.get('title')) or ''} {text(body.get('detail')) or ''}".lower()
    kind = (
        ErrorKind.NOT_FOUND if http == 404 or "no result" in words or "not found" in words
        else ErrorKind.AUTH if http in (401, 403) or "unauthorized" in words or "api key" in words
        else ErrorKind.RATE_LIMITED if http == 429 or "too many" in words or "limit" in words
        else ErrorKind.UNAVAILABLE if (http or 0) >= 500 or "unavailable" in words
        or "internal server" in words
        else ErrorKind.BAD_REQUEST
    )  # fmt: skip
    message = text(body.get("detail")) or text(body.get("title")) or "DHL reported an error"
    return ItemError(kind, message, None, http)


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result per ``shipments`` entry (the same number can appear once per DHL service);
    a problem-details body becomes one error result per requested number."""
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:  # a shape no branch expected: still only a response error
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    data = load_json(body, CARRIER)
    if isinstance(data, dict) and isinstance(data.get("shipments"), list):
        return [_result(s) for s in data["shipments"] if isinstance(s, dict)]
    if isinstance(data, dict) and ("title" in data or "detail" in data) and "status" in data:
        error = _problem(data)
        return [TrackingResult(CARRIER, n, None, error=error, raw=data) for n in numbers or [""]]
    raise CarrierResponseError(
        "not a DHL tracking response", carrier=CARRIER, body_excerpt=excerpt(body)
    )


class Adapter(HttpAdapter):
    """DHL Shipment Tracking - Unified, one number per request.

    Config keys (``carriers.dhl``): ``api_key`` (the app's consumer key, sent as
    ``DHL-API-Key``), optional ``language`` (default en), ``requester_country_code``,
    ``api_base`` and the limit overrides (initial quota: 1 call/s, 250 calls/day). ``courier``
    passed to fetch() is forwarded as DHL's ``service`` (express, parcel-de, ecommerce, ...).
    """

    id = CARRIER
    api_base = "https://api-eu.dhl.com"
    sandbox_api_base = None  # DHL offers no test environment for this API
    batch_size = 1
    rate, per = 1.0, 1.0  # initial service level: 1 call per second
    max_concurrency = 1
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One GET per number; a 404 problem body is a not_found result, not an exception."""
        key = self.setting("api_key")
        batches = await asyncio.gather(*(self._one(n, key, courier) for n in numbers))
        seen: set[str] = set()
        results = []
        for result in (r for batch in batches for r in batch):
            if result.tracking_number.upper() not in seen:  # first service's record wins
                seen.add(result.tracking_number.upper())
                results.append(result)
        return align(self.id, numbers, results)

    async def _one(self, number: str, key: str, service: str | None) -> list[TrackingResult]:
        params = {"trackingNumber": number, "language": self.config.get("language") or "en"}
        if service and service.lower() in SERVICES:
            params["service"] = service.lower()
        if self.config.get("requester_country_code"):
            params["requesterCountryCode"] = str(self.config["requester_country_code"])
        resp = await self.request(
            "GET",
            "/track/shipments",
            numbers=[number],
            expect=(200, 400, 404),
            params=params,
            headers={"DHL-API-Key": key, "Accept": "application/json"},
        )
        results = [
            replace(r, tracking_number=number) if not r.tracking_number else r
            for r in parse(resp.content, [number])
        ]
        if resp.status_code != 200:
            results = [
                replace(r, error=replace(r.error, http_status=resp.status_code))
                if r.error and r.error.http_status is None
                else r
                for r in results
            ]
        return results
