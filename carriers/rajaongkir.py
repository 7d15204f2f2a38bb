"""RajaOngkir waybill tracking: Komerce's current API and the classic Pro API.

Docs read: rajaongkir.com/docs/shipping-cost/tracking (Komerce, ``POST https://rajaongkir.komerce
.id/api/v1/track/waybill`` with ``awb``, ``courier`` and optional ``last_phone_number``, header
``key``; response ``{"meta": {"message", "code", "status"}, "data": {...}}``) and the RajaOngkir
Pro documentation example (``POST https://pro.rajaongkir.com/api/waybill`` with ``waybill`` and
``courier``, header ``key``; response ``{"rajaongkir": {"query", "status": {"code",
"description"}, "result": {...}}}``). Both carry the same result: ``delivered`` (bool),
``summary`` {courier_code, courier_name, waybill_number, status...}, ``details``,
``delivery_status`` {status, pod_receiver, pod_date, pod_time} and ``manifest`` [{manifest_code,
manifest_description, manifest_date, manifest_time, city_name}]. Manifest dates and times are
separate fields in local Indonesian time without offset. No rate limit is published (plan quota).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from carriers import indonesia as idn
from carriers.base import ItemError, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import load_json, text

CARRIER = "rajaongkir"
EXPECT = (200, 400, 404, 422)  # unknown waybill / courier come back as a JSON error envelope
KOMERCE_PATH = "/api/v1/track/waybill"
PRO_PATH = "/api/waybill"
PRO_BASE = "https://pro.rajaongkir.com"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _when(entry: dict[str, Any]) -> Any:
    day, clock = text(entry.get("manifest_date")), text(entry.get("manifest_time"))
    return idn.local_time(f"{day} {clock}" if day and clock else day or clock)


def _events(manifest: Any, courier: str | None) -> list[TrackingEvent]:
    entries = [m for m in manifest if isinstance(m, dict)] if isinstance(manifest, list) else []
    events = [
        idn.text_event(
            m.get("manifest_description"),
            _when(m),
            m.get("city_name"),
            courier=courier,
            carrier=CARRIER,
        )
        for m in entries
    ]
    # Documented oldest first; some couriers' manifests come newest first (times decide).
    return idn.settle(idn.orient(events, newest_first=False))


def _result(
    body: dict[str, Any], result: dict[str, Any], query: dict[str, Any], numbers: Sequence[str]
) -> TrackingResult:
    summary, details = _dict(result.get("summary")), _dict(result.get("details"))
    pod = _dict(result.get("delivery_status"))
    courier = idn.courier_code(
        summary.get("courier_code") or summary.get("courier_name") or query.get("courier")
    )
    events = _events(result.get("manifest"), courier)
    raw_status = text(summary.get("status")) or text(pod.get("status"))
    flag = result.get("delivered")
    number = (
        text(summary.get("waybill_number"))
        or text(details.get("waybill_number"))
        or text(query.get("waybill") or query.get("awb"))
        or (numbers[0] if numbers else "")
    )
    status = idn.decide(
        idn.summary_status(raw_status, courier, CARRIER),
        events,
        delivered_flag=flag if isinstance(flag, bool) else None,
        summary_given=bool(raw_status),
    )
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=status,
        events=tuple(events),
        courier=courier,
        raw_status=raw_status,
        raw=body,
    )


def _error(
    raw: dict[str, Any], code: int | None, message: str | None, numbers: Sequence[str]
) -> list[TrackingResult]:
    http = idn.http_like(code)
    text_ = message or "RajaOngkir error"
    kind = idn.error_kind(http, text_)
    error = ItemError(kind, text_, code=str(code) if code is not None else None, http_status=http)
    return idn.error_result(CARRIER, numbers, error, raw)


def _classic(payload: dict[str, Any], numbers: Sequence[str]) -> list[TrackingResult] | None:
    inner = payload.get("rajaongkir")
    if not isinstance(inner, dict):
        return None
    state = _dict(inner.get("status"))
    code = idn.as_int(state.get("code"))
    result = inner.get("result")
    if isinstance(result, dict) and (code is None or code == 200):
        return [_result(payload, result, _dict(inner.get("query")), numbers)]
    if code is not None and code != 200:
        return _error(payload, code, text(state.get("description")), numbers)
    return None


def _komerce(payload: dict[str, Any], numbers: Sequence[str]) -> list[TrackingResult] | None:
    meta = payload.get("meta")
    if not isinstance(meta, dict):
        return None
    code = idn.as_int(meta.get("code"))
    failed = str(meta.get("status", "")).casefold() in ("failed", "error", "fail")
    data = payload.get("data")
    if isinstance(data, dict) and not failed and (code is None or code == 200):
        return [_result(payload, data, {}, numbers)]
    if failed or (code is not None and code != 200):
        return _error(payload, code, text(meta.get("message")), numbers)
    return None


def _read(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    payload = load_json(body, CARRIER)
    if not isinstance(payload, dict):
        raise CarrierResponseError(
            "body is not a JSON object", carrier=CARRIER, body_excerpt=excerpt(body)
        )
    results = _classic(payload, numbers)
    if results is None:
        results = _komerce(payload, numbers)
    if results is None:
        raise CarrierResponseError(
            "neither a waybill result nor an error", carrier=CARRIER, body_excerpt=excerpt(body)
        )
    return results


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result for the waybill in a Komerce or Pro body, or one error result per number.

    Raises CarrierResponseError for a body that is not either documented shape (and nothing
    else).
    """
    return idn.guarded(CARRIER, body, lambda: _read(body, numbers))


class Adapter(HttpAdapter):
    """RajaOngkir waybill tracking (one waybill per call).

    Config (``carriers.rajaongkir``): ``api_key`` (required, ``key`` header), ``flavor``
    (``komerce``, the default: the current API; ``pro``: the classic Pro endpoint), ``api_base``
    (default ``https://rajaongkir.komerce.id``, or ``https://pro.rajaongkir.com`` for ``pro``),
    ``rate``/``per`` (default 2 per second: only the plan quota is published),
    ``max_concurrency`` (2), ``timeout``. ``fetch()`` needs the courier (ours or RajaOngkir's
    code: ``jne``, ``jnt``, ``sicepat``, ``anteraja``, ``ide``...).
    """

    id: ClassVar[str] = CARRIER
    api_base: ClassVar[str] = "https://rajaongkir.komerce.id"
    batch_size: ClassVar[int] = 1
    rate: ClassVar[float] = 2.0
    per: ClassVar[float] = 1.0
    max_concurrency: ClassVar[int] = 2
    parse = staticmethod(parse)

    @property
    def pro(self) -> bool:
        return str(self.config.get("flavor") or "komerce").casefold() == "pro"

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One result per number, in order; see :class:`carriers.base.CarrierAdapter`."""
        if not courier:
            return idn.courier_required(CARRIER, numbers)
        key = self.setting("api_key")
        calls = [self._track(n, courier, key) for n in numbers]
        return align(CARRIER, numbers, await idn.gather_all(calls))

    async def _track(self, number: str, courier: str, key: str) -> list[TrackingResult]:
        code = idn.api_courier(courier, CARRIER)
        if self.pro:
            base = "" if self.config.get("api_base") else PRO_BASE
            url, form = f"{base}{PRO_PATH}", {"waybill": number, "courier": code}
            params: dict[str, str] = {}
        else:
            # The Komerce page shows the fields both in the query (curl) and as a form body.
            url, form = KOMERCE_PATH, {"awb": number, "courier": code}
            params = dict(form)
        resp = await self.request(
            "POST",
            url,
            numbers=[number],
            expect=EXPECT,
            headers={"key": key},
            data=form,
            params=params,
        )
        ours = idn.courier_code(courier)
        return [idn.for_request(r, number, ours) for r in parse(resp.content, [number])]
