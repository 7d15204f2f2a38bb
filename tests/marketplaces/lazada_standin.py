"""A Lazada Open Platform stand-in: GetOrders and GetMultipleOrderItems (built from the
documented GetOrders example and the GetMultipleOrderItems field list), GetOrderTrace and token
refresh, behind Lazada's signature rules."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.marketplaces.standin import BASE_TS, StandIn, clone, hexmac, json_response, sample

APP_KEY, APP_SECRET = "100123", "lazada-app-secret"

# (order id, statuses, payment method, hours after BASE_TS, items: (status, provider, resi))
ORDERS: list[tuple[str, list[str], str, int, list[tuple[str, str, str]]]] = [
    ("491253082180101", ["pending"], "COD", 1, [("pending", "", "")]),
    ("491253082180102", ["pending"], "DANA", 2, [("pending", "", "")]),
    (
        "491253082180103",
        ["shipped"],
        "COD",
        3,
        [("shipped", "Pickup: LEX ID, Delivery: J&T Express", "JP2611260203")],
    ),
    (
        "491253082180104",
        ["delivered", "shipped"],
        "DANA",
        4,
        [("delivered", "LEX ID", "NLIDAP2611260204"), ("shipped", "JNE", "CGK2611260204")],
    ),
    ("491253082180105", ["canceled"], "DANA", 5, [("canceled", "", "")]),
]


WIB = timezone(timedelta(hours=7))  # Lazada Indonesia writes times in the seller's zone


def when(hours: int) -> str:
    return datetime.fromtimestamp(BASE_TS + hours * 3600, WIB).isoformat()


def order(oid: str, statuses: list[str], method: str, hours: int) -> dict[str, Any]:
    raw = clone(sample("lazada/orders_get.json")["data"]["orders"][0])
    raw |= {"order_id": oid, "order_number": oid, "statuses": statuses, "updated_at": when(hours)}
    return raw | {"payment_method": method, "price": "150000.00"}


def items(oid: str, hours: int, rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    entries = []
    for n, (status, provider, resi) in enumerate(rows):
        entries.append(
            {
                "order_id": oid,
                "order_item_id": f"{oid}{n}",
                "status": status,
                "tracking_code": resi,
                "shipment_provider": provider,
                "package_id": f"FP{oid}{n}" if resi else "",
                "currency": "IDR",
                "payment_time": str((BASE_TS + hours * 3600 - 600) * 1000),
                "return_status": "",
            }
        )
    return {"order_number": oid, "order_id": oid, "order_items": entries}


class LazadaStandIn(StandIn):
    """Checks Lazada's signature (access token included), timestamps in ms and tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.orders = [order(o, s, m, h) for o, s, m, h, _ in ORDERS]
        self.items = {o: items(o, h, rows) for o, _, _, h, rows in ORDERS}
        self.trace_as_orders = False  # GetOrderTrace: the sample as it is, or per order

    def routes(self) -> list[Route]:
        return [
            Route("/orders/get", self.orders_get),
            Route("/orders/items/get", self.items_get),
            Route("/logistic/order/trace", self.trace),
            Route("/seller/get", self.seller),
            Route("/auth/token/refresh", self.refresh),
        ]

    async def refused(self, request: Request, *, token: bool = True) -> JSONResponse | None:
        call = await self.log(request, request.query_params.get("access_token"))
        q = call.params
        pairs = "".join(f"{k}{q[k]}" for k in sorted(q) if k != "sign")
        expected = hexmac(APP_SECRET, f"{request.url.path}{pairs}").upper()
        if q.get("sign") != expected or q.get("app_key") != APP_KEY:
            self.problems.append(f"bad sign on {request.url.path}")
            return self.fail("IncompleteSignature", "The request signature does not conform")
        if q.get("sign_method") != "sha256" or not self.fresh(q.get("timestamp"), millis=True):
            self.problems.append("sign_method or timestamp")
            return self.fail("InvalidTimestamp", "Invalid timestamp")
        if token and not self.tokens.use(q.get("access_token")):
            return self.fail(
                "IllegalAccessToken", "The specified access token is invalid or expired"
            )
        return None

    def fail(self, code: str, message: str) -> JSONResponse:
        return json_response({"type": "ISV", "code": code, "message": message, "request_id": "r"})

    async def orders_get(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        q = request.query_params
        start = datetime.fromisoformat(q["update_after"])
        end = datetime.fromisoformat(q["update_before"])
        if q.get("sort_by") != "updated_at" or q.get("sort_direction") != "ASC":
            self.problems.append(f"unsorted {dict(q)}")
        found = sorted(
            (o for o in self.orders if start <= datetime.fromisoformat(o["updated_at"]) <= end),
            key=lambda o: o["updated_at"],
        )
        at, size = int(q["offset"]), int(q["limit"])
        page = found[at : at + size]
        data = {"count": str(len(page)), "countTotal": str(len(found)), "orders": page}
        return json_response({"code": "0", "data": data, "request_id": "r"})

    async def items_get(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        ids = [str(i) for i in json.loads(request.query_params["order_ids"])]
        if len(ids) > 50:
            self.problems.append("more than 50 order ids")
        data = [self.items[i] for i in ids if i in self.items]
        return json_response({"code": "0", "data": data, "request_id": "r"})

    async def trace(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        body = sample("lazada/logistic_order_trace.json")
        if self.trace_as_orders:  # the documented example, as this order's packages
            entry = self.items.get(self.calls[-1].params.get("order_id", ""), {})
            rows = [r for r in entry.get("order_items", []) if r["tracking_code"]]
            module = body["result"]["module"][0]
            template = module["package_detail_info_list"][0]
            module["package_detail_info_list"] = [
                clone(template)
                | {"tracking_number": r["tracking_code"], "ofc_package_id": r["package_id"]}
                for r in rows
            ]
        return json_response(body)

    async def seller(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        data = {"name": "Toko Batik Sekar", "seller_id": "1000123", "location": "Jakarta"}
        return json_response({"code": "0", "data": data, "request_id": "r"})

    async def refresh(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request, token=False)) is not None:
            return no
        if not self.tokens.rotate(request.query_params.get("refresh_token")):
            return self.fail("IllegalRefreshToken", "The specified refresh token is invalid")
        answer = {"access_token": self.tokens.access, "refresh_token": self.tokens.refresh}
        answer |= {"expires_in": 604800, "refresh_expires_in": 2592000, "country": "id"}
        return json_response(answer | {"account_platform": "seller_center", "code": "0"})
