"""AfterShip Tracking API: tags and subtags to the normalized statuses.

Documents read (see the report in the commit history for confidence):

* tags: https://www.aftership.com/docs/tracking/2025-04/enum/delivery-statuses
* subtags: https://www.aftership.com/docs/tracking/2025-04/enum/delivery-sub-statuses (and the
  2026-07 page: Delivered_005; Exception_016..021 from the help-centre article "Learn About
  Delivery Sub-Status", available from 2026-03-27)
* meta codes: AfterShip/tracking-sdk-nodejs ``src/error/meta_code.ts``; tracking fields and the
  estimated-delivery objects: ``src/model/Tracking.ts``; endpoints: ``src/api/Tracking.ts``
* rate limit: https://www.aftership.com/docs/tracking/2025-01/quickstart/rate-limit

Bodies understood: a single tracking (``data.tracking`` in v4, ``data`` itself in 2024-04+), a
list (``data.trackings``), a webhook (``msg`` is the tracking) and the ``meta`` error envelope.
Checkpoints are oldest first on the wire and are kept in that order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "aftership"
log = logging.getLogger(__name__)

# Tag (shipment or checkpoint) -> status. Delivery statuses enum.
TAGS: dict[str, Status] = {
    "Pending": Status.PENDING,
    "InfoReceived": Status.INFO_RECEIVED,
    "InTransit": Status.IN_TRANSIT,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "AttemptFail": Status.FAILED_ATTEMPT,
    "Delivered": Status.DELIVERED,
    "AvailableForPickup": Status.AVAILABLE_FOR_PICKUP,
    "Exception": Status.EXCEPTION,
    "Expired": Status.EXPIRED,
}


def _codes(prefix: str, numbers: Sequence[int], status: Status) -> dict[str, Status]:
    return {f"{prefix}_{n:03d}": status for n in numbers}


# Subtag -> status; the subtag wins over the tag. Delivery sub-statuses enum.
SUBTAGS: dict[str, Status] = {
    **_codes("Pending", range(1, 7), Status.PENDING),  # 001 pending .. 006
    **_codes("InfoReceived", [1], Status.INFO_RECEIVED),
    # 001 in transit, 002 acceptance scan, 003 arrival scan, 004 arrived in destination country,
    # 005 customs cleared, 006 handed to customs, 007 departure scan, 008 problem resolved,
    # 009 forwarded to a different address
    **_codes("InTransit", range(1, 10), Status.IN_TRANSIT),
    # 001 out for delivery, 003 customer contacted, 004 delivery appointment scheduled
    **_codes("OutForDelivery", [1, 3, 4], Status.OUT_FOR_DELIVERY),
    # 002: legacy "available for pickup at the sorting centre" (retired; third-party copies)
    "OutForDelivery_002": Status.AVAILABLE_FOR_PICKUP,
    **_codes("AttemptFail", [1, 2, 3], Status.FAILED_ATTEMPT),
    # 001 delivered, 002 picked up by customer, 003 signed, 004 cash collected, 005 neighbour
    **_codes("Delivered", range(1, 6), Status.DELIVERED),
    **_codes("AvailableForPickup", [1], Status.AVAILABLE_FOR_PICKUP),
    # 001 exception, 002 customer moved, 003 refused, 004 customs delay, 005 external delay,
    # 006 held for payment, 007 incorrect address, 008 pickup missed, 009 rejected by carrier,
    # 012 damaged, 013 lost; 016 processing delay, 017 weather, 018 documents, 019 late flight,
    # 020 cancelled, 021 disposed
    **_codes("Exception", [*range(1, 10), 12, 13, *range(16, 22)], Status.EXCEPTION),
    "Exception_010": Status.RETURNED_TO_SENDER,  # returning to sender
    "Exception_011": Status.RETURNED_TO_SENDER,  # returned to sender
    **_codes("Expired", [1], Status.EXPIRED),
}

# meta.code -> error kind (meta_code.ts). A 5xx meta code is AfterShip's own fault: unavailable
# (retry later; an adapter call never sees it, the HTTP layer raises CarrierUnavailable first).
META_KINDS: dict[int, ErrorKind] = {
    400: ErrorKind.BAD_REQUEST,
    401: ErrorKind.AUTH,
    403: ErrorKind.AUTH,
    404: ErrorKind.NOT_FOUND,
    429: ErrorKind.RATE_LIMITED,
    4001: ErrorKind.BAD_REQUEST,  # invalid JSON
    4003: ErrorKind.BAD_REQUEST,  # tracking already exists
    4004: ErrorKind.NOT_FOUND,  # tracking does not exist
    4005: ErrorKind.INVALID_NUMBER,  # tracking number invalid
    **{code: ErrorKind.BAD_REQUEST for code in range(4006, 4017)},  # required/invalid fields
    4017: ErrorKind.INVALID_NUMBER,  # tracking number format invalid
}
OK_CODES = frozenset({200, 201})
EXPECT = (200, 201, 400, 404, 422)  # statuses whose bodies carry the meta envelope
LIST_LIMIT = 200  # trackings per page (documented maximum)
# Status -> the reason ``POST /trackings/{id}/mark-as-completed`` takes (DELIVERED, LOST or
# RETURNED_TO_SENDER); anything else that we consider final (expired by us) is reported as lost.
COMPLETED_REASONS: dict[Status, str] = {
    Status.DELIVERED: "DELIVERED",
    Status.RETURNED_TO_SENDER: "RETURNED_TO_SENDER",
}


def _status(tag: str | None, subtag: str | None, fallback: Status) -> Status:
    """The subtag when known, else the tag, else the subtag's family; unknown -> fallback."""
    if subtag in SUBTAGS:
        return SUBTAGS[subtag]
    family = subtag.split("_", 1)[0] if subtag else None
    found = TAGS.get(tag or "") or TAGS.get(family or "")
    if subtag or (tag and found is None):
        log.warning("aftership: unknown tag/subtag %r/%r; mapped to %s", tag, subtag, found)
    return found or fallback


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


def _description(value: Any) -> str:
    return value.strip() if isinstance(value, str) else (text(value) or "")


def _event(cp: dict[str, Any]) -> TrackingEvent:
    tag, subtag = text(cp.get("tag")), text(cp.get("subtag"))
    return TrackingEvent(
        time=_time(cp.get("checkpoint_time")),
        status=_status(tag, subtag, Status.IN_TRANSIT),
        description=_description(cp.get("message")),
        # the single free-text field verbatim; else its parts (city, state, country)
        location=text(cp.get("location"))
        or join_location(
            cp.get("city"),
            cp.get("state"),
            cp.get("country_region_name") or cp.get("country_name") or cp.get("country_iso3"),
        ),
        raw_code=subtag or tag,
    )


def _eta(t: dict[str, Any]) -> date | None:
    """latest_estimated_delivery (window end for a range), expected_delivery, carrier EDD."""
    latest = _dict(t.get("latest_estimated_delivery"))
    courier = _dict(t.get("courier_estimated_delivery_date"))
    predicted = _dict(t.get("aftership_estimated_delivery_date"))
    for value in (
        latest.get("datetime_max") if text(latest.get("type")) == "range" else None,
        latest.get("datetime"),
        latest.get("datetime_max"),
        t.get("expected_delivery"),
        courier.get("estimated_delivery_date_max"),
        courier.get("estimated_delivery_date"),
        predicted.get("estimated_delivery_date_max"),
        predicted.get("estimated_delivery_date"),
    ):
        found = parse_date(value)
        if found:
            return found
    return None


def _result(t: dict[str, Any]) -> TrackingResult:
    tag, subtag = text(t.get("tag")), text(t.get("subtag"))
    events = tuple(_event(cp) for cp in _dicts(t.get("checkpoints")))
    slug = text(t.get("slug"))
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(t.get("tracking_number")) or "",
        status=_status(tag, subtag, Status.IN_TRANSIT if events else Status.PENDING),
        events=events,
        estimated_delivery=_eta(t),
        courier=slug.lower() if slug else None,
        raw_status=subtag or tag,
        raw=t,
    )


def _trackings(doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The tracking objects of a success body or webhook; None when the body is an error."""
    if isinstance(doc.get("msg"), dict):  # webhook: {"event", "msg": <tracking>, "ts"}
        return [doc["msg"]]
    code = _dict(doc.get("meta")).get("code")
    if not isinstance(code, int) or code not in OK_CODES:
        return None
    data = doc.get("data")
    if not isinstance(data, dict):
        raise CarrierResponseError("data is not an object", carrier=CARRIER)
    if isinstance(data.get("tracking"), dict):
        return [data["tracking"]]
    if "trackings" in data:
        return _dicts(data["trackings"])
    return [data] if "tracking_number" in data else []


def _meta_error(doc: dict[str, Any]) -> ItemError | None:
    meta = doc.get("meta")
    if not isinstance(meta, dict) or "code" not in meta:
        return None
    raw_code = meta.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    if code is None:
        kind = ErrorKind.BAD_REQUEST
    else:
        kind = META_KINDS.get(code, ErrorKind.UNAVAILABLE if code >= 500 else ErrorKind.BAD_REQUEST)
    http = code if code is not None and 100 <= code < 600 else None
    message = text(meta.get("message")) or text(meta.get("type")) or "AfterShip error"
    return ItemError(kind, message, code=text(raw_code), http_status=http)


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """Normalize one AfterShip body; raises only CarrierResponseError (see module docstring)."""
    try:
        doc = load_json(body, CARRIER)
    except (TypeError, RecursionError) as err:
        raise CarrierResponseError("body is not JSON", carrier=CARRIER) from err
    if not isinstance(doc, dict):
        raise CarrierResponseError(
            "top level is not an object", carrier=CARRIER, body_excerpt=excerpt(str(body)[:400])
        )
    trackings = _trackings(doc)
    if trackings is not None:
        return [_result(t) for t in trackings]
    error = _meta_error(doc)
    if error is None:
        raise CarrierResponseError("neither trackings nor a meta error", carrier=CARRIER)
    return [TrackingResult(CARRIER, n, None, error=error, raw=doc) for n in (list(numbers) or [""])]


def _with_http(results: list[TrackingResult], http_status: int) -> list[TrackingResult]:
    """Errors that the body did not give an HTTP status for get the response's."""
    return [
        dataclasses.replace(r, error=dataclasses.replace(r.error, http_status=http_status))
        if r.error and r.error.http_status is None
        else r
        for r in results
    ]


class Adapter(HttpAdapter):
    """AfterShip Tracking API (2025-04), one ``GET /trackings`` per batch.

    Config keys (``carriers.aftership``): ``api_key`` (required; sent as ``as-api-key``),
    ``register`` (default true: a number AfterShip does not know yet is created with
    ``POST /trackings`` on first sight, so it starts being tracked), and the shared keys
    ``api_base``, ``rate``, ``per``, ``batch_size``, ``max_concurrency``, ``timeout``.
    AfterShip has no sandbox host; use a test key against production.
    """

    id = CARRIER
    api_base = "https://api.aftership.com/tracking/2025-04"
    batch_size = 50  # tracking_numbers is a comma list on the list endpoint; page limit 200
    rate = 10.0  # per organisation (2024-07+ also documents per-endpoint limits, settable)
    per = 1.0
    max_concurrency = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        headers = {"as-api-key": self.setting("api_key")}
        params: dict[str, Any] = {"tracking_numbers": ",".join(numbers), "limit": LIST_LIMIT}
        if courier:
            params["slug"] = courier
        resp = await self.request(
            "GET", "/trackings", numbers=numbers, params=params, headers=headers, expect=EXPECT
        )
        results = _with_http(parse(resp.content, numbers), resp.status_code)
        if resp.status_code == 200 and self.config.get("register", True):
            seen = {_key(r.tracking_number) for r in results}
            for number in numbers:
                if _key(number) not in seen:
                    results += await self._create(number, courier, headers)
        return align(self.id, numbers, results)

    async def _create(
        self, number: str, courier: str | None, headers: dict[str, str]
    ) -> list[TrackingResult]:
        """Register a number AfterShip does not track yet; its first answer is the result."""
        payload: dict[str, Any] = {"tracking_number": number}
        if courier:
            payload["slug"] = courier
        resp = await self.request(
            "POST", "/trackings", numbers=[number], json=payload, headers=headers, expect=EXPECT
        )
        return _with_http(parse(resp.content, [number]), resp.status_code)

    async def stop(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> dict[str, ItemError | None]:
        """Mark the numbers' trackings completed so AfterShip stops updating them (and stops
        pushing). ``POST /trackings/{id}/mark-as-completed`` ("the tracking won't auto update
        until retrack it"); the id comes from one ``GET /trackings`` for the batch.

        Returns, per number, None when stopped (or when AfterShip does not track it, or expired
        it itself), else the item error. The reason is AfterShip's own status of the tracking
        (delivered, returned, else lost). Raises CarrierError when a whole call fails.
        """
        headers = {"as-api-key": self.setting("api_key")}
        params: dict[str, Any] = {"tracking_numbers": ",".join(numbers), "limit": LIST_LIMIT}
        if courier:
            params["slug"] = courier
        resp = await self.request(
            "GET", "/trackings", numbers=numbers, params=params, headers=headers, expect=EXPECT
        )
        results = _with_http(parse(resp.content, numbers), resp.status_code)
        found = align(self.id, numbers, results)
        return {n: await self._complete(n, r, headers) for n, r in zip(numbers, found, strict=True)}

    async def _complete(
        self, number: str, found: TrackingResult, headers: dict[str, str]
    ) -> ItemError | None:
        tracking_id = text(found.raw.get("id")) if found.raw and not found.error else None
        if found.error or not tracking_id or found.status is Status.EXPIRED:
            missing = found.error is None or found.error.kind is ErrorKind.NOT_FOUND
            return None if missing else found.error  # nothing to stop, or AfterShip stopped it
        reason = COMPLETED_REASONS.get(found.status or Status.EXCEPTION, "LOST")
        done = await self.request(
            "POST",
            f"/trackings/{quote(tracking_id, safe='')}/mark-as-completed",
            numbers=[number],
            json={"reason": reason},
            headers=headers,
            expect=EXPECT,
        )
        answer = _with_http(parse(done.content, [number]), done.status_code)
        return next((r.error for r in answer if r.error), None)


def _key(number: str) -> str:
    return "".join(number.split()).upper()
