"""The ``lazada`` order source: a seller's orders from the Lazada Open Platform.

Settings entry: ``{"id": "lazada", "app_key": "...", "app_secret": "...", "access_token": "...",
"refresh_token": "...", "region": "id"}`` (``id``, ``sg``, ``my``, ``th``, ``ph``, ``vn``; or
``api_base``); optional ``auth_base``, ``rate`` (requests/s), ``page_size``.

``track_via_marketplace``: ``"fallback"`` (the default: a parcel no carrier of ours tracks, such
as the platform's own logistics, is tracked through this API), ``"always"`` or ``"never"``; see
:mod:`notifier.pipeline.marketplace`.

A pass reads the orders updated in a window (``GET /orders/get`` with ``update_after``/
``update_before``, sorted by ``updated_at``, ``offset``/``limit`` pages), then their items (``GET
/orders/items/get``, 50 orders a call), which carry each parcel's ``tracking_code``,
``shipment_provider`` and ``package_id``. Calls are signed as Lazada documents
(:func:`~notifier.orders.signing.lazada_sign`, ``sign_method=sha256``, timestamps in ms);
access tokens are renewed at ``auth.lazada.com/rest/auth/token/refresh``.

Lazada masks the buyer's phones (``"6****67"``) and gives no email: the parcels are tracked and
the merchant's customer service gets the alerts (:mod:`notifier.alerts`). Nearly every value
comes as a string, ``"null"`` included.

Read: the Open Platform pages GetOrders, GetMultipleOrderItems, GetOrderTrace
(``/logistic/order/trace``), GetSeller, "Signature algorithm" (as quoted by the SDKs),
``/auth/token/create`` and ``/auth/token/refresh``. Not public enough to build on: the reverse
(return) order APIs' parameters and statuses, the trace's ``detail_type``/``status_code``
lists (statuses are read from the words), rate limits, and the push signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from carriers import indonesia as idn
from carriers.base import Status, TrackingEvent, TrackingResult
from notifier.orders.base import SourceError
from notifier.orders.parse_contract import (
    BodyError,
    StoreOrder,
    StoreParcel,
    amount,
    epoch_time,
    iso_time,
    text,
)
from notifier.orders.schema import OrderStatus
from notifier.orders.signing import (
    Fetched,
    MarketplaceSource,
    ParcelRef,
    Pass,
    Refused,
    TokenExpired,
    Tokens,
    obj,
)
from notifier.orders.signing import lazada_sign as sign

REGIONS = {r: f"https://api.lazada.{d}/rest" for r, d in (("id", "co.id"), ("sg", "sg"))}
REGIONS |= {"my": "https://api.lazada.com.my/rest", "th": "https://api.lazada.co.th/rest"}
REGIONS |= {"ph": "https://api.lazada.com.ph/rest", "vn": "https://api.lazada.vn/rest"}
AUTH = "https://auth.lazada.com/rest"
PAGE_SIZE = 50  # /orders/get limit <= 100
ITEMS_BATCH = 50  # /orders/items/get: "No more than 50 at a time"

# Order statuses in lifecycle order, each with ours; the most advanced one an order (or any of
# its items) has wins. Logistics trouble (failed_delivery, lost_by_3pl, shipped_back...) keeps
# the order as it was: the parcel's own tracking tells it.
LIFECYCLE: tuple[tuple[str, str], ...] = (
    ("unpaid", "pending"),
    ("pending", "paid"),  # COD: not paid yet, see _status()
    ("repacked", "processing"),
    ("topack", "processing"),
    ("packed", "processing"),
    ("toship", "processing"),
    ("ready_to_ship_pending", "processing"),
    ("ready_to_ship", "processing"),
    ("shipping", "fulfilled"),
    ("shipped", "fulfilled"),
    ("delivered", "fulfilled"),
    ("confirmed", "completed"),
)
RANK = {status: i for i, (status, _) in enumerate(LIFECYCLE)}
CANCELLED = frozenset({"canceled", "cancelled"})
# GetOrderTrace detail_type values seen in Lazada's example (the list is not published);
# any other is read from the event's words.
DETAIL_TYPES = {"ready_to": Status.INFO_RECEIVED, "ready_to_ship": Status.INFO_RECEIVED}
TOKEN_CODES = frozenset({"IllegalAccessToken", "AccessTokenExpired", "IllegalRefreshToken"})
THROTTLED = frozenset({"ApiCallLimit", "AppCallLimit", "SellerCallLimit", "AccessFrequencyLimit"})


# --------------------------------------------------------------------------- pure reading


def failure(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(code, message) of an error answer; code ``"0"`` is success."""
    code = text(body.get("code"))
    if code is None or code == "0":
        return None
    return code, text(body.get("message")) or ""


def parse(body: Any) -> list[StoreOrder]:
    """The orders one decoded Lazada body tells about: GetOrders (``data.orders``), GetOrder
    (``data`` one order), GetMultipleOrderItems (``data`` a list); ``[]`` for the others
    (trace, tokens, seller). BodyError for an error answer or a body that is not Lazada's."""
    if not isinstance(body, dict) or "code" not in body:
        raise BodyError("not a Lazada body (no code)")
    failed = failure(body)
    if failed:
        raise BodyError(f"Lazada error {failed[0]}: {failed[1]}".rstrip(": "))
    data = body.get("data")
    if isinstance(data, list):
        return [_items(entry) for entry in data if isinstance(entry, dict) and _id(entry)]
    data = obj(data)
    if "orders" in data:
        return [_order(o) for o in data.get("orders") or [] if isinstance(o, dict) and _id(o)]
    return [_order(data)] if _id(data) and "statuses" in data else []


def _id(raw: Mapping[str, Any]) -> str | None:
    return text(raw.get("order_id"))


def _clean(value: Any) -> str | None:
    """Lazada's text: ``"null"`` and masked values (``"6****67"``) are nothing."""
    raw = text(value)
    return None if raw is None or raw.lower() == "null" or "*" in raw else raw


def _status(statuses: list[str], cod: bool) -> OrderStatus | None:
    known = [s for s in statuses if s in RANK]
    if statuses and all(s in CANCELLED for s in statuses):
        return "cancelled"
    if not known:
        return None
    ours = LIFECYCLE[max(RANK[s] for s in known)][1]
    return "processing" if ours == "paid" and cod else cast(OrderStatus, ours)


def _order(raw: Mapping[str, Any]) -> StoreOrder:
    statuses = [str(s).strip().lower() for s in raw.get("statuses") or [] if text(s)]
    cod = (text(raw.get("payment_method")) or "").upper() == "COD"
    first, last = _clean(raw.get("customer_first_name")), _clean(raw.get("customer_last_name"))
    shipping = obj(raw.get("address_shipping"))
    order: StoreOrder = {
        "external_id": str(_id(raw)),
        "order_number": _clean(raw.get("order_number")),
        "status": _status(statuses, cod),
        "updated_at": iso_time(raw.get("updated_at")),
        "customer": {
            "name": " ".join(p for p in (first, last) if p) or None,
            "phone": _clean(shipping.get("phone")),
        },
    }
    if text(raw.get("currency")):  # GetOrders has none; the items do (see _merge)
        order["currency"], order["total"] = text(raw.get("currency")), amount(raw.get("price"))
    return order


def _items(entry: Mapping[str, Any]) -> StoreOrder:
    """One order of GetMultipleOrderItems: its parcels, statuses, currency and payment time."""
    items = [i for i in entry.get("order_items") or [] if isinstance(i, dict)]
    parcels: dict[str, StoreParcel] = {}
    for item in items:
        number = _clean(item.get("tracking_code"))
        if number and number not in parcels:
            name = provider(item.get("shipment_provider"))
            parcels[number] = {
                "carrier_name": name,
                "tracking_number": number,
                "tracking_url": None,
            }
            if _clean(item.get("package_id")):
                parcels[number]["package"] = _clean(item.get("package_id"))
    statuses = [str(i.get("status")).lower() for i in items if text(i.get("status"))]
    order: StoreOrder = {"external_id": str(_id(entry)), "shipments": list(parcels.values())}
    order["status"] = _status(statuses, cod=False) if statuses else None
    paid = next(
        (_clean(i.get("payment_time")) for i in items if _clean(i.get("payment_time"))), None
    )
    order["paid_at"] = epoch_time(paid, millis=True)
    currency = next((_clean(i.get("currency")) for i in items if _clean(i.get("currency"))), None)
    if currency:
        order["currency"] = currency
    return order


def provider(value: Any) -> str | None:
    """The delivering courier of ``"Pickup: LEX ID, Delivery: J&T Express"`` (Lazada names
    both legs when they differ), else the name as given."""
    raw = _clean(value)
    if raw and "delivery:" in raw.lower():
        return raw[raw.lower().rindex("delivery:") + len("delivery:") :].strip(" ,") or None
    return raw


def _merge(order: StoreOrder, items: StoreOrder | None, price: Any) -> StoreOrder:
    """An order of GetOrders completed by its items (parcels, currency, payment time); the
    items' statuses count when the order's own are missing."""
    if items is None:
        return order
    order["shipments"] = items.get("shipments") or []
    order["paid_at"] = items.get("paid_at")
    if order.get("status") is None:
        order["status"] = items.get("status")
    currency, total = items.get("currency"), amount(price)
    if currency and total is not None and "currency" not in order:
        order["currency"], order["total"] = currency, total
    return order


def parse_trace(body: Any) -> list[TrackingResult]:
    """GetOrderTrace: one tracking result per package (carrier ``lazada``), events oldest
    first, statuses read from the event title and description."""
    if not isinstance(body, dict) or failure(body):
        raise BodyError("not a successful Lazada GetOrderTrace answer")
    out = []
    for module in obj(body.get("result")).get("module") or []:
        for package in obj(module).get("package_detail_info_list") or []:
            package = obj(package)
            found = (_event(obj(e)) for e in package.get("logistic_detail_info_list") or [])
            events = [e for e in found if e is not None]
            if (
                len(events) > 1
                and events[0].time
                and events[-1].time
                and events[0].time > events[-1].time
            ):
                events.reverse()
            number = _clean(package.get("tracking_number")) or ""
            status = events[-1].status if events else Status.PENDING
            out.append(TrackingResult("lazada", number, status, tuple(events), raw=package))
    return out


def _event(raw: Mapping[str, Any]) -> TrackingEvent | None:
    title, words = _clean(raw.get("title")), _clean(raw.get("description"))
    if title is None and words is None:
        return None
    kind = _clean(raw.get("detail_type")) or ""
    found = idn.classify(" ".join(p for p in (title, words) if p))
    status = DETAIL_TYPES.get(kind) or (found.status if found else Status.IN_TRANSIT)
    millis = _clean(raw.get("event_time"))
    when = datetime.fromtimestamp(int(millis) / 1000, UTC) if millis and millis.isdigit() else None
    location = _clean(raw.get("package_location_name"))
    return TrackingEvent(
        when, status, words or title or "", location, kind or _clean(raw.get("status_code"))
    )


# --------------------------------------------------------------------------- the source


class LazadaSource(MarketplaceSource):
    """A Lazada seller's orders and parcels (see the module documentation)."""

    id: ClassVar[str] = "lazada"
    required: ClassVar[tuple[str, ...]] = ("app_key", "app_secret")
    default_base: ClassVar[str] = REGIONS["id"]

    def __init__(self, config: Mapping[str, Any], **kw: Any) -> None:
        region = str(config.get("region") or "id").lower()
        if not config.get("api_base") and region not in REGIONS:
            raise SourceError(f"unknown region {region!r} ({', '.join(REGIONS)})", source=self.id)
        super().__init__({**config, "api_base": config.get("api_base") or REGIONS[region]}, **kw)

    async def fetch(self, run: Pass) -> Fetched:
        size = min(100, int(self.config.get("page_size") or PAGE_SIZE))
        offset = int(run.pos or 0)
        params = {"update_after": _iso(run.start), "update_before": _iso(run.end)}
        params |= {"sort_by": "updated_at", "sort_direction": "ASC"}
        data = obj(await self._api("/orders/get", params | {"offset": offset, "limit": size}))
        raws = [o for o in data.get("orders") or [] if isinstance(o, dict) and _id(o)]
        items = await self._order_items([str(_id(o)) for o in raws])
        orders = [_merge(_order(o), items.get(str(_id(o))), o.get("price")) for o in raws]
        count = _clean(data.get("countTotal")) or ""
        total = int(count) if count.isdigit() else None
        more = offset + len(raws) < total if total else len(raws) == size
        return Fetched(orders, str(offset + len(raws)) if more and raws else None, total)

    async def _order_items(self, ids: list[str]) -> dict[str, StoreOrder]:
        found: dict[str, StoreOrder] = {}
        for i in range(0, len(ids), ITEMS_BATCH):
            chunk = "[" + ",".join(ids[i : i + ITEMS_BATCH]) + "]"
            body = {"code": "0", "data": await self._api("/orders/items/get", {"order_ids": chunk})}
            found |= {order["external_id"]: order for order in parse(body)}
        return found

    async def trace(self, order_id: str) -> list[TrackingResult]:
        """Lazada's logistics events for an order's packages (GetOrderTrace)."""
        result = await self._api("/logistic/order/trace", {"order_id": order_id}, key="result")
        return parse_trace({"code": "0", "result": result})

    async def track_parcels(self, parcels: Sequence[ParcelRef]) -> list[TrackingResult]:
        """GetOrderTrace once per order; each parcel is its package by tracking number (or
        ``ofc_package_id``); a parcel the trace does not list is not found."""
        found: dict[str, list[TrackingResult] | Refused] = {}
        for order_id in dict.fromkeys(p.order_id for p in parcels):
            try:
                found[order_id] = await self.trace(order_id)
            except Refused as err:  # this order only (not ready to ship yet...)
                found[order_id] = err
            except BodyError as err:
                raise SourceError(f"GetOrderTrace: {err}", source=self.id) from err
        out = []
        for parcel in parcels:
            answer = found[parcel.order_id]
            match = None if isinstance(answer, Refused) else _package(answer, parcel)
            if match is None:
                why = answer if isinstance(answer, Refused) else None
                out.append(self.unknown(parcel, why or Refused("not in the trace", source=self.id)))
            else:
                out.append(replace(match, tracking_number=parcel.tracking_number))
        return out

    async def whoami(self) -> str:
        """The seller's name (GetSeller)."""
        data = obj(await self._api("/seller/get", {}))
        return f"seller {text(data.get('name')) or text(data.get('seller_id')) or '?'} answered"

    async def renew(self) -> Tokens:
        path = "/auth/token/refresh"
        base = str(self.config.get("auth_base") or AUTH).rstrip("/")
        params = self._signed(path, {"refresh_token": self.tokens.refresh}, token=False)
        _, body = await self.send("GET", base + path, params=params)
        failed = failure(body)
        if failed or not text(body.get("access_token")):
            what = f"{failed[0]}: {failed[1]}" if failed else "no access_token"
            raise SourceError(f"token refresh refused ({what}); authorize again", source=self.id)
        expires = int(self.wall()) + int(text(body.get("expires_in")) or 0)
        return self.tokens.renewed(body["access_token"], body.get("refresh_token"), expires)

    def _signed(
        self, path: str, params: Mapping[str, Any], *, token: bool = True
    ) -> dict[str, Any]:
        query = {**params, "app_key": self.config["app_key"], "sign_method": "sha256"}
        query["timestamp"] = int(self.wall() * 1000)
        if token:
            query["access_token"] = self.tokens.access
        query["sign"] = sign(self.config["app_secret"], path, query)
        return query

    async def _api(self, path: str, params: Mapping[str, Any], *, key: str = "data") -> Any:
        """``data`` (or ``key``) of a signed GET; TokenExpired or SourceError from its code."""
        status, body = await self.send("GET", self.base + path, params=self._signed(path, params))
        failed = failure(body)
        if failed is None and status < 400:
            return body.get(key)
        code, message = failed or (f"HTTP {status}", "")
        if code in TOKEN_CODES or "access token" in message.lower():
            raise TokenExpired(f"{path}: {code}: {message}", source=self.id)
        if code in THROTTLED:
            raise SourceError(f"{path}: {code}: {message}", source=self.id, retry_after=60.0)
        raise Refused(f"{path}: {code}: {message}".rstrip(": "), source=self.id)


def _package(results: list[TrackingResult], parcel: ParcelRef) -> TrackingResult | None:
    for result in results:
        if result.tracking_number.upper() == parcel.tracking_number.upper():
            return result
    for result in results:
        if parcel.package and _clean(obj(result.raw).get("ofc_package_id")) == parcel.package:
            return result
    return None


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
