"""The ``woocommerce`` order source: orders modified since a cursor, over the REST API v3.

Calls (woocommerce.github.io/woocommerce-rest-api-docs, wp-api-v3):

* ``GET /wp-json/wc/v3/orders?modified_after=<UTC>&dates_are_gmt=true&orderby=modified&order=desc
  &per_page=100&page=N``; the pass ends at ``X-WP-TotalPages``. Newest first on purpose: an
  order modified while we page moves to the front, so later pages repeat an order instead of
  skipping one (page numbers over a changing list). Stores whose ``orderby`` lacks
  ``modified`` (the documented enum is date, id, include, title, slug; newer stores and the
  usual filter add it) answer 400 ``rest_invalid_param`` and are read by ``date`` instead,
  remembered in the cursor's ``mode``.
* ``GET /orders/<id>/refunds`` for an order with refunds (whether the gateway paid back), and
  ``GET /orders/<id>/notes`` for an order that looks shipped but names no parcel (a tracking
  number typed into a note); both are read by :mod:`notifier.orders.woocommerce_parse`.

Authentication (``_authentication.md``): over HTTPS, HTTP Basic with the consumer key and
secret; a server that drops the ``Authorization`` header answers 401 ("Consumer key is
missing"), and the call is repeated with ``consumer_key``/``consumer_secret`` in the query
string, as the docs advise. Plain HTTP would need OAuth 1.0a and is refused, except on a
loopback address (stand-ins). Stores without pretty permalinks are read through
``?rest_route=/wc/v3/...`` (``"permalinks": "plain"``).

Settings entry: ``{"id": "woocommerce", "url": "https://toko.example", "consumer_key": "ck_...",
"consumer_secret": "cs_...", "webhook_secret": "..."}``; optional ``per_page``, ``since``,
``overlap_minutes``, ``permalinks``, ``read_notes`` (default true).

Webhooks (``_webhooks.md``): ``X-WC-Webhook-Signature`` is base64 HMAC-SHA256 of the raw body
with the webhook's secret (``WC_Webhook::generate_signature``); ``order.created`` and
``order.updated`` bodies are orders. Creating a webhook sends a ping whose body is the form
``webhook_id=<id>``, answered without a signature check (it changes nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from notifier.orders import woocommerce_parse
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
from notifier.orders.parse_contract import StoreOrder, page_orders
from notifier.orders.storehttp import StoreHttp

PER_PAGE = 100  # the REST API's maximum per_page
parse = woocommerce_parse.parse  # the module-level parser the parse contract looks up


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WooCommerceSource(OrderSource):
    """Orders of one WooCommerce store (see the module documentation)."""

    id: ClassVar[str] = "woocommerce"

    def __init__(self, config: Mapping[str, Any]) -> None:
        url = str(config.get("url") or "").rstrip("/")
        key, secret = config.get("consumer_key"), config.get("consumer_secret")
        if not url:
            raise SourceError('the setting "url" (the store address) is missing', source=self.id)
        if not key or not secret:
            raise SourceError('"consumer_key" and "consumer_secret" are required', source=self.id)
        parts = urlsplit(url)
        if parts.scheme != "https" and not _loopback(parts.hostname or ""):
            raise SourceError(
                "the store URL must be https:// (keys over HTTP need OAuth 1.0a)", source=self.id
            )
        self.keys = (str(key), str(secret))
        self.plain = str(config.get("permalinks") or "") == "plain"
        self.per_page = min(PER_PAGE, int(config.get("per_page") or PER_PAGE))
        minutes = float(config.get("overlap_minutes") or 0)
        self.overlap = timedelta(minutes=minutes) if minutes else OVERLAP
        since = config.get("since")
        self.initial = _aware(datetime.fromisoformat(str(since))) if since else None
        self.read_notes = bool(config.get("read_notes", True))
        self.aggregator, self.country = config.get("aggregator"), config.get("country")
        self.query_auth = False  # switched on when the server drops Authorization
        self.http = StoreHttp(self.id, url, auth=self.keys, sleep=self._sleep)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def poll(self, cursor: str | None, now: datetime) -> SourcePage:
        """One page of orders modified since the cursor (see :class:`SyncCursor`)."""
        state = SyncCursor.load(cursor)
        start = state.pass_start(now, overlap=self.overlap, initial=self.initial)
        page = int(state.pos or 1)
        response, state.mode = await self._orders(start, page, state.mode)
        body = self.http.json(response)
        if not isinstance(body, list):
            raise self.http.error("the orders answer is not a list", response)
        stores = await self._enrich(body, parse(body))
        orders, errors, warnings = page_orders(
            stores, aggregator=self.aggregator, country=self.country
        )
        pages = _int(response.headers.get("x-wp-totalpages"))
        more = bool(body) and pages is not None and page < pages
        new = state.page_done(
            start, [s.get("updated_at") for s in stores], str(page + 1) if more else None
        )
        total = _int(response.headers.get("x-wp-total"))
        return SourcePage(orders, new.dump(), errors, more, warnings, total)

    async def check(self, now: datetime) -> str:
        """One orders call: the keys work and the store says how many orders it has."""
        response = await self.get("orders", {"per_page": 1})
        return f"{response.headers.get('x-wp-total', '?')} order(s) in the store, REST v3"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _orders(
        self, start: datetime, page: int, mode: str | None
    ) -> tuple[httpx.Response, str | None]:
        params: dict[str, Any] = {
            "modified_after": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            "orderby": mode or "modified",
            "order": "desc",
            "per_page": self.per_page,
            "page": page,
        }
        response = await self.get("orders", params, expect=(400,))
        if (
            response.status_code == 400
            and params["orderby"] == "modified"
            and _bad_orderby(response)
        ):
            params["orderby"] = "date"  # still newest first: a moving order repeats, never skips
            response = await self.get("orders", params)
            return response, "date"
        if response.status_code == 400:
            raise self.http.error("HTTP 400", response)
        return response, mode

    async def _enrich(self, raw: list[Any], stores: list[StoreOrder]) -> list[StoreOrder]:
        """Refund details and tracking typed into notes, for the orders that need them."""
        by_id = {str(o.get("id")): o for o in raw if isinstance(o, dict)}
        for store in stores:
            oid = store["external_id"]
            if store.get("refunds"):
                body = self.http.json(await self.get(f"orders/{oid}/refunds", {}))
                found = [woocommerce_parse.refund(r, store.get("currency")) for r in _dicts(body)]
                store["refunds"] = found or store["refunds"]
            if self.read_notes and woocommerce_parse.shipped_without_tracking(by_id.get(oid, {})):
                notes = _dicts(self.http.json(await self.get(f"orders/{oid}/notes", {})))
                typed = [
                    p for n in notes for p in woocommerce_parse.note_parcels(str(n.get("note")))
                ]
                store["shipments"] = woocommerce_parse.unique([*store.get("shipments", []), *typed])
        return stores

    async def get(
        self, resource: str, params: Mapping[str, Any], *, expect: tuple[int, ...] = ()
    ) -> httpx.Response:
        """``GET /wp-json/wc/v3/<resource>``, authenticated as the store accepts."""
        path, query = f"/wp-json/wc/v3/{resource}", dict(params)
        if self.plain:
            path, query = "/", {"rest_route": f"/wc/v3/{resource}", **query}
        if self.query_auth:
            return await self._query_auth(path, query, expect)
        response = await self.http.request("GET", path, params=query, expect=(401, *expect))
        if response.status_code != 401:
            return response
        self.query_auth = True  # "Consumer key is missing": the server dropped the header
        return await self._query_auth(path, query, expect)

    async def _query_auth(
        self, path: str, query: dict[str, Any], expect: tuple[int, ...]
    ) -> httpx.Response:
        keys = {"consumer_key": self.keys[0], "consumer_secret": self.keys[1]}
        return await self.http.request(
            "GET", path, params=query | keys, auth=_NoAuth(), expect=expect
        )


class _NoAuth(httpx.Auth):
    """No Authorization header (the keys travel in the query string)."""


def _bad_orderby(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    params = (body.get("data") or {}).get("params") or {} if isinstance(body, dict) else {}
    return "orderby" in params or "orderby" in str(
        body.get("message", "") if isinstance(body, dict) else ""
    )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- webhooks

_PING = re.compile(rb"^webhook_id=\d+$")


def webhook_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    """The ping WooCommerce sends when a webhook is created (form body ``webhook_id=<id>``)."""
    return bool(_PING.match(body.strip()))


def verify_webhook(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Raise WebhookRejected unless ``X-WC-Webhook-Signature`` signs ``body`` with ``secret``."""
    if not base64_hmac_ok(secret, body, header(headers, "X-WC-Webhook-Signature")):
        raise WebhookRejected("missing or wrong X-WC-Webhook-Signature")


def webhook_event_id(body: bytes, headers: Mapping[str, str]) -> str:
    """The order's state this delivery carries: webhook, order id and ``date_modified_gmt``
    (``X-WC-Webhook-Delivery-ID`` is new on every attempt, so it cannot spot a repeat); the
    body's digest when those are missing."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    hook = header(headers, "X-WC-Webhook-ID") or "?"
    if isinstance(data, dict) and data.get("id") and data.get("date_modified_gmt"):
        return f"{hook}:{data['id']}:{data['date_modified_gmt']}"
    return "sha256:" + hashlib.sha256(body).hexdigest()
