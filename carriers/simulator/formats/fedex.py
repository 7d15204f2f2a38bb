"""FedEx Track API v1: ``POST /oauth/token`` (form client credentials) and
``POST /track/v1/trackingnumbers`` (Bearer, up to 30 ``trackingInfo`` a call).

Native codes become FedEx "Tracking Status Codes" (``eventType`` / ``latestStatusDetail.code``
with its ``derivedCode``): out for delivery is OD, a missed delivery DE with reason 007
"Customer not available or business closed", a delay DY, returns RS. Scan times are ISO-8601
local with offset, newest first; the ETA is ``dateAndTimes`` ESTIMATED_DELIVERY, replaced by
ACTUAL_DELIVERY on delivery. Unknown numbers are a per-number ``error`` inside HTTP 200.
"""

from __future__ import annotations

from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import (
    Event,
    Format,
    Parcel,
    Refusal,
    Request,
    day_start,
    reply,
)

MAX_NUMBERS = 30
BAD_CLIENT = (
    "The given client credentials were not valid. Please modify your request and try again."
)
NOT_FOUND = (
    "TRACKING.TRACKINGNUMBER.NOTFOUND",
    "Tracking number cannot be found. Please correct the tracking number and try again.",
)
INVALID = ("TRACKING.TRACKINGNUMBER.INVALID", "Invalid tracking number.")
ATTEMPT = ("007", "Customer not available or business closed")
# native code -> (code, derivedCode, statusByLocale, description, exception (code, text) or None)
CODES: dict[str, tuple[str, str, str, str, tuple[str, str] | None]] = {
    "MANIFESTED": ("OC", "IN", "Label created", "Shipment information sent to FedEx", None),
    "PICKED_UP": ("PU", "PU", "Picked up", "Picked up", None),
    "ARRIVED_HUB": ("AR", "IT", "In transit", "Arrived at FedEx location", None),
    "DEPARTED_HUB": ("DP", "IT", "In transit", "Departed FedEx location", None),
    "DELAYED": ("DY", "DY", "Delay", "Delay", None),
    "OUT_FOR_DELIVERY": ("OD", "IT", "On FedEx vehicle for delivery",
                         "On FedEx vehicle for delivery", None),
    "DELIVERY_FAILED": ("DE", "DE", "Delivery exception", "Delivery exception", ATTEMPT),
    "READY_FOR_PICKUP": ("HP", "HP", "Ready for pickup", "Ready for recipient pickup", None),
    "COLLECTED": ("DL", "DL", "Delivered", "Picked up at FedEx location", None),
    "DELIVERED": ("DL", "DL", "Delivered", "Delivered", None),
    "DAMAGED": ("SE", "SE", "Shipment exception", "Shipment exception",
                ("A12", "Package damaged")),
    "CUSTOMS_HOLD": ("CD", "CD", "Clearance delay", "Clearance delay",
                     ("C12", "Import documentation required")),
    "RETURNING": ("RS", "RS", "Returning to shipper", "Return to shipper", None),
    "RETURNED": ("RS", "RS", "Returned to shipper", "Returned to shipper", None),
}  # fmt: skip


class Fedex(Format):
    id = "fedex"
    fields = ("client_id", "client_secret")
    token_lifetime = 3599.0
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "NOT.AUTHORIZED.ERROR",
        "Access token expired. Please modify your request and try again.",
    )
    rate_refusal: ClassVar[tuple[str, str]] = (
        "RATE.LIMIT.EXCEEDED",
        "We have received too many requests in a short duration. Please wait a while to try again.",
    )

    def handle(self, request: Request) -> Response:
        if request.path == "/oauth/token" and request.method == "POST":
            form = request.form()
            grant = self.grant(
                form.get("client_id", ""), form.get("client_secret", ""), form.get("grant_type", "")
            )
            return reply({**grant, "token_type": "bearer", "scope": "CXS"})
        if request.path != "/track/v1/trackingnumbers":
            raise Refusal(
                404, "NOT.FOUND.ERROR", "The resource you requested is no longer available."
            )
        if request.method != "POST":
            raise Refusal(405, "METHOD.NOT.ALLOWED", "Method not allowed.")
        self.authorize(request)
        return self._track(request.json())

    def refuse_token(self) -> Refusal:
        return Refusal(401, "NOT.AUTHORIZED.ERROR", BAD_CLIENT)

    def _track(self, payload: Any) -> Response:
        info = payload.get("trackingInfo") if isinstance(payload, dict) else None
        if not isinstance(info, list) or not info:
            raise Refusal(400, "TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
        if len(info) > MAX_NUMBERS:
            raise Refusal(
                400,
                "TRACKING.TRACKINGNUMBER.LIMITEXCEEDED",
                f"Please provide no more than {MAX_NUMBERS} tracking numbers.",
            )
        numbers = [_number(i) for i in info]
        self.count("numbers_tracked", len(numbers))
        out = {"completeTrackResults": [self._complete(n) for n in numbers]}
        return reply({"transactionId": _transaction(self.now()), "output": out})

    def _complete(self, number: str) -> dict[str, Any]:
        parcel = self.world.parcel(number) if number else None
        if parcel is None or not parcel.events:
            found = number and self.world.valid(number)
            code, text = NOT_FOUND if found else INVALID
            result = {"trackingNumberInfo": {"trackingNumber": number, "carrierCode": ""},
                      "error": {"code": code, "message": text}}  # fmt: skip
            return {"trackingNumber": number, "trackResults": [result]}
        return {"trackingNumber": number, "trackResults": [_result(parcel)]}

    def error(self, status: int, code: str, message: str) -> Response:
        envelope = {
            "transactionId": _transaction(self.now()),
            "errors": [{"code": code, "message": message}],
        }
        return reply(envelope, status)


def _number(item: Any) -> str:
    info = item.get("trackingNumberInfo") if isinstance(item, dict) else None
    number = info.get("trackingNumber") if isinstance(info, dict) else None
    return number.strip() if isinstance(number, str) else ""


def _transaction(now: float) -> str:
    return f"sim-{int(now * 1000):x}"


def _location(event: Event) -> dict[str, Any]:
    where = {"city": event.city.upper(), "countryCode": event.country, "residential": False}
    if event.region:
        where["stateOrProvinceCode"] = event.region.upper()
    return where


def _result(parcel: Parcel) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in CODES]
    code, derived, locale, text, reason = CODES[events[-1].code]
    latest: dict[str, Any] = {
        "code": code,
        "derivedCode": derived,
        "statusByLocale": locale,
        "description": text,
        "scanLocation": _location(events[-1]),
    }
    if reason:
        latest["ancillaryDetails"] = [{"reason": reason[0], "reasonDescription": reason[1]}]
    if code == "DY":
        latest["delayDetail"] = {"status": "DELAYED"}
    return {
        "trackingNumberInfo": {"trackingNumber": parcel.number, "carrierCode": "FDXE",
                               "trackingNumberUniqueId": f"12029~{parcel.number}~FDEG"},
        "latestStatusDetail": latest,
        "dateAndTimes": _dates(parcel, events),
        "scanEvents": [_scan(e) for e in reversed(events)],
        "estimatedDeliveryTimeWindow": {"window": {}},
    }  # fmt: skip


def _dates(parcel: Parcel, events: list[Event]) -> list[dict[str, str]]:
    dates = [{"type": "SHIP", "dateTime": events[0].local.isoformat()}]
    picked = next((e for e in events if e.code == "PICKED_UP"), None)
    if picked:
        dates.append({"type": "ACTUAL_PICKUP", "dateTime": picked.local.isoformat()})
    done = parcel.delivered_at
    if done is not None:
        dates.append({"type": "ACTUAL_DELIVERY", "dateTime": done.local.isoformat()})
    elif parcel.eta is not None:
        dates.append({"type": "ESTIMATED_DELIVERY", "dateTime": day_start(parcel.eta)})
    return dates


def _scan(event: Event) -> dict[str, Any]:
    code, derived, locale, text, reason = CODES[event.code]
    return {
        "date": event.local.isoformat(),
        "eventType": code,
        "eventDescription": text,
        "exceptionCode": reason[0] if reason else "",
        "exceptionDescription": reason[1] if reason else "",
        "scanLocation": _location(event),
        "derivedStatusCode": derived,
        "derivedStatus": locale,
    }
