"""Oversized bodies are refused early on every route that takes one (POST and PUT).

Each route of the real app gets a body far over its limit twice: once with an honest
``Content-Length`` (answered 413 without a single byte read), once streamed without one
(chunked: answered 413 as soon as the limit is passed; the client's stream is not drained).
A generator counts what the app pulled, so "before reading the whole body" is measured, not
assumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from notifier.web.app import create_app
from notifier.web.limits import DEFAULT_MAX_BODY, PREFIX_LIMITS, limit_for
from notifier.web.webhooks_carriers import MAX_BODY as CARRIER_MAX_BODY
from notifier.web.webhooks_orders import MAX_BODY as ORDERS_MAX_BODY
from notifier.web.webhooks_senders import SENDGRID_MAX_BODY, TWILIO_MAX_BODY
from tests.hostile import world as w

CHUNK = 64 * 1024
PARAMS = {
    "external_id": "o-JX0001",
    "trigger": "shipped",
    "channel": "sms",
    "locale": "id",
    "token": "some-token",
    "recipient_id": "1",
    "carrier": "aftership",
    "source": "shopify",
    "merchant": "sekar",
}


def _body_routes() -> list[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type]  # enumerating only
    return [
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        for method in sorted(set(route.methods or ()) & {"POST", "PUT", "PATCH"})
    ]


ROUTES = _body_routes()


def _path(template: str) -> str:
    path = template
    values = PARAMS | ({"carrier": "shippo"} if template.endswith("{token}") else {})
    for raw in template.split("{")[1:]:
        param = raw.split("}")[0]
        path = path.replace("{" + param + "}", values[param.split(":")[0]])
    return path


class Pulled:
    """A lazy body of ``size`` bytes that remembers how much of it was read."""

    def __init__(self, size: int) -> None:
        self.size, self.read = size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            n = min(CHUNK, self.size - self.read)
            self.read += n
            yield b"a" * n


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator:
    world = w.build(tmp_path_factory.mktemp("limits"))
    yield create_app(world.rt)
    world.engine.dispose()


def _headers(template: str) -> dict[str, str]:
    auth = {"Authorization": f"Bearer {w.TOKEN}"} if template.startswith("/api") else {}
    kind = (
        "application/json" if template.startswith("/api") else "application/x-www-form-urlencoded"
    )
    return auth | {"Content-Type": kind}


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_a_declared_oversized_body_is_refused_unread(app, method, template):
    limit = limit_for(template)
    body = Pulled(limit * 4)
    headers = _headers(template) | {"Content-Length": str(body.size)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.request(method, _path(template), content=body, headers=headers)
    assert answer.status_code == 413, answer.text[:200]
    assert body.read <= CHUNK, f"{body.read} bytes read before refusing"


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_a_streamed_oversized_body_is_refused_at_the_limit(app, method, template):
    limit = limit_for(template)
    body = Pulled(limit * 4)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.request(
            method, _path(template), content=body, headers=_headers(template)
        )
    # the route may refuse before reading at all (unknown carrier, no such source)
    assert answer.status_code == 413 or body.read <= CHUNK, (answer.status_code, body.read)
    assert answer.status_code < 500
    assert body.read <= limit + CHUNK, f"{body.read} bytes read, limit {limit}"


def test_every_route_limit_is_at_least_what_its_senders_post():
    """The app-wide limit never cuts below a route's own, documented limit."""
    assert limit_for("/webhooks/sendgrid/events") == SENDGRID_MAX_BODY
    assert limit_for("/webhooks/orders/shopify/sekar") == ORDERS_MAX_BODY
    assert limit_for("/webhooks/twilio/status") >= TWILIO_MAX_BODY
    assert limit_for("/webhooks/carriers/aftership") >= CARRIER_MAX_BODY
    assert limit_for("/api/v1/orders") == DEFAULT_MAX_BODY
    assert all(n >= DEFAULT_MAX_BODY for n in PREFIX_LIMITS.values())


async def test_a_body_just_under_the_limit_still_reaches_the_route(app):
    """The limit refuses what is over it, nothing else: a big but honest order is read."""
    padding = "x" * (DEFAULT_MAX_BODY - 4096)
    body = b'{"external_id": "", "note": "' + padding.encode() + b'"}'
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/api/v1/orders", content=body, headers=_headers("/api"))
    assert answer.status_code == 422  # read and validated, not refused for its size


def test_the_limits_cover_every_post_and_put_route():
    methods = {m for m, _ in ROUTES}
    assert methods <= {"POST", "PUT"} and len(ROUTES) >= 25
