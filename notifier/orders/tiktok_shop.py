"""The ``tiktok_shop`` order source: a shop's orders from the TikTok Shop Partner API, which
since 2024 also serves Tokopedia sellers (an Indonesian shop is a TikTok Shop of region ID).

Settings entry: ``{"id": "tiktok_shop", "app_key": "...", "app_secret": "...", "shop_cipher":
"ROW_...", "access_token": "...", "refresh_token": "..."}``; optional ``api_base``,
``auth_base``, ``rate`` (requests/s), ``page_size``.

``track_via_marketplace``: ``"fallback"`` (the default: a parcel no carrier of ours tracks, such
as the platform's own logistics, is tracked through this API), ``"always"`` or ``"never"``; see
:mod:`notifier.pipeline.marketplace`.

A pass reads the orders updated in a window (``POST /order/202309/orders/search`` with
``update_time_ge``/``update_time_lt``, sorted by update time, ``page_token`` pages; each order
comes whole, line items and tracking numbers included), then the returns updated in it
(``POST /return_refund/202309/returns/search``). Requests carry ``x-tts-access-token`` and a
signed query (:func:`~notifier.orders.signing.tiktok_sign`); access tokens are renewed at
``auth.tiktok-shops.com/api/v2/token/refresh`` (``access_token_expire_in`` is a timestamp).

TikTok masks the recipient's phone (``"(+1)213-***-1234"``) and gives a relay address as
``buyer_email`` (``...@scs2.tiktok.com``, ``...@chat.seller.tiktok.com``) meant for the
platform's own messages: both are left out, and the merchant's customer service gets the alerts
(:mod:`notifier.alerts`).

Webhooks (type 1, order status; type 12, return status) are received at
``POST /webhooks/orders/tiktok_shop/<merchant>`` and checked with the app key and secret
(:mod:`notifier.orders.pushes`).

Read: Partner Center pages "Sign your API request", "Get Order List"/"Get Order Detail"
(202309), "Get Tracking" (``GET /fulfillment/202309/orders/{id}/tracking``), "Search Returns",
"Order status change" webhook, token get/refresh. Not public (or not reachable without a
partner account): rate limits, the full error-code table (only the 105xxx/360xxx token group
is known), the return-status list (taken from SDKs), and the tracking event codes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from carriers import indonesia as idn
from carriers.base import Status, TrackingEvent, TrackingResult
from notifier.orders import pushes
from notifier.orders.base import SourceError
from notifier.orders.parse_contract import (
    BodyError,
    RefundStatus,
    ReturnStatus,
    StoreOrder,
    StoreParcel,
    amount,
    epoch_time,
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
from notifier.orders.signing import tiktok_sign as sign

LIVE = "https://open-api.tiktokglobalshop.com"
AUTH = "https://auth.tiktok-shops.com"
PAGE_SIZE = 50  # search pages take 1..100
ORDERS = "/order/202309/orders/search"
RETURNS = "/return_refund/202309/returns/search"

ORDER_STATUSES: dict[str, str] = {
    "UNPAID": "pending",
    **dict.fromkeys(("ON_HOLD", "AWAITING_SHIPMENT"), "paid"),  # ON_HOLD: paid, cancellable
    **dict.fromkeys(("PARTIALLY_SHIPPING", "AWAITING_COLLECTION"), "processing"),
    **dict.fromkeys(("IN_TRANSIT", "DELIVERED"), "fulfilled"),
    "COMPLETED": "completed",
    **dict.fromkeys(("CANCELLED", "CANCEL"), "cancelled"),  # the webhook says CANCEL
}
# return_status -> (return status, refund status), ours; a cancelled request tells nothing.
RETURN_STATUSES: dict[str, tuple[str | None, str | None]] = {
    "RETURN_OR_REFUND_REQUEST_PENDING": ("requested", None),
    "REFUND_OR_RETURN_REQUEST_REJECT": ("rejected", None),
    "AWAITING_BUYER_SHIP": ("approved", None),
    "BUYER_SHIPPED_ITEM": ("in_transit", None),
    "REJECT_RECEIVE_PACKAGE": ("rejected", None),
    "RETURN_OR_REFUND_REQUEST_SUCCESS": ("received", "pending"),
    "RETURN_OR_REFUND_REQUEST_COMPLETE": ("completed", "completed"),
}
REFUND_ONLY = frozenset({"REFUND", "REFUND_ONLY"})  # return_type: nothing comes back
RELAY_DOMAINS = ("tiktok.com", "tiktokshop.com", "tokopedia.com")
TOKEN_CODES = ("105", "360")  # "105xxx"/"360xxx": the access token is invalid or expired
THROTTLED = frozenset({36009004, 429})


# Pushes (POST /webhooks/orders/...): the hooks of notifier.orders.base, in notifier.orders.pushes.
verify_push = pushes.tiktok_verify
webhook_event_id = pushes.tiktok_event_id


# --------------------------------------------------------------------------- pure reading


def parse(body: Any) -> list[StoreOrder]:
    """The orders one decoded TikTok Shop body tells about: an order list or detail answer,
    a bare order object, a return search answer, an order-status or return webhook; ``[]``
    for the others (tracking, tokens, shops). BodyError for an error answer or a foreign body."""
    if not isinstance(body, dict):
        raise BodyError("not a TikTok Shop body (expected a JSON object)")
    if "id" in body and ("line_items" in body or "status" in body):
        return [_order(body)]  # one element of data.orders
    if "type" in body and isinstance(body.get("data"), dict) and "code" not in body:
        return _webhook(body)
    if "code" not in body:
        raise BodyError("not a TikTok Shop body (no code/data envelope)")
    if str(body.get("code")) != "0":
        raise BodyError(f"TikTok Shop error {body.get('code')}: {text(body.get('message')) or ''}")
    data = obj(body.get("data"))
    if "return_orders" in data:
        return [_return(r) for r in data.get("return_orders") or [] if isinstance(r, dict)]
    return [_order(o) for o in data.get("orders") or [] if isinstance(o, dict) and o.get("id")]


def _status(value: Any) -> OrderStatus | None:
    return cast(OrderStatus | None, ORDER_STATUSES.get(str(value or "")))


def _order(raw: Mapping[str, Any]) -> StoreOrder:
    order: StoreOrder = {
        "external_id": str(text(raw.get("id"))),
        "status": _status(raw.get("status")),
        "paid_at": epoch_time(raw.get("paid_time")),
        "updated_at": epoch_time(raw.get("update_time")),
        "shipments": _parcels(raw),
    }
    payment = obj(raw.get("payment"))
    currency, total = text(payment.get("currency")), amount(payment.get("total_amount"))
    if currency and total is not None:
        order["currency"], order["total"] = currency, total
    address = obj(raw.get("recipient_address"))
    email = text(raw.get("buyer_email"))
    relay = email is None or email.lower().rsplit("@", 1)[-1].endswith(RELAY_DOMAINS)
    order["customer"] = {
        "name": _unmasked(address.get("name")),
        "phone": _unmasked(address.get("phone_number")),
        "email": None if relay else email,
    }
    return order


def _unmasked(value: Any) -> str | None:
    raw = text(value)
    return None if raw is None or "*" in raw else raw


def _parcels(raw: Mapping[str, Any]) -> list[StoreParcel]:
    """One parcel per tracking number: the line items' (each names its package's courier),
    else the order's own."""
    found: dict[str, StoreParcel] = {}
    for item in raw.get("line_items") or []:
        number = text(item.get("tracking_number")) if isinstance(item, dict) else None
        if number and number not in found:
            name = text(item.get("shipping_provider_name")) or text(raw.get("shipping_provider"))
            found[number] = {"carrier_name": name, "tracking_number": number, "tracking_url": None}
            if text(item.get("package_id")):
                found[number]["package"] = text(item.get("package_id"))
    order_number = text(raw.get("tracking_number"))
    if order_number and not found:
        name = text(raw.get("shipping_provider"))
        found[order_number] = {
            "carrier_name": name,
            "tracking_number": order_number,
            "tracking_url": None,
        }
    return list(found.values())


def _return(raw: Mapping[str, Any]) -> StoreOrder:
    status = text(raw.get("return_status"))
    ours, refund = RETURN_STATUSES.get(status or "", (None, None))
    rid = str(text(raw.get("return_id")) or "")
    money = obj(raw.get("refund_amount"))
    order: StoreOrder = {
        "external_id": str(text(raw.get("order_id")) or rid),
        "updated_at": epoch_time(raw.get("update_time")),
        "refunds": [
            {
                "id": rid,
                "status": cast(RefundStatus | None, refund),
                "store_status": status,
                "amount": amount(money.get("refund_total")),
                "currency": text(money.get("currency")),
                "reason": text(raw.get("return_reason_text")) or text(raw.get("return_reason")),
                "created_at": epoch_time(raw.get("create_time")),
            }
        ],
    }
    if text(raw.get("return_type")) not in REFUND_ONLY:
        back = cast(ReturnStatus | None, ours)
        tracking = text(raw.get("return_tracking_number"))
        order["returns"] = [
            {"id": rid, "status": back, "store_status": status, "tracking_number": tracking}
        ]
    return order


def _webhook(body: Mapping[str, Any]) -> list[StoreOrder]:
    """Type 1 (order status change) and 12 (return status change); others say nothing."""
    data = body["data"]
    if body.get("type") == 12 and text(data.get("order_id")):
        return [_return(data)]
    if body.get("type") != 1 or not text(data.get("order_id")):
        return []
    status = _status(data.get("order_status"))
    order: StoreOrder = {"external_id": str(data["order_id"]), "status": status}
    order["updated_at"] = epoch_time(data.get("update_time"))
    return [order]


def parse_tracking(body: Any, tracking_number: str = "") -> TrackingResult:
    """The logistics events of one order (Get Tracking: ``data.tracking[]`` of ``description``
    and ``update_time_millis``), oldest first; statuses are read from the words (TikTok gives
    no event codes)."""
    if not isinstance(body, dict) or str(body.get("code")) != "0":
        raise BodyError("not a successful TikTok Shop Get Tracking answer")
    data = obj(body.get("data"))
    events = []
    for raw in data.get("tracking") or []:
        words = text(raw.get("description")) if isinstance(raw, dict) else None
        if words is None:
            continue
        found = idn.classify(words)
        millis = raw.get("update_time_millis")
        when = datetime.fromtimestamp(millis / 1000, UTC) if isinstance(millis, int) else None
        status = found.status if found else Status.IN_TRANSIT
        events.append(TrackingEvent(when, status, words, None, found.keyword if found else None))
    if len(events) > 1 and events[0].time and events[-1].time and events[0].time > events[-1].time:
        events.reverse()
    status = events[-1].status if events else Status.PENDING
    return TrackingResult("tiktok_shop", tracking_number, status, tuple(events), raw=body)


# --------------------------------------------------------------------------- the source


class TikTokShopSource(MarketplaceSource):
    """A TikTok Shop (or Tokopedia) shop's orders, parcels and returns."""

    id: ClassVar[str] = "tiktok_shop"
    required: ClassVar[tuple[str, ...]] = ("app_key", "app_secret", "shop_cipher")
    default_base: ClassVar[str] = LIVE
    phases: ClassVar[tuple[str, ...]] = ("orders", "returns")

    async def fetch(self, run: Pass) -> Fetched:
        size = min(100, int(self.config.get("page_size") or PAGE_SIZE))
        query = {"page_size": size, "sort_field": "update_time", "sort_order": "ASC"}
        if run.pos:
            query["page_token"] = run.pos
        search = {"update_time_ge": run.start, "update_time_lt": run.end}
        path = RETURNS if run.mode == "returns" else ORDERS
        data = await self._api("POST", path, query, search)
        next_token = text(data.get("next_page_token"))
        total = data.get("total_count") if isinstance(data.get("total_count"), int) else None
        return Fetched(parse({"code": 0, "data": data}), next_token, total)

    async def tracking(self, order_id: str) -> TrackingResult:
        """TikTok's logistics events for one order (Get Tracking)."""
        data = await self._api("GET", f"/fulfillment/202309/orders/{order_id}/tracking", {})
        return parse_tracking({"code": 0, "data": data})

    async def track_parcels(self, parcels: Sequence[ParcelRef]) -> list[TrackingResult]:
        """Get Tracking once per order; each of its parcels gets the order's events (the
        202309 call is per order: a split order's packages share them)."""
        answers: dict[str, TrackingResult | Refused] = {}
        for order_id in dict.fromkeys(p.order_id for p in parcels):
            try:
                answers[order_id] = await self.tracking(order_id)
            except Refused as err:  # this order only
                answers[order_id] = err
            except BodyError as err:
                raise SourceError(f"Get Tracking: {err}", source=self.id) from err
        out = []
        for parcel in parcels:
            answer = answers[parcel.order_id]
            if isinstance(answer, Refused):
                out.append(self.unknown(parcel, answer))
            else:
                out.append(replace(answer, tracking_number=parcel.tracking_number))
        return out

    async def whoami(self) -> str:
        """The authorized shops (name, region)."""
        data = await self._api("GET", "/authorization/202309/shops", {}, shop=False)
        shops = [s for s in data.get("shops") or [] if isinstance(s, dict)]
        names = ", ".join(f"{s.get('name')} ({s.get('region')})" for s in shops)
        return f"authorized shop(s): {names or 'none'}"

    async def renew(self) -> Tokens:
        base = str(self.config.get("auth_base") or AUTH).rstrip("/")
        query = {"app_key": self.config["app_key"], "app_secret": self.config["app_secret"]}
        query |= {"refresh_token": self.tokens.refresh, "grant_type": "refresh_token"}
        _, body = await self.send("GET", f"{base}/api/v2/token/refresh", params=query)
        data = obj(body.get("data"))
        if str(body.get("code")) != "0" or not text(data.get("access_token")):
            what = f"{body.get('code')}: {text(body.get('message')) or 'no access_token'}"
            raise SourceError(f"token refresh refused ({what}); authorize again", source=self.id)
        expires = int(data.get("access_token_expire_in") or 0)  # a timestamp, not a duration
        return self.tokens.renewed(data["access_token"], data.get("refresh_token"), expires)

    async def _api(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any],
        payload: Any = None,
        *,
        shop: bool = True,
    ) -> dict[str, Any]:
        """``data`` of a signed call; TokenExpired or SourceError from its ``code``."""
        params = {**query, "app_key": self.config["app_key"], "timestamp": int(self.wall())}
        if shop:
            params["shop_cipher"] = self.config["shop_cipher"]
        # httpx sends ``json=`` compactly and unescaped: the same bytes are signed.
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload else ""
        params["sign"] = sign(self.config["app_secret"], path, params, raw)
        self.http.client.headers["x-tts-access-token"] = self.tokens.access
        status, body = await self.send(method, self.base + path, params=params, json=payload)
        code = body.get("code")
        if str(code) == "0" and status < 400:
            return obj(body.get("data"))
        message = f"{path}: {code}: {text(body.get('message')) or f'HTTP {status}'}"
        if str(code).startswith(TOKEN_CODES) or status == 401:
            raise TokenExpired(message, source=self.id)
        if code in THROTTLED:
            raise SourceError(message, source=self.id, retry_after=60.0)
        raise Refused(message, source=self.id)
