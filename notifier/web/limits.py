"""A request-body size limit for the whole app (ASGI middleware).

Every request with a body is held to a limit before any route reads it: a declared
``Content-Length`` over the limit is answered 413 at once, without reading a byte; a body sent
without one (chunked) is counted as it arrives and refused with 413 as soon as it passes the
limit, so a hostile client can never make a worker hold more than the limit in memory.
Starlette reads url-encoded forms and JSON whole, so without this a single ``POST /t`` could
fill the server's memory.

Routes that read their own body keep their own, often smaller, limit (Twilio 64 KiB, carrier
pushes 1 MiB); the prefixes in :data:`PREFIX_LIMITS` are only the routes whose senders post
more than :data:`DEFAULT_MAX_BODY` (SendGrid event batches, order-store webhooks).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifier.web.webhooks_orders import MAX_BODY as ORDERS_MAX_BODY
from notifier.web.webhooks_senders import SENDGRID_MAX_BODY

DEFAULT_MAX_BODY = 1024 * 1024  # bytes: an order, a template (20,000 chars) or a form fits
PREFIX_LIMITS: Mapping[str, int] = {
    "/webhooks/sendgrid/": SENDGRID_MAX_BODY,  # SendGrid batches events (up to 8 MiB)
    "/webhooks/orders/": ORDERS_MAX_BODY,  # a large Shopify order is ~100 KB; 2 MiB
}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the limit: the app answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


def limit_for(path: str, limits: Mapping[str, int] = PREFIX_LIMITS) -> int:
    """The largest body accepted on ``path``, in bytes."""
    return next((n for prefix, n in limits.items() if path.startswith(prefix)), DEFAULT_MAX_BODY)


class BodyLimit:
    """ASGI middleware: 413 for bodies over :func:`limit_for` the request's path."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int] = PREFIX_LIMITS) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.limits)
        if _declared(scope) > limit:
            await _refuse(scope, receive, send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:  # a route that let it through its own handlers
            if started:
                raise
            await _refuse(scope, receive, send, limit)


def _declared(scope: Scope) -> int:
    """The declared Content-Length (0 when absent or not a number)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    # "Connection: close": the unread rest of the body must not be taken for the next request.
    response = PlainTextResponse(
        f"body larger than {limit} bytes", status_code=413, headers={"Connection": "close"}
    )
    await response(scope, receive, send)
