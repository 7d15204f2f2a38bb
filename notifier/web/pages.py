"""Pages a shopper opens from a message: the tracking page and the one-click unsubscribe.

The tracking page here is the plain one that makes every link work from the first message; the
branded page belongs to the web app work. Unsubscribe follows RFC 8058: GET shows a button (link
scanners must not unsubscribe anyone), POST unsubscribes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import select

from notifier import formatting, links
from notifier.pipeline.compose import carrier_name
from notifier.store.models import Merchant, Order, Recipient, Shipment, TrackingEvent
from notifier.web.deps import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOCALES = ("id", "en")
TEXT = {
    "id": {
        "title": "Lacak paket",
        "eta": "Perkiraan tiba",
        "number": "No. resi",
        "order": "Pesanan",
        "history": "Riwayat perjalanan",
        "none": "Belum ada update dari kurir.",
        "unsub_q": "Berhenti menerima email tentang pesanan?",
        "unsub_btn": "Berhenti berlangganan",
        "unsub_done": "Anda tidak akan menerima email lagi dari kami.",
        "not_found": "Link pelacakan tidak ditemukan.",
    },
    "en": {
        "title": "Track your parcel",
        "eta": "Estimated delivery",
        "number": "Tracking number",
        "order": "Order",
        "history": "Journey",
        "none": "No update from the carrier yet.",
        "unsub_q": "Stop receiving emails about your orders?",
        "unsub_btn": "Unsubscribe",
        "unsub_done": "You will not receive further emails from us.",
        "not_found": "This tracking link was not found.",
    },
}


def _locale(request: Request, preferred: str | None) -> str:
    asked = request.query_params.get("lang")
    for candidate in (asked, preferred, request.headers.get("accept-language", "")[:2], "en"):
        if candidate and candidate[:2] in LOCALES:
            return candidate[:2]
    return "en"


@router.get("/t/{token}", response_class=HTMLResponse)
def tracking_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The parcel's status, ETA and events, in the shopper's language and time zone."""
    row = session.exec(
        select(Shipment, Order, Merchant, Recipient)
        .join(Order, Shipment.order_id == Order.id)  # type: ignore[arg-type]
        .join(Merchant, Shipment.merchant_id == Merchant.id)  # type: ignore[arg-type]
        .outerjoin(Recipient, Order.recipient_id == Recipient.id)  # type: ignore[arg-type]
        .where(Shipment.public_token == token)
    ).first()
    if row is None:
        locale = _locale(request, None)
        return templates.TemplateResponse(
            request, "missing.html", {"t": TEXT[locale], "locale": locale}, status_code=404
        )
    shipment, order, merchant, recipient = row
    locale = _locale(request, (recipient.locale if recipient else None) or merchant.locale)
    tz = (recipient.timezone if recipient else None) or merchant.timezone
    events = session.exec(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(TrackingEvent.time.desc(), TrackingEvent.id.desc())  # type: ignore[union-attr]
    ).all()
    shown: list[dict[str, Any]] = [
        {
            "when": formatting.format_datetime(e.time, locale, tz) if e.time else "",
            "status": formatting.status_label(e.status, locale),
            "description": e.description,
            "location": e.location,
        }
        for e in events
    ]
    ctx = {
        "t": TEXT[locale],
        "locale": locale,
        "shop": (merchant.settings.get("brand") or {}).get("name") or merchant.name,
        "status": formatting.status_label(shipment.status, locale),
        "status_code": shipment.status,
        "eta": formatting.format_date(shipment.eta, locale) if shipment.eta else None,
        "carrier": carrier_name(shipment.carrier, shipment.courier),
        "number": shipment.tracking_number,
        "order": order.order_number,
        "events": shown,
        "tz": ZoneInfo(tz).key,
    }
    return templates.TemplateResponse(request, "track.html", ctx)


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_form(token: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    _check(rt, token)
    locale = _locale(request, None)
    return templates.TemplateResponse(
        request, "unsubscribe.html", {"t": TEXT[locale], "locale": locale, "done": False}
    )


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
    if getattr(recipient, f"{channel}_opt_out_at") is None:
        setattr(recipient, f"{channel}_opt_out_at", rt.clock.now())
        setattr(recipient, f"{channel}_opt_out_source", "unsubscribe_link")
        session.add(recipient)
        session.commit()
    locale = _locale(request, recipient.locale)
    return templates.TemplateResponse(
        request, "unsubscribe.html", {"t": TEXT[locale], "locale": locale, "done": True}
    )


def _check(rt: Any, token: str) -> tuple[int, str]:
    found = links.read_unsubscribe_token(
        rt.settings.server.session_secret.get_secret_value(), token
    )
    if found is None or found[1] not in ("email", "sms", "whatsapp"):
        raise HTTPException(404, "unknown unsubscribe link")
    return found
