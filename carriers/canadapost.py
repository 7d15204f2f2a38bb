"""Canada Post tracking (VIS REST, XML): ``GET /vis/track/pin/{pin}/detail``, HTTP Basic.

Docs read: Canada Post developer program "Get Tracking Details" / "Get Tracking Summary"
(``tracking-detail`` with ``significant-events/occurrence{event-identifier, event-date,
event-time, event-time-zone, event-description, event-site, event-province}`` newest first,
``expected-delivery-date`` / ``changed-expected-date``; ``tracking-summary/pin-summary``), the
"Messages and Code Tables" page (``messages/message{code, description}``; 004 No Pin History,
AA00x/E00x authorization, "Rejected by SLM Monitor" throttling) and its tracking scan event
table (event-identifier with English/French description: 3000 electronic information submitted
by shipper, 1300 accepted, 1415-1420 being returned to sender, 1411/1443 attempts, 1405/1406
parcel lockers, 610-620 and 1461-1476 deliveries...), read as transcribed in karrio's Canada
Post connector (``TRACKING_STATUS_MAPPING``, which cites the official page), plus karrio's older
event groups for codes that table does not describe.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.http import HttpAdapter, align
from carriers.parsing import join_location, load_xml, parse_date, parse_time, text

CARRIER = "canadapost"
log = logging.getLogger(__name__)
S = Status
UNREADABLE = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError,
              LookupError)  # fmt: skip


def _codes(spec: str) -> list[str]:
    """ "1421-1434 20" -> ["1421", ..., "1434", "20"] (leading zeros are not significant)."""
    out: list[str] = []
    for part in spec.split():
        low, _, high = part.partition("-")
        out += [str(n) for n in range(int(low), int(high or low) + 1)]
    return out


# Scan event identifiers grouped by meaning: Canada Post's "Messages and Code Tables" tracking
# scan events (event-identifier + English/French description, as transcribed in karrio's Canada
# Post connector), completed by karrio's older groups for codes the table does not describe.
# The description refines only a return ("Item being returned to sender", "retourné à l'exp.").
_GROUPS: dict[Status, str] = {
    # 3000 electronic information submitted by shipper, 3002 return label created
    S.INFO_RECEIVED: "3000 3002",
    S.IN_TRANSIT: (
        "100-107 113-116 128-138 155 157 158 159-166 170 171 172 175 198 400 405 410 "  # processed,
        "621-629 700 701 800 804 815 900 910 1200 1203 1210-1216 1220-1225 1230-1234 "  # delays,
        "1240-1245 1300-1303 1400-1404 1412 1414 1444 1480 1490 1703 1705 2101 2300 "  # customs,
        "2412 2414 2500 2501 4000 4100 4202 4310 4311 4330 4400 4450 4500 4550 4600 "  # redirects
        "4900 4950 5201 8901 152"
    ),
    S.OUT_FOR_DELIVERY: "174 500",
    # available for pick-up / notice card left / in an automated parcel locker / final notice
    S.AVAILABLE_FOR_PICKUP: "118 156 1405 1407 1410 1435-1438 1479 1488 1701 2407 2410",
    # business closed (second attempt), attempted and rescheduled, no access, locker refused
    S.FAILED_ATTEMPT: "154 180 185-189 630 1411 1443 2411",
    # signature/photo available, delivered to door, mailbox, locker, concierge, mailroom, partner
    S.DELIVERED: "20 21 610-620 1406 1408 1409 1421-1434 1441 1442 1461-1476 1496-1499 2001",
    # held (customs documents, duties), disposed of, damaged, lost, cannot be delivered, on hold
    S.EXCEPTION: (
        "117 119-127 142-151 153 173 179 190 710 810 1413 1440 1450 1483-1487 1489 1493-1495 "
        "4650 4700"
    ),
    # being returned to sender (refused, unclaimed, bad address, postage, customs), returned
    S.RETURNED_TO_SENDER: (
        "167-169 181-184 1100 1415-1420 1481 1482 1491 1492 2600 2601 2802 3001"
    ),
}
EVENT_CODES: dict[str, Status] = {c: st for st, spec in _GROUPS.items() for c in _codes(spec)}
RETURN_TEXT = re.compile(r"(being|been|item|is) returned to (the )?sender|return(ing)? to sender"
                         r"|(retourn|renvoy)\w*( \w+){0,3} à (l' ?)?exp", re.I)  # fmt: skip
DAMAGE_TEXT = re.compile(r"\bdamaged?\b|\blost\b|endommag|\bperdu", re.I)
ATTEMPT_TEXT = re.compile(r"attempted delivery|delivery attempt|tentative de livraison", re.I)
FUTURE = re.compile(r"\bwill be\b|\bsera\b|\bif not\b", re.I)  # "will be returned if not collected"
# pin-summary event-type (Get Tracking Summary)
SUMMARY_TYPES = {"INDUCTION": S.IN_TRANSIT, "INFO": S.IN_TRANSIT, "OUT": S.OUT_FOR_DELIVERY,
                 "ATTEMPTED": S.FAILED_ATTEMPT, "DELIVERED": S.DELIVERED,
                 "RETURNED": S.RETURNED_TO_SENDER, "PICKUP": S.AVAILABLE_FOR_PICKUP}  # fmt: skip
# A Canada Post server fault reported in a messages body: retry later, not a bad request.
UNAVAILABLE_WORDS = ("internal server", "server error", "service unavailable", "temporarily",
                     "try again later", "timed out", "timeout")  # fmt: skip
# event-time-zone abbreviations used in Canada (standard and daylight).
ZONES = {"NST": -210, "NDT": -150, "AST": -240, "ADT": -180, "EST": -300, "EDT": -240,
         "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
         "GMT": 0, "UTC": 0}  # fmt: skip


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(node: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: ET.Element, name: str) -> str | None:
    found = _child(node, name)
    return text(found.text) if found is not None else None


def _status(code: str | None, description: str | None) -> Status:
    """The code's status; the event's own words settle a return either way.

    "Item being returned to sender" is a return whatever the code. A code the table lists as a
    return whose words only tell of a delivery attempt (older tables used 1415-1420 for
    attempts; some feeds still do) is read by its words: a failed attempt.
    """
    words = description or ""
    if RETURN_TEXT.search(words) and not FUTURE.search(words):
        return S.RETURNED_TO_SENDER
    key = (code or "").lstrip("0") or "0"
    found = EVENT_CODES.get(key) if code else None
    if code and found is None:
        log.warning("canadapost: unknown event-identifier %r (%r)", code, description)
    if found in (S.RETURNED_TO_SENDER, None) and ATTEMPT_TEXT.search(words):
        return S.FAILED_ATTEMPT
    if found in (S.IN_TRANSIT, None) and DAMAGE_TEXT.search(words):
        return S.EXCEPTION  # a processing code whose words report damage or loss
    return found or S.IN_TRANSIT


def _time(day: str | None, clock: str | None, zone: str | None) -> datetime | None:
    """event-date + event-time (HH:MM[:SS]) in event-time-zone (EST, PDT... or an offset)."""
    if not day or not _DAY.match(day):
        return None
    moment = parse_time(f"{day}T{clock}" if clock else day)
    if moment is None or moment.tzinfo is not None:
        return moment
    minutes = ZONES.get((zone or "").upper())
    if minutes is not None:
        return moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    offset = parse_time(f"{day}T00:00:00{zone}") if zone and zone[:1] in "+-" else None
    return moment.replace(tzinfo=offset.tzinfo) if offset else moment


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _event(node: ET.Element) -> TrackingEvent:
    code, description = _text(node, "event-identifier"), _text(node, "event-description")
    return TrackingEvent(
        time=_time(
            _text(node, "event-date"), _text(node, "event-time"), _text(node, "event-time-zone")
        ),
        status=_status(code, description),
        description=description or "",
        location=join_location(_text(node, "event-site"), _text(node, "event-province")),
        raw_code=code,
    )


def _overall(events: Sequence[TrackingEvent]) -> Status:
    """The newest event decides, except that a delivery in the history makes it delivered
    unless the newest event says it is going back to the sender (README rule)."""
    if not events:
        return S.PENDING
    newest = events[-1].status
    if newest is not S.RETURNED_TO_SENDER and any(e.status is S.DELIVERED for e in events):
        return S.DELIVERED
    return newest


def _detail(node: ET.Element) -> TrackingResult:
    occurrences = [
        o for group in node if _local(group.tag) == "significant-events"
        for o in group if _local(o.tag) == "occurrence"
    ]  # fmt: skip
    events = tuple(_event(o) for o in reversed(occurrences))  # newest first on the wire
    eta = parse_date(_text(node, "changed-expected-date")) or parse_date(
        _text(node, "expected-delivery-date")
    )
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=_text(node, "pin") or "",
        status=_overall(events),
        events=events,
        estimated_delivery=eta,
        raw_status=events[-1].raw_code if events else None,
        raw={"xml": ET.tostring(node, encoding="unicode")},
    )


def _summary(node: ET.Element) -> TrackingResult:
    kind = (_text(node, "event-type") or "").upper()
    status = S.DELIVERED if _text(node, "actual-delivery-date") else SUMMARY_TYPES.get(kind)
    description = _text(node, "event-description")
    if description and RETURN_TEXT.search(description) and not FUTURE.search(description):
        status = S.RETURNED_TO_SENDER
    if status is None and kind:
        log.warning("canadapost: unknown summary event-type %r", kind)
    stamp = _text(node, "event-date-time") or ""  # YYYYMMDD:HHMMSS
    events: tuple[TrackingEvent, ...] = ()
    if description:
        day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
        clock = f"{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}"
        when = _time(day, clock, None)
        events = (
            TrackingEvent(
                when,
                status or S.IN_TRANSIT,
                description,
                _text(node, "event-location"),
                kind or None,
            ),
        )
    return TrackingResult(
        carrier=CARRIER,
        tracking_number=_text(node, "pin") or "",
        status=status or (S.IN_TRANSIT if kind else S.PENDING),
        events=events,
        estimated_delivery=parse_date(_text(node, "expected-delivery-date")),
        raw_status=kind or None,
        raw={"xml": ET.tostring(node, encoding="unicode")},
    )


def _error(node: ET.Element) -> ItemError:
    message = next((m for m in node if _local(m.tag) == "message"), node)
    code = _text(message, "code") or ""
    description = _text(message, "description") or code or "Canada Post reported an error"
    low = description.lower()
    kind = (
        ErrorKind.NOT_FOUND if code == "004" or "no pin history" in low or "not found" in low
        else ErrorKind.AUTH if code[:2] in ("AA", "E0") or "authenticat" in low
        else ErrorKind.RATE_LIMITED if "slm monitor" in low or "throttl" in low
        else ErrorKind.UNAVAILABLE if any(w in low for w in UNAVAILABLE_WORDS)
        else ErrorKind.INVALID_NUMBER if "invalid" in low and ("pin" in low or "number" in low)
        else ErrorKind.BAD_REQUEST
    )  # fmt: skip
    return ItemError(kind, description, code or None)


def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
    """``tracking-detail`` (one result) or ``tracking-summary`` (one per ``pin-summary``); a
    ``messages`` envelope becomes one error result per requested number."""
    try:
        return _parse(body, numbers)
    except UNREADABLE as err:  # a shape no branch expected: still only a response error
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=CARRIER, body_excerpt=excerpt(body)
        ) from err


def _parse(body: bytes | str, numbers: Sequence[str]) -> list[TrackingResult]:
    root = load_xml(body.encode() if isinstance(body, str) else body, CARRIER)
    name = _local(root.tag)
    if name == "tracking-detail":
        return [_detail(root)]
    if name == "tracking-summary":
        return [_summary(p) for p in root if _local(p.tag) == "pin-summary"]
    if name == "messages":
        error, raw = _error(root), {"xml": ET.tostring(root, encoding="unicode")}
        return [TrackingResult(CARRIER, n, None, error=error, raw=raw) for n in numbers or [""]]
    raise CarrierResponseError(
        "not a Canada Post tracking response", carrier=CARRIER, body_excerpt=excerpt(body)
    )


class Adapter(HttpAdapter):
    """Canada Post tracking details, one PIN per request.

    Config keys (``carriers.canadapost``): ``username`` and ``password`` (the API key pair,
    sent as HTTP Basic), optional ``language`` (``en`` or ``fr``), ``api_base`` / ``sandbox``
    (ct.soa-gw) and the limit overrides. Canada Post publishes no numeric limit (it throttles
    with "Rejected by SLM Monitor"): the default bucket is a conservative 5 requests/s.
    """

    id = CARRIER
    api_base = "https://soa-gw.canadapost.ca"
    sandbox_api_base = "https://ct.soa-gw.canadapost.ca"
    batch_size = 1
    rate, per = 5.0, 1.0  # not published
    max_concurrency = 4
    parse = staticmethod(parse)

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """One GET per PIN; "No Pin History" (HTTP 404, code 004) is a not_found result."""
        auth = (self.setting("username"), self.setting("password"))
        batches = await asyncio.gather(*(self._one(n, auth) for n in numbers))
        return align(self.id, numbers, [r for batch in batches for r in batch])

    async def _one(self, pin: str, auth: tuple[str, str]) -> list[TrackingResult]:
        language = "fr-CA" if str(self.config.get("language") or "en").startswith("fr") else "en-CA"
        resp = await self.request(
            "GET",
            f"/vis/track/pin/{quote(pin, safe='')}/detail",
            numbers=[pin],
            expect=(200, 400, 404),
            auth=auth,
            headers={"Accept": "application/vnd.cpc.track-v2+xml", "Accept-language": language},
        )
        results = [
            replace(r, tracking_number=pin) if not r.tracking_number else r
            for r in parse(resp.content, [pin])
        ]
        if resp.status_code != 200:
            results = [
                replace(r, error=replace(r.error, http_status=resp.status_code))
                if r.error and r.error.http_status is None
                else r
                for r in results
            ]
        return results
