"""What the Indonesian aggregators (Binderbyte, Biteship, RajaOngkir/Komerce) share, as data.

* :data:`COURIERS`: our courier codes, every name or code an aggregator uses for them, and the
  code each API expects in a request (Binderbyte ``GET /v1/list_courier``; Biteship courier
  codes; RajaOngkir Pro / Komerce ``courier`` values).
* :data:`PHRASES` and :func:`classify` (from :mod:`carriers.indonesia_words`): the keyword
  table that reads the free text couriers write (summary words such as ``DELIVERED`` / ``ON
  PROCESS`` and event descriptions in Indonesian and English), in precedence tiers.
* small pure helpers: :func:`classify`, :func:`text_event`, :func:`orient`, :func:`settle`,
  :func:`decide`, :func:`error_kind`, :func:`local_time`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from carriers.base import ErrorKind, ItemError, Status, TrackingEvent, TrackingResult
from carriers.errors import CarrierResponseError, excerpt
from carriers.indonesia_words import (
    ACCEPTANCE,
    PHRASES,
    Match,
    Phrase,
    classify,
    local_time,
    normalize,
)
from carriers.parsing import text

log = logging.getLogger(__name__)
S = Status
__all__ = [  # the keyword table's names, re-exported for the aggregator modules and callers
    "PHRASES", "Courier", "Match", "Phrase", "classify", "courier_code", "local_time",
    "normalize",
]  # fmt: skip


# --------------------------------------------------------------------------- couriers


@dataclass(frozen=True, slots=True)
class Courier:
    """One courier: our code, the names aggregators print, and each API's request code."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    binderbyte: str | None = None
    biteship: str | None = None
    rajaongkir: str | None = None


def _c(
    code: str, name: str, aliases: str = "", bb: str = "", bs: str = "", ro: str = ""
) -> Courier:
    names = tuple(a for a in aliases.split("|") if a)
    return Courier(code, name, names, bb or None, bs or None, ro or None)


# Request codes: Binderbyte /v1/list_courier; Biteship /v1/couriers ``courier_code``; RajaOngkir
# Pro and Komerce ``courier`` (jne, pos, tiki, rpx, pandu, wahana, sicepat, jnt, pahala, sap, jet,
# indah, dse, slis, first, ncs, star, ninja, lion, idl, rex, ide, sentral, anteraja, jtl).
# fmt: off
COURIERS: tuple[Courier, ...] = (
    # our code, display name, other names and codes seen, then binderbyte, biteship, rajaongkir
    _c("jne", "JNE", "JNE Express|Jalur Nugraha Ekakurir (JNE)|Jalur Nugraha Ekakurir",
       "jne", "jne", "jne"),
    _c("jnt", "J&T Express", "J&T|J & T|JNT Express|J and T|J&T Express Indonesia",
       "jnt", "jnt", "jnt"),
    _c("jnt_cargo", "J&T Cargo", "JNT Cargo|jntcargo", "jnt_cargo"),
    _c("jtl", "JTL Express", "JTL|JTL Express (JTL)", ro="jtl"),
    _c("sicepat", "SiCepat", "SiCepat Ekspres|SiCepat Express|Si Cepat|sicepat_ekspres",
       "sicepat", "sicepat", "sicepat"),
    _c("anteraja", "AnterAja", "Anter Aja|Tri Adi Bersama|Tri Adi Bersama (AnterAja)",
       "anteraja", "anteraja", "anteraja"),
    _c("spx", "Shopee Express", "SPX|SPX Express|Shopee Xpress|ShopeeXpress|Shopee",
       "spx", "", "spx"),
    _c("lion", "Lion Parcel", "Lion|LionParcel|Lion Express", "lion", "lion", "lion"),
    _c("ninja", "Ninja Xpress", "Ninja Express|Ninja Van|NinjaVan|Ninja Xpress Indonesia",
       "ninja", "ninja", "ninja"),
    _c("pos", "Pos Indonesia", "POS|Pos Indonesia (POS)|PT Pos Indonesia|Pos Kilat|pos_indonesia",
       "pos", "pos", "pos"),
    _c("tiki", "TIKI", "Citra Van Titipan Kilat|Citra Van Titipan Kilat (TIKI)|Titipan Kilat",
       "tiki", "tiki", "tiki"),
    _c("wahana", "Wahana", "Wahana Express|Wahana Prestasi Logistik", "wahana", "wahana", "wahana"),
    _c("ide", "ID Express", "IDExpress|IDX|id_express|IDexpress Service Solution",
       "ide", "idexpress", "ide"),
    _c("sap", "SAP Express", "SAP|SAP Express Courier|Satria Antaran Prima", "sap", "sap", "sap"),
    _c("jet", "JET Express", "JET", "jet", "", "jet"),
    _c("rex", "REX Express", "REX|Royal Express|Royal Express Indonesia", "rex", "", "rex"),
    _c("first", "First Logistics", "First|First Logistic|1st Logistics", "first", "", "first"),
    _c("ncs", "NCS", "NCS Kurir|Nusantara Card Semesta|PT NCS", "", "ncs", "ncs"),
    _c("dse", "21 Express", "DSE|21 Express (DSE)|Dua Satu Express", ro="dse"),
    _c("lex", "Lazada Express", "LEX|LEX ID|Lazada Logistics", "lex"),
    _c("lel", "Lazada eLogistics", "LEL|LEL Express|Lazada E Logistics"),
    _c("rpx", "RPX", "RPX Holding|RPX Holding (RPX)|RPX One Stop Logistics", "rpx", "rpx", "rpx"),
    _c("sentral", "Sentral Cargo", "Sentral|SentralCargo|Sentral Cargo (SENTRAL)",
       "", "sentralcargo", "sentral"),
    _c("grab", "GrabExpress", "Grab|Grab Express", bs="grab"),
    _c("gojek", "GoSend", "Gojek|Go-Send|Go Send|GoSend Instant", bs="gojek"),
    _c("paxel", "Paxel", bs="paxel"),
    _c("lalamove", "Lalamove", bs="lalamove"),
    _c("borzo", "Borzo", "Mr Speedy|MrSpeedy", bs="borzo"),
    _c("deliveree", "Deliveree", bs="deliveree"),
    _c("rara", "RaRa Delivery", "RaRa", bs="rara"),
    _c("jdl", "JD Logistics", "JDL|JD Express|JDL Express", bs="jdl"),
    _c("pcp", "PCP Express", "PCP|Priority Cargo and Package", "pcp"),
    _c("kgx", "KGXpress", "KGX|KG Express", "kgx"),
    _c("indah", "Indah Cargo", "Indah Logistik|Indah Logistik Cargo|indah_cargo",
       "indah_cargo", "", "indah"),
    _c("dakota", "Dakota Cargo", "Dakota|Dakota Logistik", "dakota"),
    _c("pandu", "Pandu Logistics", "Pandu|Pandu Siwi", ro="pandu"),
    _c("pahala", "Pahala Express", "Pahala", ro="pahala"),
    _c("star", "Star Cargo", "Star|Star Cargo (STAR)", ro="star"),
    _c("slis", "Solusi Ekspres", "SLIS|Solusi Express", ro="slis"),
    _c("idl", "IDL Cargo", "IDL|Indotama Domestik Lestari", ro="idl"),
    _c("kurir_rekomendasi", "Kurir Rekomendasi", "Kurir Rekomendasi (Tokopedia)|Tokopedia",
       "kurir_tokopedia"),
)
# fmt: on

_APIS = ("binderbyte", "biteship", "rajaongkir")


def _key(value: str) -> str:
    """Names compare without case, spaces or punctuation: "J&T Express" -> "jtexpress"."""
    return re.sub(r"[^0-9a-z]+", "", value.casefold().replace("&", ""))


def _index() -> dict[str, Courier]:
    out: dict[str, Courier] = {}
    for courier in COURIERS:
        names = (courier.code, courier.name, *courier.aliases)
        codes = (courier.binderbyte, courier.biteship, courier.rajaongkir)
        for name in (*names, *(c for c in codes if c)):
            out.setdefault(_key(name), courier)
    return out


_BY_KEY = _index()


def courier_code(value: Any) -> str | None:
    """Our courier code for any aggregator code or name; an unknown one as a stable slug."""
    raw = text(value)
    if raw is None:
        return None
    found = _BY_KEY.get(_key(raw))
    if found:
        return found.code
    slug = re.sub(r"[^0-9a-z]+", "_", raw.casefold()).strip("_")
    return slug or None


def api_courier(value: str, api: str) -> str:
    """The code ``api`` (binderbyte, biteship, rajaongkir) expects for a courier we know.

    An unknown courier, or one the table does not list for that API, is passed through as our
    slug: the aggregator adds couriers faster than this table, and it rejects what it lacks.
    """
    if api not in _APIS:
        raise ValueError(f"unknown aggregator {api!r}")
    ours = courier_code(value) or value
    found = _BY_KEY.get(_key(ours))
    request = getattr(found, api) if found else None
    return request or ours


# --------------------------------------------------------------------------- reading free text
# (the keyword table itself lives in carriers/indonesia_words.py and is re-exported here)


def text_event(
    description: Any, time: datetime | None, location: Any, *, courier: str | None, carrier: str
) -> TrackingEvent:
    """One event from a free-text description; unknown text is in_transit with a warning."""
    desc = text(description) or ""
    match = classify(desc, courier)
    if match is None:
        if desc:
            log.warning("%s: unknown %s phrase %r, read as in_transit", carrier, courier, desc)
        return TrackingEvent(time, S.IN_TRANSIT, desc, text(location), raw_code=desc or None)
    return TrackingEvent(time, match.status, desc, text(location), raw_code=match.keyword)


def summary_status(value: Any, courier: str | None, carrier: str) -> Status | None:
    """A summary word (DELIVERED, ON PROCESS, HILANG...); None when empty or unknown."""
    match = classify(value, courier)
    if match is None and text(value):
        log.warning("%s: unknown summary status %r", carrier, text(value))
    return match.status if match else None


# --------------------------------------------------------------------------- ordering and status


def orient(events: list[TrackingEvent], newest_first: bool) -> list[TrackingEvent]:
    """Events oldest first. ``newest_first`` is the API's documented order; when the first and
    last events carry comparable times that say otherwise (some couriers' manifests come the
    other way round), the times win. Never a re-sort: only the list's direction is chosen."""
    if len(events) >= 2:
        first, last = events[0].time, events[-1].time
        try:
            if first is not None and last is not None and first != last:
                newest_first = first > last
        except TypeError:  # naive against aware: keep the documented order
            pass
    return list(reversed(events)) if newest_first else list(events)


_STILL_MOVING = frozenset(
    {S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.FAILED_ATTEMPT}
)


def settle(events: list[TrackingEvent]) -> list[TrackingEvent]:
    """Read each event in the light of its neighbours (oldest first in, oldest first out).

    * A "delivered" reading followed by more transit scans was an acceptance scan: in_transit.
    * J&T's "Paket telah diterima oleh <name>" (read alone as a branch acceptance) right after
      the courier's delivery run, with nothing moving after it, is the delivery itself.
    """
    out = list(events)
    for i in range(len(out)):
        later = {e.status for e in out[i + 1 :]}
        if out[i].status is S.DELIVERED and later & _STILL_MOVING:
            out[i] = replace(out[i], status=S.IN_TRANSIT)
        elif (
            out[i].raw_code == ACCEPTANCE
            and i > 0
            and out[i - 1].status is S.OUT_FOR_DELIVERY
            and not later & _STILL_MOVING
        ):
            out[i] = replace(out[i], status=S.DELIVERED)
    return out


_IN_PROGRESS = frozenset({S.PENDING, S.INFO_RECEIVED, S.IN_TRANSIT})
_REFINES = frozenset(
    {S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.FAILED_ATTEMPT, S.EXCEPTION, S.IN_TRANSIT}
)


def decide(
    summary: Status | None,
    events: Sequence[TrackingEvent],
    *,
    delivered_flag: bool | None = None,
    summary_given: bool = False,
) -> Status:
    """The shipment status: the summary decides unless a more specific event says otherwise.

    A return anywhere in the history wins (a parcel going back is "returned" even when the
    summary says DELIVERED: delivered back to the shipper). An explicit ``delivered`` flag
    (RajaOngkir ``result.delivered``) wins next. An in-progress summary is refined by the newest
    event (out for delivery, failed attempt, exception, at a pickup point); a problem summary by
    a newer problem. Without a summary the newest event decides (but never "delivered" when the
    API's flag says not delivered); without either the shipment is pending (or in_transit when
    the summary was given but unknown).
    """
    newest = events[-1].status if events else None
    if any(e.status is S.RETURNED_TO_SENDER for e in events):
        return S.RETURNED_TO_SENDER
    if delivered_flag:
        return S.DELIVERED
    if summary in (S.DELIVERED, S.RETURNED_TO_SENDER, S.EXPIRED, S.AVAILABLE_FOR_PICKUP):
        return summary
    if summary in (S.EXCEPTION, S.FAILED_ATTEMPT):
        return newest if newest in (S.EXCEPTION, S.FAILED_ATTEMPT) else summary
    if summary is S.OUT_FOR_DELIVERY:
        return (
            newest if newest in (S.FAILED_ATTEMPT, S.EXCEPTION, S.AVAILABLE_FOR_PICKUP) else summary
        )
    if summary in _IN_PROGRESS:
        if newest in _REFINES and not (summary is S.IN_TRANSIT and newest is S.IN_TRANSIT):
            return newest
        return summary
    if newest is not None:
        if newest is S.DELIVERED and delivered_flag is False:
            return S.IN_TRANSIT
        return newest
    return S.IN_TRANSIT if summary_given else S.PENDING


# --------------------------------------------------------------------------- errors


_AUTH = re.compile(
    r"api ?key|apikey|\bkey\b.{0,40}\b(?:invalid|tidak|not|salah|expired|wrong)|\binvalid key"
    r"|authori[sz]|forbidden|\btoken\b|credential|authenticat|autentikasi|otorisasi"
)
_RATE = re.compile(
    r"rate ?limit|too many|limit (?:exceeded|habis|tercapai)|exceeded|quota|kuota|throttl"
    r"|melebihi batas|batas (?:request|permintaan)"
)
_UNAVAILABLE = re.compile(  # the aggregator's or the courier's own server fault: retry later
    r"internal server|server error|service unavailable|bad gateway|gateway time|timed? ?out"
    r"|sedang (?:gangguan|maintenance|dalam perbaikan)|gangguan (?:server|sistem|pada)"
    r"|under maintenance|temporarily unavailable|coba (?:lagi )?(?:beberapa saat|nanti)"
)
_BAD_COURIER = re.compile(
    r"(?:courier|kurir|ekspedisi)\b.{0,30}\b(?:invalid|not (?:found|supported|available|valid)"
    r"|tidak (?:ditemukan|didukung|tersedia|valid|dikenal)|unsupported)"
    r"|(?:invalid|unsupported|unknown) (?:courier|kurir)"
)
_BAD_REQUEST = re.compile(r"required|wajib|missing|parameter|harus diisi|kosong|empty")
_NOT_FOUND = re.compile(
    r"not found|tidak ditemukan|tdk ditemukan|no data|data (?:tidak|not|kosong)|tidak ada data"
    r"|belum (?:ada|tersedia|terdaftar)|no (?:result|record|tracking)|tidak tersedia"
    r"|(?:invalid|unknown|wrong) (?:awb|waybill|resi|tracking|airwaybill)"
    r"|(?:awb|waybill|resi|airwaybill)\b.{0,30}\b(?:invalid|tidak valid|salah|not valid|unknown)"
    r"|not (?:yet )?available|does ?n.?t exist|not exist"
)
_INVALID_NUMBER = re.compile(
    r"\bformat\b|invalid (?:number|nomor)|nomor (?:resi )?(?:tidak valid|salah)"
)


def error_kind(http_status: int | None, message: str | None) -> ErrorKind:
    """The kind of an aggregator error from its status number and message text."""
    words = (message or "").casefold()
    if http_status in (401, 403) or _AUTH.search(words):
        return ErrorKind.AUTH
    if http_status == 429 or _RATE.search(words):
        return ErrorKind.RATE_LIMITED
    if (http_status or 0) >= 500 or _UNAVAILABLE.search(words):
        return ErrorKind.UNAVAILABLE
    if _BAD_COURIER.search(words):
        return ErrorKind.BAD_REQUEST
    if _NOT_FOUND.search(words):
        return ErrorKind.NOT_FOUND
    if _INVALID_NUMBER.search(words):
        return ErrorKind.INVALID_NUMBER
    if _BAD_REQUEST.search(words):
        return ErrorKind.BAD_REQUEST
    return ErrorKind.NOT_FOUND if http_status == 404 else ErrorKind.BAD_REQUEST


def as_int(value: Any) -> int | None:
    """An integer status such as 200, "200" or 200.0; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return int(value)
    raw = text(value)
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def http_like(value: int | None) -> int | None:
    """``value`` when it looks like an HTTP status (Binderbyte and RajaOngkir echo it)."""
    return value if value is not None and 100 <= value <= 599 else None


# --------------------------------------------------------------------------- shared adapter steps


def error_result(
    carrier: str, numbers: Sequence[str], error: ItemError, raw: Mapping[str, Any] | None
) -> list[TrackingResult]:
    """One error result per requested number, or one with tracking_number "" when none."""
    return [
        TrackingResult(carrier=carrier, tracking_number=n, status=None, error=error, raw=raw)
        for n in (numbers or [""])
    ]


def courier_required(carrier: str, numbers: Sequence[str]) -> list[TrackingResult]:
    """These APIs track a number only together with its courier: say so per number."""
    error = ItemError(ErrorKind.BAD_REQUEST, "courier required", code="courier_required")
    return error_result(carrier, numbers, error, None)


def for_request(result: TrackingResult, number: str, courier: str | None) -> TrackingResult:
    """The answer to a one-number call belongs to that number and courier (the body may spell
    the number differently, or name the courier only by its display name)."""
    return replace(result, tracking_number=number, courier=result.courier or courier)


async def gather_all(calls: Sequence[Awaitable[list[TrackingResult]]]) -> list[TrackingResult]:
    """Run the calls together, results in call order. The first failure (a 429, an auth error)
    cancels the calls still waiting and is raised: the whole fetch backs off, as documented."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if task in done and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [r for task in tasks for r in task.result()]


def guarded(
    carrier: str, body: bytes | str, read: Callable[[], list[TrackingResult]]
) -> list[TrackingResult]:
    """Run a parser; any shape it did not foresee becomes CarrierResponseError (never a crash)."""
    try:
        return read()
    except CarrierResponseError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError,
            OverflowError, UnicodeError) as err:  # fmt: skip
        raise CarrierResponseError(
            f"unreadable body ({type(err).__name__})", carrier=carrier, body_excerpt=excerpt(body)
        ) from err
