"""Order-store webhooks: ``POST /webhooks/orders/{source}/{merchant}``.

One route for every registered order source whose module pushes (it has ``verify_webhook`` or
``verify_push``, ``webhook_event_id`` and ``parse``; see :mod:`notifier.orders.base`): Shopify
(orders/paid, orders/updated, fulfillments/create and update, refunds/create, returns/*),
WooCommerce (order.created, order.updated), Shopee (push codes 3, order status, and 4, tracking
number) and TikTok Shop (webhook types 1, order status, and 12, return status). The merchant is
the slug in the URL. Shopify and WooCommerce sign with the ``webhook_secret`` of that
merchant's settings entry for the source (Shopify: the app's client secret); the marketplaces
sign with the app keys the entry already holds, Shopee over the URL it posted to as well
(``server.public_url`` plus the path). A marketplace push carries a fragment (an order's new
status, a tracking number): it updates an order we have; an order we do not have yet comes
with the next poll.

Thin by design: read the body (413 past :data:`MAX_BODY`), verify it (403: missing or wrong
signature, or no secret configured; nothing changes), read it (400), store it with
:func:`notifier.orders.poller.receive` (500 if that crashes, so the store retries). A delivery
already applied (same event id, or the very same body) answers 200 ``replay`` and changes
nothing; a body about no order we keep answers 200 ``ignored``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import select

from notifier import plugins
from notifier.orders import poller
from notifier.orders.base import WebhookRejected, WebhookUnverifiable
from notifier.orders.parse_contract import BodyError, decode
from notifier.runtime import Runtime
from notifier.store.models import Merchant
from notifier.web.deps import RuntimeDep

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/webhooks/orders", tags=["webhooks"])

MAX_BODY = 2 * 1024 * 1024  # bytes; a Shopify order with hundreds of lines is ~100 KB
HOOKS = ("webhook_event_id", "parse")
VERIFIERS = ("verify_push", "verify_webhook")  # a module has one of them
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied, a replay, or about nothing we keep"},
    400: {"description": "Not a body this store sends"},
    403: {"description": "Missing or wrong signature (or no secret set); nothing changed"},
    404: {"description": "No such source, merchant, or source configured for the merchant"},
    413: {"description": "Body too large"},
    500: {"description": "Our failure; the store should retry"},
}


class _TooLarge(Exception):
    pass


@router.post("/{source}/{merchant}", responses=_RESPONSES, summary="An order store's webhook")
async def store_webhook(
    source: str, merchant: str, request: Request, rt: RuntimeDep
) -> JSONResponse:
    """A store's signed push about an order (see the module documentation)."""
    module = push_module(source)
    if module is None:
        return JSONResponse({"detail": f"no webhooks for source {source!r}"}, 404)
    try:
        body = await _read(request)
    except _TooLarge:
        return JSONResponse({"detail": f"body over {MAX_BODY} bytes"}, 413)
    found = await asyncio.to_thread(_merchant, rt, merchant)
    entry = poller.source_entry(found, source) if found else None
    if found is None or entry is None:
        return JSONResponse({"detail": f"{source} is not set up for {merchant!r}"}, 404)
    ping = getattr(module, "webhook_ping", None)
    if callable(ping) and ping(body, request.headers):
        return JSONResponse({"status": "pong"})
    try:
        _verify(module, body, request, entry, rt.settings.server.public_url)
        stores = module.parse(decode(body))
    except WebhookUnverifiable as err:
        log.error("webhook.unverifiable", source=source, merchant=merchant, missing=err.missing)
        return JSONResponse({"detail": str(err)}, 403)
    except WebhookRejected as err:
        log.warning("webhook.bad_signature", source=source, merchant=merchant)
        return JSONResponse({"detail": str(err)}, 403)
    except BodyError as err:
        return JSONResponse({"detail": str(err)}, 400)
    events = [
        module.webhook_event_id(body, request.headers),
        "sha256:" + hashlib.sha256(body).hexdigest(),
    ]
    try:
        done = await asyncio.to_thread(
            poller.receive, rt, found, source, sorted(set(events)), stores
        )
    except Exception:  # a stage boundary: our failure, so the store retries
        log.exception("webhook.crashed", source=source, merchant=merchant)
        return JSONResponse({"status": "error", "detail": "internal error"}, 500)
    return _answer(source, merchant, done)


def _answer(source: str, merchant: str, done: poller.Received) -> JSONResponse:
    stored = done.created + done.updated + done.unchanged
    status = "replay" if done.replay else "applied" if stored else "ignored"
    fields = {k: v for k, v in vars(done).items() if k not in ("replay", "errors", "warnings")}
    log.info("webhook.orders", source=source, merchant=merchant, status=status, **fields)
    return JSONResponse(
        {"status": status, **fields, "errors": done.errors[:10], "warnings": done.warnings[:10]}
    )


def push_module(source: str) -> ModuleType | None:
    """The source's module when it is registered and pushes; None otherwise."""
    try:
        cls = plugins.load_source(source)
    except (KeyError, ImportError):
        return None
    module = sys.modules.get(cls.__module__)
    if module is None or not all(callable(getattr(module, h, None)) for h in HOOKS):
        return None
    return module if any(callable(getattr(module, v, None)) for v in VERIFIERS) else None


def push_url(public_url: str, source: str, merchant: str) -> str:
    """The address ``source`` pushes to about ``merchant`` (what to register with the store)."""
    return f"{public_url.rstrip('/')}{router.prefix}/{source}/{merchant}"


def _verify(
    module: ModuleType, body: bytes, request: Request, entry: Mapping[str, Any], public: str
) -> None:
    """Raise WebhookRejected unless the push is signed for this merchant's source entry."""
    if callable(getattr(module, "verify_push", None)):
        url = public.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        module.verify_push(body, request.headers, entry, url)
        return
    secret = entry.get("webhook_secret")
    if not secret:
        raise WebhookUnverifiable("webhook_secret")
    module.verify_webhook(body, request.headers, str(secret))


def _merchant(rt: Runtime, slug: str) -> Merchant | None:
    with rt.sessions() as session:
        return session.exec(select(Merchant).where(Merchant.slug == slug)).first()


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
