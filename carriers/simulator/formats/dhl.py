"""DHL Shipment Tracking - Unified: ``GET /track/shipments?trackingNumber=`` with the
``DHL-API-Key`` header.

Native codes become the documented ``statusCode`` enum (``pre-transit | transit | delivered |
failure``) with DHL's own event wording, the only place DHL says more: out for delivery is
``transit`` "The shipment has been loaded onto the delivery vehicle", a missed delivery
``failure`` "Delivery attempt unsuccessful ...", a return "... returned to the sender".
Timestamps are ISO-8601 with the local offset, events newest first; the ETA is
``estimatedTimeOfDelivery`` with its time frame.
Errors are RFC 7807 problem details (404 "No result found", 401 for a wrong key).
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

PROBLEM = b"application/problem+json"
SERVICES = frozenset({"express", "parcel-de", "parcel-nl", "parcel-pl", "parcel-uk", "ecommerce",
                      "ecommerce-europe", "ecommerce-apac", "dgf", "dsc", "freight", "post-de",
                      "sameday", "svb"})  # fmt: skip
# native code -> (statusCode, status, description)
CODES: dict[str, tuple[str, str, str]] = {
    "MANIFESTED": ("pre-transit", "SHIPMENT INFORMATION RECEIVED",
                   "The instruction data for this shipment have been provided by the sender."),
    "PICKED_UP": ("transit", "PICKED UP", "The shipment has been picked up."),
    "ARRIVED_HUB": ("transit", "ARRIVED", "The shipment has arrived at the DHL facility."),
    "DEPARTED_HUB": ("transit", "DEPARTED", "The shipment has departed the DHL facility."),
    "DELAYED": ("transit", "DELAYED",
                "The shipment is delayed; the estimated delivery date has been updated."),
    "OUT_FOR_DELIVERY": ("transit", "OUT FOR DELIVERY",
                         "The shipment has been loaded onto the delivery vehicle."),
    "DELIVERY_FAILED": ("failure", "DELIVERY ATTEMPTED",
                        "Delivery attempt unsuccessful: the recipient was not at home."),
    "READY_FOR_PICKUP": ("transit", "READY FOR PICKUP",
                         "The shipment is ready for pick-up at the retail outlet."),
    "COLLECTED": ("delivered", "DELIVERED", "The shipment has been picked up by the recipient."),
    "DELIVERED": ("delivered", "DELIVERED", "The shipment has been delivered."),
    "DAMAGED": ("failure", "DAMAGED", "The shipment has been damaged; a claim is in progress."),
    "CUSTOMS_HOLD": ("failure", "CLEARANCE DELAY",
                     "The shipment is on hold: customs documents are required."),
    "RETURNING": ("transit", "RETURNING",
                  "The shipment could not be delivered and is being returned to the sender."),
    "RETURNED": ("failure", "RETURNED", "The shipment has been returned to the sender."),
}  # fmt: skip


class Dhl(Format):
    id = "dhl"
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "Unauthorized", "Invalid API key.")
    rate_refusal: ClassVar[tuple[str, str]] = (
        "Too many requests",
        "The rate limit of the subscription plan has been exceeded.",
    )

    def handle(self, request: Request) -> Response:
        if request.path != "/track/shipments":
            raise Refusal(404, "Not Found", "The requested resource does not exist.")
        if request.method != "GET":
            raise Refusal(405, "Method Not Allowed", "Only GET is allowed.")
        self.need("api_key", request.header("dhl-api-key") or request.query.get("DHL-API-Key", ""))
        number = request.query.get("trackingNumber", "").strip()
        if not number:
            raise Refusal(400, "Bad Request", "The trackingNumber parameter is required.")
        service = request.query.get("service", "express")
        if service not in SERVICES:
            raise Refusal(400, "Bad Request", f"Unknown service '{service}'.")
        self.count("numbers_tracked")
        parcel = self.world.parcel(number)
        if parcel is None or not parcel.events:
            raise Refusal(404, "No result found", "No shipment with given tracking number found.")
        return reply(
            {"shipments": [_shipment(parcel, service)], "possibleAdditionalShipmentsUrl": []}
        )

    def error(self, status: int, code: str, message: str) -> Response:
        problem = {
            "title": code,
            "detail": message,
            "status": status,
            "instance": "/track/shipments",
        }
        return reply(problem, status, PROBLEM)


def _place(event: Event) -> dict[str, Any]:
    locality = f"{event.city}, {event.region}" if event.region else event.city
    return {"address": {"countryCode": event.country, "addressLocality": locality}}


def _event(event: Event) -> dict[str, Any]:
    code, status, text = CODES[event.code]
    return {
        "timestamp": event.local.isoformat(),
        "location": _place(event),
        "statusCode": code,
        "status": status,
        "description": text,
    }


def _shipment(parcel: Parcel, service: str) -> dict[str, Any]:
    events = [_event(e) for e in reversed(parcel.events) if e.code in CODES]
    out: dict[str, Any] = {
        "id": parcel.number,
        "service": service,
        "origin": _place(parcel.events[0]),
        "status": events[0],
        "events": events,
    }
    if parcel.eta is not None and not parcel.final:
        out["estimatedTimeOfDelivery"] = day_start(parcel.eta)
        out["estimatedDeliveryTimeFrame"] = {
            "estimatedFrom": day_start(parcel.eta),
            "estimatedThrough": day_start(parcel.eta).replace("T00:00:00", "T21:00:00"),
        }
        out["estimatedTimeOfDeliveryRemark"] = "By End of Day"
    return out
