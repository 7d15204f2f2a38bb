"""Turning a notification and its rows into the template context (the documented variable set,
see :mod:`notifier.templating`) and into the addressed message a sender takes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from carriers.links import public_url
from notifier import links
from notifier.senders.base import OutgoingMessage
from notifier.senders.twilio_whatsapp import template_variables
from notifier.store.models import Merchant, Notification, Order, Recipient, Shipment
from notifier.store.models import TrackingEvent as EventRow

# Display names for carriers and the couriers behind the aggregators.
CARRIER_NAMES = {
    "ups": "UPS",
    "fedex": "FedEx",
    "usps": "USPS",
    "canadapost": "Canada Post",
    "dhl": "DHL",
    "jne": "JNE",
    "jnt": "J&T Express",
    "sicepat": "SiCepat",
    "anteraja": "AnterAja",
    "spx": "SPX Express",
    "lion": "Lion Parcel",
    "ninja": "Ninja Xpress",
    "pos": "Pos Indonesia",
    "tiki": "TIKI",
    "wahana": "Wahana",
    "ide": "ID Express",
    "sap": "SAP Express",
    "jet": "JET Express",
    "rex": "REX",
    "first": "First Logistics",
    "grab": "GrabExpress",
    "gojek": "GoSend",
    "paxel": "Paxel",
    "lex": "Lazada Express",
    "simulator": "Simulator Express",
    # Marketplaces tracking a parcel themselves, courier unknown (notifier.pipeline.marketplace)
    "shopee": "Shopee",
    "tiktok_shop": "TikTok Shop",
    "lazada": "Lazada",
}
MINOR_DIGITS = {"IDR": 0, "JPY": 0, "KRW": 0, "VND": 0}  # currencies without minor units here


@dataclass(frozen=True, slots=True)
class Job:
    """Everything dispatch loaded for one leased notification."""

    notification: Notification
    order: Order
    merchant: Merchant
    recipient: Recipient
    shipment: Shipment | None
    last_event: EventRow | None
    overrides: Mapping[str, str]  # the merchant's template source by locale, if any

    @property
    def id(self) -> int:
        assert self.notification.id is not None
        return self.notification.id


def carrier_name(carrier: str, courier: str | None) -> str:
    key = courier or carrier
    return CARRIER_NAMES.get(key, key.upper() if len(key) <= 4 else key.title())


def money(minor: int | None, currency: str | None) -> Decimal | None:
    if minor is None:
        return None
    digits = MINOR_DIGITS.get((currency or "").upper(), 2)
    return Decimal(minor).scaleb(-digits)


def build_context(job: Job, *, locale: str, public_url: str, secret: str) -> dict[str, Any]:
    """The template variables for ``job`` (every documented key present, None where unknown)."""
    n, m, rec, order, sh = job.notification, job.merchant, job.recipient, job.order, job.shipment
    brand = (m.settings or {}).get("brand") or {}
    tracking = links.tracking_url(public_url, sh.public_token) if sh else None
    ctx: dict[str, Any] = {
        "trigger": n.trigger,
        "channel": n.channel,
        "locale": locale,
        "shop": {
            "name": brand.get("name") or m.name,
            "cs_whatsapp": brand.get("cs_whatsapp"),
            "cs_email": brand.get("cs_email"),
            "website": brand.get("website"),
        },
        "customer": {"name": rec.name or "", "first_name": (rec.name or "").split(" ")[0]},
        "order": {
            "number": order.order_number,
            "total": money(order.total_minor, order.currency),
            "currency": order.currency,
            "paid_at": order.paid_at,
        },
        "shipment": _shipment(job, tracking) if sh else None,
        "delay": {"kind": n.context["delay_kind"]} if n.context.get("delay_kind") else None,
        "feedback_url": None,
        "return": None,
        "refund": None,
        "unsubscribe_url": None,
        "digest": None,  # parcel_digest only: set by dispatch from notifier.pipeline.digest
    }
    if n.trigger == "feedback_request":
        ctx["feedback_url"] = brand.get("review_url") or tracking or public_url
    if order.return_status:
        ctx["return"] = {"status": order.return_status}
    if order.refund_status:
        refund = n.context.get("refund") or {}
        ctx["refund"] = {
            "status": order.refund_status,
            "amount": money(refund.get("amount_minor"), order.currency),
            "currency": order.currency,
        }
    if n.channel == "email" and rec.id is not None:
        ctx["unsubscribe_url"] = links.unsubscribe_url(public_url, secret, rec.id, "email")
    return ctx


def _shipment(job: Job, tracking: str | None) -> dict[str, Any]:
    sh, n, ev = job.shipment, job.notification, job.last_event
    assert sh is not None
    previous = n.context.get("previous_eta")
    return {
        "carrier": sh.carrier,
        "carrier_name": carrier_name(sh.carrier, sh.courier),
        "tracking_number": sh.tracking_number,
        "tracking_url": tracking,
        "carrier_url": public_url(sh.carrier, sh.courier or None, sh.tracking_number),
        "status": sh.status,
        "eta": sh.eta,
        "previous_eta": date.fromisoformat(previous) if previous else None,
        "last_event": (
            {"description": ev.description, "location": ev.location, "time": ev.time}
            if ev
            else None
        ),
    }


def address(job: Job) -> str | None:
    """Where this notification's channel reaches the shopper."""
    rec = job.recipient
    return rec.email if job.notification.channel == "email" else rec.phone


def _metadata(job: Job, ctx: dict[str, Any], trigger: str) -> dict[str, str]:
    """What a sender needs beyond the text: our ids, and for Twilio the merchant's own choices
    (its approved WhatsApp template for this trigger and language, its fallback, its SMS budget)
    and the values a WhatsApp template is filled with."""
    n, settings = job.notification, job.merchant.settings or {}
    meta = {"notification_id": str(n.id), "trigger": trigger}
    own = (settings.get("senders") or {}).get("twilio") or {}
    budget = settings.get("sms_segment_budget") or own.get("sms_segment_budget")
    if n.channel == "sms" and budget:
        meta["sms_segment_budget"] = str(budget)
    if n.channel == "whatsapp":
        meta |= template_variables(ctx, ctx["locale"])
        if own.get("whatsapp_fallback"):
            meta["whatsapp_fallback"] = str(own["whatsapp_fallback"])
        by_locale = (own.get("whatsapp_templates") or {}).get(trigger) or {}
        sid = by_locale.get(ctx["locale"]) or by_locale.get(ctx["locale"].split("-")[0])
        if sid:
            meta["content_sid"] = str(sid)
    return meta


WHATSAPP_SESSION = timedelta(hours=24)  # Meta's customer service window


def _session_open(job: Job, now: datetime) -> bool:
    if job.notification.context.get("whatsapp_template"):  # 63016: re-sent as a template
        return False
    last = job.recipient.whatsapp_last_inbound_at
    return last is not None and now - last < WHATSAPP_SESSION


def outgoing(
    job: Job,
    to: str,
    rendered: Any,
    ctx: dict[str, Any],
    now: datetime,
    *,
    trigger: str | None = None,
) -> OutgoingMessage:
    """The message for ``job``; ``trigger`` is what was rendered when it is not the row's own
    (``parcel_digest`` for a digest sent under its first row)."""
    n = job.notification
    assert n.id is not None
    trigger = trigger or n.trigger
    return OutgoingMessage(
        notification_id=n.id,
        dedupe_key=n.dedupe_key,
        merchant_id=n.merchant_id,
        trigger=trigger,
        channel=n.channel,
        to=to,
        to_name=job.recipient.name or "",
        text=rendered.text,
        subject=rendered.subject,
        html=rendered.html,
        locale=ctx["locale"],
        shop_name=ctx["shop"]["name"],
        reply_to=ctx["shop"]["cs_email"],
        unsubscribe_url=ctx["unsubscribe_url"],
        session_open=_session_open(job, now),
        metadata=_metadata(job, ctx, trigger),
    )
