"""UPS Track API v1: ``POST /security/v1/oauth/token`` (HTTP Basic) and
``GET /api/track/v1/details/{inquiryNumber}`` (Bearer).

Native codes become a UPS activity ``status {type, statusCode, description}`` from the UPS
"Package Activity Types" and "Status/Description Codes" tables (a delay is ``I`` 154 "Updated
Delivery Date": still moving, the news is the new date). Times are ``date`` YYYYMMDD + ``time``
HHMMSS local with ``gmtOffset``; the ETA is ``deliveryDate`` SDD (the first date announced)
and RDD once rescheduled, replaced by DEL on delivery. Activity is newest first. Tokens live
4 hours (``expires_in`` "14399", a string as UPS sends it).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import Event, Format, Parcel, Refusal, Request, reply

# native code -> (activity type, 3-digit statusCode, description)
CODES: dict[str, tuple[str, str, str]] = {
    "MANIFESTED": ("M", "003", "Shipper created a label, UPS has not received the package yet."),
    "PICKED_UP": ("P", "038", "Pickup Scan"),
    "ARRIVED_HUB": ("I", "005", "Arrived at Facility"),
    "DEPARTED_HUB": ("I", "005", "Departed from Facility"),
    "DELAYED": ("I", "154", "The delivery date has been updated."),
    "OUT_FOR_DELIVERY": ("I", "021", "Out For Delivery Today"),
    "DELIVERY_FAILED": ("X", "060", "The receiver was not available for delivery. "
                                    "We'll make a second attempt the next business day."),
    "READY_FOR_PICKUP": ("I", "040", "Ready for Customer Pickup"),
    "COLLECTED": ("D", "011", "Picked up at the UPS Access Point"),
    "DELIVERED": ("D", "011", "DELIVERED"),
    "DAMAGED": ("X", "059", "Damage Reported"),
    "CUSTOMS_HOLD": ("X", "124", "Clearance Information Needed"),
    "RETURNING": ("I", "036", "Returning to Sender: In Transit"),
    "RETURNED": ("RS", "034", "Returned to Sender"),
}  # fmt: skip
SIMPLIFIED = {"M": "Label Created", "P": "On the Way", "I": "On the Way", "D": "Delivered",
              "X": "Exception", "RS": "Returned"}  # fmt: skip
DETAILS = re.compile(r"/api/track/v1/details/([^/]+)")


class Ups(Format):
    id = "ups"
    fields = ("client_id", "client_secret")
    token_lifetime = 14399.0
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "250002",
        "Invalid Authentication Information.",
    )

    def handle(self, request: Request) -> Response:
        if request.path == "/security/v1/oauth/token" and request.method == "POST":
            return self._token(request)
        found = DETAILS.fullmatch(request.path)
        if found is None:
            raise Refusal(404, "10404", "Resource not found")
        if request.method != "GET":
            raise Refusal(405, "10405", "Method not allowed")
        self.authorize(request)
        return self._details(found.group(1))

    def _token(self, request: Request) -> Response:
        user, password = request.basic() or ("", "")
        grant = self.grant(user, password, request.form().get("grant_type", ""))
        return reply(
            {
                "token_type": "Bearer",
                "issued_at": str(int(self.now() * 1000)),
                "client_id": user,
                "access_token": grant["access_token"],
                "expires_in": str(grant["expires_in"]),
                "status": "approved",
            }
        )

    def refuse_token(self) -> Refusal:
        return Refusal(401, "10401", "ClientId is Invalid")

    def _details(self, number: str) -> Response:
        self.count("numbers_tracked")
        if not 7 <= len(number) <= 34 or not self.world.valid(number):
            raise Refusal(400, "TV1002", "Invalid inquiry number")
        parcel = self.world.parcel(number)
        if parcel is None:
            raise Refusal(404, "TW0001", "Tracking Information Not Found")
        return reply({"trackResponse": {"shipment": [_shipment(parcel)]}})

    def error(self, status: int, code: str, message: str) -> Response:
        return reply({"response": {"errors": [{"code": code, "message": message}]}}, status)


def _shipment(parcel: Parcel) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in CODES]
    package: dict[str, Any] = {
        "trackingNumber": parcel.number,
        "deliveryDate": _dates(parcel),
        "activity": [_activity(e) for e in reversed(events)],
        "packageCount": 1,
    }
    if events:
        kind, code, text = CODES[events[-1].code]
        package["currentStatus"] = {
            "description": text,
            "code": code,
            "simplifiedTextDescription": SIMPLIFIED[kind],
        }
    return {"inquiryNumber": parcel.number, "package": [package]}


def _dates(parcel: Parcel) -> list[dict[str, str]]:
    done = parcel.delivered_at
    if done is not None:
        return [{"type": "DEL", "date": done.local.strftime("%Y%m%d")}]
    dates = []
    if parcel.first_eta and parcel.eta:
        dates.append({"type": "SDD", "date": parcel.first_eta.strftime("%Y%m%d")})
        if parcel.eta != parcel.first_eta:
            dates.append({"type": "RDD", "date": parcel.eta.strftime("%Y%m%d")})
    return dates


def _activity(event: Event) -> dict[str, Any]:
    kind, code, text = CODES[event.code]
    local, utc = event.local, event.utc
    address = {"city": event.city.upper(), "countryCode": event.country, "country": event.country}
    if event.region:
        address["stateProvince"] = event.region.upper()
    return {
        "location": {"address": address},
        "status": {"type": kind, "description": text, "statusCode": code},
        "date": local.strftime("%Y%m%d"),
        "time": local.strftime("%H%M%S"),
        "gmtDate": utc.strftime("%Y%m%d"),
        "gmtTime": utc.strftime("%H:%M:%S"),
        "gmtOffset": "+07:00",
    }
