"""The ``shopify`` order source: orders changed since a cursor, over the GraphQL Admin API.

Shopify made the REST Admin API legacy on 2024-10-01, and since 2025-04-01 new public apps must
use GraphQL only (shopify.dev/docs/api/admin-rest; changelog "Starting April 2025, new public
apps submitted to Shopify App Store must use GraphQL"). So polling is GraphQL: ``POST
/admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token``, the ``orders`` connection
sorted by ``UPDATED_AT`` and filtered with ``updated_at:>='<start>'`` (search syntax, quoted
time), paged by ``pageInfo.endCursor``. A merchant's older custom app may still poll REST
(``"api": "rest"``): ``GET orders.json?status=any&updated_at_min=`` paged by the ``Link``
header's ``page_info`` (shopify.dev/docs/api/admin-rest/usage/pagination). Both bodies, and the
webhooks, are read by :mod:`notifier.orders.shopify_parse`.

Rate limits (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): GraphQL is a leaky
bucket of query cost; every answer reports ``extensions.cost.throttleStatus``
(``currentlyAvailable``, ``restoreRate``). Before a call we wait until the bucket holds what the
last call requested; a ``THROTTLED`` answer is waited out (up to ``max_wait`` seconds, else the
run ends with ``retry_after``); ``MAX_COST_EXCEEDED`` halves the page. REST: 429 waits for
``Retry-After`` (:mod:`notifier.orders.storehttp`) and a bucket nearly full by
``X-Shopify-Shop-Api-Call-Limit`` waits one leak.

Settings entry: ``{"id": "shopify", "shop": "sekar" (or "sekar.myshopify.com"),
"access_token": "shpat_...", "webhook_secret": "<app client secret>"}``; optional
``api_version`` (default :data:`API_VERSION`), ``api`` ("graphql" or "rest"), ``page_size``,
``since`` (ISO date of the first sync), ``overlap_minutes``, ``max_wait`` and ``api_base`` (a
proxy or a stand-in instead of ``https://<shop>.myshopify.com``).

Webhooks (orders/paid, orders/updated, fulfillments/create and update, refunds/create,
returns/*): ``X-Shopify-Hmac-Sha256`` is base64 HMAC-SHA256 of the raw body with the app's
client secret; ``X-Shopify-Webhook-Id`` names one delivery and is what retries repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from notifier.orders import shopify_parse
from notifier.orders.base import (
    OVERLAP,
    OrderSource,
    SourceError,
    SourcePage,
    SyncCursor,
    WebhookRejected,
    base64_hmac_ok,
    header,
)
from notifier.orders.parse_contract import page_orders
from notifier.orders.shopify_graphql import ORDERS_QUERY, SHOP_QUERY
from notifier.orders.storehttp import StoreHttp

API_VERSION = "2025-01"  # a supported stable version; merchants may pin another
PAGE_GRAPHQL = 25  # orders per GraphQL page (nested fields make each order cost ~30 points)
PAGE_REST = 100  # orders per REST page (250 is the maximum)
MAX_WAIT = 30.0  # s we wait for the bucket inside one run before leaving it to the next
THROTTLE_TRIES = 4
MIN_WAIT = 0.1  # s after a THROTTLED answer whose cost report says the bucket is full again

parse = shopify_parse.parse  # the module-level parser the parse contract looks up

_NEXT = re.compile(r'<([^>]+)>;\s*rel="?next"?')


def shop_url(shop: str) -> str:
    """``sekar`` / ``sekar.myshopify.com`` / ``https://sekar.myshopify.com/`` -> the admin URL."""
    host = re.sub(r"^https?://", "", shop.strip().lower()).split("/", 1)[0]
    return f"https://{host if '.' in host else host + '.myshopify.com'}"


class ShopifySource(OrderSource):
    """Orders of one Shopify store (see the module documentation)."""

    id: ClassVar[str] = "shopify"

    def __init__(self, config: Mapping[str, Any]) -> None:
        shop, token = config.get("shop"), config.get("access_token")
        base = config.get("api_base") or (shop_url(str(shop)) if shop else None)
        if not base:
            raise SourceError('the setting "shop" (the store name) is missing', source=self.id)
        if not token:
            raise SourceError('the setting "access_token" is missing', source=self.id)
        self.api = str(config.get("api") or "graphql")
        if self.api not in ("graphql", "rest"):
            raise SourceError('"api" is "graphql" or "rest"', source=self.id)
        self.version = str(config.get("api_version") or API_VERSION)
        default = PAGE_GRAPHQL if self.api == "graphql" else PAGE_REST
        self.page_size = int(config.get("page_size") or default)
        self.overlap = timedelta(minutes=float(config.get("overlap_minutes") or 0)) or OVERLAP
        self.initial = _since(config.get("since"))
        self.aggregator = config.get("aggregator")
        self.country = config.get("country")
        self.max_wait = float(config.get("max_wait") or MAX_WAIT)
        headers = {"X-Shopify-Access-Token": str(token), "Content-Type": "application/json"}
        self.http = StoreHttp(
            self.id, str(base), headers=headers, max_wait=self.max_wait, sleep=self._sleep
        )
        self.bucket: dict[str, float] = {}  # the last throttleStatus and requested cost

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def monotonic(self) -> float:
        """Seconds of a monotonic clock (the bucket refills with it; tests replace it)."""
        return time.monotonic()

    async def poll(self, cursor: str | None, now: datetime) -> SourcePage:
        """One page of orders changed since the cursor (see :class:`SyncCursor`)."""
        state = SyncCursor.load(cursor)
        start = state.pass_start(now, overlap=self.overlap, initial=self.initial)
        if self.api == "rest":
            body, next_pos = await self._rest_page(start, state.pos)
        else:
            body, next_pos = await self._graphql_page(start, state.pos)
        stores = parse(body)
        orders, errors, warnings = page_orders(
            stores, aggregator=self.aggregator, country=self.country
        )
        new = state.page_done(start, [s.get("updated_at") for s in stores], next_pos)
        return SourcePage(orders, new.dump(), errors, next_pos is not None, warnings)

    async def check(self, now: datetime) -> str:
        """The shop's name, through the API the source polls with."""
        if self.api == "rest":
            response = await self.http.request("GET", self._path("shop.json"))
            shop = self.http.json(response).get("shop") or {}
            return (
                f"shop {shop.get('name')!r} ({shop.get('myshopify_domain')}), REST {self.version}"
            )
        body = await self.graphql(SHOP_QUERY, {})
        shop = (body.get("data") or {}).get("shop") or {}
        domain = shop.get("myshopifyDomain")
        return f"shop {shop.get('name')!r} ({domain}), GraphQL {self.version}"

    async def aclose(self) -> None:
        await self.http.aclose()

    # ----------------------------------------------------------------------- GraphQL

    async def _graphql_page(self, start: datetime, after: str | None) -> tuple[Any, str | None]:
        query = f"updated_at:>='{start.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        variables = {"first": self.page_size, "after": after, "query": query}
        body = await self.graphql(ORDERS_QUERY, variables)
        connection = (body.get("data") or {}).get("orders") or {}
        info = connection.get("pageInfo") or {}
        return body, info.get("endCursor") if info.get("hasNextPage") else None

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL call, paced by the cost bucket; SourceError for errors."""
        for _ in range(THROTTLE_TRIES):
            await self._sleep_for_bucket()
            response = await self.http.request(
                "POST", self._path("graphql.json"), json={"query": query, "variables": variables}
            )
            body = self.http.json(response)
            if not isinstance(body, dict):
                raise self.http.error("the answer is not a JSON object", response)
            self._note_cost(body)
            code, message = _first_error(body)
            if code is None and message is None:
                return body
            if code == "THROTTLED":
                await self._wait_throttled()
                continue
            if code == "MAX_COST_EXCEEDED" and variables.get("first", 1) > 1:
                self.page_size = max(1, self.page_size // 2)
                variables = variables | {"first": self.page_size}
                continue
            if body.get("data") and code is None:
                return body  # a partial answer: what came is still right
            raise SourceError(f"GraphQL error: {message} ({code or 'no code'})", source=self.id)
        raise SourceError("still throttled after waiting", source=self.id, retry_after=10.0)

    def _note_cost(self, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            self.bucket = {
                "max": float(status["maximumAvailable"]),
                "available": float(status["currentlyAvailable"]),
                "rate": float(status["restoreRate"]) or 1.0,
                "requested": float(cost.get("requestedQueryCost") or 0),
                "at": self.monotonic(),
            }
        except (KeyError, TypeError, ValueError):
            return  # no cost report: nothing to pace by

    def bucket_wait(self) -> float:
        """Seconds until the bucket holds what the last call requested (0 when it does)."""
        b = self.bucket
        if not b:
            return 0.0
        refilled = b["available"] + b["rate"] * (self.monotonic() - b["at"])
        need = min(b["requested"], b["max"])
        return max(0.0, (need - min(refilled, b["max"])) / b["rate"])

    async def _sleep_for_bucket(self) -> None:
        wait = self.bucket_wait()
        if wait > self.max_wait:
            raise SourceError("query cost budget spent", source=self.id, retry_after=wait)
        if wait > 0:
            await self._sleep(wait)

    async def _wait_throttled(self) -> None:
        wait = max(self.bucket_wait(), MIN_WAIT)
        if wait > self.max_wait:
            raise SourceError("throttled (THROTTLED)", source=self.id, retry_after=wait)
        await self._sleep(wait)

    # ----------------------------------------------------------------------- REST

    async def _rest_page(self, start: datetime, page: str | None) -> tuple[Any, str | None]:
        if page:  # page_info URLs "must be used exactly as they appear"
            response = await self.http.request("GET", page)
        else:
            params = {
                "status": "any",
                "updated_at_min": start.isoformat(),
                "limit": self.page_size,
            }
            response = await self.http.request("GET", self._path("orders.json"), params=params)
        await self._pace_rest(response)
        found = _NEXT.search(response.headers.get("link", ""))
        return self.http.json(response), found.group(1) if found else None

    async def _pace_rest(self, response: httpx.Response) -> None:
        used, _, size = response.headers.get("x-shopify-shop-api-call-limit", "").partition("/")
        if used.strip().isdigit() and size.strip().isdigit() and int(size) - int(used) <= 2:
            await self._sleep(1.0)  # the bucket leaks 2 calls a second on standard plans

    def _path(self, resource: str) -> str:
        return f"/admin/api/{self.version}/{resource}"


def _first_error(body: dict[str, Any]) -> tuple[str | None, str | None]:
    errors = body.get("errors")
    if not errors:
        return None, None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = (errors[0].get("extensions") or {}).get("code")
        return (str(code) if code else None), str(errors[0].get("message"))
    return None, " ".join(str(errors).split())[:200]


def _since(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- webhooks


def verify_webhook(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Raise WebhookRejected unless ``X-Shopify-Hmac-Sha256`` signs ``body`` with ``secret``."""
    if not base64_hmac_ok(secret, body, header(headers, "X-Shopify-Hmac-Sha256")):
        raise WebhookRejected("missing or wrong X-Shopify-Hmac-Sha256")


def webhook_event_id(body: bytes, headers: Mapping[str, str]) -> str:
    """The delivery's ``X-Shopify-Webhook-Id`` (a retry repeats it), else the body's digest."""
    delivery = header(headers, "X-Shopify-Webhook-Id")
    return delivery.strip() if delivery else "sha256:" + hashlib.sha256(body).hexdigest()
