"""USPS Tracking API v3: ``POST /oauth2/v3/token`` (client credentials) and
``GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`` (Bearer).

Native codes become Pub 199 event codes with USPS's own event text and the tracking-level
``statusCategory`` (out for delivery OF, a missed delivery 02 "Notice Left", a delay TL "In
Transit, Arriving Late", a return 09 and finally 01 "Delivered, To Original Sender"). Damage
and customs holds have no domestic scan code: they come as an "Alert" category. Event times are
``eventTimestamp`` local without offset plus ``GMTOffset`` and ``GMTTimestamp``, newest first;
the ETA is ``expectedDeliveryTimeStamp``. Tokens live 8 hours.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import Event, Format, Parcel, Refusal, Request, reply, utc_z

API_VERSION = "/tracking/v3"
# native code -> (eventCode, eventType, statusCategory)
CODES: dict[str, tuple[str, str, str]] = {
    "MANIFESTED": ("GX", "Shipping Label Created, USPS Awaiting Item", "Pre-Shipment"),
    "PICKED_UP": ("03", "USPS picked up item", "Accepted"),
    "ARRIVED_HUB": ("A1", "Arrived at USPS Regional Facility", "In Transit"),
    "DEPARTED_HUB": ("T1", "Departed USPS Regional Facility", "In Transit"),
    "DELAYED": ("TL", "In Transit, Arriving Late", "In Transit"),
    "OUT_FOR_DELIVERY": ("OF", "Out for Delivery", "Out for Delivery"),
    "DELIVERY_FAILED": ("02", "Notice Left (No Authorized Recipient Available)",
                        "Delivery Attempt"),
    "READY_FOR_PICKUP": ("14", "Available for Pickup", "Available for Pickup"),
    "COLLECTED": ("43", "Delivered, Individual Picked Up at Postal Facility", "Delivered"),
    "DELIVERED": ("01", "Delivered, Front Door/Porch", "Delivered"),
    "DAMAGED": ("", "Alert, Item Damaged", "Alert"),
    "CUSTOMS_HOLD": ("", "Held in Customs", "Alert"),
    "RETURNING": ("09", "Return to Sender Processed", "Return to Sender"),
    "RETURNED": ("01", "Delivered, To Original Sender", "Delivered"),
}  # fmt: skip
TRACKING = re.compile(r"/tracking/v3/tracking/([^/]+)")


class Usps(Format):
    id = "usps"
    fields = ("client_id", "client_secret")
    token_lifetime = 28799.0
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "401",
        "Unauthorized: access token invalid",
    )
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Too Many Requests: quota exceeded")

    def handle(self, request: Request) -> Response:
        if request.path == "/oauth2/v3/token" and request.method == "POST":
            return self._token(request)
        found = TRACKING.fullmatch(request.path)
        if found is None:
            raise Refusal(404, "404", "Resource not found")
        if request.method != "GET":
            raise Refusal(405, "405", "Method not allowed")
        self.authorize(request)
        self.count("numbers_tracked")
        number = found.group(1)
        parcel = self.world.parcel(number)
        if parcel is None:
            if not self.world.valid(number):
                raise Refusal(400, "400", "Invalid tracking number format")
            raise Refusal(404, "404", "Package with tracking number not found")
        return reply(_tracking(parcel, request.query.get("expand", "SUMMARY").upper()))

    def _token(self, request: Request) -> Response:
        form = request.json() if "json" in request.header("content-type") else request.form()
        if not isinstance(form, dict):
            raise Refusal(400, "invalid_request", "The request body must be form fields")
        grant = self.grant(
            str(form.get("client_id", "")),
            str(form.get("client_secret", "")),
            str(form.get("grant_type", "")),
        )
        return reply(
            {
                **grant,
                "token_type": "Bearer",
                "issued_at": int(self.now() * 1000),
                "status": "approved",
                "scope": str(form.get("scope") or "tracking"),
                "issuer": "api.usps.com",
                "client_id": form.get("client_id"),
            }
        )

    def refuse_token(self) -> Refusal:
        return Refusal(401, "invalid_client", "Client authentication failed.")

    def error(self, status: int, code: str, message: str) -> Response:
        if code in ("invalid_client", "unsupported_grant_type", "invalid_request"):  # RFC 6749
            return reply({"error": code, "error_description": message}, status)
        detail = {"status": str(status), "code": code, "title": message, "detail": message}
        envelope = {"code": str(status), "message": message, "errors": [detail]}
        return reply({"apiVersion": API_VERSION, "error": envelope}, status)


def _tracking(parcel: Parcel, expand: str) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in CODES]
    newest = CODES[events[-1].code] if events else ("", "Pre-Shipment Info Sent to USPS", "")
    out: dict[str, Any] = {
        "trackingNumber": parcel.number,
        "mailClass": "Priority Mail International",
        "status": newest[1],
        "statusCategory": newest[2] or "Pre-Shipment",
        "statusSummary": f"Your item status: {newest[1]}.",
    }
    if parcel.eta is not None and not parcel.final:
        out["expectedDeliveryTimeStamp"] = f"{parcel.eta.isoformat()}T21:00:00"
        out["expectedDeliveryType"] = "EXPECTED"
    if expand == "DETAIL":
        out["trackingEvents"] = [_event(e) for e in reversed(events)]
    return out


def _event(event: Event) -> dict[str, Any]:
    code, text, _ = CODES[event.code]
    return {
        "eventType": text,
        "eventTimestamp": event.local.strftime("%Y-%m-%dT%H:%M:%S"),
        "GMTTimestamp": utc_z(event.utc),
        "GMTOffset": "+07:00",
        "eventCountry": event.country,
        "eventCity": event.city.upper(),
        "eventState": event.region.upper() if event.region else None,
        "eventZIP": None,
        "firm": None,
        "name": None,
        "authorizedAgent": "false",
        "eventCode": code,
    }
