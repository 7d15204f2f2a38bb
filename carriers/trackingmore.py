"""TrackingMore API v4: delivery_status and substatus to the normalized statuses.

Documents read:

* statuses and sub-statuses: https://www.trackingmore.com/docs/logistics_status.php (all
  languages agree) plus the v4 additions (``inforeceived``, ``transit006/007``, ``pickup001-003``,
  ``undelivered001-004``, ``pending001-005``) as listed in the v4 API reference
* endpoints and meta codes: TrackingMore-API/trackingmore-sdk-python ``README.md`` (v4 table:
  4101 exists, 4102 does not exist, 4103 > 40 numbers, 4110 invalid number, ...)
* rate limits: support.trackingmore.com "TrackingMore API Request Rate Limit" (v4: get 10/s,
  batch create 10/s, single create 3/s; 429 means wait 120 s)

Bodies understood: ``GET /trackings/get`` (``data`` a list), a single tracking or webhook
(``data`` an object), ``POST /trackings/batch`` (``data.success`` / ``data.error``) and the
``meta`` error envelope. ``origin_info.trackinfo`` and ``destination_info.trackinfo`` are each
newest first; events are the origin leg then the destination leg, oldest first.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError
from carriers.http import HttpAdapter, align
from carriers.indonesia_words import classify
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "trackingmore"
log = logging.getLogger(__name__)

# delivery_status (shipment) / checkpoint_delivery_status (event) -> status.
DELIVERY_STATUSES: dict[str, Status] = {
    "pending": Status.PENDING,  # added, not tracked yet
    "notfound": Status.PENDING,  # no information yet
    "inforeceived": Status.INFO_RECEIVED,
    "transit": Status.IN_TRANSIT,
    "pickup": Status.OUT_FOR_DELIVERY,  # "out for delivery" (pickup002 refines to ready to collect)
    "delivered": Status.DELIVERED,
    "undelivered": Status.FAILED_ATTEMPT,
    "exception": Status.EXCEPTION,
    "expired": Status.EXPIRED,
}


def _subs(prefix: str, numbers: Sequence[int], status: Status) -> dict[str, Status]:
    return {f"{prefix}{n:03d}": status for n in numbers}


# substatus -> status; wins over delivery_status.
SUBSTATUSES: dict[str, Status] = {
    # 001 no info yet, 002 number may not match the carrier, 003 carrier says not its number,
    # 005 no information for some days
    **_subs("pending", [1, 2, 3, 5], Status.PENDING),
    "pending004": Status.INFO_RECEIVED,  # processed/packed, not yet scanned at a facility
    "notfound001": Status.INFO_RECEIVED,  # legacy: information received
    "notfound002": Status.PENDING,  # legacy: no tracking information
    "inforeceived001": Status.INFO_RECEIVED,  # waiting for the carrier to pick up
    # 001 on the way, 002 hub, 003 delivery facility, 004 destination country, 005 customs
    # cleared, 006 dispatched, 007 departed airport
    **_subs("transit", range(1, 8), Status.IN_TRANSIT),
    "pickup001": Status.OUT_FOR_DELIVERY,
    "pickup002": Status.AVAILABLE_FOR_PICKUP,  # ready for collection
    "pickup003": Status.OUT_FOR_DELIVERY,  # addressee contacted before final delivery
    # 001 delivered, 002 picked up by addressee, 003 signed, 004 left at door / neighbour
    **_subs("delivered", range(1, 5), Status.DELIVERED),
    # 001 address issue, 002 not home, 003 unable to contact, 004 other reasons
    **_subs("undelivered", range(1, 5), Status.FAILED_ATTEMPT),
    # 004 unclaimed, 005 other, 006 customs detained, 007 lost/damaged, 008 cancelled, 009 refused
    **_subs("exception", range(4, 10), Status.EXCEPTION),
    "exception010": Status.RETURNED_TO_SENDER,  # returned to sender
    "exception011": Status.RETURNED_TO_SENDER,  # being returned to sender
    "expired001": Status.EXPIRED,
}

# meta.code -> kind (SDK README; 4001 invalid key from the legacy table). Server errors 500-513
# are TrackingMore's own faults: unavailable (the HTTP layer raises for a 5xx status first).
META_KINDS: dict[int, ErrorKind] = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.AUTH,
    403: ErrorKind.AUTH,
    404: ErrorKind.BAD_REQUEST,  # page does not exist: a wrong URL, not a number
    429: ErrorKind.RATE_LIMITED,
    4101: ErrorKind.BAD_REQUEST,  # tracking already exists
    4102: ErrorKind.NOT_FOUND,  # tracking does not exist: create it first
    4103: ErrorKind.BAD_REQUEST,  # more than 40 numbers
    4110: ErrorKind.INVALID_NUMBER,  # tracking_number invalid
    4111: ErrorKind.BAD_REQUEST,  # tracking_number required
    4112: ErrorKind.BAD_REQUEST,  # invalid tracking id
    4113: ErrorKind.BAD_REQUEST,  # retrack not allowed
    4120: ErrorKind.BAD_REQUEST,  # courier_code invalid
    4121: ErrorKind.NOT_FOUND,  # cannot detect courier
    4122: ErrorKind.BAD_REQUEST,  # special required fields missing
    4130: ErrorKind.BAD_REQUEST,  # field format invalid
    4160: ErrorKind.BAD_REQUEST,  # awb_number invalid
    4161: ErrorKind.BAD_REQUEST,  # airline not supported
    4190: ErrorKind.RATE_LIMITED,  # quota used up
    4001: ErrorKind.AUTH,  # legacy: invalid API key
    **{code: ErrorKind.UNAVAILABLE for code in (500, 502, 503, 504, 511, 512, 513)},
}
OK_CODES = frozenset({200, 201})
EXPECT = (200, 201, 400, 404)


class _Zulu(datetime):
    """A UTC time the carrier wrote with "Z": ``isoformat`` keeps the "Z" (times as given)."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        stamp = super().isoformat(sep, timespec)
        return stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp


def _time(value: Any) -> datetime | None:
    moment, raw = parse_time(value), text(value)
    if moment is not None and raw and raw[-1] in "Zz" and moment.utcoffset() is not None:
        return _Zulu.fromisoformat(moment.isoformat())
    return moment


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _norm(code: Any) -> str | None:
    raw = text(code)
    return raw.replace(" ", "").lower() if raw else None


def _status(sub: str | None, main: str | None, fallback: Status) -> Status:
    """substatus, else delivery_status, else the substatus family; unknown -> fallback."""
    if sub in SUBSTATUSES:
        return SUBSTATUSES[sub]
    family = sub.rstrip("0123456789") if sub else None
    found = DELIVERY_STATUSES.get(main or "") or DELIVERY_STATUSES.get(family or "")
    if sub or (main and found is None):
        log.warning("trackingmore: unknown status %r/%r; mapped to %s", main, sub, found)
    return found or fallback


def _event(cp: dict[str, Any]) -> TrackingEvent:
    sub = _norm(cp.get("checkpoint_delivery_substatus"))
    main = _norm(cp.get("checkpoint_delivery_status"))
    detail = cp.get("tracking_detail")
    words = classify(detail) if not (sub or main) else None  # no code: the carrier's words
    return TrackingEvent(
        time=_time(cp.get("checkpoint_date")),
        status=words.status if words else _status(sub, main, Status.IN_TRANSIT),
        description=detail.strip() if isinstance(detail, str) else (text(detail) or ""),
        # the single free-text field verbatim; else its parts (city, state, country)
        location=text(cp.get("location"))
        or join_location(cp.get("city"), cp.get("state"), cp.get("country_iso2")),
        raw_code=sub or main,
    )


def _result(t: dict[str, Any]) -> TrackingResult:
    legs = (_dict(t.get("origin_info")), _dict(t.get("destination_info")))
    events = tuple(_event(cp) for leg in legs for cp in reversed(_dicts(leg.get("trackinfo"))))
    sub, main = _norm(t.get("substatus")), _norm(t.get("delivery_status"))
    courier = text(t.get("courier_code"))
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(t.get("tracking_number")) or "",
        status=_status(sub, main, Status.IN_TRANSIT if events else Status.PENDING),
        events=events,
        estimated_delivery=parse_date(t.get("scheduled_delivery_date")),
        courier=courier.lower() if courier else None,
        raw_status=sub or main,
        raw=t,
    )


def _error(code: Any, message: Any) -> ItemError:
    number = _int(code)
    kind = (
        META_KINDS.get(number, ErrorKind.BAD_REQUEST)
        if number is not None
        else ErrorKind.BAD_REQUEST
    )
    http = number if number is not None and 100 <= number < 600 else None
    return ItemError(kind, text(message) or "TrackingMore error", code=text(code), http_status=http)


def _batch(data: dict[str, Any]) -> list[TrackingResult]:
    """POST /trackings/batch: created numbers are pending; refused ones carry their error."""
    out = [
        TrackingResult(CARRIER, text(s.get("tracking_number")) or "", Status.PENDING, raw=s)
        for s in _dicts(data.get("success"))
    ]
    for e in _dicts(data.get("error")):
        code = e.get("errorCode", e.get("code"))
        error = _error(code, e.get("errorMsg") or e.get("errorMessage") or e.get("message"))
        out.append(
            TrackingResult(CARRIER, text(e.get("tracking_number")) or "", None, error=error, raw=e)
        )
    return out


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """Normalize one TrackingMore v4 body; raises only CarrierResponseError."""
    try:
        doc = load_json(body, CARRIER)
    except (TypeError, RecursionError) as err:
        raise CarrierResponseError("body is not JSON", carrier=CARRIER) from err
    if not isinstance(doc, dict):
        raise CarrierResponseError("top level is not an object", carrier=CARRIER)
    meta = _dict(doc.get("meta"))
    code = _int(meta.get("code", doc.get("code")))
    data = doc.get("data")
    if code is not None and code not in OK_CODES:
        error = _error(meta.get("code", doc.get("code")), meta.get("message") or doc.get("message"))
        return [TrackingResult(CARRIER, n, None, error=error, raw=doc) for n in numbers or [""]]
    if code is None and not (isinstance(data, dict) and "tracking_number" in data):
        raise CarrierResponseError("no meta code and no tracking", carrier=CARRIER)
    if data is None or isinstance(data, list):  # no trackings is an empty list, not garbage
        return [_result(t) for t in _dicts(data)]
    if isinstance(data, dict) and ("success" in data or "error" in data):
        return _batch(data)
    if isinstance(data, dict):
        return [_result(data)] if "tracking_number" in data else []
    raise CarrierResponseError("data is neither a list nor an object", carrier=CARRIER)


def _with_http(results: list[TrackingResult], http_status: int) -> list[TrackingResult]:
    return [
        dataclasses.replace(r, error=dataclasses.replace(r.error, http_status=http_status))
        if r.error and r.error.http_status is None
        else r
        for r in results
    ]


def _key(number: str) -> str:
    return "".join(number.split()).upper()


class Adapter(HttpAdapter):
    """TrackingMore API v4: ``GET /trackings/get`` for up to 40 numbers a call.

    A number TrackingMore does not return is created with ``POST /trackings/batch`` when the
    courier is known (TrackingMore requires ``courier_code`` to create), so it is registered on
    first sight; it comes back ``pending`` until TrackingMore has fetched it. Config keys
    (``carriers.trackingmore``): ``api_key`` (required; ``Tracking-Api-Key`` header), ``register``
    (default true), and the shared ``api_base``, ``rate``, ``per``, ``batch_size``,
    ``max_concurrency``, ``timeout``.
    """

    id = CARRIER
    api_base = "https://api.trackingmore.com/v4"
    batch_size = 40
    rate = 10.0  # GET /trackings/get and POST /trackings/batch default limit
    per = 1.0
    max_concurrency = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        headers = {"Tracking-Api-Key": self.setting("api_key")}
        params = {"tracking_numbers": ",".join(numbers)}
        if courier:
            params["courier_code"] = courier
        resp = await self.request(
            "GET", "/trackings/get", numbers=numbers, params=params, headers=headers, expect=EXPECT
        )
        results = _with_http(parse(resp.content, numbers), resp.status_code)
        seen = {_key(r.tracking_number) for r in results}
        missing = [n for n in numbers if _key(n) not in seen]
        if missing and courier and resp.status_code == 200 and self.config.get("register", True):
            payload = [{"tracking_number": n, "courier_code": courier} for n in missing]
            created = await self.request(
                "POST",
                "/trackings/batch",
                numbers=missing,
                json=payload,
                headers=headers,
                expect=EXPECT,
            )
            results += [
                r
                for r in _with_http(parse(created.content, missing), created.status_code)
                if not (r.error and r.error.code == "4101")  # exists already: not news
            ]
        return align(self.id, numbers, results)

    async def stop(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> dict[str, ItemError | None]:
        """Delete the numbers' trackings (``DELETE /trackings/delete/{id}``; the ids come from
        one ``GET /trackings/get``), so TrackingMore stops updating and pushing them.

        Returns, per number, None when deleted (or unknown to TrackingMore), else the item
        error. Raises CarrierError when a whole call fails.
        """
        headers = {"Tracking-Api-Key": self.setting("api_key")}
        params = {"tracking_numbers": ",".join(numbers)}
        if courier:
            params["courier_code"] = courier
        resp = await self.request(
            "GET", "/trackings/get", numbers=numbers, params=params, headers=headers, expect=EXPECT
        )
        found = align(self.id, numbers, _with_http(parse(resp.content, numbers), resp.status_code))
        return {n: await self._delete(n, r, headers) for n, r in zip(numbers, found, strict=True)}

    async def _delete(
        self, number: str, found: TrackingResult, headers: dict[str, str]
    ) -> ItemError | None:
        tracking_id = text(found.raw.get("id")) if found.raw and not found.error else None
        if found.error or not tracking_id:
            missing = found.error is None or found.error.kind is ErrorKind.NOT_FOUND
            return None if missing else found.error
        resp = await self.request(
            "DELETE",
            f"/trackings/delete/{quote(tracking_id, safe='')}",
            numbers=[number],
            headers=headers,
            expect=EXPECT,
        )
        answer = _with_http(parse(resp.content, [number]), resp.status_code)
        error = next((r.error for r in answer if r.error), None)
        return None if error is None or error.code == "4102" else error  # 4102: already gone
