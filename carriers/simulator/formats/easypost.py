"""EasyPost Trackers (``/v2`` optional in the URL): ``GET /trackers?tracking_code=`` lists the
account's trackers, ``POST /trackers`` creates one (``{"tracker": {"tracking_code",
"carrier"}}``; creating an existing one returns it). HTTP Basic with the API key as user.

Native codes become Tracker ``status`` / ``status_detail`` values from EasyPost's enums
(out_for_delivery, arrived_at_pickup_location, return_to_sender/return ...). EasyPost has no
failed-attempt status: a missed delivery is ``failure`` / ``delivery_exception``, as EasyPost
reports it. ``tracking_details`` are oldest first with UTC ``datetime``; the ETA is
``est_delivery_date``. Errors are ``{"error": {"code", "message", "errors"}}``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import (
    Event,
    Format,
    Parcel,
    Refusal,
    Request,
    reply,
    utc_of,
    utc_z,
)

# native code -> (status, status_detail)
CODES: dict[str, tuple[str, str]] = {
    "PENDING": ("unknown", "unknown"),
    "MANIFESTED": ("pre_transit", "label_created"),
    "PICKED_UP": ("in_transit", "received_at_origin_facility"),
    "ARRIVED_HUB": ("in_transit", "arrived_at_facility"),
    "DEPARTED_HUB": ("in_transit", "departed_facility"),
    "DELAYED": ("in_transit", "weather_delay"),
    "OUT_FOR_DELIVERY": ("out_for_delivery", "out_for_delivery"),
    "DELIVERY_FAILED": ("failure", "delivery_exception"),
    "READY_FOR_PICKUP": ("available_for_pickup", "arrived_at_pickup_location"),
    "COLLECTED": ("delivered", "arrived_at_destination"),
    "DELIVERED": ("delivered", "arrived_at_destination"),
    "DAMAGED": ("failure", "damaged"),
    "CUSTOMS_HOLD": ("failure", "held"),
    "RETURNING": ("return_to_sender", "return"),
    "RETURNED": ("return_to_sender", "return"),
    "EXPIRED": ("pre_transit", "expired"),
}


class EasyPost(Format):
    id = "easypost"
    base_path: ClassVar[re.Pattern[str] | None] = re.compile(r"/v2")
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "APIKEY.INACTIVE",
        "This api key is no longer active. Please use a different api key or reactivate this key.",
    )
    rate_refusal: ClassVar[tuple[str, str]] = (
        "RATE_LIMITED",
        "You have exceeded the rate limit. Please slow down your requests.",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.trackers: dict[str, tuple[str, str, float]] = {}  # key -> (code, carrier, created)

    def handle(self, request: Request) -> Response:
        if request.path != "/trackers":
            raise Refusal(404, "NOT_FOUND", "The requested resource could not be found.")
        user, _ = request.basic() or ("", "")
        if not user:
            raise Refusal(401, "APIKEY.REQUIRED", "Missing API key.")
        self.need("api_key", user)
        if request.method == "GET":
            return self._list(request)
        if request.method == "POST":
            return self._create(request.json())
        raise Refusal(405, "METHOD.NOT_ALLOWED", "Method not allowed.")

    def _list(self, request: Request) -> Response:
        code = request.query.get("tracking_code", "").strip()
        carrier = request.query.get("carrier")
        self.count("numbers_tracked")
        keys = [_key(code)] if code else list(self.trackers)
        found = [
            self._tracker(k) for k in keys
            if k in self.trackers and (not carrier or self.trackers[k][1] == carrier.upper())
        ]  # fmt: skip
        size = int(request.query.get("page_size") or 20)
        return reply({"trackers": found[:size], "has_more": len(found) > size})

    def _create(self, payload: Any) -> Response:
        row = payload.get("tracker") if isinstance(payload, dict) else None
        row = row if isinstance(row, dict) else {}
        code = row.get("tracking_code")
        if not isinstance(code, str) or not code.strip():
            raise Refusal(422, "PARAMETER.REQUIRED", "Missing required parameter: tracking_code.")
        if not self.world.valid(code):
            raise Refusal(422, "TRACKER.CREATE.ERROR", "The tracking code is invalid.")
        key = _key(code)
        if key not in self.trackers:  # EasyPost deduplicates by code and carrier
            self.count("registrations")
            carrier = str(row.get("carrier") or "JNE").upper()
            self.trackers[key] = (code.strip(), carrier, self.now())
        return reply(self._tracker(key), 201)

    def _tracker(self, key: str) -> dict[str, Any]:
        code, carrier, created = self.trackers[key]
        parcel = self.world.parcel(code)
        out = _body(code, parcel)
        out |= {
            "id": "trk_" + hashlib.blake2b(f"{carrier}:{key}".encode(), digest_size=16).hexdigest(),
            "carrier": carrier,
            "created_at": utc_z(utc_of(created)),
            "updated_at": utc_z(utc_of(parcel.newest.at if parcel and parcel.newest else created)),
        }
        return out

    def error(self, status: int, code: str, message: str) -> Response:
        return reply({"error": {"code": code, "message": message, "errors": []}}, status)


def _key(code: str) -> str:
    return "".join(code.split()).upper()


def _body(code: str, parcel: Parcel | None) -> dict[str, Any]:
    status, detail = CODES.get(parcel.code if parcel else "PENDING", CODES["PENDING"])
    events = [e for e in parcel.events if e.code in CODES] if parcel else []
    eta = parcel.eta if parcel else None
    return {
        "object": "Tracker",
        "mode": "test",
        "tracking_code": code,
        "status": status,
        "status_detail": detail,
        "signed_by": None,
        "est_delivery_date": f"{eta.isoformat()}T00:00:00Z" if eta else None,
        "tracking_details": [_detail(e) for e in events],
        "carrier_detail": {"object": "CarrierDetail", "service": "REG"},
    }


def _detail(event: Event) -> dict[str, Any]:
    status, detail = CODES[event.code]
    return {
        "object": "TrackingDetail",
        "message": event.text,
        "description": "",
        "status": status,
        "status_detail": detail,
        "datetime": utc_z(event.utc),
        "source": "JNE",
        "tracking_location": {
            "object": "TrackingLocation",
            "city": event.city,
            "state": event.region,
            "country": event.country,
            "zip": None,
        },
    }
