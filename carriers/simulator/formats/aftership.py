"""AfterShip Tracking API (2025-04; the legacy ``/v4`` base too): ``GET /trackings`` filtered by
``tracking_numbers`` and ``POST /trackings`` to start tracking one, with ``as-api-key``.

AfterShip answers only for numbers created in the account, so the list leaves out the rest
until they are posted. Native codes become tags and subtags from AfterShip's delivery
(sub-)status enums (OutForDelivery_001, AttemptFail_001, Exception_010 returning ...; a delay
stays InTransit_001 with the courier's text: its news is the new ETA). Checkpoints are oldest
first with the courier's own message and local time with offset; the ETA is
``latest_estimated_delivery`` (``expected_delivery`` on v4). Errors are the ``meta`` envelope.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats.base import (
    ISO3,
    Event,
    Format,
    Parcel,
    Refusal,
    Request,
    numeric,
    reply,
    utc_of,
    utc_z,
)

LIST_LIMIT = 200
NUMBERS_LIMIT = 50  # tracking_numbers a list call may filter on
# native code -> (tag, subtag, subtag_message)
CODES: dict[str, tuple[str, str, str]] = {
    "PENDING": ("Pending", "Pending_001", "No information yet"),
    "MANIFESTED": ("InfoReceived", "InfoReceived_001", "Info Received"),
    "PICKED_UP": ("InTransit", "InTransit_002", "Acceptance scan"),
    "ARRIVED_HUB": ("InTransit", "InTransit_003", "Arrival scan"),
    "DEPARTED_HUB": ("InTransit", "InTransit_007", "Departure Scan"),
    "DELAYED": ("InTransit", "InTransit_001", "In Transit"),
    "OUT_FOR_DELIVERY": ("OutForDelivery", "OutForDelivery_001", "Out for Delivery"),
    "DELIVERY_FAILED": ("AttemptFail", "AttemptFail_001", "Failed Attempt"),
    "READY_FOR_PICKUP": ("AvailableForPickup", "AvailableForPickup_001", "Available for Pickup"),
    "COLLECTED": ("Delivered", "Delivered_002", "Picked up by the customer"),
    "DELIVERED": ("Delivered", "Delivered_001", "Delivered"),
    "DAMAGED": ("Exception", "Exception_012", "Shipment damaged"),
    "CUSTOMS_HOLD": ("Exception", "Exception_004", "Customs delay"),
    "RETURNING": ("Exception", "Exception_010", "Returning to sender"),
    "RETURNED": ("Exception", "Exception_011", "Returned to sender"),
    "EXPIRED": ("Expired", "Expired_001", "Expired"),
}


class AfterShip(Format):
    id = "aftership"
    base_path: ClassVar[re.Pattern[str] | None] = re.compile(r"/(?:tracking/[0-9-]+|v4)")
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "401", "Invalid API Key.")
    rate_refusal: ClassVar[tuple[str, str]] = (
        "429",
        "You have exceeded the API call rate limit. Default limit is 10 requests per second.",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tracked: dict[str, tuple[str, str, float]] = {}  # key -> (number, slug, created)

    def handle(self, request: Request) -> Response:
        if request.path != "/trackings":
            raise Refusal(
                404, "404", "The URI requested is invalid or the resource requested does not exist."
            )
        self.need("api_key", request.header("as-api-key") or request.header("aftership-api-key"))
        legacy = request.raw_path.startswith(f"/{self.id}/v4/")
        if request.method == "GET":
            return self._list(request, legacy)
        if request.method == "POST":
            return self._create(request.json(), legacy)
        raise Refusal(405, "405", "Method not allowed.")

    def _list(self, request: Request, legacy: bool) -> Response:
        wanted = [
            n.strip() for n in request.query.get("tracking_numbers", "").split(",") if n.strip()
        ]
        if len(wanted) > NUMBERS_LIMIT:
            raise Refusal(400, "4016", f"At most {NUMBERS_LIMIT} tracking_numbers.")
        slug = request.query.get("slug")
        self.count("numbers_tracked", len(wanted))
        keys = (
            [k for k in (_key(n) for n in wanted) if k in self.tracked]
            if wanted
            else list(self.tracked)
        )
        found = [self._tracking(k, legacy) for k in keys if not slug or self.tracked[k][1] == slug]
        found = found[: int(request.query.get("limit") or LIST_LIMIT)]
        page = {"total": len(found), "next_cursor": None, "has_next_page": False}
        return self._ok({"pagination": page, "trackings": found}, 200)

    def _create(self, payload: Any, legacy: bool) -> Response:
        row = payload.get("tracking", payload) if isinstance(payload, dict) else None
        row = row if isinstance(row, dict) else {}
        number = row.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            raise Refusal(400, "4007", "`tracking_number` is required.")
        if not self.world.valid(number):
            raise Refusal(400, "4005", "The value of `tracking_number` is invalid.")
        key = _key(number)
        if key in self.tracked:
            raise Refusal(400, "4003", "Tracking already exists.")
        self.count("registrations")
        self.tracked[key] = (number.strip(), str(row.get("slug") or "jne"), self.now())
        tracking = self._tracking(key, legacy)
        if legacy:
            return self._ok({"tracking": tracking}, 201)
        return self._ok(tracking, 201)

    def _ok(self, data: Any, code: int) -> Response:
        return reply({"meta": {"code": code, "message": "OK", "type": "OK"}, "data": data}, code)

    def _tracking(self, key: str, legacy: bool) -> dict[str, Any]:
        number, slug, created = self.tracked[key]
        parcel = self.world.parcel(number)
        out = _body(number, slug, parcel)
        out["id"] = hashlib.blake2b(f"{slug}:{key}".encode(), digest_size=16).hexdigest()
        out["created_at"] = utc_z(utc_of(created))
        if parcel is not None and parcel.eta is not None:
            if legacy:
                out["expected_delivery"] = parcel.eta.isoformat()
            else:
                out["latest_estimated_delivery"] = {
                    "type": "specific",
                    "source": "Carrier EDD",
                    "datetime": parcel.eta.isoformat(),
                    "datetime_min": None,
                    "datetime_max": None,
                }
        return out

    def error(self, status: int, code: str, message: str) -> Response:
        meta = {
            "code": numeric(code, status),
            "message": message,
            "type": _TYPES.get(status, "BadRequest"),
        }
        return reply({"meta": meta, "data": {}}, status)


_TYPES = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests",
          500: "InternalError", 502: "InternalError", 503: "InternalError"}  # fmt: skip


def _key(number: str) -> str:
    return "".join(number.split()).upper()


def _body(number: str, slug: str, parcel: Parcel | None) -> dict[str, Any]:
    code = parcel.code if parcel else "PENDING"
    tag, subtag, message = CODES.get(code, CODES["PENDING"])
    events = [e for e in parcel.events if e.code in CODES] if parcel else []
    done = parcel.delivered_at if parcel else None
    return {
        "tracking_number": number,
        "slug": slug,
        "active": not (parcel and parcel.final),
        "tag": tag,
        "subtag": subtag,
        "subtag_message": message,
        "title": number,
        "origin_country_region": ISO3.get(events[0].country) if events else None,
        "destination_country_region": "IDN",
        "shipment_delivery_date": done.local.isoformat() if done else None,
        "checkpoints": [_checkpoint(e, slug) for e in events],
    }


def _checkpoint(event: Event, slug: str) -> dict[str, Any]:
    tag, subtag, message = CODES[event.code]
    return {
        "slug": slug,
        "checkpoint_time": event.local.isoformat(),
        "location": event.place,
        "city": event.city,
        "state": event.region,
        "country_region": ISO3.get(event.country),
        "message": event.text,
        "tag": tag,
        "subtag": subtag,
        "subtag_message": message,
        "raw_tag": event.code,
    }
