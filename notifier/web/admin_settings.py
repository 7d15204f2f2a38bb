"""The merchant UI's settings and opt-out pages.

=========================================  =========================================================
GET  /admin/settings                       channels per trigger, triggers on/off, quiet hours,
                                           feedback delay, SMS budget, brand (name, logo, colour,
                                           CS WhatsApp and email, website, return-policy and review
                                           links), opening hours, FAQ
POST /admin/settings                       validated as a whole: saved, or 422 with each error next
                                           to its field and nothing changed
GET  /admin/optouts                        who opted out of which channel, when and how; changes
                                           made by hand with their reasons
POST /admin/optouts/{recipient_id}         re-subscribe one channel, only with a reason
=========================================  =========================================================
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from notifier.admin import optouts, profile
from notifier.admin.versions import Missing
from notifier.errors import InputError
from notifier.plugins import senders_for
from notifier.settings import CHANNELS, TRIGGERS
from notifier.web import admin_web as web
from notifier.web.deps import RowId, RuntimeDep, SessionDep

router = APIRouter(prefix="/admin", include_in_schema=False)
FAQ_BLANKS = 2  # empty question/answer rows offered below the merchant's own
BRAND_KEYS = tuple(profile.Brand.model_fields)


def settings_from_form(form: FormData) -> dict[str, Any]:
    """The settings form as :class:`notifier.admin.profile.MerchantSettings` input."""
    channels = [c for c in form.getlist("channels") if c in CHANNELS]
    per_trigger: dict[str, list[str]] = {}
    disabled = []
    for trigger in TRIGGERS:
        if not form.get(f"on.{trigger}"):
            disabled.append(trigger)
        chosen = [str(c) for c in form.getlist(f"ch.{trigger}")]
        if chosen != channels and (chosen or trigger not in disabled):
            per_trigger[trigger] = chosen
    budget = str(form.get("sms_segment_budget") or "").strip()
    return {
        "channels": channels,
        "disabled_triggers": disabled,
        "trigger_channels": per_trigger,
        "quiet_hours_start": str(form.get("quiet_hours_start") or ""),
        "quiet_hours_end": str(form.get("quiet_hours_end") or ""),
        "quiet_hours_email": bool(form.get("quiet_hours_email")),
        "senders": {c: str(form.get(f"sender.{c}") or "") for c in CHANNELS},
        "feedback_delay_days": str(form.get("feedback_delay_days") or "0"),
        "sms_segment_budget": budget or None,
        "brand": {k: str(form.get(f"brand.{k}") or "").strip() or None for k in BRAND_KEYS},
        "return_policy_url": str(form.get("return_policy_url") or "").strip() or None,
        "opening_hours": _hours(str(form.get("opening_hours") or "")),
        "faq": _faq(form),
    }


def _hours(text: str) -> dict[str, str]:
    """``mon-fri: 08:00-17:00`` lines as ``{"mon-fri": "08:00-17:00"}``; a line without a
    colon after the days is kept whole so the validator names it."""
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        days, sep, hours = line.strip().partition(" ")
        days = days.rstrip(":")
        out[days] = hours.strip() if sep else ""
    return out


def _faq(form: FormData) -> list[dict[str, Any]]:
    entries = []
    for i in range(profile.MAX_FAQ + FAQ_BLANKS):
        q = str(form.get(f"faq.{i}.q") or "").strip()
        a = str(form.get(f"faq.{i}.a") or "").strip()
        if q or a:
            loc = str(form.get(f"faq.{i}.locale") or "") or None
            entries.append({"q": q, "a": a, "locale": loc})
    return entries


def hours_text(hours: dict[str, str]) -> str:
    return "\n".join(f"{days}: {value}" for days, value in hours.items())


def _page(
    request: Request,
    rt: RuntimeDep,
    admin: web.Admin,
    values: dict[str, Any],
    *,
    errors: list[tuple[str, str]] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    faq = list(values.get("faq") or []) + [{}] * FAQ_BLANKS
    ctx = {
        "v": values,
        "faq": faq,
        "hours": hours_text(values.get("opening_hours") or {}),
        "errors": errors or [],
        "error_for": {field: msg for field, msg in errors or []},
        "saved": saved,
        "sender_choices": {c: senders_for(c) for c in CHANNELS},
        "service_senders": {c: getattr(rt.settings.senders, c) for c in CHANNELS},
    }
    return web.render(request, rt, "settings.html", ctx, admin=admin, status_code=status_code)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, rt: RuntimeDep, admin: web.AdminDep) -> Response:
    values = profile.read(rt, admin.merchant)
    return _page(request, rt, admin, values, saved=request.query_params.get("msg") == "saved")


@router.post("/settings", response_class=HTMLResponse, dependencies=[web.CsrfDep])
async def settings_save(
    request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep
) -> Response:
    data = settings_from_form(await request.form())
    try:
        profile.apply(admin.merchant, data)
    except profile.SettingsInvalid as err:
        db.rollback()
        shown = data | {"trigger_channels": data["trigger_channels"]}
        return _page(request, rt, admin, shown, errors=err.errors, status_code=422)
    db.add(admin.merchant)
    db.commit()
    return web.redirect("/admin/settings?msg=saved")


@router.get("/optouts", response_class=HTMLResponse)
def optouts_page(
    request: Request, rt: RuntimeDep, db: SessionDep, admin: web.AdminDep, channel: str = ""
) -> Response:
    ctx = {
        "rows": optouts.list_optouts(db, admin.merchant, channel=channel or None),
        "changes": optouts.changes(db, admin.merchant),
        "channel": channel if channel in CHANNELS else "",
        "notice": request.query_params.get("msg"),
        "error": None,
    }
    return web.render(request, rt, "optouts.html", ctx, admin=admin)


@router.post("/optouts/{recipient_id}", response_class=HTMLResponse, dependencies=[web.CsrfDep])
def resubscribe(
    recipient_id: RowId,
    request: Request,
    rt: RuntimeDep,
    db: SessionDep,
    admin: web.AdminDep,
    channel: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Re-subscribe one shopper to one channel; refused without a reason."""
    try:
        optouts.set_opt_out(
            db,
            admin.merchant,
            recipient_id,
            channel,
            opted_out=False,
            reason=reason,
            author=admin.merchant.slug,
            now=rt.clock.now(),
        )
    except Missing:
        return web.render(request, rt, "missing.html", {}, admin=admin, status_code=404)
    except InputError as err:
        db.rollback()
        ctx = {
            "rows": optouts.list_optouts(db, admin.merchant),
            "changes": optouts.changes(db, admin.merchant),
            "channel": "",
            "notice": None,
            "error": str(err),
        }
        return web.render(request, rt, "optouts.html", ctx, admin=admin, status_code=422)
    db.commit()
    return web.redirect("/admin/optouts?msg=resubscribed")
