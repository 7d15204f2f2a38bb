"""The shopper's order look-up: an order number plus the email or phone it was placed with.

Routes (no sign-in: the contact is the proof)::

    GET  /t     the form
    POST /t     303 to the parcel's page, or the order's parcels; the same vague answer for any
                miss; rate limited per client address and per order number (429 with
                Retry-After), so guessing numbers and contacts stays slow
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier import formatting
from notifier.errors import InputError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.pipeline.compose import carrier_name
from notifier.store.models import Merchant, Recipient
from notifier.web import tracking
from notifier.web.deps import SessionDep
from notifier.web.pages import pick_locale, render
from notifier.web.pages_text import LOCALES, TEXT
from notifier.web.ratelimit import Rule, app_limiter

router = APIRouter(include_in_schema=False)

# Look-ups per client address and per order number (each process counts on its own).
LOOKUP_RULES = (Rule(5, 60.0), Rule(20, 3600.0))


@router.get("/t", response_class=HTMLResponse)
def lookup_form(request: Request) -> HTMLResponse:
    """The look-up form."""
    locale = pick_locale(request)
    return render(request, "lookup.html", {"t": TEXT[locale], "locale": locale})


@router.post("/t", response_class=HTMLResponse)
def lookup(
    request: Request,
    session: SessionDep,
    order: Annotated[str, Form(max_length=128)] = "",
    contact: Annotated[str, Form(max_length=320)] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Find an order by number plus the shopper's email or phone."""
    locale = lang if lang in LOCALES else pick_locale(request)
    t = TEXT[locale]
    form = {"t": t, "locale": locale, "order": order, "contact": contact}
    if not order.strip() or not contact.strip():
        return render(request, "lookup.html", {**form, "error": t["lookup_missing"]}, 422)
    client = request.client.host if request.client else "unknown"
    limiter = app_limiter(request.app.state, "lookup_limiter", LOOKUP_RULES)
    wait = limiter.hit(f"ip:{client}", f"order:{tracking.number_key(order)}")
    if wait:
        return _limited(request, form, wait)
    found = tracking.find_orders(session, order, _contact_matcher(contact))
    parcels = [p for match in found for p in match.parcels]
    if len(found) == 1 and len(parcels) == 1:
        suffix = f"?lang={lang}" if lang in LOCALES else ""
        return RedirectResponse(f"/t/{parcels[0].token}{suffix}", status_code=303)
    if not found:
        return render(request, "lookup.html", {**form, "error": t["lookup_not_found"]})
    orders = [
        {
            "title": t["found_order"].format(order=m.order_number, shop=m.shop),
            "parcels": [
                {
                    "token": p.token,
                    "label": f"{carrier_name(p.carrier, p.courier)} {p.number}",
                    "status": formatting.status_label(p.status, locale),
                }
                for p in m.parcels
            ],
        }
        for m in found
    ]
    return render(request, "lookup_result.html", {**form, "orders": orders})


def _contact_matcher(raw: str) -> Any:
    """A test of (recipient, merchant) for what the shopper typed: an email, or a phone
    number read in each shop's country, normalized as intake does."""
    text = raw.strip()
    if "@" in text:
        try:
            email = normalize_email(text)
        except InputError:
            return lambda rec, merchant: False
        return lambda rec, merchant: bool(rec.email) and rec.email == email

    @lru_cache(maxsize=8)
    def phone_in(country: str) -> str | None:
        try:
            return normalize_phone(text, country).e164
        except InputError:
            return None

    def matches(rec: Recipient, merchant: Merchant) -> bool:
        return bool(rec.phone) and rec.phone == phone_in(merchant.country or "ID")

    return matches


def _limited(request: Request, form: dict[str, Any], wait: float) -> HTMLResponse:
    t = form["t"]
    seconds = int(wait)
    span = (
        t["minutes"].format(n=-(-seconds // 60))
        if seconds >= 90
        else t["seconds"].format(n=seconds)
    )
    ctx = {**form, "limited": t["limited"].format(wait=span)}
    return render(request, "lookup.html", ctx, 429, Retry_After=str(seconds))
