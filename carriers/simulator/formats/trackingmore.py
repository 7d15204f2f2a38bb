"""TrackingMore API v4 (``/v4`` optional in the URL): ``GET /trackings/get?tracking_numbers=``
and ``POST /trackings/batch`` (both up to 40 numbers), ``Tracking-Api-Key``.

Only created numbers are returned; creating needs ``courier_code`` and reports 4101 for a
number that exists. Native codes become ``delivery_status`` / ``substatus`` from TrackingMore's
logistics status table (pickup001 out for delivery, pickup002 ready to collect, undelivered002
not home, exception011 being returned ...). Checkpoints are newest first in
``origin_info.trackinfo`` (a domestic parcel has one leg) with local time and offset; the ETA
is ``scheduled_delivery_date``. Errors are the ``meta`` envelope.
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
    numeric,
    reply,
    utc_of,
)

MAX_NUMBERS = 40
# native code -> (delivery_status, substatus)
CODES: dict[str, tuple[str, str]] = {
    "PENDING": ("pending", "pending001"),
    "MANIFESTED": ("inforeceived", "inforeceived001"),
    "PICKED_UP": ("transit", "transit001"),
    "ARRIVED_HUB": ("transit", "transit002"),
    "DEPARTED_HUB": ("transit", "transit001"),
    "DELAYED": ("transit", "transit001"),
    "OUT_FOR_DELIVERY": ("pickup", "pickup001"),
    "DELIVERY_FAILED": ("undelivered", "undelivered002"),
    "READY_FOR_PICKUP": ("pickup", "pickup002"),
    "COLLECTED": ("delivered", "delivered002"),
    "DELIVERED": ("delivered", "delivered001"),
    "DAMAGED": ("exception", "exception007"),
    "CUSTOMS_HOLD": ("exception", "exception006"),
    "RETURNING": ("exception", "exception011"),
    "RETURNED": ("exception", "exception010"),
    "EXPIRED": ("expired", "expired001"),
}


class TrackingMore(Format):
    id = "trackingmore"
    base_path: ClassVar[re.Pattern[str] | None] = re.compile(r"/v4")
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "401", "Invalid API key.")
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Exceeded API limit, wait two minutes.")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.created: dict[str, tuple[str, str, float]] = {}  # key -> (number, courier, when)

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path)
        if route not in (("GET", "/trackings/get"), ("POST", "/trackings/batch")):
            raise Refusal(404, "404", "The requested page does not exist.")
        self.need("api_key", request.header("tracking-api-key"))
        if route[0] == "GET":
            return self._get(request)
        return self._batch(request.json())

    def _get(self, request: Request) -> Response:
        wanted = [
            n.strip() for n in request.query.get("tracking_numbers", "").split(",") if n.strip()
        ]
        if len(wanted) > MAX_NUMBERS:
            raise Refusal(400, "4103", f"The number of tracking numbers exceeds {MAX_NUMBERS}.")
        courier = request.query.get("courier_code")
        self.count("numbers_tracked", len(wanted))
        keys = [k for k in map(_key, wanted) if k in self.created]
        rows = [self._tracking(k) for k in keys if not courier or self.created[k][1] == courier]
        return self._ok(rows)

    def _batch(self, rows: Any) -> Response:
        if not isinstance(rows, list) or not rows:
            raise Refusal(400, "4111", "Tracking_number is required.")
        if len(rows) > MAX_NUMBERS:
            raise Refusal(400, "4103", f"The number of tracking numbers exceeds {MAX_NUMBERS}.")
        success, failed = [], []
        for row in rows:
            number = str(row.get("tracking_number") or "").strip() if isinstance(row, dict) else ""
            courier = str(row.get("courier_code") or "") if isinstance(row, dict) else ""
            refusal = self._refusal(number, courier)
            if refusal is not None:
                failed.append(
                    {"tracking_number": number, "errorCode": refusal[0], "errorMsg": refusal[1]}
                )
                continue
            self.count("registrations")
            self.created[_key(number)] = (number, courier, self.now())
            success.append(
                {"id": _id(number, courier), "tracking_number": number, "courier_code": courier}
            )
        return self._ok({"success": success, "error": failed})

    def _refusal(self, number: str, courier: str) -> tuple[int, str] | None:
        if not number:
            return 4111, "Tracking_number is required."
        if not courier:
            return 4122, "Courier_code is required."
        if not self.world.valid(number):
            return 4110, "The value of tracking_number is invalid."
        if _key(number) in self.created:
            return 4101, "Tracking No. already exists."
        return None

    def _ok(self, data: Any) -> Response:
        return reply(
            {"meta": {"code": 200, "message": "Request response is successful"}, "data": data}
        )

    def _tracking(self, key: str) -> dict[str, Any]:
        number, courier, created = self.created[key]
        return _body(number, courier, created, self.world.parcel(number))

    def error(self, status: int, code: str, message: str) -> Response:
        return reply(
            {"meta": {"code": numeric(code, status), "message": message}, "data": []}, status
        )


def _key(number: str) -> str:
    return "".join(number.split()).upper()


def _id(number: str, courier: str) -> str:
    return hashlib.blake2b(f"{courier}:{_key(number)}".encode(), digest_size=16).hexdigest()


def _body(number: str, courier: str, created: float, parcel: Parcel | None) -> dict[str, Any]:
    status, sub = CODES.get(parcel.code if parcel else "PENDING", CODES["PENDING"])
    events = [e for e in parcel.events if e.code in CODES] if parcel else []
    out: dict[str, Any] = {
        "id": _id(number, courier),
        "tracking_number": number,
        "courier_code": courier,
        "delivery_status": status,
        "substatus": sub,
        "created_at": utc_of(created).isoformat(),
        "origin_country": events[0].country if events else None,
        "destination_country": "ID",
        "origin_info": {
            "courier_code": courier,
            "trackinfo": [_checkpoint(e) for e in reversed(events)],
        },
        "destination_info": {"courier_code": None, "trackinfo": []},
    }
    if events:
        out["latest_event"] = (
            f"{events[-1].text},{events[-1].place},{events[-1].local:%Y-%m-%d %H:%M}"
        )
        out["latest_checkpoint_time"] = events[-1].local.isoformat()
    if parcel is not None and parcel.eta is not None:
        out["scheduled_delivery_date"] = parcel.eta.isoformat()
    return out


def _checkpoint(event: Event) -> dict[str, Any]:
    status, sub = CODES[event.code]
    return {
        "checkpoint_date": event.local.isoformat(),
        "tracking_detail": event.text,
        "location": event.place,
        "city": event.city,
        "state": event.region,
        "country_iso2": event.country,
        "checkpoint_delivery_status": status,
        "checkpoint_delivery_substatus": sub,
    }
