"""RajaOngkir waybill tracking, both flavours, with the ``key`` header:

* Komerce: ``POST /api/v1/track/waybill`` (``awb``, ``courier`` in the query or form) answering
  ``{"meta": {"message", "code", "status"}, "data": {...}}``;
* classic Pro: ``POST /api/waybill`` (form ``waybill``, ``courier``) answering
  ``{"rajaongkir": {"query", "status": {"code", "description"}, "result": {...}}}``.

The result has ``delivered`` (bool), ``summary.status`` (the courier's word), ``delivery_status``
with the proof of delivery, and ``manifest`` oldest first with ``manifest_date`` and
``manifest_time`` in WIB without offset; wording as in :mod:`.couriers`. No ETA. A wrong key is
401 on Komerce; the classic API answers it with HTTP 400 and code 400 in the body.
"""

from __future__ import annotations

from typing import Any, ClassVar

from carriers.simulator.asgi import Response
from carriers.simulator.formats import couriers
from carriers.simulator.formats.base import Format, Parcel, Refusal, Request, numeric, reply, same

KOMERCE, PRO = "/api/v1/track/waybill", "/api/waybill"
PRO_BAD_KEY = "Invalid key. API key tidak ditemukan di database RajaOngkir."


class RajaOngkir(Format):
    id = "rajaongkir"
    auth_refusal: ClassVar[tuple[int, str, str]] = (401, "401", "Invalid Api key, key not found")
    rate_refusal: ClassVar[tuple[str, str]] = ("429", "Too many requests")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._pro = False  # the flavour of the request being answered (for error envelopes)

    def answer(self, request: Request) -> Response:
        self._pro = request.path == PRO
        return super().answer(request)

    def fault(self, kind: str, status: int, request: Request) -> Response:
        self._pro = request.path == PRO
        return super().fault(kind, status, request)

    def handle(self, request: Request) -> Response:
        if request.path not in (KOMERCE, PRO):
            raise Refusal(404, "404", "Endpoint not found")
        if request.method != "POST":
            raise Refusal(405, "405", "Method not allowed")
        key = request.header("key")
        if self._pro and not (key and same(key, self.account["api_key"])):
            raise Refusal(400, "400", PRO_BAD_KEY)  # the classic API's answer to a bad key
        self.need("api_key", key)
        form = request.form()
        waybill = (form.get("waybill") if self._pro else form.get("awb")) or ""
        courier = form.get("courier", "")
        if not waybill.strip() or not courier:
            raise Refusal(400, "400", "Waybill dan courier wajib diisi")
        if courier not in couriers.RAJAONGKIR:
            raise Refusal(400, "400", f"Courier {courier} tidak valid")
        self.count("numbers_tracked")
        parcel = self.world.parcel(waybill.strip())
        if parcel is None or not parcel.events:
            raise Refusal(400, "400", "Invalid waybill. Data tidak ditemukan")
        result = _result(parcel, courier)
        if self._pro:
            status = {"code": 200, "description": "OK"}
            query = {"waybill": waybill, "courier": courier}
            return reply({"rajaongkir": {"query": query, "status": status, "result": result}})
        return reply({"meta": {"message": "Success Get Waybill", "code": 200, "status": "success"},
                      "data": result})  # fmt: skip

    def error(self, status: int, code: str, message: str) -> Response:
        if self._pro:
            return reply(
                {"rajaongkir": {"status": {"code": numeric(code, status), "description": message}}},
                status,
            )
        meta = {"message": message, "code": numeric(code, status), "status": "failed"}
        return reply({"meta": meta, "data": None}, status)


def _result(parcel: Parcel, courier: str) -> dict[str, Any]:
    events = [e for e in parcel.events if e.code in couriers.PHRASES]
    first, done = events[0], parcel.delivered_at
    word = couriers.summary(parcel.code)
    return {
        "delivered": done is not None,
        "summary": {
            "courier_code": courier,
            "courier_name": couriers.name(courier),
            "waybill_number": parcel.number,
            "service_code": "REG",
            "waybill_date": f"{first.local:%Y-%m-%d}",
            "origin": first.city.upper(),
            "destination": events[-1].city.upper() if done else "",
            "status": word,
        },
        "details": {"waybill_number": parcel.number, "waybill_date": f"{first.local:%Y-%m-%d}",
                    "waybill_time": f"{first.local:%H:%M}", "origin": first.city.upper()},
        "delivery_status": {
            "status": word,
            "pod_receiver": "YBS" if done else "",
            "pod_date": f"{done.local:%Y-%m-%d}" if done else "",
            "pod_time": f"{done.local:%H:%M}" if done else "",
        },
        "manifest": [
            {
                "manifest_code": str(i),
                "manifest_description": couriers.phrase(e),
                "manifest_date": f"{e.local:%Y-%m-%d}",
                "manifest_time": f"{e.local:%H:%M}",
                "city_name": e.city.upper(),
            }
            for i, e in enumerate(events, start=1)
        ],
    }  # fmt: skip
