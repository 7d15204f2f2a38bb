"""Binderbyte "cek resi": ``GET /v1/track?api_key=&courier=&awb=``, one AWB per call.

The body is ``{"status", "message", "data": {"summary", "detail", "history"}}``: ``history`` is
the courier's manifest, newest first, ``date`` in WIB without offset; ``summary.status`` the
courier's word. Codes are words here (see :mod:`.couriers`): out for delivery reads "Paket
sedang diantar ...". No ETA. Errors are ``{"status": <code>, "message"}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats import couriers
from carriers.simulator.formats.base import Format, Parcel, Refusal, Request, numeric, reply


class Binderbyte(Format):
    id = "binderbyte"
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "401", "API Key tidak valid")
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Too many requests, limit exceeded")

    def handle(self, request: Request) -> Response:
        if request.path != "/v1/track":
            raise Refusal(404, "404", "Endpoint tidak ditemukan")
        if request.method != "GET":
            raise Refusal(405, "405", "Method not allowed")
        self.need("api_key", request.query.get("api_key", ""))
        courier, awb = request.query.get("courier", ""), request.query.get("awb", "").strip()
        if not courier or not awb:
            raise Refusal(400, "400", "Parameter courier dan awb wajib diisi")
        if courier not in couriers.BINDERBYTE:
            raise Refusal(400, "400", f"Courier {courier} tidak didukung")
        self.count("numbers_tracked")
        parcel = self.world.parcel(awb)
        if parcel is None or not parcel.events:
            raise Refusal(400, "400", "Data resi tidak ditemukan")
        return reply({"status": 200, "message": "Successfully tracked package",
                      "data": _data(parcel, courier)})  # fmt: skip

    def error(self, status: int, code: str, message: str) -> Response:
        return reply({"status": numeric(code, status), "message": message}, status)


def _data(parcel: Parcel, courier: str) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in couriers.PHRASES]
    first, last = events[0], events[-1]
    return {
        "summary": {
            "awb": parcel.number,
            "courier": couriers.name(courier),
            "service": "REG",
            "status": couriers.summary(parcel.code),
            "date": f"{first.local:%Y-%m-%d %H:%M:%S}",
            "desc": "",
            "amount": "",
            "weight": "",
        },
        "detail": {
            "origin": first.city,
            "destination": last.city if parcel.final else "",
            "shipper": "",
            "receiver": "",
        },
        "history": [
            {
                "date": f"{e.local:%Y-%m-%d %H:%M:%S}",
                "desc": couriers.phrase(e),
                "location": e.city.upper(),
            }
            for e in reversed(events)
        ],
    }
