"""A TikTok Shop Partner API stand-in (202309): order and return search behind TikTok's
signature, ``x-tts-access-token`` and token refresh, built from the documented order example."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.marketplaces.standin import BASE_TS, StandIn, clone, hexmac, json_response, sample

APP_KEY, APP_SECRET, CIPHER = "tts-app-key", "tts-app-secret", "ROW_cipher_sekar"

# (order id, status, hours after BASE_TS, parcels: (package id, provider name, tracking number))
ORDERS: list[tuple[str, str, int, list[tuple[str, str, str]]]] = [
    ("576461413038700001", "AWAITING_SHIPMENT", 1, []),
    ("576461413038700002", "IN_TRANSIT", 2, [("P2", "J&T Express", "JP2611260102")]),
    (
        "576461413038700003",
        "DELIVERED",
        3,
        [("P3A", "SiCepat", "004126110301"), ("P3B", "JNE", "CGK2611260103")],
    ),
    ("576461413038700004", "CANCELLED", 4, []),
    ("576461413038700005", "UNPAID", 5, []),
]


def order(oid: str, status: str, hours: int, parcels: list[tuple[str, str, str]]) -> Any:
    """The documented Get Order Detail example, as this order."""
    raw = clone(sample("tiktok-shop/order_detail_doc_example_order.json"))
    raw |= {"id": oid, "status": status, "update_time": BASE_TS + hours * 3600}
    raw["paid_time"] = None if status == "UNPAID" else BASE_TS + hours * 3600 - 600
    item = raw["line_items"][0]
    raw["line_items"] = [
        item
        | {"id": f"{oid}-{n}", "package_id": p, "shipping_provider_name": name}
        | {"tracking_number": number}
        for n, (p, name, number) in enumerate(parcels)
    ] or [item | {"tracking_number": "", "package_id": ""}]
    raw["tracking_number"] = parcels[0][2] if parcels else ""
    raw["shipping_provider"] = parcels[0][1] if parcels else ""
    raw["packages"] = [{"id": p} for p, _, _ in parcels]
    return raw


class TikTokStandIn(StandIn):
    """Checks the TikTok Shop signature, the access token header and the search filters."""

    def __init__(self) -> None:
        super().__init__()
        self.orders = [order(*o) for o in ORDERS]
        self.returns = [
            {
                "return_id": "4035318123456789",
                "order_id": "576461413038700003",
                "return_status": "AWAITING_BUYER_SHIP",
                "return_type": "RETURN_AND_REFUND",
                "refund_amount": {"currency": "IDR", "refund_total": "150000"},
                "return_reason_text": "Ukuran tidak sesuai",
                "return_tracking_number": "",
                "create_time": BASE_TS + 3 * 3600,
                "update_time": BASE_TS + 4 * 3600,
            }
        ]

    def routes(self) -> list[Route]:
        return [
            Route("/order/202309/orders/search", self.orders_search, methods=["POST"]),
            Route("/return_refund/202309/returns/search", self.returns_search, methods=["POST"]),
            Route("/fulfillment/202309/orders/{oid}/tracking", self.tracking),
            Route("/authorization/202309/shops", self.shops),
            Route("/api/v2/token/refresh", self.refresh),
        ]

    async def refused(self, request: Request, *, shop: bool = True) -> JSONResponse | None:
        token = request.headers.get("x-tts-access-token")
        call = await self.log(request, token)
        q = call.params
        pairs = "".join(f"{k}{q[k]}" for k in sorted(q) if k not in ("sign", "access_token"))
        base = f"{APP_SECRET}{request.url.path}{pairs}{call.body.decode()}{APP_SECRET}"
        if q.get("sign") != hexmac(APP_SECRET, base) or q.get("app_key") != APP_KEY:
            self.problems.append(f"bad sign on {request.url.path}")
            return self.fail(106001, "Invalid signature")
        if shop and q.get("shop_cipher") != CIPHER:
            self.problems.append("no shop_cipher")
            return self.fail(106011, "Invalid shop_cipher")
        if not self.tokens.use(token):
            return self.fail(105002, "Expired credentials")
        return None

    def fail(self, code: int, message: str) -> JSONResponse:
        return json_response({"code": code, "message": message, "request_id": "r", "data": {}})

    def ok(self, data: Any) -> JSONResponse:
        return json_response({"code": 0, "message": "Success", "request_id": "r", "data": data})

    def page(self, request: Request, rows: list[Any], key: str, body: bytes) -> JSONResponse:
        q = request.query_params
        if q.get("sort_field") != "update_time" or q.get("sort_order") != "ASC":
            self.problems.append(f"unsorted search {dict(q)}")
        search = json.loads(body)
        start, end = search["update_time_ge"], search["update_time_lt"]
        found = sorted(
            (r for r in rows if start <= r["update_time"] < end), key=lambda r: r["update_time"]
        )
        at, size = int((q.get("page_token") or "tok-0")[4:]), int(q["page_size"])
        more = at + size < len(found)
        data = {key: found[at : at + size], "total_count": len(found)}
        return self.ok(data | {"next_page_token": f"tok-{at + size}" if more else ""})

    async def orders_search(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        return self.page(request, self.orders, "orders", self.calls[-1].body)

    async def returns_search(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        return self.page(request, self.returns, "return_orders", self.calls[-1].body)

    async def tracking(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request)) is not None:
            return no
        millis = (BASE_TS + 3600) * 1000
        return self.ok(
            {
                "tracking": [
                    {"description": "Paket telah diterima", "update_time_millis": millis + 7200000},
                    {"description": "Paket sedang dalam perjalanan", "update_time_millis": millis},
                ]
            }
        )

    async def shops(self, request: Request) -> JSONResponse:
        if (no := await self.refused(request, shop=False)) is not None:
            return no
        shop = {"name": "Toko Batik Sekar", "region": "ID", "cipher": CIPHER, "code": "IDLC1"}
        return self.ok({"shops": [shop]})

    async def refresh(self, request: Request) -> JSONResponse:
        call = await self.log(request)
        q = call.params
        if q.get("app_key") != APP_KEY or q.get("app_secret") != APP_SECRET:
            return self.fail(105000, "invalid app")
        if q.get("grant_type") != "refresh_token" or not self.tokens.rotate(q.get("refresh_token")):
            return self.fail(105004, "refresh token is expired or invalid")
        expires = int(time.time()) + 7 * 86400
        data = {"access_token": self.tokens.access, "access_token_expire_in": expires}
        data |= {"refresh_token": self.tokens.refresh, "refresh_token_expire_in": expires + 9**6}
        return self.ok(data | {"open_id": "open-1", "seller_name": "Toko Batik Sekar"})
