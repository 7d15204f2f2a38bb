"""Biteship trackings (``https://api.biteship.com``, header ``Authorization: <API key>``).

Docs read: biteship.com/docs/api/trackings/retrieve (``GET /v1/trackings/:id``, for orders made
through Biteship), .../trackings/retrieve_public (``GET /v1/trackings/:waybill_id/couriers/
:courier_code``), .../trackings/status (the status table, camelCase there, snake_case on the wire),
help.biteship.com "How to Understand Shipping Statuses" (14 codes incl. ``scheduled``) and
biteship.com/docs/errors (``{"success": false, "error": "..."}``, 8-digit ``code`` whose first
three digits are the HTTP status). No rate limit is published.

Body: ``{"success": true, "object": "tracking", "id", "waybill_id", "courier": {"company"},
"history": [{"note", "updated_at", "status", "service_type"}], "link", "order_id", "status"}``;
history is oldest first with ISO times at +07:00. Every history entry carries a Biteship status
code, which decides; the free-text ``note`` only refines the generic codes (``dropping_off`` is
used for every hop of a J&T parcel, ``on_hold`` for failed attempts and problems alike).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from carriers import indonesia as idn
from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import load_json, text

CARRIER = "biteship"
log = logging.getLogger(__name__)
S = Status
EXPECT = (200, 400, 404)  # unknown waybill / courier come back as {"success": false, ...}

# Every documented Biteship tracking status (keys: lower case without "_", so the docs'
# camelCase and the wire's snake_case both match).
CODES: dict[str, Status] = {
    "confirmed": S.INFO_RECEIVED,
    "scheduled": S.INFO_RECEIVED,
    "allocated": S.INFO_RECEIVED,
    "pickingup": S.INFO_RECEIVED,
    "picked": S.IN_TRANSIT,
    "droppingoff": S.IN_TRANSIT,
    "returnintransit": S.RETURNED_TO_SENDER,
    "onhold": S.EXCEPTION,
    "delivered": S.DELIVERED,
    "rejected": S.EXCEPTION,
    "couriernotfound": S.EXCEPTION,
    "returned": S.RETURNED_TO_SENDER,
    "cancelled": S.EXCEPTION,
    "canceled": S.EXCEPTION,
    "disposed": S.EXCEPTION,
}
# Generic codes whose note may say something more specific, and what it may say.
REFINABLE: dict[str, frozenset[Status]] = {
    "droppingoff": frozenset(
        {S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, S.AVAILABLE_FOR_PICKUP, S.EXCEPTION}
    ),
    "onhold": frozenset({S.FAILED_ATTEMPT, S.AVAILABLE_FOR_PICKUP}),
}
# Instant couriers deliver straight from pickup: their dropping_off is the last mile.
INSTANT = frozenset({"grab", "gojek", "lalamove", "borzo", "deliveree", "rara", "paxel"})
TRACKING_ID = re.compile(r"^[0-9a-f]{24}$")  # Biteship tracking/order ids are 24 hex digits


def _key(code: Any) -> str:
    return re.sub(r"[^a-z]", "", (text(code) or "").casefold())


def _status(code: Any, note: Any, courier: str | None) -> tuple[Status, str | None]:
    """The status of one history entry and the raw code (or keyword) it came from."""
    key = _key(code)
    base = CODES.get(key)
    if base is None:
        found = idn.classify(note, courier)
        if text(code) or text(note):
            log.warning("%s: unknown status %r (note %r)", CARRIER, text(code), text(note))
        return (found.status if found else S.IN_TRANSIT), text(code) or text(note)
    if key == "droppingoff" and courier in INSTANT:
        base = S.OUT_FOR_DELIVERY
    found = idn.classify(note, courier)
    if found and found.status in REFINABLE.get(key, frozenset()):
        return found.status, text(code)
    return base, text(code)


def _events(history: Any, courier: str | None) -> list[TrackingEvent]:
    events = []
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict):
            continue
        status, raw = _status(entry.get("status"), entry.get("note"), courier)
        when = idn.local_time(entry.get("updated_at"))
        events.append(TrackingEvent(when, status, text(entry.get("note")) or "", None, raw))
    return idn.orient(events, newest_first=False)


def _shipment_status(code: Any, events: list[TrackingEvent], courier: str | None) -> Status:
    key = _key(code)
    if key not in CODES:
        if text(code):
            log.warning("%s: unknown shipment status %r", CARRIER, text(code))
        return events[-1].status if events else (S.IN_TRANSIT if text(code) else S.PENDING)
    newest = events[-1] if events else None
    if newest is not None and _key(newest.raw_code) == key:
        return newest.status  # the newest entry has the same code, refined by its note
    return _status(code, None, courier)[0]


def _result(body: dict[str, Any], numbers: Sequence[str]) -> TrackingResult:
    courier_obj = body.get("courier")
    company = courier_obj.get("company") if isinstance(courier_obj, dict) else None
    courier = idn.courier_code(company)
    events = _events(body.get("history"), courier)
    number = text(body.get("waybill_id")) or (numbers[0] if numbers else "")
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=number,
        status=_shipment_status(body.get("status"), events, courier),
        events=tuple(events),
        courier=courier,
        raw_status=text(body.get("status")),
        raw=body,
    )


def _error(body: dict[str, Any], numbers: Sequence[str]) -> list[TrackingResult]:
    message = text(body.get("error")) or text(body.get("message")) or "Biteship error"
    code = text(body.get("code"))
    http = idn.http_like(idn.as_int(code[:3])) if code and len(code) >= 3 else None
    kind = idn.error_kind(http, message)
    if http is None and kind is ErrorKind.BAD_REQUEST and "not found" in message.casefold():
        kind = ErrorKind.NOT_FOUND
    error = ItemError(kind, message, code=code, http_status=http)
    return idn.error_result(CARRIER, numbers, error, body)


def _read(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    payload = load_json(body, CARRIER)
    if not isinstance(payload, dict):
        raise CarrierResponseError(
            "body is not a JSON object", carrier=CARRIER, body_excerpt=excerpt(body)
        )
    success = payload.get("success")
    if success is False or (success is None and "error" in payload and "history" not in payload):
        return _error(payload, numbers)
    if isinstance(payload.get("history"), list) or "waybill_id" in payload:
        return [_result(payload, numbers)]
    raise CarrierResponseError(
        "neither a tracking nor an error", carrier=CARRIER, body_excerpt=excerpt(body)
    )


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result for the tracking in the body (also a webhook-fetched tracking), or one error
    result per requested number. Raises CarrierResponseError only, for an unreadable body."""
    return idn.guarded(CARRIER, body, lambda: _read(body, numbers))


class Adapter(HttpAdapter):
    """Biteship trackings (one per call).

    Config (``carriers.biteship``): ``api_key`` (required; sent as ``Authorization`` without
    "Bearer", as documented; testing keys work against the same base), ``api_base`` (default
    ``https://api.biteship.com``), ``rate``/``per`` (default 5 per second: nothing is published,
    so conservative), ``max_concurrency`` (4), ``timeout``.

    ``fetch(numbers, courier)`` uses public tracking by waybill and courier code (ours or
    Biteship's: ``jne``, ``jnt``, ``sicepat``, ``anteraja``, ``idexpress``, ``grab``...). Without a
    courier, a 24-hex-digit number is a Biteship tracking id (``GET /v1/trackings/:id``, for
    orders made through Biteship) and anything else gets a bad_request result.
    """

    id: ClassVar[str] = CARRIER
    api_base: ClassVar[str] = "https://api.biteship.com"
    batch_size: ClassVar[int] = 1
    rate: ClassVar[float] = 5.0
    per: ClassVar[float] = 1.0
    max_concurrency: ClassVar[int] = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One result per number, in order; see :class:`carriers.base.CarrierAdapter`."""
        by_id = [n for n in numbers if not courier and TRACKING_ID.match(n)]
        if not courier and len(by_id) < len(numbers):
            rest = [n for n in numbers if n not in by_id]
            missing = idn.courier_required(CARRIER, rest)
            found = await idn.gather_all([self._track(n, None) for n in by_id])
            return align(CARRIER, numbers, [*found, *missing])
        calls = [self._track(n, courier) for n in numbers]
        return align(CARRIER, numbers, await idn.gather_all(calls))

    async def _track(self, number: str, courier: str | None) -> list[TrackingResult]:
        headers = {"Authorization": self.setting("api_key")}
        path = f"/v1/trackings/{quote(number, safe='')}"
        if courier:
            path += f"/couriers/{quote(idn.api_courier(courier, CARRIER), safe='')}"
        resp = await self.request("GET", path, numbers=[number], expect=EXPECT, headers=headers)
        ours = idn.courier_code(courier) if courier else None
        return [idn.for_request(r, number, ours) for r in parse(resp.content, [number])]
