"""The merchant UI's template pages.

=================================================  ===============================================
GET  /admin/templates                              every trigger x channel x locale: the
                                                   merchant's version or the default, on/off
GET  /admin/templates/{trigger}/{channel}/{locale}  the editor: source, live preview (email as
                                                   sandboxed HTML + plain text, SMS with segments
                                                   and encoding, WhatsApp as a chat bubble),
                                                   problems with lines, history, diff (?diff=N)
POST (same)                                        save: validated, a new version or 422
POST .../preview                                   the live preview as JSON (X-CSRF-Token)
POST .../rollback                                  a new version with an old version's source
POST .../wording                                   use my wording (1) or the default (0)
POST .../test                                      send the sample to the merchant's own address
POST /admin/switches/{trigger}                     trigger on/off
POST /admin/switches/{trigger}/{channel}           channel on/off for a trigger
=================================================  ===============================================
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from notifier.admin import checks, editor, switches, versions
from notifier.admin.versions import Missing, TemplateKey
from notifier.errors import InputError, SendError, TemplateError
from notifier.runtime import Runtime
from notifier.templating import documented_variables
from notifier.web import admin_web as web
from notifier.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/admin", include_in_schema=False)
EDITOR = "/templates/{trigger}/{channel}/{locale}"
# The email preview runs in <iframe sandbox srcdoc>: no scripts, and its own policy on top.
FRAME_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src https: data:; style-src 'unsafe-inline'\">"
)
NOTICES = ("saved", "rolled_back", "wording_on", "wording_off", "test_sent", "test_failed")


def author(admin: web.Admin) -> str:
    return f"{admin.merchant.slug} (web)"


def flatten(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """The documented variables as dotted names, for the editor's help."""
    out = []
    for name, sub in tree.items():
        dotted = f"{prefix}{name}"
        out += flatten(sub, dotted + ".") if isinstance(sub, dict) else [dotted]
    return out


def _key(rt: Runtime, trigger: str, channel: str, locale: str) -> TemplateKey:
    return TemplateKey.parse(rt.templates, trigger, channel, locale)


def _url(key: TemplateKey, suffix: str = "") -> str:
    return f"/admin/templates/{key.trigger}/{key.channel}/{key.locale}{suffix}"


@router.get("/templates", response_class=HTMLResponse)
def overview(request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep) -> Response:
    rows = editor.overview(rt, db, admin.merchant)
    grid: dict[str, dict[str, list[editor.OverviewRow]]] = {}
    for row in rows:
        grid.setdefault(row.key.trigger, {}).setdefault(row.key.channel, []).append(row)
    state = switches.read(rt, admin.merchant)
    ctx = {"grid": grid, "switches": state, "notice": request.query_params.get("msg")}
    return web.render(request, rt, "templates.html", ctx, admin=admin)


def _editor(
    request: Request,
    rt: Runtime,
    db: SessionDep,
    admin: web.Admin,
    key: TemplateKey,
    *,
    source: str | None = None,
    problems: list[Any] | None = None,
    notice: str | None = None,
    detail: str | None = None,
    status_code: int = 200,
) -> Response:
    info = editor.detail(rt, db, admin.merchant, key)
    text = source if source is not None else editor.working_source(rt, db, admin.merchant, key)
    shown = checks.preview(rt, admin.merchant, key, text)
    diff = None
    wanted = request.query_params.get("diff")
    if wanted and wanted.isdigit() and info["versions"]:
        try:
            diff = editor.diff_json(rt, db, admin.merchant, key, int(wanted))
        except Missing:
            diff = None
    ctx = {
        "key": key,
        "info": info,
        "source": text,
        "preview": shown,
        "srcdoc": FRAME_CSP + (shown.html or ""),
        "frame_csp": FRAME_CSP,
        "problems": problems if problems is not None else [],
        "notice": notice if notice in NOTICES else None,
        "detail": detail if detail is not None else request.query_params.get("detail", ""),
        "diff": diff,
        "variables": flatten(documented_variables(key.trigger, key.channel)),
        "url": _url(key),
    }
    return web.render(request, rt, "editor.html", ctx, admin=admin, status_code=status_code)


@router.get(EDITOR, response_class=HTMLResponse)
def edit(
    trigger: str,
    channel: str,
    locale: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
) -> Response:
    try:
        key = _key(rt, trigger, channel, locale)
    except Missing:
        return _missing(request, rt, admin)
    notice = request.query_params.get("msg")
    return _editor(request, rt, db, admin, key, notice=notice)


@router.post(EDITOR, response_class=HTMLResponse, dependencies=[web.CsrfDep])
def save(
    trigger: str,
    channel: str,
    locale: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    source: Annotated[str, Form()] = "",
) -> Response:
    """Save a new version, or show the problems (with their lines) and keep the text."""
    try:
        key = _key(rt, trigger, channel, locale)
    except Missing:
        return _missing(request, rt, admin)
    saved = editor.save(rt, db, admin.merchant, key, source, author=author(admin))
    if saved.version is None:
        db.rollback()
        return _editor(
            request, rt, db, admin, key, source=source, problems=saved.problems, status_code=422
        )
    db.commit()
    return web.redirect(_url(key, "?msg=saved"))


@router.post(EDITOR + "/preview", dependencies=[web.CsrfDep])
def preview(
    trigger: str,
    channel: str,
    locale: str,
    rt: RuntimeDep,
    admin: web.AdminDep,
    source: Annotated[str, Form()] = "",
) -> JSONResponse:
    try:
        key = _key(rt, trigger, channel, locale)
    except Missing:
        return JSONResponse({"detail": "no such template"}, 404)
    shown = checks.preview(rt, admin.merchant, key, source)
    return JSONResponse(checks.preview_json(shown), headers={"Cache-Control": "no-store"})


@router.post(EDITOR + "/rollback", response_class=HTMLResponse, dependencies=[web.CsrfDep])
def rollback(
    trigger: str,
    channel: str,
    locale: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    version: Annotated[int, Form()] = 0,
) -> Response:
    try:
        key = _key(rt, trigger, channel, locale)
        saved = editor.rollback(rt, db, admin.merchant, key, version, author=author(admin))
    except Missing:
        return _missing(request, rt, admin)
    if saved.version is None:
        db.rollback()
        old = versions.by_number(db, admin.merchant_id, key, version).source
        return _editor(
            request, rt, db, admin, key, source=old, problems=saved.problems, status_code=422
        )
    db.commit()
    return web.redirect(_url(key, "?msg=rolled_back"))


@router.post(EDITOR + "/wording", response_class=HTMLResponse, dependencies=[web.CsrfDep])
def wording(
    trigger: str,
    channel: str,
    locale: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    enabled: Annotated[int, Form()] = 1,
) -> Response:
    try:
        key = _key(rt, trigger, channel, locale)
        versions.set_enabled(db, admin.merchant_id, key, bool(enabled))
    except Missing:
        return _missing(request, rt, admin)
    db.commit()
    return web.redirect(_url(key, f"?msg=wording_{'on' if enabled else 'off'}"))


@router.post(EDITOR + "/test", response_class=HTMLResponse, dependencies=[web.CsrfDep])
async def test_send(
    trigger: str,
    channel: str,
    locale: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
) -> Response:
    """Send the saved wording (or the default) to the merchant's own address."""
    try:
        key = _key(rt, trigger, channel, locale)
    except Missing:
        return _missing(request, rt, admin)
    row = versions.current(db, admin.merchant_id, key)
    source = row.source if row and row.enabled else None
    try:
        to, result, sender = await editor.test_send(rt, admin.merchant, key, source)
    except (InputError, SendError, TemplateError) as err:
        return _editor(request, rt, db, admin, key, notice="test_failed", detail=str(err))
    detail = f"{to} ({sender}, {result.provider_message_id or result.status})"
    return web.redirect(_url(key, f"?msg=test_sent&detail={_quote(detail)}"))


def _quote(text: str) -> str:
    return quote(text, safe="")


@router.post("/switches/{trigger}", dependencies=[web.CsrfDep])
def switch_trigger(
    trigger: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    on: Annotated[int, Form()] = 1,
) -> Response:
    try:
        switches.set_trigger(rt, admin.merchant, trigger, bool(on))
    except InputError:
        return _missing(request, rt, admin)
    db.add(admin.merchant)
    db.commit()
    return web.redirect("/admin/templates?msg=saved")


@router.post("/switches/{trigger}/{channel}", dependencies=[web.CsrfDep])
def switch_channel(
    trigger: str,
    channel: str,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    on: Annotated[int, Form()] = 1,
) -> Response:
    try:
        switches.set_channel(rt, admin.merchant, trigger, channel, bool(on))
    except InputError as err:
        if err.field in ("trigger", "channel"):
            return _missing(request, rt, admin)
        return web.redirect(f"/admin/templates?msg=one_channel&trigger={trigger}")
    db.add(admin.merchant)
    db.commit()
    return web.redirect("/admin/templates?msg=saved")


def _missing(request: Request, rt: Runtime, admin: web.Admin) -> HTMLResponse:
    return web.render(request, rt, "missing.html", {}, admin=admin, status_code=404)
