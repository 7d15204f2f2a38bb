"""Pages a shopper opens from a message: the tracking page and unsubscribe (the order look-up
that leads to a tracking page is :mod:`notifier.web.lookup`).

Routes (no sign-in anywhere: the 192-bit token in the URL is the authorization)::

    GET  /t/{token}              the parcel: brand, progress, ETA, journey, help, FAQ,
                                 notification preferences (``?lang=id|en`` overrides)
    POST /t/{token}/preferences  turn one channel (or all) off or back on: a form token
                                 derived from the tracking token, and a same-origin check,
                                 refuse forged posts (403); recorded as source "tracking_page"
    GET  /u/{token}, POST /u/{token}   one-click email unsubscribe (RFC 8058)
    /static/...                  the pages' CSS, JS and icon (mounted by the app)

The language is ``?lang``, else the shopper's, else the browser's Accept-Language, else the
shop's, else English; times are shown in the shopper's zone, else the shop's. Every page is
server-rendered with local assets only; responses carry a strict Content-Security-Policy, no
Referer leaves the site (the token is in the URL) and search engines are told not to index.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import col
from starlette.types import Scope

from carriers.links import public_url
from notifier import formatting, links
from notifier import hours as hours_
from notifier.pipeline.callbacks import opt_in, opt_out
from notifier.pipeline.compose import carrier_name
from notifier.store.models import Recipient
from notifier.web import tracking
from notifier.web.deps import RuntimeDep, SessionDep
from notifier.web.pages_text import LOCALES, TEXT

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))

SOURCE = "tracking_page"  # opt-out source recorded by the preferences form
PREFS_ANCHOR = "notifikasi"
_STATIC_MAX_AGE = 365 * 24 * 3600  # s: versioned asset URLs never change


# --- language, zone, security headers ----------------------------------------------------------


def pick_locale(request: Request, shopper: str | None = None, shop: str | None = None) -> str:
    """``?lang``, the shopper's locale, Accept-Language (by q), the shop's, else "en"."""
    for tag in (request.query_params.get("lang"), shopper, *_accepted(request), shop):
        lang = (tag or "").replace("_", "-").split("-")[0].strip().lower()
        lang = "id" if lang == "in" else lang  # the legacy code for Indonesian
        if lang in LOCALES:
            return lang
    return "en"


def _accepted(request: Request) -> list[str]:
    ranked = []
    for position, item in enumerate(request.headers.get("accept-language", "").split(",")[:20]):
        tag, _, params = item.partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if tag.strip() and q > 0:
            ranked.append((-q, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def _zone(*names: str | None) -> ZoneInfo:
    """The first valid zone of ``names`` (an old row may hold garbage), else UTC."""
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def render(
    request: Request, name: str, ctx: dict[str, Any], status_code: int = 200, **headers: str
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    response = templates.TemplateResponse(
        request, name, {**ctx, "nonce": nonce}, status_code=status_code
    )
    response.headers.update(
        {
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'self' 'nonce-{nonce}'; script-src 'self'; "
                "img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; "
                "base-uri 'none'"
            ),
            "Referrer-Policy": "same-origin",  # the token is in the URL: keep it on this site
            "X-Robots-Tag": "noindex, nofollow",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Vary": "Accept-Language",
            **{key.replace("_", "-"): value for key, value in headers.items()},
        }
    )
    return response


# --- the tracking page -------------------------------------------------------------------------


@router.get("/t/{token}", response_class=HTMLResponse)
def tracking_page(token: str, request: Request, rt: RuntimeDep, session: SessionDep) -> Response:
    """The parcel's progress, ETA and journey in the shopper's language and time zone."""
    found = tracking.load(session, token)
    if found is None:
        return _missing(request)
    rec, merchant = found.recipient, found.merchant
    locale = pick_locale(request, rec.locale if rec else None, merchant.locale)
    tz = _zone(rec.timezone if rec else None, merchant.timezone)
    now = rt.clock.now()
    channels = tracking.shop_channels(merchant, rt.settings.notify.channels)
    view = tracking.view(found, channels, now.astimezone(tz).date(), locale)
    ctx = _page(view, locale, tz.key, now, found)
    ctx["csrf"] = _form_token(rt, token)
    ctx["saved"] = _saved_message(request, locale)
    return render(request, "track.html", ctx)


def _page(
    v: tracking.TrackingView, locale: str, tz: str, now: datetime, found: tracking.Found
) -> dict[str, Any]:
    """The template's context: the view's facts in the shopper's words, dates and zone."""
    t, shop = TEXT[locale], v.shop
    carrier, brand = carrier_name(v.carrier, v.courier), shop.brand
    store_url = found.shipment.tracking_url  # the store's own link, when no carrier page
    note = _note(v, t, brand.name)
    return {
        "t": t,
        "locale": locale,
        "v": v,
        "shop": shop,
        "brand": brand,
        "carrier": carrier,
        "status_label": formatting.status_label(v.status, locale),
        "hello": t["hello"].format(name=v.first_name) if v.first_name else t["hello_anon"],
        "note": note,
        "note_tone": "warn" if note == t["note_delayed"] else "",
        "steps": [_step(s, t, locale) for s in v.steps],
        "eta": _eta(v, t, locale, now, tz),
        "delivered": _when(v.delivered_at, locale, tz) if v.delivered_at else None,
        "events": [_event(e, locale, tz) for e in v.events],
        "carrier_url": public_url(v.carrier, v.courier, v.number) or tracking.web_url(store_url),
        "whatsapp_url": _whatsapp(brand, t, v),
        "hours": _hours(shop, locale, t),
        "closed": bool(shop.hours) and not _is_open(shop, now, found.merchant.timezone),
        "parcels": [
            {
                "token": p.token,
                "label": f"{carrier_name(p.carrier, p.courier)} {p.number}",
                "status": formatting.status_label(p.status, locale),
            }
            for p in v.parcels
        ],
        "prefs": [_pref(p, t) for p in v.preferences],
        "any_on": any(p.on for p in v.preferences),
        "tone": next((s.tone for s in v.steps if s.state == "current"), ""),
        "carrier_link": t["carrier_link"].format(carrier=carrier),
        "parcels_title": t["parcels"].format(n=len(v.parcels) + 1),
        "older": t["older_events"].format(n=v.hidden_events) if v.hidden_events else None,
    }


def _note(v: tracking.TrackingView, t: dict[str, str], shop: str) -> str | None:
    if v.delayed and v.status not in ("exception", "failed_attempt"):
        return t["note_delayed"]
    if v.status == "available_for_pickup" and v.last_location:
        return t["note_available_for_pickup_at"].format(place=v.last_location)
    text = t.get(f"note_{v.status}")
    return text.format(shop=shop) if text else None


def _step(step: tracking.Step, t: dict[str, str], locale: str) -> dict[str, str]:
    label = formatting.status_label(step.status, locale) if step.status else t[f"step_{step.key}"]
    return {"key": step.key, "label": label, "state": step.state, "tone": step.tone}


def _eta(
    v: tracking.TrackingView, t: dict[str, str], locale: str, now: datetime, tz: str
) -> dict[str, str] | None:
    if v.eta is None:
        return None
    today = now.astimezone(ZoneInfo(tz)).date()
    relative = {today: t["today"], today + timedelta(days=1): t["tomorrow"]}.get(v.eta)
    if v.eta_passed:
        relative = t["eta_passed"]
    return {
        "text": formatting.format_date(v.eta, locale),
        "iso": v.eta.isoformat(),
        "relative": relative or "",
    }


def _when(moment: datetime, locale: str, tz: str) -> dict[str, str]:
    return {
        "text": f"{formatting.format_date(moment, locale, tz)}, "
        f"{formatting.format_time(moment, locale, tz)}",
        "iso": moment.isoformat(),
    }


def _event(e: tracking.Event, locale: str, tz: str) -> dict[str, Any]:
    return {
        "when": formatting.format_datetime(e.time, locale, tz) if e.time else "",
        "iso": e.time.isoformat() if e.time else "",
        "status": e.status,
        "label": formatting.status_label(e.status, locale),
        "description": e.description,
        "location": e.location,
    }


def _whatsapp(brand: tracking.Brand, t: dict[str, str], v: tracking.TrackingView) -> str | None:
    if not brand.cs_whatsapp:
        return None
    text = t["whatsapp_text"].format(shop=brand.name, order=v.order_number, number=v.number)
    return tracking.whatsapp_url(brand.cs_whatsapp, text)


def _hours(shop: tracking.Shop, locale: str, t: dict[str, str]) -> str | None:
    if not shop.hours:
        return None
    try:
        hours = hours_.describe_hours(shop.hours, locale)
    except ValueError:  # hours the merchant mistyped: say nothing rather than something wrong
        return None
    return t["hours"].format(hours=hours) if hours else None


def _is_open(shop: tracking.Shop, now: datetime, tz: str) -> bool:
    try:
        return hours_.is_open(shop.hours, now, tz)
    except ValueError:
        return True


def _pref(p: tracking.ChannelPref, t: dict[str, str]) -> dict[str, Any]:
    hint = None
    if not p.on and not p.can_turn_on:
        stop = (p.source or "").startswith("keyword:") or (p.source or "").endswith(":21610")
        hint = t["hint_keyword"] if stop else t["hint_provider"]
    name = t[f"ch_{p.channel}"]
    return {
        "channel": p.channel,
        "name": name,
        "on": p.on,
        "can_turn_on": p.can_turn_on,
        "action": t["turn_off" if p.on else "turn_on"].format(channel=name),
        "hint": hint,
    }


def _saved_message(request: Request, locale: str) -> str | None:
    saved, t = request.query_params.get("saved", ""), TEXT[locale]
    channel, _, state = saved.partition(".")
    if saved == "all.off":
        return t["saved_all"]
    if channel in tracking.CHANNELS and state in ("on", "off"):
        return t[f"saved_{state}"].format(channel=t[f"ch_{channel}"])
    return None


def _missing(request: Request) -> HTMLResponse:
    locale = pick_locale(request)
    t = TEXT[locale]
    ctx = {"t": t, "locale": locale, "title": t["missing_title"], "message": t["missing"]}
    return render(request, "missing.html", ctx, status_code=404)


# --- notification preferences ------------------------------------------------------------------


def _form_token(rt: Any, token: str) -> str:
    """The preferences form's token: a MAC of the tracking token under the server secret, so
    only a page this server rendered can post it."""
    secret = rt.settings.server.session_secret.get_secret_value().encode()
    digest = hmac.new(secret, f"preferences:{token}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def _same_origin(request: Request, rt: Any) -> bool:
    """False for a browser post from another site (Sec-Fetch-Site / Origin); requests that
    send neither header (old browsers, scripts) rely on the form token alone."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.url.netloc}"
    public = urlsplit(rt.settings.server.public_url)
    return origin in (own, f"{public.scheme}://{public.netloc}")


@router.post("/t/{token}/preferences")
def set_preference(
    token: str,
    request: Request,
    rt: RuntimeDep,
    session: SessionDep,
    channel: Annotated[str, Form()] = "",
    on: Annotated[str, Form()] = "0",
    csrf: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Turn ``channel`` ("all" for every one) off, or back on when the shopper turned it off
    on the web; 303 back to the page, which says what changed."""
    found = tracking.load(session, token)
    if found is None:
        return _missing(request)
    if not hmac.compare_digest(csrf, _form_token(rt, token)) or not _same_origin(request, rt):
        return _forbidden(request, token, lang)
    channels = tracking.shop_channels(found.merchant, rt.settings.notify.channels)
    prefs = {p.channel: p for p in tracking.preferences(channels, found.recipient)}
    wanted = list(prefs) if channel == "all" else [channel]
    if not wanted or any(c not in prefs for c in wanted) or (channel == "all" and on == "1"):
        raise HTTPException(400, "no such channel for this shopper")
    assert found.recipient is not None  # prefs is empty without one
    who = col(Recipient.id) == found.recipient.id
    for name in wanted:
        if on == "1" and prefs[name].can_turn_on:
            opt_in(session, who, name)
        elif on != "1":
            opt_out(session, who, name, SOURCE, rt.clock.now())  # an earlier opt-out stays
    session.commit()
    saved = f"{channel}.{'on' if on == '1' else 'off'}"
    query = f"?saved={saved}" + (f"&lang={lang}" if lang in LOCALES else "")
    return RedirectResponse(f"/t/{token}{query}#{PREFS_ANCHOR}", status_code=303)


def _forbidden(request: Request, token: str, lang: str) -> HTMLResponse:
    locale = lang if lang in LOCALES else pick_locale(request)
    t = TEXT[locale]
    ctx = {
        "t": t,
        "locale": locale,
        "title": t["forbidden_title"],
        "message": t["forbidden"],
        "back": f"/t/{token}",
    }
    return render(request, "missing.html", ctx, status_code=403)


# --- unsubscribe (RFC 8058) --------------------------------------------------------------------


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_form(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    """A button, not an action: link scanners must not unsubscribe anyone."""
    _check(rt, token)
    locale = pick_locale(request)
    ctx = {"t": TEXT[locale], "locale": locale, "done": False}
    return render(request, "unsubscribe.html", ctx)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(
    token: str,
    request: Request,
    rt: RuntimeDep,
    session: SessionDep,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> HTMLResponse:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``) or the page's own button."""
    recipient_id, channel = _check(rt, token)
    recipient = session.get(Recipient, recipient_id)
    if recipient is None:
        raise HTTPException(404, "unknown recipient")
    locale = pick_locale(request, recipient.locale)
    opt_out(session, col(Recipient.id) == recipient_id, channel, "unsubscribe_link", rt.clock.now())
    session.commit()
    return render(request, "unsubscribe.html", {"t": TEXT[locale], "locale": locale, "done": True})


def _check(rt: Any, token: str) -> tuple[int, str]:
    found = links.read_unsubscribe_token(
        rt.settings.server.session_secret.get_secret_value(), token
    )
    if found is None or found[1] not in ("email", "sms", "whatsapp"):
        raise HTTPException(404, "unknown unsubscribe link")
    return found


# --- static assets -----------------------------------------------------------------------------


class _Static(StaticFiles):
    """The pages' assets; a versioned URL (``?v=``, see :func:`static_url`) is cached for a
    year, anything else revalidates."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        scope: Scope = kwargs.get("scope") or args[2]
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["Cache-Control"] = (
            f"public, max-age={_STATIC_MAX_AGE}, immutable" if versioned else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> StaticFiles:
    """The ASGI app the app mounts at ``/static``."""
    return _Static(directory=STATIC)


@lru_cache(maxsize=32)
def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: a new URL whenever the file changes."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


templates.env.globals["static_url"] = static_url
