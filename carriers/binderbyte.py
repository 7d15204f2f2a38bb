"""Binderbyte "cek resi" (``GET https://api.binderbyte.com/v1/track?api_key&courier&awb``).

Docs read: the Binderbyte Postman documentation ("API CEK RESI": JNT, SiCepat, TIKI, Lion, PCP,
Lazada/RPX, Kurir Rekomendasi examples; ``/v1/list_courier``; ``/v1/checkQuota``). One AWB per
call; the key travels as a query parameter; quota is per plan (no per-second limit published).

Body: ``{"status": 200, "message", "data": {"summary": {awb, courier, service, status, date,
...}, "detail": {origin, destination, shipper, receiver}, "history": [{date, desc, location}]}}``.
``history`` is newest first; ``date`` is local Indonesian time without offset (some couriers
write free text such as "17 Mei 12:20 WIB" with no year: kept as an event without a time).
``summary.status`` is the courier's own word (DELIVERED, ON PROCESS, HILANG...) and decides the
shipment status unless the newest event is more specific (see :func:`carriers.indonesia.decide`).
An error is the same envelope without ``data``: ``{"status": 400, "message": "..."}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from carriers import indonesia as idn
from carriers.base import ItemError, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import load_json, text

CARRIER = "binderbyte"
TRACK_PATH = "/v1/track"
# Binderbyte answers an unknown AWB or courier with a JSON error body; parse() reads those.
EXPECT = (200, 400, 404, 422)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _events(history: Any, courier: str | None) -> list[TrackingEvent]:
    scans = [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []
    events = [
        idn.text_event(
            h.get("desc"),
            idn.local_time(h.get("date")),
            h.get("location"),
            courier=courier,
            carrier=CARRIER,
        )
        for h in scans
    ]
    return idn.settle(idn.orient(events, newest_first=True))


def _result(body: dict[str, Any], data: dict[str, Any], numbers: Sequence[str]) -> TrackingResult:
    summary = _dict(data.get("summary"))
    courier = idn.courier_code(summary.get("courier"))
    events = _events(data.get("history"), courier)
    raw_status = text(summary.get("status"))
    status = idn.decide(
        idn.summary_status(raw_status, courier, CARRIER), events, summary_given=bool(raw_status)
    )
    number = text(summary.get("awb")) or (numbers[0] if numbers else "")
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        events=tuple(events),
        courier=courier,
        raw_status=raw_status,
        raw=body,
    )


def _error(body: dict[str, Any], code: int | None, numbers: Sequence[str]) -> list[TrackingResult]:
    message = text(body.get("message")) or text(body.get("error")) or "Binderbyte error"
    http = idn.http_like(code)
    kind = idn.error_kind(http, message)
    error = ItemError(kind, message, code=str(code) if code is not None else None, http_status=http)
    return idn.error_result(CARRIER, numbers, error, body)


def _read(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    payload = load_json(body, CARRIER)
    if not isinstance(payload, dict):
        raise CarrierResponseError(
            "body is not a JSON object", carrier=CARRIER, body_excerpt=excerpt(body)
        )
    code = idn.as_int(payload.get("status"))
    data = payload.get("data")
    if isinstance(data, dict) and (code is None or code == 200):
        return [_result(payload, data, numbers)]
    if code is not None and code != 200:
        return _error(payload, code, numbers)
    raise CarrierResponseError(
        "neither tracking data nor an error status", carrier=CARRIER, body_excerpt=excerpt(body)
    )


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result for the AWB in the body, or one error result per requested number.

    Raises CarrierResponseError for a body that is not the documented shape (and nothing else).
    """
    return idn.guarded(CARRIER, body, lambda: _read(body, numbers))


class Adapter(HttpAdapter):
    """Binderbyte tracking for Indonesian couriers (one AWB per call).

    Config (``carriers.binderbyte``): ``api_key`` (required), ``api_base`` (default
    ``https://api.binderbyte.com``), ``rate``/``per`` (default 2 requests per second: the plan
    quota is the documented limit, this only keeps bursts polite), ``max_concurrency`` (2),
    ``timeout``. ``fetch()`` needs the courier (ours or Binderbyte's code: ``jne``, ``jnt``,
    ``sicepat``, ``anteraja``, ``spx``...); without one each number gets a bad_request result.
    """

    id: ClassVar[str] = CARRIER
    api_base: ClassVar[str] = "https://api.binderbyte.com"
    batch_size: ClassVar[int] = 1
    rate: ClassVar[float] = 2.0
    per: ClassVar[float] = 1.0
    max_concurrency: ClassVar[int] = 2
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One result per number, in order; see :class:`carriers.base.CarrierAdapter`."""
        if not courier:
            return idn.courier_required(CARRIER, numbers)
        key = self.setting("api_key")
        ours = idn.courier_code(courier)
        code = idn.api_courier(courier, CARRIER)
        calls = [self._track(n, code, key, ours) for n in numbers]
        return align(CARRIER, numbers, await idn.gather_all(calls))

    async def _track(
        self, number: str, code: str, key: str, ours: str | None
    ) -> list[TrackingResult]:
        params = {"api_key": key, "courier": code, "awb": number}
        resp = await self.request("GET", TRACK_PATH, numbers=[number], expect=EXPECT, params=params)
        return [idn.for_request(r, number, ours) for r in parse(resp.content, [number])]
