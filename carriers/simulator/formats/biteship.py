"""Biteship trackings: ``GET /v1/trackings/{waybill_id}/couriers/{courier_code}`` (public
tracking) and ``GET /v1/trackings/{id}`` (a tracking id handed out by an earlier answer), with
``Authorization: <API key>``.

Every history entry carries a Biteship status code with the courier's note, oldest first at
+07:00: confirmed, picked, dropping_off (every later hop and the last mile, as Biteship sends
J&T), on_hold (a missed delivery, a parcel at a pickup point, damage, customs), delivered,
return_in_transit, returned; the note says which (:mod:`.couriers`). No ETA. Errors are
``{"success": false, "error", "code"}`` with an 8-digit code starting with the HTTP status.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats import couriers
from carriers.simulator.formats.base import Format, Parcel, Refusal, Request, numeric, reply

PUBLIC = re.compile(r"/v1/trackings/([^/]+)/couriers/([^/]+)")
BY_ID = re.compile(r"/v1/trackings/([0-9a-f]{24})")
# native code -> Biteship status
CODES: dict[str, str] = {
    "MANIFESTED": "confirmed",
    "PICKED_UP": "picked",
    "ARRIVED_HUB": "dropping_off",
    "DEPARTED_HUB": "dropping_off",
    "DELAYED": "dropping_off",
    "OUT_FOR_DELIVERY": "dropping_off",
    "DELIVERY_FAILED": "on_hold",
    "READY_FOR_PICKUP": "on_hold",
    "COLLECTED": "delivered",
    "DELIVERED": "delivered",
    "DAMAGED": "on_hold",
    "CUSTOMS_HOLD": "on_hold",
    "RETURNING": "return_in_transit",
    "RETURNED": "returned",
}


class Biteship(Format):
    id = "biteship"
    auth_refusal: ClassVar[tuple[int, str, str]] = (
        401,
        "40101001",
        "Authentication failed, please check your API key",
    )
    rate_refusal: ClassVar[tuple[str, str]] = ("42900001", "Too many requests")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.ids: dict[str, tuple[str, str]] = {}  # tracking id -> (waybill, courier)

    def handle(self, request: Request) -> Response:
        if request.method != "GET":
            raise Refusal(405, "40500001", "Method not allowed")
        self.need("api_key", request.header("authorization").removeprefix("Bearer ").strip())
        public, by_id = PUBLIC.fullmatch(request.path), BY_ID.fullmatch(request.path)
        if public is not None:
            waybill, courier = public.groups()
        elif by_id is not None and by_id.group(1) in self.ids:
            waybill, courier = self.ids[by_id.group(1)]
        else:
            raise Refusal(404, "40400001", "Tracking not found")
        if courier not in couriers.BITESHIP:
            raise Refusal(400, "40000001", f"Courier {courier} is not supported")
        self.count("numbers_tracked")
        parcel = self.world.parcel(waybill)
        if parcel is None or not parcel.events:
            raise Refusal(404, "40400001", "Tracking not found for this waybill")
        ident = hashlib.blake2b(f"{courier}:{waybill}".encode(), digest_size=12).hexdigest()
        self.ids[ident] = (waybill, courier)
        return reply(_tracking(ident, parcel, courier))

    def error(self, status: int, code: str, message: str) -> Response:
        return reply({"success": False, "error": message, "code": numeric(code, status)}, status)


def _tracking(ident: str, parcel: Parcel, courier: str) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in CODES]
    history = [
        {
            "note": couriers.phrase(e),
            "service_type": "reg",
            "updated_at": e.local.isoformat(),
            "status": CODES[e.code],
        }
        for e in events
    ]
    return {
        "success": True,
        "messsage": "Successfully get tracking info",  # sic: Biteship's own spelling
        "object": "tracking",
        "id": ident,
        "waybill_id": parcel.number,
        "courier": {"company": courier},
        "origin": {"contact_name": None, "address": events[0].place},
        "destination": {"contact_name": None, "address": None},
        "history": history,
        "link": f"https://track.biteship.com/{ident}",
        "order_id": None,
        "status": history[-1]["status"],
    }
