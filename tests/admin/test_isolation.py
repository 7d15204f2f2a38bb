"""Merchants are isolated (design invariant 6): one walk over EVERY route of the app.

Each route is called with Toko Mawar's ids in its path and Toko Batik Sekar's credentials (the
bearer token on ``/api``, a signed-in session with a valid CSRF token on ``/admin``, nothing
elsewhere). A route whose path names one of Mawar's rows must answer 404 -- the same as a row
that does not exist -- and no route may answer with any of Mawar's data (its tracking number,
order number, scans, errors, template wording, shopper's phone). After each call Mawar's rows are
checked unchanged. A new route with a path parameter this table does not know fails the walk
until someone says what to put there, so nothing is added unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlmodel import SQLModel, select

from notifier.runtime import Runtime, build_runtime
from notifier.settings import Settings
from notifier.store.db import make_engine
from notifier.store.merchants import token_hash
from notifier.store.models import Merchant, Notification, Recipient, TemplateOverride
from notifier.testing import FrozenClock, MemorySender
from notifier.web import session as cookies
from notifier.web.app import create_app
from tests.admin.conftest import SEKAR, ShopData, seed_shop
from tests.conftest import START
from tests.orders.helpers import add_merchant


def _routes() -> list[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type]  # enumerating only; nothing is served
    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            found.append((method, route.path))
    return found


ROUTES = _routes()
# Path parameters naming a row of one merchant: the answer must be 404.
OWNED = {
    "shipment_id": lambda b: b.shipment_id,
    "notification_id": lambda b: b.notification_id,
    "recipient_id": lambda b: b.recipient_id,
    "version_id": lambda b: b.version_id,
    "external_id": lambda b: f"o-{b.markers[0]}",
}
# Other path parameters: names, not rows (templates and switches are per merchant by scope).
NAMES = {
    "trigger": lambda b: "shipped",
    "channel": lambda b: "sms",
    "locale": lambda b: "id",
    "lang": lambda b: "en",
    "name": lambda b: "admin.css",
    "carrier": lambda b: "aftership",
    "token": lambda b: b.public_token,
    "source": lambda b: "shopify",  # order-store webhooks: signed by the store, not by us
    "merchant": lambda b: b.merchant.slug,
}
# The shopper's tracking page is public by design: its unguessable token is the credential.
PUBLIC_BY_TOKEN = {("GET", "/t/{token}")}
JSON_BODY = {
    "source": "{{ shipment.tracking_url }}",
    "version": 1,
    "enabled": False,
    "on": False,
    "opted_out": False,
    "reason": "asked again by phone",
}
# Bodies for routes whose model refuses unknown fields: the request must reach the look-up.
JSON_BODIES = {
    "/api/v1/orders/{external_id:path}/shipments": {
        "carrier": "simulator",
        "tracking_number": "SIM0000000001",
    },
}
FORM_BODY = {k: str(v) for k, v in JSON_BODY.items()} | {"channel": "sms", "enabled": "0"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Runtime, ShopData, ShopData]]:
    """One database for the whole walk (built once: the walk has a test per route). SQLite
    only: scoping is in the queries, the same SQL on both databases, and the services' own
    tests run on PostgreSQL too."""
    folder = tmp_path_factory.mktemp("isolation")
    engine = make_engine(f"sqlite:///{folder / 'isolation.db'}")
    SQLModel.metadata.create_all(engine)
    settings = Settings(database_url="sqlite://", senders={"outbox": {"dir": folder / "out"}})
    rt = build_runtime(settings, FrozenClock(START), engine=engine)
    sender = MemorySender()
    for channel in ("email", "sms", "whatsapp"):
        rt.senders.install(channel, sender)
    sekar = seed_shop(rt, add_merchant(rt, "sekar", "tok-sekar"), "SEKAR", "+6281234500001")
    mawar = seed_shop(rt, add_merchant(rt, "mawar", "tok-mawar"), "MAWAR", "+6281234500002")
    yield rt, sekar, mawar
    engine.dispose()


@pytest.fixture(scope="module")
def app(world):
    return create_app(world[0])


def _signed_in(rt: Runtime, shop: ShopData) -> tuple[str, str]:
    """A session cookie of ``shop`` (signing in through the form is tested on its own)."""
    session = cookies.signed_in(cookies.new_session(), shop.merchant.id, token_hash("tok-sekar"))
    secret = rt.settings.server.session_secret.get_secret_value()
    return cookies.encode(secret, session), session.csrf


def _path(template: str, b: ShopData) -> tuple[str, bool]:
    """The path with B's values, and whether it names one of B's rows."""
    path, owned = template, False
    for raw in template.split("{")[1:]:
        param = raw.split("}")[0]
        name = param.split(":")[0]
        if name in OWNED:
            value, owned = OWNED[name](b), True
        elif name in NAMES:
            value = NAMES[name](b)
        else:
            pytest.fail(f"{template}: add path parameter {name!r} to OWNED or NAMES")
        path = path.replace("{" + param + "}", str(value))
    return path, owned


def _snapshot(rt, b: ShopData) -> dict[str, Any]:
    with rt.sessions() as s:
        return {
            "settings": s.get(Merchant, b.merchant.id).settings,
            "versions": [
                (v.version, v.source, v.enabled)
                for v in s.exec(
                    select(TemplateOverride).where(TemplateOverride.merchant_id == b.merchant.id)
                )
            ],
            "opt_out": s.get(Recipient, b.recipient_id).sms_opt_out_at,
            "notes": [
                (n.id, n.state, n.last_error)
                for n in s.exec(
                    select(Notification).where(Notification.merchant_id == b.merchant.id)
                )
            ],
        }


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_merchant_a_never_reaches_merchant_b(world, app, method, template):
    rt, sekar, mawar = world
    path, owned = _path(template, mawar)
    before = _snapshot(rt, mawar)
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if template.startswith("/admin"):
        cookie, csrf = _signed_in(rt, sekar)
        headers |= {"X-CSRF-Token": csrf, "Cookie": f"{cookies.COOKIE}={cookie}"}
        if method in ("POST", "PUT"):
            kwargs["data"] = FORM_BODY | {"csrf": csrf}
    elif template.startswith("/api"):
        headers |= SEKAR
        if method in ("POST", "PUT"):
            kwargs["json"] = JSON_BODIES.get(template, JSON_BODY)
    elif method in ("POST", "PUT"):
        kwargs["data"] = FORM_BODY
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.request(method, path, headers=headers, **kwargs)

    shown = f"{method} {path}: {answer.status_code} {answer.text[:300]}"
    if owned:
        assert answer.status_code == 404, shown
    else:
        assert answer.status_code < 500, shown
    if (method, template) not in PUBLIC_BY_TOKEN:
        # (an id we sent may be echoed back in the 404's message: that tells nothing)
        leaked = [m for m in mawar.markers if m in answer.text and m not in path]
        assert not leaked, f"{method} {path} answered with Mawar's {leaked}"
    assert _snapshot(rt, mawar) == before, f"{method} {path} changed Mawar's data"


def test_the_walk_covers_the_merchant_ui_and_the_admin_api():
    """The walk is over the app's real routes: the ones this work added are all in it."""
    paths = {p for _, p in ROUTES}
    for expected in (
        "/admin/shipments/{shipment_id}",
        "/admin/messages/{notification_id}",
        "/admin/optouts/{recipient_id}",
        "/admin/templates/{trigger}/{channel}/{locale}/rollback",
        "/api/v1/shipments/{shipment_id}",
        "/api/v1/notifications/{notification_id}",
        "/api/v1/template-versions/{version_id}",
        "/api/v1/opt-outs/{recipient_id}/{channel}",
        "/api/v1/settings",
    ):
        assert expected in paths
    assert len(ROUTES) >= 50


async def test_without_credentials_every_merchant_route_refuses(world, app):
    """No token (API: 401) and no session (UI: sign-in page, or 401 for scripts and forms)."""
    _, _, mawar = world
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, template in ROUTES:
            if not template.startswith(("/api/v1", "/admin")) or template.startswith(
                ("/admin/login", "/admin/static", "/admin/lang")
            ):
                continue
            path, _ = _path(template, mawar)
            answer = await client.request(method, path)
            expected = {401}
            if template.startswith("/admin"):  # a page: sign in first; a form: no CSRF token
                expected = {303} if method == "GET" else {401, 403}
            assert answer.status_code in expected, f"{method} {path}: {answer.status_code}"
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/admin/login")
