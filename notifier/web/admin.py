"""The merchant UI (``/admin``): sign-in, dashboard, shipments and messages.

Pages (all server-rendered; the little JavaScript there is only enhances):

=================================  ==============================================================
GET  /admin/login, POST            sign in with the merchant's API token (CSRF-protected form;
                                   10 attempts a minute, 60 an hour per client address)
POST /admin/logout                 end the session
GET  /admin/lang/{lang}            switch the UI between Indonesian and English
GET  /admin                        dashboard: shipments by status, delayed and exception ones
                                   first, messages sent today, failures to look at
GET  /admin/shipments              search by order number, tracking number, phone or email
GET  /admin/shipments/{shipment_id}  timeline and every message with state and provider status
GET  /admin/messages               messages by state, trigger and channel
GET  /admin/messages/{notification_id}  one message: what was sent, every attempt
GET  /admin/static/{name}          the UI's own CSS and JS (no CDN)
=================================  ==============================================================

Templates are in :mod:`notifier.web.admin_templates`, settings and opt-outs in
:mod:`notifier.web.admin_settings`, the REST API in :mod:`notifier.web.api_admin`;
:func:`include` adds them all to the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.responses import Response

from notifier.admin import queries
from notifier.admin.versions import Missing
from notifier.settings import CHANNELS, TRIGGERS
from notifier.store.models import NotificationState
from notifier.web import admin_web as web
from notifier.web import session as cookies
from notifier.web.deps import RowId, RuntimeDep, SessionDep
from notifier.web.ratelimit import Rule, app_limiter

router = APIRouter(prefix="/admin", include_in_schema=False)
STATIC = Path(__file__).parent / "static" / "admin"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
STATUSES = (
    "pending",
    "info_received",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "available_for_pickup",
    "delivered",
    "exception",
    "returned_to_sender",
    "expired",
)


def include(app: FastAPI) -> None:
    """Add the merchant UI and the admin REST API to ``app``."""
    from notifier.web import admin_settings, admin_templates, api_admin

    app.include_router(router)
    app.include_router(admin_templates.router)
    app.include_router(admin_settings.router)
    app.include_router(api_admin.router)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    path = STATIC / name
    kind = STATIC_TYPES.get(path.suffix)
    if kind is None or "/" in name or not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "max-age=3600"})


LOGIN_RULES = (Rule(10, 60.0), Rule(60, 3600.0))  # sign-in attempts per client address


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, rt: RuntimeDep, visitor: web.VisitorDep, next: str = "/admin"
) -> HTMLResponse:
    ctx = {"next": web.safe_next(next), "error": None}
    return web.render(request, rt, "login.html", ctx, visitor=visitor)


@router.post("/login", response_class=HTMLResponse, dependencies=[web.CsrfDep])
def login(
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    visitor: web.VisitorDep,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    """Sign in: the token must be a merchant's API token (compared by its hash). Attempts
    are limited per client address (:data:`LOGIN_RULES`): 429 with Retry-After beyond."""
    client = request.client.host if request.client else "unknown"
    limiter = app_limiter(request.app.state, "login_limiter", LOGIN_RULES)
    wait = limiter.hit(f"ip:{client}")
    if wait:
        ctx = {"next": web.safe_next(next), "error": "too_many_signins"}
        page = web.render(request, rt, "login.html", ctx, visitor=visitor, status_code=429)
        page.headers["Retry-After"] = str(int(wait))
        return page
    merchant = web.merchant_by_token(db, token)
    if merchant is None:
        ctx = {"next": web.safe_next(next), "error": "bad_token"}
        return web.render(request, rt, "login.html", ctx, visitor=visitor, status_code=401)
    response = web.redirect(web.safe_next(next))
    web.sign_in(response, rt, visitor, merchant)
    return response


@router.post("/logout", dependencies=[web.CsrfDep])
def logout(rt: RuntimeDep) -> RedirectResponse:
    response = web.redirect("/admin/login")
    web.sign_out(response, rt)
    return response


@router.get("/lang/{lang}")
def switch_lang(
    lang: str, request: Request, rt: RuntimeDep, visitor: web.VisitorDep, next: str = "/admin"
) -> RedirectResponse:
    """Only the UI's language changes: harmless as a GET, so a plain link works everywhere."""
    if lang not in cookies.LANGS:
        raise HTTPException(404, "no such language")
    response = web.redirect(web.safe_next(next))
    web.store_session(response, rt, cookies.with_lang(visitor, lang))
    return response


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep
) -> HTMLResponse:
    data = queries.dashboard(db, admin.merchant, rt.clock.now())
    order = sorted(data["by_status"], key=lambda s: STATUSES.index(s) if s in STATUSES else 99)
    ctx = {"data": data, "status_order": order}
    return web.render(request, rt, "dashboard.html", ctx, admin=admin)


@router.get("/shipments", response_class=HTMLResponse)
def shipments(
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    q: str = "",
    status: str = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> HTMLResponse:
    status = status if status in STATUSES else ""
    offset = (page - 1) * queries.PAGE
    rows = queries.search_shipments(db, admin.merchant, q, status=status or None, offset=offset)
    ctx = {"rows": rows, "q": q, "status": status, "statuses": STATUSES, "page": page}
    return web.render(request, rt, "shipments.html", ctx, admin=admin)


@router.get("/shipments/{shipment_id}", response_class=HTMLResponse)
def shipment(
    shipment_id: RowId, request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep
) -> HTMLResponse:
    try:
        data = queries.shipment_detail(db, admin.merchant, shipment_id)
    except Missing:
        return _missing(request, rt, admin)
    ctx = {"s": data, "public_url": rt.settings.server.public_url}
    return web.render(request, rt, "shipment.html", ctx, admin=admin)


@router.get("/messages", response_class=HTMLResponse)
def messages(
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    state: str = "",
    trigger: str = "",
    channel: str = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> HTMLResponse:
    states = [s.value for s in NotificationState]
    picked = {
        "state": state if state in states else "",
        "trigger": trigger if trigger in TRIGGERS else "",
        "channel": channel if channel in CHANNELS else "",
    }
    rows = queries.list_notifications(
        db,
        admin.merchant,
        state=picked["state"] or None,
        trigger=picked["trigger"] or None,
        channel=picked["channel"] or None,
        offset=(page - 1) * queries.PAGE,
    )
    ctx = {"rows": rows, "picked": picked, "states": states, "page": page}
    return web.render(request, rt, "messages.html", ctx, admin=admin)


@router.get("/messages/{notification_id}", response_class=HTMLResponse)
def message(
    notification_id: RowId, request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep
) -> HTMLResponse:
    try:
        data = queries.notification_detail(db, admin.merchant, notification_id)
    except Missing:
        return _missing(request, rt, admin)
    return web.render(request, rt, "message.html", {"n": data}, admin=admin)


def _missing(request: Request, rt: RuntimeDep, admin: web.Admin) -> HTMLResponse:
    """Another merchant's row looks exactly like a row that does not exist."""
    return web.render(request, rt, "missing.html", {}, admin=admin, status_code=404)
