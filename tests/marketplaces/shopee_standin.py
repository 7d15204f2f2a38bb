"""A Shopee Open Platform v2 stand-in: the shop's orders (the documented get_order_detail
sample, varied), their packages' tracking numbers and returns, behind Shopee's signing and
token rules."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.marketplaces.standin import (
    BASE_TS,
    DAY,
    StandIn,
    clone,
    hexmac,
    json_response,
    sample,
)

PARTNER_ID, PARTNER_KEY, SHOP_ID = 2001887, "shopee-partner-key", 322300222
WINDOW = 15 * DAY  # get_order_list: "The maximum date range ... is 15 days"

# (order_sn, status, hours after BASE_TS, packages: (number, carrier, logistics, resi))
ORDERS: list[tuple[str, str, int, list[tuple[str, str, str, str]]]] = [
    ("261201AAAA0001", "READY_TO_SHIP", 1, [("OFG1", "J&T Express", "LOGISTICS_READY", "")]),
    (
        "261201AAAA0002",
        "SHIPPED",
        2,
        [("OFG2", "J&T Express", "LOGISTICS_PICKUP_DONE", "JP2611260002")],
    ),
    (
        "261201AAAA0003",
        "COMPLETED",
        3,
        [("OFG3", "5-Day Delivery (SPX)", "LOGISTICS_DELIVERY_DONE", "SPXID0261120003")],
    ),
    (
        "261201AAAA0004",
        "TO_CONFIRM_RECEIVE",
        4,
        [
            ("OFG4A", "JNE Reguler", "LOGISTICS_DELIVERY_DONE", "CGK2611260004"),
            ("OFG4B", "Giao Hàng Nhanh", "LOGISTICS_PICKUP_DONE", "GHN2611260004"),
        ],
    ),
    ("261201AAAA0005", "CANCELLED", 5, []),
]


def detail(sn: str, status: str, hours: int, packages: list[Any]) -> dict[str, Any]:
    """The documented detail sample, as this order."""
    order = clone(sample("shopee/order_get_order_detail.json")["response"]["order_list"][0])
    order |= {"order_sn": sn, "order_status": status, "update_time": BASE_TS + hours * 3600}
    order |= {"currency": "IDR", "total_amount": 150000.0, "region": "ID"}
    order["pay_time"] = None if status == "UNPAID" else BASE_TS + hours * 3600 - 600
    template = order["package_list"][0]
    order["package_list"] = [
        template | {"package_number": n, "shipping_carrier": c, "logistics_status": s}
        for n, c, s, _ in packages
    ]
    return order


class ShopeeStandIn(StandIn):
    """Checks signatures, timestamps, windows and tokens as Shopee documents them."""

    def __init__(self) -> None:
        super().__init__()
        self.orders = {sn: detail(sn, st, h, p) for sn, st, h, p in ORDERS}
        self.resi = {(sn, n): r for sn, _, _, p in ORDERS for n, _, _, r in p}
        ret = clone(sample("shopee/returns_get_return_list.json")["response"]["return"][0])
        ret |= {"order_sn": "261201AAAA0003", "status": "ACCEPTED", "update_time": BASE_TS + 7200}
        self.returns = [ret | {"currency": "IDR", "refund_amount": 150000}]
        self.throttle_next = 0  # shop calls answered error_too_many_request
        self.throttle_after_refresh = False  # the first shop call after a refresh is throttled

    def routes(self) -> list[Route]:
        return [
            Route("/api/v2/order/get_order_list", self.order_list),
            Route("/api/v2/order/get_order_detail", self.order_detail),
            Route("/api/v2/logistics/get_tracking_number", self.tracking_number),
            Route("/api/v2/logistics/get_tracking_info", self.tracking_info),
            Route("/api/v2/returns/get_return_list", self.return_list),
            Route("/api/v2/shop/get_shop_info", self.shop_info),
            Route("/api/v2/auth/access_token/get", self.refresh, methods=["POST"]),
        ]

    def refused(self, request: Request, *, shop: bool = True) -> JSONResponse | None:
        q = request.query_params
        base = f"{q.get('partner_id')}{request.url.path}{q.get('timestamp')}"
        if shop:
            base += f"{q.get('access_token')}{q.get('shop_id')}"
        if q.get("sign") != hexmac(PARTNER_KEY, base) or q.get("partner_id") != str(PARTNER_ID):
            self.problems.append(f"bad sign on {request.url.path}")
            return self.error("error_sign", "Wrong sign.", 403)
        if not self.fresh(q.get("timestamp")):
            self.problems.append("stale timestamp")
            return self.error("error_param", "Invalid timestamp", 403)
        if shop and q.get("shop_id") != str(SHOP_ID):
            return self.error("error_shop", "shopid is invalid", 403)
        if shop and self.throttle_after_refresh and self.tokens.refreshes:
            self.throttle_after_refresh, self.throttle_next = False, 1
        if shop and self.throttle_next > 0:
            self.throttle_next -= 1
            return self.error("error_too_many_request", "Too many requests.", 200)
        if shop and not self.tokens.use(q.get("access_token")):
            return self.error("error_auth", "Invalid access_token.", 403)
        return None

    def error(self, code: str, message: str, status: int) -> JSONResponse:
        return json_response({"error": code, "message": message, "request_id": "r"}, status)

    def ok(self, response: Any) -> JSONResponse:
        return json_response({"error": "", "message": "", "request_id": "r", "response": response})

    async def order_list(self, request: Request) -> JSONResponse:
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        q = request.query_params
        start, end = int(q["time_from"]), int(q["time_to"])
        if q.get("time_range_field") != "update_time" or not 0 < end - start <= WINDOW:
            return self.error("order.order_list_invalid_time", "diff in 15days.", 200)
        found = sorted(
            (o for o in self.orders.values() if start <= o["update_time"] <= end),
            key=lambda o: (o["update_time"], o["order_sn"]),
        )
        at, size = int(q.get("cursor") or 0), int(q["page_size"])
        page, more = found[at : at + size], at + size < len(found)
        entries = [{"order_sn": o["order_sn"], "order_status": o["order_status"]} for o in page]
        return self.ok(
            {"more": more, "next_cursor": str(at + size) if more else "", "order_list": entries}
        )

    async def order_detail(self, request: Request) -> JSONResponse:
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        sns = request.query_params["order_sn_list"].split(",")
        if not 1 <= len(sns) <= 50:
            self.problems.append(f"order_sn_list of {len(sns)}")
        return self.ok({"order_list": [self.orders[sn] for sn in sns if sn in self.orders]})

    async def tracking_number(self, request: Request) -> JSONResponse:
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        q = request.query_params
        key = (q["order_sn"], q.get("package_number", ""))
        if key not in self.resi:
            return self.error("logistics.package_not_exist", "package not exist", 200)
        return self.ok({"tracking_number": self.resi[key]})

    async def tracking_info(self, request: Request) -> JSONResponse:
        """The documented sample (a failed delivery, the parcel going back), as this package,
        its event two hours before the tests' clock."""
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        q = request.query_params
        key = (q["order_sn"], q.get("package_number", ""))
        if not self.resi.get(key):
            return self.error("logistics.package_not_exist", "package not exist", 200)
        body = clone(sample("shopee/logistics_get_tracking_info.json"))
        body["response"] |= {"order_sn": key[0], "package_number": key[1]}
        for event in body["response"]["tracking_info"]:
            event["update_time"] = BASE_TS + 3 * DAY - 7200
        return json_response(body)

    async def return_list(self, request: Request) -> JSONResponse:
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        q = request.query_params
        start, end = int(q["update_time_from"]), int(q["update_time_to"])
        found = [r for r in self.returns if start <= r["update_time"] <= end]
        at, size = int(q["page_no"]) * int(q["page_size"]), int(q["page_size"])
        return self.ok({"more": at + size < len(found), "return": found[at : at + size]})

    async def shop_info(self, request: Request) -> JSONResponse:
        await self.log(request)
        if (no := self.refused(request)) is not None:
            return no
        return json_response({"error": "", "message": "", "shop_name": "Toko Batik Sekar"})

    async def refresh(self, request: Request) -> JSONResponse:
        call = await self.log(request)
        if (no := self.refused(request, shop=False)) is not None:
            return no
        body = json.loads(call.body)
        if body.get("partner_id") != PARTNER_ID or body.get("shop_id") != SHOP_ID:
            self.problems.append(f"refresh body {body}")
        if not self.tokens.rotate(body.get("refresh_token")):
            return self.error("error_param", "refresh_token is invalid or expired", 403)
        answer = clone(sample("shopee/public_refresh_access_token.json"))
        answer |= {"access_token": self.tokens.access, "refresh_token": self.tokens.refresh}
        return json_response(answer | {"partner_id": PARTNER_ID, "shop_id": SHOP_ID})
