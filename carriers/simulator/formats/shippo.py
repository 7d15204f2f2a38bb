"""Shippo Tracks: ``GET /tracks/{carrier}/{tracking_number}`` with ``Authorization:
ShippoToken <key>``.

Shippo answers any number of a supported carrier: one it has no data for has
``tracking_status: null``. Native codes become ``status`` plus a ``substatus`` code from
Shippo's event definitions (TRANSIT/out_for_delivery, TRANSIT/delivery_attempted,
TRANSIT/pickup_available, RETURNED/return_to_sender ...); ``tracking_history`` is oldest first
with UTC ``status_date`` and the courier's text as ``status_details``; the ETA is ``eta`` (and
``original_eta``, the first date announced). Errors are ``{"detail": "..."}``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import Event, Format, Parcel, Refusal, Request, reply, utc_z

TRACKS = re.compile(r"/tracks/([^/]+)/([^/]+)/?")
# Shippo carrier tokens the simulator answers for; ``shippo`` is Shippo's own test carrier.
CARRIERS = frozenset({"shippo", "usps", "ups", "fedex", "dhl_express", "dhl_ecommerce",
                      "canada_post", "ontrac", "lasership", "purolator"})  # fmt: skip
# native code -> (status, substatus code, substatus text, action required)
CODES: dict[str, tuple[str, str, str, bool]] = {
    "MANIFESTED": ("PRE_TRANSIT", "information_received", "Information about your package has "
                   "been transmitted to the carrier.", False),
    "PICKED_UP": ("TRANSIT", "package_accepted", "Your package has been accepted.", False),
    "ARRIVED_HUB": ("TRANSIT", "package_arrived", "Your package arrived at a facility.", False),
    "DEPARTED_HUB": ("TRANSIT", "package_departed", "Your package departed a facility.", False),
    "DELAYED": ("TRANSIT", "delayed", "Your package is delayed.", False),
    "OUT_FOR_DELIVERY": ("TRANSIT", "out_for_delivery", "Your package is out for delivery.",
                         False),
    "DELIVERY_FAILED": ("TRANSIT", "delivery_attempted", "A delivery attempt was made.", False),
    "READY_FOR_PICKUP": ("TRANSIT", "pickup_available", "Your package is available for pickup.",
                         False),
    "COLLECTED": ("DELIVERED", "delivered", "Your package has been picked up.", False),
    "DELIVERED": ("DELIVERED", "delivered", "Your package has been delivered.", False),
    "DAMAGED": ("FAILURE", "package_damaged", "Your package was damaged.", True),
    "CUSTOMS_HOLD": ("TRANSIT", "package_held", "Your package is held by customs.", True),
    "RETURNING": ("RETURNED", "return_to_sender", "Your package is being returned.", False),
    "RETURNED": ("RETURNED", "return_to_sender", "Your package was returned to the sender.",
                 False),
}  # fmt: skip


class Shippo(Format):
    id = "shippo"
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "401", "Invalid token.")
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Request was throttled.")

    def handle(self, request: Request) -> Response:
        found = TRACKS.fullmatch(request.path)
        if found is None:
            raise Refusal(404, "404", "Not found.")
        if request.method != "GET":
            raise Refusal(405, "405", f'Method "{request.method}" not allowed.')
        kind, _, token = request.header("authorization").partition(" ")
        if kind != "ShippoToken":
            raise Refusal(401, "401", "Authentication credentials were not provided.")
        self.need("api_key", token.strip())
        carrier, number = found.groups()
        if carrier not in CARRIERS:
            raise Refusal(400, "400", f"Carrier with name '{carrier}' is not supported.")
        self.count("numbers_tracked")
        return reply(_track(carrier, number, self.world.parcel(number)))

    def error(self, status: int, code: str, message: str) -> Response:
        return reply({"detail": message}, status)


def _address(event: Event) -> dict[str, Any]:
    return {"city": event.city, "state": event.region or "", "zip": "", "country": event.country}


def _entry(event: Event) -> dict[str, Any]:
    status, sub, text, action = CODES[event.code]
    return {
        "object_id": f"{int(event.at):x}{event.code[:3].lower()}",
        "status": status,
        "substatus": {"code": sub, "text": text, "action_required": action},
        "status_details": event.text,
        "status_date": utc_z(event.utc),
        "location": _address(event),
    }


def _track(carrier: str, number: str, parcel: Parcel | None) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in CODES] if parcel else []
    history = [_entry(e) for e in events]
    eta = parcel.eta if parcel else None
    first = parcel.first_eta if parcel else None
    return {
        "carrier": carrier,
        "tracking_number": number,
        "address_from": _address(events[0]) if events else None,
        "address_to": _address(events[-1]) if events else None,
        "eta": f"{eta.isoformat()}T00:00:00Z" if eta else None,
        "original_eta": f"{first.isoformat()}T00:00:00Z" if first else None,
        "servicelevel": {"token": None, "name": None},
        "metadata": None,
        "tracking_status": history[-1] if history else None,
        "tracking_history": history,
        "test": carrier == "shippo",
    }
