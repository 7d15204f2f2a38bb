"""The shopper's order look-up: an order number plus the email or phone it was placed with.

Routes (no sign-in: the contact is the proof)::

    GET  /t     the form
    POST /t     303 to the parcel's page, or the order's parcels; the same vague answer for any
                miss; rate limited per client address and per order number (429 with
                Retry-After), so guessing numbers and contacts stays slow

:func:`find_orders` reads the matching orders and their parcels (two queries); a parcel is
listed with the same :class:`~notifier.web.tracking.Parcel` the tracking page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from notifier import formatting
from notifier.errors import InputError
from notifier.orders.contact import normalize_email, normalize_phone
from notifier.pipeline.compose import carrier_name
from notifier.store.models import Merchant, Order, Recipient, Shipment
from notifier.web import tracking
from notifier.web.deps import SessionDep
from notifier.web.pages import pick_locale, render
from notifier.web.pages_text import LOCALES, TEXT
from notifier.web.ratelimit import Rule, app_limiter

router = APIRouter(include_in_schema=False)

# Look-ups per client address and per order number (each process counts on its own).
LOOKUP_RULES = (Rule(5, 60.0), Rule(20, 3600.0))
MAX_MATCHES = 20  # orders with the same number (different shops) considered per look-up


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
    wait = limiter.hit(f"ip:{client}", f"order:{number_key(order)}")
    if wait:
        return _limited(request, form, wait)
    found = find_orders(session, order, _contact_matcher(contact))
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


# --- finding the order -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderMatch:
    """An order whose number and shopper contact matched a look-up, with its parcels."""

    shop: str
    order_number: str
    parcels: tuple[tracking.Parcel, ...]


def number_variants(typed: str) -> list[str]:
    """The spellings of an order number to look for: as typed (spaces collapsed), upper-case,
    with and without a leading "#" (Shopify names orders "#1001")."""
    text = " ".join(typed.split())
    bare = text.lstrip("#").strip()
    found: list[str] = []
    for variant in (text, bare, f"#{bare}"):
        for spelling in (variant, variant.upper()):
            if spelling and spelling not in found:
                found.append(spelling)
    return found


def number_key(typed: str) -> str:
    """One key per order number however it is typed (for the look-up's rate limit)."""
    return " ".join(typed.split()).lstrip("#").strip().upper()


def find_orders(
    session: Session,
    typed_number: str,
    matches: Callable[[Recipient, Merchant], bool],
    *,
    limit: int = MAX_MATCHES,
) -> list[OrderMatch]:
    """Orders numbered ``typed_number`` whose shopper ``matches(recipient, merchant)``, with
    their parcels: two queries. An empty list whether the number or the contact was wrong."""
    rows = session.exec(
        select(Order, Recipient, Merchant)
        .join(Recipient, col(Order.recipient_id) == col(Recipient.id))
        .join(Merchant, col(Order.merchant_id) == col(Merchant.id))
        .where(col(Order.order_number).in_(number_variants(typed_number)))
        .order_by(col(Order.id))
        .limit(limit)
    ).all()
    orders = [(order, merchant) for order, rec, merchant in rows if matches(rec, merchant)]
    if not orders:
        return []
    shipments = session.exec(
        select(Shipment)
        .where(col(Shipment.order_id).in_([order.id for order, _ in orders]))
        .order_by(col(Shipment.id))
    ).all()
    found = []
    for order, merchant in orders:
        parcels = tuple(
            tracking.Parcel(s.public_token, s.carrier, s.courier, s.tracking_number, s.status)
            for s in shipments
            if s.order_id == order.id
        )
        name = tracking.read_shop(merchant.name, merchant.settings or {}).brand.name
        found.append(OrderMatch(name, order.order_number, parcels[: tracking.MAX_PARCELS]))
    return found
