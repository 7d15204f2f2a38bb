"""17TRACK Tracking API v2.2 (the ``17track`` carrier id): statuses, sub-statuses and stages.

Documents read:

* https://asset.17track.net/api/document/v2.2_en/index.html (endpoints, 40 numbers a call,
  accepted/rejected envelope) and the v2.4 page (``sub_status`` on events, ``time_raw``)
* error codes: https://help.17track.net/hc/en-us/articles/37570440168473-Error-Codes-and-Troubleshooting
  (codes after -18019903 from a third-party copy of the same table)
* main statuses and the 30 sub-statuses: the package-status section of the v2.2 document, as
  copied in several public clients (NotFound_InvalidCode, InTransit_Customs*, ...)

Bodies understood: gettrackinfo/register (``{code, data: {accepted, rejected}}``), the
``TRACKING_UPDATED`` / ``TRACKING_STOPPED`` webhook and the ``data.errors`` envelope. Events live in
``track_info.tracking.providers[].events`` newest first; providers are taken newest leg first.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError
from carriers.http import HttpAdapter, align
from carriers.indonesia_words import classify
from carriers.parsing import join_location, load_json, parse_date, parse_time, text

CARRIER = "17track"
log = logging.getLogger(__name__)

# latest_status.status -> status (package status table).
STATUSES: dict[str, Status] = {
    "NotFound": Status.PENDING,
    "InfoReceived": Status.INFO_RECEIVED,
    "InTransit": Status.IN_TRANSIT,
    "Expired": Status.EXPIRED,
    "AvailableForPickup": Status.AVAILABLE_FOR_PICKUP,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "DeliveryFailure": Status.FAILED_ATTEMPT,
    "Delivered": Status.DELIVERED,
    "Exception": Status.EXCEPTION,
}


def _subs(main: str, names: str, status: Status) -> dict[str, Status]:
    return {f"{main}_{name}": status for name in names.split()}


# sub_status -> status; wins over the main status (sub-status table).
SUB_STATUSES: dict[str, Status] = {
    **_subs("NotFound", "Other InvalidCode", Status.PENDING),
    "InfoReceived": Status.INFO_RECEIVED,
    **_subs(
        "InTransit",
        "PickedUp Other Departure Arrival CustomsProcessing CustomsReleased"
        " CustomsRequiringInformation",
        Status.IN_TRANSIT,
    ),
    "Expired_Other": Status.EXPIRED,
    "AvailableForPickup_Other": Status.AVAILABLE_FOR_PICKUP,
    "OutForDelivery_Other": Status.OUT_FOR_DELIVERY,
    **_subs(
        "DeliveryFailure", "Other NoBody Security Rejected InvalidAddress", Status.FAILED_ATTEMPT
    ),
    "Delivered_Other": Status.DELIVERED,
    **_subs(
        "Exception",
        "Other NoBody Security Damage Rejected Delayed Lost Destroyed Cancel",
        Status.EXCEPTION,
    ),
    "Exception_Returning": Status.RETURNED_TO_SENDER,
    "Exception_Returned": Status.RETURNED_TO_SENDER,
}

# Event ``stage`` (v2.2 key stages, also milestone.key_stage); main statuses are accepted too.
STAGES: dict[str, Status] = {
    "InfoReceived": Status.INFO_RECEIVED,
    "PickedUp": Status.IN_TRANSIT,
    "Departure": Status.IN_TRANSIT,
    "Arrival": Status.IN_TRANSIT,
    "AvailableForPickup": Status.AVAILABLE_FOR_PICKUP,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "Delivered": Status.DELIVERED,
    "Returning": Status.RETURNED_TO_SENDER,
    "Returned": Status.RETURNED_TO_SENDER,
}

NOT_REGISTERED = -18019902
ALREADY_REGISTERED = -18019901
# Error code -> kind (-18010003, 17TRACK's internal error, is unavailable: retry later).
ERRORS: dict[int, ErrorKind] = {
    -18010001: ErrorKind.AUTH,  # IP not in the whitelist
    -18010002: ErrorKind.AUTH,  # invalid security key
    -18010003: ErrorKind.UNAVAILABLE,  # internal service error, try again later
    -18010004: ErrorKind.AUTH,  # account disabled
    -18010005: ErrorKind.AUTH,  # unauthorized access
    -18010010: ErrorKind.BAD_REQUEST,  # data {0} required
    -18010011: ErrorKind.BAD_REQUEST,  # value of data {0} invalid
    -18010012: ErrorKind.INVALID_NUMBER,  # format of data {0} invalid
    -18010013: ErrorKind.BAD_REQUEST,  # invalid submitted data
    -18010014: ErrorKind.BAD_REQUEST,  # more than 40 numbers
    -18010015: ErrorKind.BAD_REQUEST,  # value {0} of field {1} invalid
    -18010016: ErrorKind.BAD_REQUEST,  # last-mile carrier only for postal services
    -18010018: ErrorKind.BAD_REQUEST,  # country + postal code required
    -18010019: ErrorKind.BAD_REQUEST,  # postal code required
    -18010020: ErrorKind.BAD_REQUEST,  # phone number required
    **{code: ErrorKind.BAD_REQUEST for code in range(-18010206, -18010200)},  # webhook settings
    ALREADY_REGISTERED: ErrorKind.BAD_REQUEST,  # fine for /register, never per-number data
    NOT_REGISTERED: ErrorKind.NOT_FOUND,  # register first
    -18019903: ErrorKind.NOT_FOUND,  # carrier cannot be detected
    -18019904: ErrorKind.BAD_REQUEST,  # only stopped numbers can be retracked
    -18019907: ErrorKind.RATE_LIMITED,  # daily tracking limit reached
    -18019908: ErrorKind.RATE_LIMITED,  # quota exhausted
    -18019909: ErrorKind.NOT_FOUND,  # no tracking information at this time
    -18019910: ErrorKind.BAD_REQUEST,  # incorrect carrier code
}


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


def _lookup(codes: Sequence[str | None], fallback: Status) -> Status:
    """The first code found in the sub-status, stage or status tables; unknown -> fallback."""
    tables = (SUB_STATUSES, STAGES, STATUSES)
    known = [t[c] for c in codes if c for t in tables if c in t]
    unknown = [c for c in codes if c and not any(c in t for t in tables)]
    families = [STATUSES[c.split("_", 1)[0]] for c in unknown if c.split("_", 1)[0] in STATUSES]
    found = (known or families or [fallback])[0]
    if unknown:
        log.warning("17track: unknown status code(s) %r; mapped to %s", unknown, found)
    return found


def _event_time(event: dict[str, Any]) -> datetime | None:
    raw = _dict(event.get("time_raw"))
    stamp = " ".join(t for t in (text(raw.get("date")), text(raw.get("time"))) if t)
    return _time(event.get("time_iso")) or _time(event.get("time_utc")) or _time(stamp or None)


def _event(e: dict[str, Any]) -> TrackingEvent:
    sub, stage = text(e.get("sub_status")), text(e.get("stage"))
    desc = e.get("description")
    # Most events carry no stage (only key events do): the carrier's words are read then.
    words = classify(desc) if not (sub or stage) else None
    return TrackingEvent(
        time=_event_time(e),
        status=words.status if words else _lookup([sub, stage], Status.IN_TRANSIT),
        description=desc.strip() if isinstance(desc, str) else (text(desc) or ""),
        location=text(e.get("location")) or _address(e.get("address")),  # verbatim, else parts
        raw_code=sub or stage,
    )


def _address(value: Any) -> str | None:
    address = _dict(value)
    return join_location(address.get("city"), address.get("state"), address.get("country"))


def _events(track_info: dict[str, Any]) -> tuple[TrackingEvent, ...]:
    providers = _dicts(_dict(track_info.get("tracking")).get("providers"))
    newest_first = [e for p in providers for e in _dicts(p.get("events"))]
    return tuple(_event(e) for e in reversed(newest_first))


def _eta(track_info: dict[str, Any]) -> date | None:
    window = _dict(_dict(track_info.get("time_metrics")).get("estimated_delivery_date"))
    return parse_date(window.get("to")) or parse_date(window.get("from"))


def _accepted(item: dict[str, Any]) -> TrackingResult:
    track_info = _dict(item.get("track_info"))
    latest = _dict(track_info.get("latest_status"))
    main, sub = text(latest.get("status")), text(latest.get("sub_status"))
    events = _events(track_info)
    carrier = text(item.get("carrier"))
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=text(item.get("number")) or "",
        status=_lookup([sub, main], Status.IN_TRANSIT if events else Status.PENDING),
        events=events,
        estimated_delivery=_eta(track_info),
        courier=carrier.lower() if carrier and carrier != "0" else None,
        raw_status=sub or main,
        raw=item,
    )


def _error(raw: dict[str, Any], default: str) -> ItemError:
    code = _int(raw.get("code"))
    kind = ERRORS.get(code, ErrorKind.BAD_REQUEST) if code is not None else ErrorKind.BAD_REQUEST
    return ItemError(kind, text(raw.get("message")) or default, code=text(raw.get("code")))


def _rejected(item: dict[str, Any]) -> TrackingResult:
    error = _error(_dict(item.get("error")), "rejected by 17TRACK")
    number = text(item.get("number")) or ""
    return TrackingResult(CARRIER, number, None, error=error, raw=item)


def _envelope(doc: dict[str, Any]) -> ItemError | None:
    """The whole-request error of a body, if it is one."""
    data = doc.get("data")
    errors = _dicts(_dict(data).get("errors"))
    if errors:
        return _error(errors[0], "17TRACK error")
    code = _int(doc.get("code"))
    if code and not isinstance(data, dict):
        return _error({"code": code, "message": doc.get("message") or data}, "17TRACK error")
    return None


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """Normalize one 17TRACK body; raises only CarrierResponseError (see module docstring)."""
    try:
        doc = load_json(body, CARRIER)
    except (TypeError, RecursionError) as err:
        raise CarrierResponseError("body is not JSON", carrier=CARRIER) from err
    if not isinstance(doc, dict):
        raise CarrierResponseError("top level is not an object", carrier=CARRIER)
    data = doc.get("data")
    if "event" in doc and isinstance(data, dict) and "number" in data:  # webhook push
        return [] if text(doc.get("event")) == "TRACKING_STOPPED" else [_accepted(data)]
    error = _envelope(doc)
    if error is not None:
        return [TrackingResult(CARRIER, n, None, error=error, raw=doc) for n in numbers or [""]]
    if isinstance(data, dict) and ("accepted" in data or "rejected" in data):
        accepted = [_accepted(a) for a in _dicts(data.get("accepted"))]
        return accepted + [_rejected(r) for r in _dicts(data.get("rejected"))]
    raise CarrierResponseError("neither accepted/rejected nor an error envelope", carrier=CARRIER)


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
    """17TRACK Tracking API v2.2: ``gettrackinfo`` for up to 40 numbers a call.

    A number 17TRACK answers with -18019902 (not registered) is registered with ``/register``
    (-18019901 "already registered" is fine) and asked for again, so a number is registered on
    first sight only. Config keys (``carriers.17track``): ``api_key`` (required; sent as the
    ``17token`` header), ``register`` (default true), and the shared keys ``api_base``, ``rate``,
    ``per``, ``batch_size``, ``max_concurrency``, ``timeout``. The courier, when given, is the
    numeric 17TRACK carrier code (e.g. ``"7041"``).
    """

    id = CARRIER
    api_base = "https://api.17track.net/track/v2.2"
    batch_size = 40
    rate = 3.0
    per = 1.0
    max_concurrency = 3
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        results, whole = await self._post("/gettrackinfo", numbers, courier)
        found = {_key(r.tracking_number): r for r in results}
        unknown = [  # 17TRACK rejects unregistered numbers with -18019902; absent ones too
            n for n in numbers if _code(found.get(_key(n))) in (None, str(NOT_REGISTERED))
        ]
        if unknown and not whole and self.config.get("register", True):
            registered = []
            for r in (await self._post("/register", unknown, courier))[0]:
                if r.error and r.error.code != str(ALREADY_REGISTERED):
                    found[_key(r.tracking_number)] = r  # why it could not be registered
                else:
                    registered.append(r.tracking_number)
            if registered:
                for r in (await self._post("/gettrackinfo", registered, courier))[0]:
                    found[_key(r.tracking_number)] = r
        return align(self.id, numbers, list(found.values()))

    async def stop(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> dict[str, ItemError | None]:
        """Stop tracking the numbers (``POST /stoptrack``, up to 40): 17TRACK stops refreshing
        them and stops pushing; they stay readable with ``gettrackinfo``.

        Returns, per number, None when stopped (or never registered), else the item error
        (a whole-request error applies to every number). Raises CarrierError when the call
        fails.
        """
        results, _ = await self._post("/stoptrack", numbers, courier)
        found = align(self.id, numbers, results)
        return {
            n: None if not r.error or r.error.code == str(NOT_REGISTERED) else r.error
            for n, r in zip(numbers, found, strict=True)
        }

    async def _post(
        self, path: str, numbers: Sequence[str], courier: str | None
    ) -> tuple[list[TrackingResult], bool]:
        """The per-number results of one call, and whether the whole request was refused."""
        carrier = int(courier) if courier and courier.strip().isdigit() else None
        items = [{"number": n, **({"carrier": carrier} if carrier else {})} for n in numbers]
        resp = await self.request(
            "POST", path, numbers=numbers, json=items, headers={"17token": self.setting("api_key")}
        )
        results = _with_http(parse(resp.content), resp.status_code)
        whole = next((r for r in results if not r.tracking_number and r.error), None)
        if whole is not None:
            return [dataclasses.replace(whole, tracking_number=n) for n in numbers], True
        return results, False


def _code(result: TrackingResult | None) -> str | None:
    """The error code of a result; None when the number is missing; "" when it has no error."""
    if result is None:
        return None
    return result.error.code or "" if result.error else ""
