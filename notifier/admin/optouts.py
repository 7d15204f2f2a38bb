"""Shoppers who opted out, and changing that by hand.

A shopper's opt-out (STOP, the unsubscribe link, provider code 21610) is theirs: the merchant may
re-subscribe them only with a reason (say, "asked again by phone on 2 Dec"), and that reason is
recorded as an ``inbound_message`` row with ``handled_as`` = :data:`RESUBSCRIBED` (the body is
the reason, ``from_address`` names who did it), next to the shopper's own STOP and START
messages. A merchant may also opt a shopper out (source ``merchant``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from notifier.errors import InputError
from notifier.settings import CHANNELS
from notifier.store.models import InboundMessage, Merchant, Recipient

from .versions import Missing

RESUBSCRIBED = "resubscribed_by_merchant"
OPTED_OUT = "opted_out_by_merchant"
MIN_REASON = 5  # characters: "ok" is not a reason


def _mid(merchant: Merchant) -> int:
    assert merchant.id is not None
    return merchant.id


def list_optouts(
    session: Session, merchant: Merchant, *, channel: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """One entry per opted-out (shopper, channel), newest opt-out first."""
    channels = [channel] if channel in CHANNELS else list(CHANNELS)
    any_out = sa.or_(*(col(getattr(Recipient, f"{c}_opt_out_at")).isnot(None) for c in channels))
    rows = session.exec(
        select(Recipient)
        .where(col(Recipient.merchant_id) == _mid(merchant), any_out)
        .order_by(col(Recipient.id).desc())
        .limit(limit)
    ).all()
    out = []
    for rec in rows:
        for c in channels:
            when = getattr(rec, f"{c}_opt_out_at")
            if when is not None:
                out.append(_entry(rec, c, when))
    out.sort(key=lambda e: e["opted_out_at"], reverse=True)
    return out


def _entry(rec: Recipient, channel: str, when: datetime | None) -> dict[str, Any]:
    return {
        "recipient_id": rec.id,
        "name": rec.name,
        "email": rec.email,
        "phone": rec.phone,
        "channel": channel,
        "opted_out": when is not None,
        "opted_out_at": when,
        "source": getattr(rec, f"{channel}_opt_out_source"),
    }


def recipient(session: Session, merchant: Merchant, recipient_id: int) -> Recipient:
    rec = session.get(Recipient, recipient_id)
    if rec is None or rec.merchant_id != _mid(merchant):
        raise Missing(f"no shopper {recipient_id}")
    return rec


def set_opt_out(
    session: Session,
    merchant: Merchant,
    recipient_id: int,
    channel: str,
    *,
    opted_out: bool,
    reason: str,
    author: str,
    now: datetime,
) -> dict[str, Any]:
    """Opt a shopper out of ``channel`` or back in; back in needs a reason, which is recorded.
    Raises Missing (not this merchant's shopper) and InputError. The caller commits."""
    rec = recipient(session, merchant, recipient_id)
    if channel not in CHANNELS:
        raise InputError(f"unknown channel {channel!r}", field="channel")
    reason = " ".join(reason.split())
    if not opted_out and len(reason) < MIN_REASON:
        raise InputError(
            "say why this shopper may get messages again (at least 5 characters)", field="reason"
        )
    was_out = getattr(rec, f"{channel}_opt_out_at") is not None
    if was_out == opted_out:
        return _entry(rec, channel, getattr(rec, f"{channel}_opt_out_at"))
    setattr(rec, f"{channel}_opt_out_at", now if opted_out else None)
    setattr(rec, f"{channel}_opt_out_source", "merchant" if opted_out else None)
    session.add(rec)
    session.add(
        InboundMessage(
            merchant_id=_mid(merchant),
            recipient_id=rec.id,
            channel=channel,
            from_address=f"merchant:{author}"[:64],
            body=reason or "opted out by the merchant",
            handled_as=OPTED_OUT if opted_out else RESUBSCRIBED,
            received_at=now,
        )
    )
    session.flush()
    return _entry(rec, channel, getattr(rec, f"{channel}_opt_out_at"))


def changes(session: Session, merchant: Merchant, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest opt-out changes made by hand, with their reasons."""
    rows = session.exec(
        select(InboundMessage)
        .where(
            col(InboundMessage.merchant_id) == _mid(merchant),
            col(InboundMessage.handled_as).in_([RESUBSCRIBED, OPTED_OUT]),
        )
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "recipient_id": r.recipient_id,
            "channel": r.channel,
            "action": "resubscribed" if r.handled_as == RESUBSCRIBED else "opted_out",
            "reason": r.body,
            "by": r.from_address.removeprefix("merchant:"),
            "at": r.received_at,
        }
        for r in rows
    ]
