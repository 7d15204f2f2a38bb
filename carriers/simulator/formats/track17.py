"""17TRACK Tracking API v2.2 (``/track/v2.2`` optional in the URL): ``POST /register`` and
``POST /gettrackinfo`` with JSON arrays of up to 40 ``{"number", "carrier"}``, ``17token``.

A number is answered only once registered (-18019902 otherwise; -18019901 when registered
twice). Native codes become ``latest_status`` / event ``sub_status`` and key ``stage`` values
from 17TRACK's package-status table (OutForDelivery_Other, DeliveryFailure_NoBody,
Exception_Returning ...; a delay stays InTransit_Other with the courier's text). Events are
newest first under ``tracking.providers[].events`` with ``time_iso`` (local offset) and
``time_utc``; the ETA is ``time_metrics.estimated_delivery_date``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import (
    Event,
    Format,
    Parcel,
    Refusal,
    Request,
    day_start,
    numeric,
    reply,
    utc_z,
)

MAX_NUMBERS = 40
NOT_REGISTERED = -18019902
ALREADY_REGISTERED = -18019901
INVALID_FORMAT = -18010012
# native code -> (sub_status, stage or "")
CODES: dict[str, tuple[str, str]] = {
    "PENDING": ("NotFound_Other", ""),
    "MANIFESTED": ("InfoReceived", "InfoReceived"),
    "PICKED_UP": ("InTransit_PickedUp", "PickedUp"),
    "ARRIVED_HUB": ("InTransit_Arrival", "Arrival"),
    "DEPARTED_HUB": ("InTransit_Departure", "Departure"),
    "DELAYED": ("InTransit_Other", ""),
    "OUT_FOR_DELIVERY": ("OutForDelivery_Other", "OutForDelivery"),
    "DELIVERY_FAILED": ("DeliveryFailure_NoBody", ""),
    "READY_FOR_PICKUP": ("AvailableForPickup_Other", "AvailableForPickup"),
    "COLLECTED": ("Delivered_Other", "Delivered"),
    "DELIVERED": ("Delivered_Other", "Delivered"),
    "DAMAGED": ("Exception_Damage", ""),
    "CUSTOMS_HOLD": ("Exception_Other", ""),
    "RETURNING": ("Exception_Returning", "Returning"),
    "RETURNED": ("Exception_Returned", "Returned"),
    "EXPIRED": ("Expired_Other", ""),
}


class Track17(Format):
    id = "17track"
    base_path: ClassVar[re.Pattern[str] | None] = re.compile(r"/track/v2(?:\.\d+)?")
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "-18010002", "Invalid security key.")
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Too many requests, please try again later.")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.registered: dict[str, tuple[str, int]] = {}  # key -> (number, carrier code)

    def handle(self, request: Request) -> Response:
        action = {"/register": self._register, "/gettrackinfo": self._info}.get(request.path)
        if action is None:
            raise Refusal(404, "-18010013", "The requested API does not exist.")
        if request.method != "POST":
            raise Refusal(405, "-18010013", "Only POST is allowed.")
        self.need("api_key", request.header("17token"))
        rows = request.json()
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise Refusal(200, "-18010013", "Invalid submitted data.")
        if len(rows) > MAX_NUMBERS:
            raise Refusal(
                200, "-18010014", f"The submitted numbers exceed the limit of {MAX_NUMBERS}."
            )
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for row in rows:
            number = str(row.get("number") or "").strip()
            try:
                accepted.append(action(number, row.get("carrier")))
            except Refusal as err:
                item = {"code": int(err.code), "message": err.message}
                rejected.append({"number": number, "error": item})
        return reply({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    def _register(self, number: str, carrier: Any) -> dict[str, Any]:
        if not self.world.valid(number):
            raise Refusal(200, str(INVALID_FORMAT), f"The format of '{number}' is invalid.")
        key = _key(number)
        if key in self.registered:
            raise Refusal(
                200,
                str(ALREADY_REGISTERED),
                f"The tracking number '{number}' has been registered, don't need to repeat "
                "registration.",
            )
        self.count("registrations")
        code = carrier if isinstance(carrier, int) and not isinstance(carrier, bool) else 0
        self.registered[key] = (number, code)
        return {"origin": 1, "number": number, "carrier": code}

    def _info(self, number: str, carrier: Any) -> dict[str, Any]:
        self.count("numbers_tracked")
        found = self.registered.get(_key(number))
        if found is None:
            raise Refusal(
                200,
                str(NOT_REGISTERED),
                f"The tracking number '{number}' does not register, please register first.",
            )
        return {
            "number": found[0],
            "carrier": found[1],
            "param": None,
            "tag": None,
            "track_info": _track_info(self.world.parcel(found[0])),
        }

    def error(self, status: int, code: str, message: str) -> Response:
        return reply(
            {
                "code": numeric(code, status),
                "data": {"errors": [{"code": numeric(code, status), "message": message}]},
            },
            status,
        )


def _key(number: str) -> str:
    return "".join(number.split()).upper()


def _status(code: str) -> dict[str, Any]:
    sub, _ = CODES.get(code, CODES["PENDING"])
    return {"status": sub.split("_")[0], "sub_status": sub, "sub_status_descr": None}


def _track_info(parcel: Parcel | None) -> dict[str, Any]:
    events = [_event(e) for e in reversed(parcel.events) if e.code in CODES] if parcel else []
    eta = parcel.eta if parcel and not parcel.final else None
    window = {"source": "Official", "from": day_start(eta) if eta else None,
              "to": day_start(eta).replace("T00:00:00", "T23:59:59") if eta else None}  # fmt: skip
    provider = {"key": 0, "name": "Simulated courier", "alias": None, "country": "ID"}
    return {
        "latest_status": _status(parcel.code if parcel else "PENDING"),
        "latest_event": events[0] if events else None,
        "time_metrics": {"estimated_delivery_date": window},
        "tracking": {"providers": [{"provider": provider, "latest_sync_status": "Success",
                                    "events": events}]},
    }  # fmt: skip


def _event(event: Event) -> dict[str, Any]:
    sub, stage = CODES[event.code]
    local = event.local
    return {
        "time_iso": local.isoformat(),
        "time_utc": utc_z(event.utc),
        "time_raw": {
            "date": f"{local:%Y-%m-%d}",
            "time": f"{local:%H:%M:%S}",
            "timezone": "+07:00",
        },
        "description": event.text,
        "location": event.place,
        "stage": stage or None,
        "sub_status": sub,
        "address": {"country": event.country, "state": event.region, "city": event.city},
    }
