"""The ``shopee`` order source: a shop's orders from Shopee Open Platform v2.

Settings entry: ``{"id": "shopee", "partner_id": 2001887, "partner_key": "...", "shop_id":
322300222, "access_token": "...", "refresh_token": "..."}``; optional ``api_base`` (sandbox:
``https://partner.test-stable.shopeemobile.com``), ``rate`` (requests/s), ``page_size``.

``track_via_marketplace``: ``"fallback"`` (the default: a parcel no carrier of ours tracks, such
as the platform's own logistics, is tracked through this API), ``"always"`` or ``"never"``; see
:mod:`notifier.pipeline.marketplace`.

A pass reads the orders updated in a window of at most 15 days (``get_order_list`` refuses
more) page by page (``cursor``), then the returns updated in it (``get_return_list``). An order
page costs a ``get_order_detail`` per 50 orders and a ``get_tracking_number`` per package that
a courier has: the detail names the courier (``shipping_carrier``), not the resi. Tokens: see
:mod:`notifier.orders.signing` (4-hour access tokens, refresh tokens good once).

Shopee masks the buyer's phone and name (``"******64"``) and gives no email: the parcels are
tracked and the merchant's customer service gets the alerts (:mod:`notifier.alerts`).

Pushes (code 3, order status; code 4, tracking number) are received at
``POST /webhooks/orders/shopee/<merchant>`` and checked with the partner key
(:mod:`notifier.orders.pushes`); the callback URL registered with Shopee must be that address
under ``server.public_url``.

Read: the v2 reference pages of ``order.get_order_list``/``get_order_detail``/
``get_shipment_list``, ``logistics.get_tracking_number``/``get_tracking_info``,
``returns.get_return_list``/``get_return_detail``, ``public.refresh_access_token``,
``push.get_lost_push_message``. Not public: the "Data Definition" lists (LogisticsStatus and
ReturnStatus values come from SDK enums), rate limits (``[0, 0, 0]``), push code 4 bodies.
"""

# ruff: noqa: SIM905  (status tables read best as words)
from __future__ import annotations

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
from notifier.orders.signing import shopee_sign as sign

LIVE = "https://partner.shopeemobile.com"
DETAIL_BATCH = 50  # get_order_detail: order_sn_list "limit [1,50]"
PAGE_SIZE = 50  # get_order_list and get_return_list take 1..100
DETAIL_FIELDS = (
    "buyer_username,pay_time,recipient_address,total_amount,shipping_carrier,package_list,"
    "cancel_by,cancel_reason,buyer_cancel_reason,pickup_done_time"
)

# order_status -> ours; None keeps what we had (a cancellation or a return being decided).
# PENDING: paid but held by Shopee (pending_terms); its pay_time says it is paid.
ORDER_STATUSES: dict[str, str | None] = {
    **dict.fromkeys(("UNPAID", "PENDING"), "pending"),
    **dict.fromkeys(("READY_TO_SHIP", "INVOICE_PENDING"), "paid"),
    **dict.fromkeys(("RETRY_SHIP", "PROCESSED"), "processing"),
    **dict.fromkeys(("SHIPPED", "TO_CONFIRM_RECEIVE"), "fulfilled"),
    **dict.fromkeys(("IN_CANCEL", "TO_RETURN"), None),
    "COMPLETED": "completed",
    "CANCELLED": "cancelled",
}
# Orders in these statuses have a parcel with a courier (their packages may not say so).
SHIPPED = frozenset({"PROCESSED", "RETRY_SHIP", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"})
# Package logistics statuses after the courier has the parcel (a resi exists).
HANDED_OVER = frozenset(
    f"LOGISTICS_{s}"
    for s in "REQUEST_CREATED PICKUP_DONE PICKUP_RETRY LOST DELIVERY_DONE "
    "DELIVERY_FAILED COD_REJECTED".split()
)
# Return status -> (return status, refund status), ours. CANCELLED and CLOSED end a request
# without a return or a refund: nothing to tell (the store's word is kept in ``returns``).
RETURN_STATUSES: dict[str, tuple[str | None, str | None]] = {
    **dict.fromkeys(("REQUESTED", "PROCESSING", "JUDGING", "SELLER_DISPUTE"), ("requested", None)),
    "ACCEPTED": ("approved", "pending"),
    "REFUND_PAID": ("completed", "completed"),
    "COMPLETED": ("completed", "completed"),
}
# Package logistics_status (without LOGISTICS_) -> tracking status, for get_tracking_info.
# DELIVERY_FAILED is final there (the parcel goes back): a human decides what comes next.
LOGISTICS: dict[str, Status] = {
    **dict.fromkeys(("NOT_START", "PENDING_ARRANGE", "READY"), Status.PENDING),
    **dict.fromkeys(("REQUEST_CREATED", "PICKUP_RETRY"), Status.INFO_RECEIVED),
    "PICKUP_DONE": Status.IN_TRANSIT,
    "DELIVERY_DONE": Status.DELIVERED,
    **dict.fromkeys(
        "DELIVERY_FAILED PICKUP_FAILED COD_REJECTED REQUEST_CANCELED LOST INVALID".split(),
        Status.EXCEPTION,
    ),
}
# Event-level logistics_status of tracking_info[] -> tracking status (others: the words).
EVENTS: dict[str, Status] = {
    **dict.fromkeys(
        "INITIAL ORDER_INIT ORDER_SUBMITTED ORDER_FINALIZED ORDER_CREATED PICKUP_REQUESTED "
        "PICKUP_PENDING PICKUP_RETRY".split(),
        Status.INFO_RECEIVED,
    ),
    **dict.fromkeys(
        "PICKED_UP DELIVERY_PENDING UPDATE UPDATE_SUBMITTED UPDATE_CREATED".split(),
        Status.IN_TRANSIT,
    ),
    "DELIVERED": Status.DELIVERED,
    "FAILED_DELIVERED": Status.FAILED_ATTEMPT,
    "RETURNED": Status.RETURNED_TO_SENDER,
    "EXPIRED": Status.EXPIRED,
}
AUTH_ERRORS = frozenset({"error_auth", "invalid_access_token", "error_invalid_access_token"})
THROTTLED = frozenset({"error_too_many_request", "error_rate_limit", "too_many_request"})


# Pushes (POST /webhooks/orders/...): the hooks of notifier.orders.base, in notifier.orders.pushes.
verify_push = pushes.shopee_verify
webhook_event_id = pushes.body_digest


# --------------------------------------------------------------------------- pure reading


def error_of(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(error, message) of an error envelope; ``""`` and the doc samples' ``"-"`` are none."""
    error = text(body.get("error"))
    if error in (None, "-"):
        return None
    return str(error), text(body.get("message")) or ""


def parse(body: Any) -> list[StoreOrder]:
    """The orders one decoded Shopee body tells about (order list, order detail, shipment
    list, return list, push or lost-push list); ``[]`` for the others (tracking number and
    info, tokens). BodyError for an error envelope or a body that is not Shopee's."""
    if not isinstance(body, dict):
        raise BodyError("not a Shopee body (expected a JSON object)")
    failed = error_of(body)
    if failed:
        raise BodyError(f"Shopee error {failed[0]}: {failed[1]}".rstrip(": "))
    if "code" in body and "data" in body and "response" not in body:
        return _push([body])
    response = body.get("response")
    if not isinstance(response, dict):
        if "access_token" in body or "request_id" in body:
            return []
        raise BodyError("not a Shopee body (no response object)")
    if "push_message_list" in response:
        return _push(response.get("push_message_list") or [])
    if "return" in response:
        return [_return(r) for r in response.get("return") or [] if isinstance(r, dict)]
    return [_order(o) for o in response.get("order_list") or [] if _has_sn(o)]


def _status(value: str) -> OrderStatus | None:
    return cast(OrderStatus | None, ORDER_STATUSES.get(value))


def _has_sn(raw: Any) -> bool:
    return isinstance(raw, dict) and text(raw.get("order_sn")) is not None


def _order(raw: Mapping[str, Any]) -> StoreOrder:
    """An entry of get_order_detail (everything) or of a list (the id, maybe the status)."""
    order: StoreOrder = {"external_id": str(text(raw.get("order_sn")))}
    status = text(raw.get("order_status"))
    if status:
        order["status"] = _status(status)
    if "update_time" not in raw and "create_time" not in raw:
        return order  # a list entry: nothing else is said
    order["paid_at"] = epoch_time(raw.get("pay_time"))
    order["updated_at"] = epoch_time(raw.get("update_time"))
    currency, total = text(raw.get("currency")), amount(raw.get("total_amount"))
    if currency and total is not None:
        order["currency"], order["total"] = currency, total
    address = obj(raw.get("recipient_address"))
    order["customer"] = {
        "name": _unmasked(address.get("name")),
        "phone": _unmasked(address.get("phone")),
    }
    order["shipments"] = []  # the detail has no tracking numbers: see packages()
    return order


def _unmasked(value: Any) -> str | None:
    """A contact detail unless Shopee masked it (``"******64"``, ``"P******n"``, ``"****"``)."""
    raw = text(value)
    return None if raw is None or "*" in raw else raw


def packages(raw: Mapping[str, Any]) -> list[tuple[str | None, str | None]]:
    """(package_number, carrier name) of each package of a detail entry that has a resi to
    ask for; a shipped order without ``package_list`` is one parcel without a package number."""
    status = text(raw.get("order_status")) or ""
    found = []
    for pkg in raw.get("package_list") or []:
        if not isinstance(pkg, dict):
            continue
        logistics = text(pkg.get("logistics_status"))
        if logistics in HANDED_OVER or (logistics is None and status in SHIPPED):
            carrier = text(pkg.get("shipping_carrier")) or text(raw.get("shipping_carrier"))
            found.append((text(pkg.get("package_number")), carrier))
    if not raw.get("package_list") and status in SHIPPED:
        found.append((None, text(raw.get("shipping_carrier"))))
    return found


def _return(raw: Mapping[str, Any]) -> StoreOrder:
    status = text(raw.get("status"))
    ours, refund = RETURN_STATUSES.get(status or "", (None, None))
    sn = str(text(raw.get("return_sn")) or "")
    order: StoreOrder = {
        "external_id": str(text(raw.get("order_sn")) or sn),
        "updated_at": epoch_time(raw.get("update_time")),
        "refunds": [
            {
                "id": sn,
                "status": cast(RefundStatus | None, refund),
                "store_status": status,
                "amount": amount(raw.get("refund_amount")),
                "currency": text(raw.get("currency")),
                "reason": text(raw.get("text_reason")) or text(raw.get("reason")),
                "created_at": epoch_time(raw.get("create_time")),
            }
        ],
    }
    if raw.get("return_solution") != 1:  # 1: refund only, nothing comes back
        back = cast(ReturnStatus | None, ours)
        order["returns"] = [
            {
                "id": sn,
                "status": back,
                "store_status": status,
                "tracking_number": text(raw.get("tracking_number")),
            }
        ]
    return order


def _push(messages: list[Any]) -> list[StoreOrder]:
    """Order status (code 3) and tracking number (code 4) pushes; other codes say nothing."""
    out: list[StoreOrder] = []
    for message in messages:
        data = message.get("data") if isinstance(message, dict) else None
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            message, data = data, data["data"]  # get_lost_push_message wraps the push body
        if not isinstance(data, dict) or not text(data.get("ordersn")):
            continue
        order: StoreOrder = {"external_id": str(text(data.get("ordersn")))}
        if message.get("code") == 3 and text(data.get("status")):
            order["status"] = _status(str(data["status"]))
            order["updated_at"] = epoch_time(data.get("update_time"))
        elif message.get("code") == 4 and text(data.get("tracking_no")):
            package = text(data.get("package_number"))
            order["shipments"] = [_parcel(None, str(data["tracking_no"]), package)]
        else:
            continue
        out.append(order)
    return out


def _parcel(carrier: str | None, number: str, package: str | None = None) -> StoreParcel:
    parcel: StoreParcel = {"carrier_name": carrier, "tracking_number": number, "tracking_url": None}
    if package:
        parcel["package"] = package
    return parcel


def parse_tracking_info(body: Any, tracking_number: str = "") -> TrackingResult:
    """Shopee's own logistics events for one package (get_tracking_info), oldest first, as
    a tracking result of carrier ``shopee`` (the body does not repeat the resi)."""
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict) or (isinstance(body, dict) and error_of(body)):
        raise BodyError("not a Shopee get_tracking_info answer")
    events = [e for e in (_event(raw) for raw in response.get("tracking_info") or []) if e]
    if len(events) > 1 and events[0].time and events[-1].time and events[0].time > events[-1].time:
        events.reverse()
    raw_status = text(response.get("logistics_status"))
    status = LOGISTICS.get((raw_status or "").removeprefix("LOGISTICS_")) or (
        events[-1].status if events else Status.PENDING
    )
    return TrackingResult(
        "shopee", tracking_number, status, tuple(events), raw_status=raw_status, raw=body
    )


def _event(raw: Any) -> TrackingEvent | None:
    if not isinstance(raw, dict):
        return None
    code, words = text(raw.get("logistics_status")), text(raw.get("description")) or ""
    found = idn.classify(words)
    status = EVENTS.get(code or "") or (found.status if found else Status.IN_TRANSIT)
    stamp = raw.get("update_time")
    moment = (
        datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, int | float) and stamp else None
    )
    return TrackingEvent(moment, status, words, None, code or (found.keyword if found else None))


# --------------------------------------------------------------------------- the source


class ShopeeSource(MarketplaceSource):
    """A Shopee shop's orders, parcels and returns (see the module documentation)."""

    id: ClassVar[str] = "shopee"
    required: ClassVar[tuple[str, ...]] = ("partner_id", "partner_key", "shop_id")
    default_base: ClassVar[str] = LIVE
    phases: ClassVar[tuple[str, ...]] = ("orders", "returns")

    async def fetch(self, run: Pass) -> Fetched:
        size = min(100, int(self.config.get("page_size") or PAGE_SIZE))
        if run.mode == "returns":
            page_no = int(run.pos or 0)  # "Default is 0"
            params: dict[str, Any] = {"page_no": page_no, "page_size": size}
            params |= {"update_time_from": run.start, "update_time_to": run.end}
            body = await self._api("GET", "/api/v2/returns/get_return_list", params)
            more = bool((body.get("response") or {}).get("more"))
            return Fetched(parse(body), str(page_no + 1) if more else None)
        params = {"time_range_field": "update_time", "time_from": run.start, "time_to": run.end}
        params |= {"page_size": size, "cursor": run.pos or ""}
        params["response_optional_fields"] = "order_status"
        body = await self._api("GET", "/api/v2/order/get_order_list", params)
        response = body.get("response") or {}
        sns = [str(o["order_sn"]) for o in response.get("order_list") or [] if _has_sn(o)]
        fetched = Fetched(await self._details(sns), None)
        cursor = text(response.get("next_cursor"))
        fetched.next_pos = cursor if response.get("more") and cursor else None
        return fetched

    async def _details(self, sns: list[str]) -> list[StoreOrder]:
        out: list[StoreOrder] = []
        for i in range(0, len(sns), DETAIL_BATCH):
            chunk = ",".join(sns[i : i + DETAIL_BATCH])
            params = {"order_sn_list": chunk, "response_optional_fields": DETAIL_FIELDS}
            body = await self._api("GET", "/api/v2/order/get_order_detail", params)
            for raw in (body.get("response") or {}).get("order_list") or []:
                if _has_sn(raw):
                    order = _order(raw)
                    order["shipments"] = await self._parcels(order["external_id"], raw)
                    out.append(order)
        return out

    async def _parcels(self, order_sn: str, raw: Mapping[str, Any]) -> list[StoreParcel]:
        found = []
        for package, carrier in packages(raw):
            params = {"order_sn": order_sn} | ({"package_number": package} if package else {})
            try:
                body = await self._api("GET", "/api/v2/logistics/get_tracking_number", params)
            except SourceError as err:
                if isinstance(err, TokenExpired) or err.retry_after is not None:
                    raise
                continue  # this package only (not found, no resi yet): the next update retries
            number = text((body.get("response") or {}).get("tracking_number"))
            if number:
                found.append(_parcel(carrier, number, package))
        return found

    async def tracking(self, order_sn: str, package_number: str | None = None) -> TrackingResult:
        """Shopee's own logistics events for one package (``get_tracking_info``)."""
        extra = {"package_number": package_number} if package_number else {}
        params = {"order_sn": order_sn, **extra}
        body = await self._api("GET", "/api/v2/logistics/get_tracking_info", params)
        return parse_tracking_info(body)

    async def track_parcels(self, parcels: Sequence[ParcelRef]) -> list[TrackingResult]:
        """``get_tracking_info`` per package (the answer does not name the resi)."""
        out = []
        for parcel in parcels:
            try:
                result = await self.tracking(parcel.order_id, parcel.package)
            except Refused as err:  # this package only (unknown to Shopee, no events yet)
                out.append(self.unknown(parcel, err))
                continue
            except BodyError as err:
                raise SourceError(f"get_tracking_info: {err}", source=self.id) from err
            out.append(replace(result, tracking_number=parcel.tracking_number))
        return out

    async def whoami(self) -> str:
        """The shop's name (``get_shop_info``)."""
        body = await self._api("GET", "/api/v2/shop/get_shop_info", {})
        return f"shop {text(body.get('shop_name')) or self.config['shop_id']} answered"

    async def renew(self) -> Tokens:
        path = "/api/v2/auth/access_token/get"
        payload = {
            "refresh_token": self.tokens.refresh,
            "partner_id": int(self.config["partner_id"]),
            "shop_id": int(self.config["shop_id"]),
        }
        _, body = await self.send(
            "POST", self.base + path, params=self._signed(path, shop=False), json=payload
        )
        failed = error_of(body)
        if failed or not text(body.get("access_token")):
            what = f"{failed[0]}: {failed[1]}" if failed else "no access_token"
            raise SourceError(
                f"token refresh refused ({what}); authorize the app again", source=self.id
            )
        expires = int(self.wall()) + int(body.get("expire_in") or 14400)
        return self.tokens.renewed(body["access_token"], body.get("refresh_token"), expires)

    def _signed(self, path: str, *, shop: bool = True) -> dict[str, Any]:
        partner, key, ts = self.config["partner_id"], self.config["partner_key"], int(self.wall())
        if not shop:
            return {"partner_id": partner, "timestamp": ts, "sign": sign(key, partner, path, ts)}
        shop_id, token = self.config["shop_id"], self.tokens.access
        signature = sign(key, partner, path, ts, token, shop_id)
        query = {"partner_id": partner, "timestamp": ts, "access_token": token, "sign": signature}
        return query | {"shop_id": shop_id}

    async def _api(self, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        query = {**params, **self._signed(path)}
        status, body = await self.send(method, self.base + path, params=query)
        failed = error_of(body)
        if failed is None and status < 400:
            return body
        code, message = failed or (f"HTTP {status}", "")
        if code in AUTH_ERRORS or "access_token" in message.lower() or status == 401:
            raise TokenExpired(f"{path}: {code}: {message}", source=self.id)
        if code in THROTTLED or "too many" in message.lower():
            raise SourceError(f"{path}: {code}", source=self.id, retry_after=60.0)
        raise Refused(f"{path}: {code}: {message}".rstrip(": "), source=self.id)
