"""Local stand-ins for the Shopify Admin API (GraphQL and REST) and the WooCommerce REST API v3,
serving orders made from the samples, served by uvicorn on 127.0.0.1 in a thread
(:func:`notifier.testing_providers.serve`).

They behave as the documentation says where the sources depend on it: Shopify pages by an
opaque keyset cursor (``pageInfo.endCursor``, REST ``Link: <...page_info=...>; rel="next"``),
filters ``updated_at:>='...'``, reports ``extensions.cost.throttleStatus`` and answers
``THROTTLED`` when the bucket is short (it refills at ``restore_rate`` points per second of
``clock``, which the tests' fake sleep advances); WooCommerce filters ``modified_after``
(strictly after, GMT), sorts by ``orderby``/``order``, pages with ``page``/``per_page`` and
``X-WP-Total``/``X-WP-TotalPages``, accepts Basic or query-string keys and can refuse
``orderby=modified`` or drop the Authorization header like some servers do. ``fail_next``
answers 500 to that many order requests (a store outage in the middle of a sync).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.sources.conftest import sample
from tests.sources.graphql_shape import order_node

VERSION = "2025-01"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _key(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token.encode()))


# --------------------------------------------------------------------------- Shopify


def shopify_order(
    i: int,
    updated: datetime,
    *,
    parcels: list[tuple[str | None, str]] | None = None,
    financial: str = "paid",
) -> dict[str, Any]:
    """The REST sample order, renumbered: shopper ``i``, paid, one JNE parcel unless told."""
    o = copy.deepcopy(sample("shopify/rest_order_get.json")["order"])
    o |= {
        "id": 5000 + i,
        "name": f"#{1000 + i}",
        "order_number": 1000 + i,
        "email": f"shopper{i}@example.com",
        "contact_email": f"shopper{i}@example.com",
        "phone": f"+62812300000{i:02d}",
        "currency": "IDR",
        "total_price": "150000",
        "financial_status": financial,
        "processed_at": iso(updated - timedelta(hours=1)),
        "created_at": iso(updated - timedelta(hours=1)),
        "updated_at": iso(updated),
        "refunds": [],
    }
    o["customer"] |= {"first_name": "Shopper", "last_name": str(i), "phone": None}
    fulfillment = o["fulfillments"][0]
    o["fulfillments"] = []
    for company, number in parcels if parcels is not None else [("JNE", f"JP{i:010d}")]:
        o["fulfillments"].append(
            fulfillment
            | {
                "id": 7000 + i * 10 + len(o["fulfillments"]),
                "status": "success",
                "tracking_company": company,
                "tracking_number": number,
                "tracking_numbers": [number],
                "tracking_url": f"https://shop.example/track/{number}",
                "tracking_urls": [f"https://shop.example/track/{number}"],
            }
        )
    return o


@dataclass
class ShopifyStandIn:
    orders: list[dict[str, Any]]
    token: str = "shpat_test"
    shop_name: str = "Toko Batik Sekar"
    max_available: float = 1000.0
    restore_rate: float = 100.0
    available: float = 1000.0
    clock: float = 0.0  # seconds; the tests' fake sleep advances it
    fail_next: int = 0
    throttled: int = 0  # THROTTLED answers given
    calls: list[str] = field(default_factory=list)
    after_page: Callable[[int], None] | None = None  # called after each orders page served
    _last: float = 0.0

    def app(self) -> Starlette:
        base = f"/admin/api/{VERSION}"
        return Starlette(
            routes=[
                Route(f"{base}/graphql.json", self.graphql, methods=["POST"]),
                Route(f"{base}/orders.json", self.rest_orders),
                Route(f"{base}/shop.json", self.rest_shop),
            ]
        )

    def _denied(self, request: Request) -> Response | None:
        if request.headers.get("x-shopify-access-token") != self.token:
            text = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return JSONResponse({"errors": text}, 401)
        return None

    def _page(self, since: str | None, after: Any, first: int) -> tuple[list[dict], bool, Any]:
        rows = sorted(self.orders, key=lambda o: (when(o["updated_at"]), o["id"]))
        if since:
            rows = [o for o in rows if when(o["updated_at"]) >= when(since)]
        if after is not None:
            rows = [o for o in rows if (o["updated_at"], o["id"]) > tuple(after)]
        page = rows[:first]
        last = (page[-1]["updated_at"], page[-1]["id"]) if page else None
        return page, len(rows) > first, last

    def _cost(self, requested: float, actual: float | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.max_available,
                "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate,
            },
        }

    async def graphql(self, request: Request) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        body = await request.json()
        variables = body.get("variables") or {}
        self.available = min(
            self.max_available, self.available + (self.clock - self._last) * self.restore_rate
        )
        self._last = self.clock
        if "shop {" in body["query"]:
            self.calls.append("shop")
            data = {"shop": {"name": self.shop_name, "myshopifyDomain": "sekar.myshopify.com"}}
            return JSONResponse({"data": data, "extensions": {"cost": self._cost(1, 1)}})
        first = int(variables["first"])
        requested = 2.0 + first * 10
        if self.available < requested:
            self.throttled += 1
            errors = [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
            return JSONResponse(
                {"errors": errors, "extensions": {"cost": self._cost(requested, None)}}
            )
        if self.fail_next:
            self.fail_next -= 1
            return Response("Internal Server Error", 500)
        since = re.search(r"updated_at:>='([^']+)'", variables.get("query") or "")
        after = _key(variables["after"]) if variables.get("after") else None
        page, more, last = self._page(since.group(1) if since else None, after, first)
        actual = 2.0 + 8 * len(page)
        self.available -= actual
        self.calls.append(f"orders after={after is not None} n={len(page)}")
        info = {"hasNextPage": more, "endCursor": _token(last) if last else None}
        data = {"orders": {"pageInfo": info, "nodes": [order_node(o) for o in page]}}
        if self.after_page:
            self.after_page(len(self.calls))
        return JSONResponse({"data": data, "extensions": {"cost": self._cost(requested, actual)}})

    async def rest_orders(self, request: Request) -> Response:
        denied = self._denied(request)
        if denied:
            return denied
        if self.fail_next:
            self.fail_next -= 1
            return Response("Internal Server Error", 500)
        q = request.query_params
        limit = int(q.get("limit", 50))
        if "page_info" in q:  # other filters may not be combined with page_info
            since, after = _key(q["page_info"])
        else:
            assert q.get("status") == "any"
            since, after = q.get("updated_at_min"), None
        page, more, last = self._page(since, after, limit)
        self.calls.append(f"rest after={after is not None} n={len(page)}")
        headers = {"X-Shopify-Shop-Api-Call-Limit": f"{len(self.calls)}/40"}
        if more:
            url = f"{request.base_url}admin/api/{VERSION}/orders.json?limit={limit}"
            headers["Link"] = f'<{url}&page_info={_token([since, last])}>; rel="next"'
        return JSONResponse({"orders": page}, headers=headers)

    async def rest_shop(self, request: Request) -> Response:
        denied = self._denied(request)
        return denied or JSONResponse(
            {"shop": {"name": self.shop_name, "myshopify_domain": "sekar.myshopify.com"}}
        )


# --------------------------------------------------------------------------- WooCommerce


def woo_order(
    i: int,
    modified: datetime,
    *,
    status: str = "processing",
    tracking: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Sample order 727, renumbered: shopper ``i``, paid, parcels in Shipment Tracking's meta."""
    o = copy.deepcopy(sample("woocommerce/wc_v3_order_get.json"))
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%S")
    o |= {
        "id": 3000 + i,
        "number": f"W-{i}",
        "status": status,
        "currency": "IDR",
        "total": "250000",
        "date_modified_gmt": stamp,
        "date_modified": (modified + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_created_gmt": (modified - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_paid_gmt": (modified - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    email, phone = f"pembeli{i}@example.com", f"0812-4000-00{i:02d}"
    o["billing"] |= {"first_name": "Pembeli", "last_name": str(i), "email": email, "phone": phone}
    items = [
        {"tracking_provider": provider, "tracking_number": number, "date_shipped": "1764547200"}
        for provider, number in tracking or []
    ]
    if items:
        o["meta_data"].append(
            {"id": 9000 + i, "key": "_wc_shipment_tracking_items", "value": items}
        )
    return o


@dataclass
class WooStandIn:
    orders: list[dict[str, Any]]
    keys: tuple[str, str] = ("ck_test", "cs_test")
    orderby_modified: bool = True
    header_auth: bool = True  # False: the server drops Authorization (query-string keys only)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    fail_next: int = 0
    calls: list[str] = field(default_factory=list)
    after_page: Callable[[int], None] | None = None

    def app(self) -> Starlette:
        base = "/wp-json/wc/v3/orders"
        return Starlette(
            routes=[
                Route(base, self.list_orders),
                Route(base + "/{oid:int}/refunds", self.child),
                Route(base + "/{oid:int}/notes", self.child),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        q = request.query_params
        if (q.get("consumer_key"), q.get("consumer_secret")) == self.keys:
            return True
        raw = request.headers.get("authorization", "")
        if not self.header_auth or not raw.startswith("Basic "):
            return False
        return base64.b64decode(raw[6:]).decode() == ":".join(self.keys)

    def _refuse(self) -> Response:
        body = {"code": "woocommerce_rest_authentication_error",
                "message": "Consumer key is missing.", "data": {"status": 401}}  # fmt: skip
        return JSONResponse(body, 401)

    async def list_orders(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse()
        q = request.query_params
        orderby = q.get("orderby", "date")
        if orderby == "modified" and not self.orderby_modified:
            params = {"orderby": "orderby is not one of date, id, include, title, slug."}
            body = {"code": "rest_invalid_param", "message": "Invalid parameter(s): orderby",
                    "data": {"status": 400, "params": params}}  # fmt: skip
            return JSONResponse(body, 400)
        if self.fail_next:
            self.fail_next -= 1
            return Response("<html>502 Bad Gateway</html>", 502)
        rows = list(self.orders)
        if q.get("modified_after"):
            assert q.get("dates_are_gmt") == "true"  # the times we send are UTC
            after = datetime.fromisoformat(q["modified_after"])
            rows = [o for o in rows if datetime.fromisoformat(o["date_modified_gmt"]) > after]
        column = "date_modified_gmt" if orderby == "modified" else "date_created_gmt"
        rows.sort(key=lambda o: (o[column], o["id"]), reverse=q.get("order", "desc") == "desc")
        per_page, page = int(q.get("per_page", 10)), int(q.get("page", 1))
        chunk = rows[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(rows) // per_page))
        self.calls.append(f"orders page={page} n={len(chunk)} by={orderby}")
        headers = {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}
        response = JSONResponse(chunk, headers=headers)
        if self.after_page:
            self.after_page(page)
        return response

    async def child(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse()
        oid = request.path_params["oid"]
        kind = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(f"{kind} {oid}")
        return JSONResponse((self.refunds if kind == "refunds" else self.notes).get(oid, []))
