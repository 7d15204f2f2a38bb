"""The carrier module for the simulator's API, written as for any real aggregator.

Wire format and limits are documented in :mod:`carriers.simulator.app`: ``POST /v1/track`` with
up to 40 numbers, ``X-Api-Key``, events newest first with Asia/Jakarta offsets, the ETA as a
date, per-number ``errors`` beside the ``data``. This module knows the API only from that
document: the mapping table below is its own data, like a real carrier's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import load_json, parse_date, parse_time, text

CARRIER = "simulator"
log = logging.getLogger(__name__)
S = Status
REGISTER_BATCH = 5_000  # numbers per POST /v1/trackings (the API takes up to 10,000)
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)

# Every native status code of the simulator API and what it means.
STATUS_CODES: dict[str, Status] = {
    "PENDING": S.PENDING,  # registered, nothing known yet
    "MANIFESTED": S.INFO_RECEIVED,  # label created, parcel not handed over
    "PICKED_UP": S.IN_TRANSIT,
    "ARRIVED_HUB": S.IN_TRANSIT,
    "DEPARTED_HUB": S.IN_TRANSIT,
    "DELAYED": S.IN_TRANSIT,  # still moving; the news is the later ETA that comes with it
    "OUT_FOR_DELIVERY": S.OUT_FOR_DELIVERY,
    "DELIVERY_FAILED": S.FAILED_ATTEMPT,
    "READY_FOR_PICKUP": S.AVAILABLE_FOR_PICKUP,
    "COLLECTED": S.DELIVERED,  # collected from the pickup point
    "DELIVERED": S.DELIVERED,
    "DAMAGED": S.EXCEPTION,
    "CUSTOMS_HOLD": S.EXCEPTION,
    "RETURNING": S.EXCEPTION,  # on its way back: the shopper will not get it (as AfterShip)
    "RETURNED": S.RETURNED_TO_SENDER,
    "EXPIRED": S.EXPIRED,
}
ERROR_KINDS: dict[str, ErrorKind] = {
    "NOT_FOUND": ErrorKind.NOT_FOUND,
    "INVALID_NUMBER": ErrorKind.INVALID_NUMBER,
    "UNAUTHORIZED": ErrorKind.AUTH,
    "RATE_LIMITED": ErrorKind.RATE_LIMITED,
    "BAD_REQUEST": ErrorKind.BAD_REQUEST,
    "BATCH_TOO_LARGE": ErrorKind.BAD_REQUEST,
}


def status_of(code: str | None, *, had_events: bool) -> Status:
    """The normalized status of a native code; unknown codes are in transit (logged)."""
    if code is None:
        return S.IN_TRANSIT if had_events else S.PENDING
    status = STATUS_CODES.get(code.upper())
    if status is None:
        log.warning("simulator: unknown status code %r", code)
        return S.IN_TRANSIT if had_events else S.PENDING
    return status


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """One result per ``data`` entry, then one per ``errors`` entry (body order).

    An ``{"error": {...}}`` envelope (401, 429, 400) becomes one error result per requested
    number (or one with ``tracking_number == ""``). Raises CarrierResponseError, and only that,
    for a body that is not this shape (truncated, garbage, anything else).
    """
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    payload = load_json(body, CARRIER)
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return _envelope(payload, numbers)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise CarrierResponseError(
            "not a simulator track response", carrier=CARRIER, body_excerpt=excerpt(body)
        )
    results = [_result(item) for item in payload["data"]]
    errors = payload.get("errors")
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict):
            results.append(_item_error(item))
    return results


def _result(item: Any) -> TrackingResult:
    if not isinstance(item, dict) or not text(item.get("tracking_number")):
        raise CarrierResponseError("a data entry has no tracking_number", carrier=CARRIER)
    raw_events = item.get("events")
    listed = raw_events if isinstance(raw_events, list) else []
    # The API lists events newest first; results are oldest first.
    events = [_event(e) for e in reversed(listed) if isinstance(e, dict)]
    code = text(item.get("status_code"))
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=str(text(item["tracking_number"])),
        status=status_of(code, had_events=bool(events)),
        events=tuple(events),
        estimated_delivery=parse_date(item.get("estimated_delivery")),
        raw_status=code,
        raw=item,
    )


def _event(raw: dict[str, Any]) -> TrackingEvent:
    code = text(raw.get("code"))
    return TrackingEvent(
        time=parse_time(raw.get("time")),
        status=status_of(code, had_events=True),
        description=text(raw.get("description")) or "",
        location=text(raw.get("location")),
        raw_code=code,
    )


def _item_error(item: dict[str, Any]) -> TrackingResult:
    code = text(item.get("code")) or "NOT_FOUND"
    kind = ERROR_KINDS.get(code.upper(), ErrorKind.NOT_FOUND)
    message = text(item.get("message")) or code
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(item.get("tracking_number")) or "",
        status=None,
        error=ItemError(kind, message, code=code),
        raw=item,
    )


def _envelope(payload: dict[str, Any], numbers: Sequence[str]) -> list[TrackingResult]:
    err = payload["error"]
    code = text(err.get("code")) or "ERROR"
    kind = ERROR_KINDS.get(code.upper(), ErrorKind.BAD_REQUEST)
    error = ItemError(kind, text(err.get("message")) or code, code=code)
    return [
        TrackingResult(CARRIER, n, None, error=error, raw=payload) for n in (list(numbers) or [""])
    ]


class SimulatorAdapter(HttpAdapter):
    """The local carrier simulator (``carriers.simulator.server``).

    Config keys (``carriers.simulator``): ``api_base`` (default http://127.0.0.1:8790),
    ``api_key`` (when the simulator was started with one), and the limit overrides.
    """

    id = CARRIER
    api_base = "http://127.0.0.1:8790"
    batch_size = 40  # numbers per POST /v1/track (the API refuses more)
    rate, per = 50.0, 1.0
    max_concurrency = 8
    parse = staticmethod(parse)

    def _headers(self) -> dict[str, str]:
        key = self.config.get("api_key")
        return {"X-Api-Key": str(key)} if key else {}

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """Track the numbers, ``batch_size`` per request (more are split and sent at once).

        ``courier`` is ignored: the simulator is its own courier. Raises CarrierUnavailable,
        CarrierAuthError or CarrierResponseError when a whole call fails.
        """
        numbers = list(numbers)
        if len(numbers) > self.batch_size:
            step = self.batch_size
            chunks = [numbers[i : i + step] for i in range(0, len(numbers), step)]
            parts = await asyncio.gather(*(self.fetch(chunk) for chunk in chunks))
            return [result for part in parts for result in part]
        if not numbers:
            return []
        resp = await self.request(
            "POST",
            "/v1/track",
            numbers=numbers,
            json={"tracking_numbers": numbers},
            headers=self._headers(),
        )
        try:
            results = parse(resp.content, numbers)
        except CarrierResponseError as err:
            raise CarrierResponseError(
                err.message,
                carrier=self.id,
                tracking_numbers=tuple(numbers),
                status_code=resp.status_code,
                body_excerpt=err.body_excerpt or excerpt(resp.content),
            ) from err
        return align(self.id, numbers, results)

    async def register(
        self,
        numbers: Sequence[str],
        journey: str | None = None,
        registered_at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Register numbers (demo and benchmark seeding); returns the API's ``data`` rows.

        ``journey`` forces one journey for all (see ``carriers.simulator.journeys.Journey``);
        otherwise the number's prefix or hash decides. ValueError lists refused numbers.
        """
        rows: list[dict[str, Any]] = []
        for start in range(0, len(numbers), REGISTER_BATCH):
            chunk = numbers[start : start + REGISTER_BATCH]
            entries: list[dict[str, Any]] = [{"tracking_number": n} for n in chunk]
            for entry in entries:
                if journey:
                    entry["journey"] = journey
                if registered_at:
                    entry["registered_at"] = registered_at.isoformat()
            resp = await self.request(
                "POST",
                "/v1/trackings",
                numbers=chunk,
                json={"trackings": entries},
                headers=self._headers(),
            )
            try:
                payload = resp.json()
                rows += payload["data"]
                refused = payload["errors"]
            except (ValueError, KeyError, TypeError) as err:
                raise CarrierResponseError(
                    "not a registration response", carrier=self.id, body_excerpt=excerpt(resp.text)
                ) from err
            if refused:
                raise ValueError(f"simulator refused registrations: {refused}")
        return rows
