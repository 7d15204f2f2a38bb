"""The outbox: turning decided triggers into notification rows, in the caller's transaction.

Every row has a unique ``dedupe_key`` (shipment or order, trigger, episode, channel), inserted with
ON CONFLICT DO NOTHING: a re-poll, a repeated push or two processes racing on the same news create
one row, never two. Rows that must not be sent (superseded, opted out, no way to reach the
shopper) are still written, as ``suppressed`` with the reason, so nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from notifier.pipeline import digest
from notifier.pipeline.detect import Trigger, quiet_until
from notifier.pipeline.digest import ORDER_TRIGGERS
from notifier.settings import NotifyDefaults
from notifier.store.lease import insert_ignoring
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationState,
    Order,
    Recipient,
    Shipment,
)

PHONE_CHANNELS = frozenset({"sms", "whatsapp"})


def merchant_prefs(defaults: NotifyDefaults, merchant: Merchant) -> NotifyDefaults:
    """The merchant's notification rules: its own ``notify`` settings over its account's
    country, language and time zone, over the defaults."""
    account = {
        "country": merchant.country,
        "locale": merchant.locale,
        "timezone": merchant.timezone,
    }
    own = (merchant.settings or {}).get("notify") or {}
    return NotifyDefaults.model_validate(defaults.model_dump() | account | own)


@dataclass(frozen=True, slots=True)
class Party:
    """Who a message is from and to: the merchant, its rules, the order and the shopper."""

    merchant: Merchant
    prefs: NotifyDefaults
    order: Order
    recipient: Recipient | None

    @property
    def tz(self) -> ZoneInfo:
        zone = (self.recipient.timezone if self.recipient else None) or self.prefs.timezone
        return _zone(zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # validated on intake; an old row may still hold garbage
        return ZoneInfo("UTC")


def channel_plan(party: Party, trigger: str) -> list[tuple[str, str | None]]:
    """(channel, reason it must be suppressed or None) for every channel the merchant uses
    and the shopper can be reached on."""
    rec = party.recipient
    if rec is None:
        return []
    plan: list[tuple[str, str | None]] = []
    channels = (party.merchant.settings or {}).get("trigger_channels", {}).get(trigger)
    for channel in channels or party.prefs.channels:
        if channel == "email" and not rec.email:
            continue
        if channel in PHONE_CHANNELS and not rec.phone:
            continue
        reason = None
        if getattr(rec, f"{channel}_opt_out_at") is not None:
            source = getattr(rec, f"{channel}_opt_out_source") or "shopper"
            reason = f"recipient opted out of {channel} ({source})"
        elif channel in PHONE_CHANNELS and rec.phone_kind == "landline":
            reason = f"{rec.phone_kind} number cannot receive {channel}"
        plan.append((channel, reason))
    return plan


def dedupe_key(order_id: int, shipment_id: int | None, trigger: str, episode: str, ch: str) -> str:
    """Order-level news (:data:`ORDER_TRIGGERS`, defined beside the digest, which never holds
    it) once per order; a parcel's news once per parcel."""
    if trigger in ORDER_TRIGGERS or shipment_id is None:
        return f"o{order_id}:{trigger}:{episode}:{ch}"
    return f"s{shipment_id}:{trigger}:{episode}:{ch}"


def notification_rows(
    party: Party,
    shipment_id: int | None,
    triggers: Sequence[Trigger],
    now: datetime,
    *,
    not_before: datetime | None = None,
) -> list[dict[str, Any]]:
    """Rows for the outbox; quiet hours set ``not_before`` for SMS and WhatsApp, and a digest
    merchant's parcel news waits for the order's digest time (:func:`digest.holds`)."""
    assert party.order.id is not None
    rows = []
    for trig in triggers:
        if trig.name in party.prefs.disabled_triggers:
            continue
        when = _held(party, shipment_id, trig.name, not_before or now)
        for channel, reason in channel_plan(party, trig.name):
            if trig.suppressed_by:
                reason = f"superseded by {trig.suppressed_by}"
            due = _due(party, channel, when)
            rows.append(
                {
                    "merchant_id": party.merchant.id,
                    "order_id": party.order.id,
                    "shipment_id": shipment_id,
                    "recipient_id": party.recipient.id if party.recipient else None,
                    "trigger": trig.name,
                    "channel": channel,
                    "episode": trig.episode,
                    "dedupe_key": dedupe_key(
                        party.order.id, shipment_id, trig.name, trig.episode, channel
                    ),
                    "state": NotificationState.SUPPRESSED if reason else NotificationState.PENDING,
                    "last_error": reason,
                    "not_before": due,
                    "next_attempt_at": due,
                    "context": dict(trig.context),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return rows


def _held(party: Party, shipment_id: int | None, trigger: str, when: datetime) -> datetime:
    """``when``, or the next digest time in the shopper's zone for news the digest holds: every
    parcel of the order that changes before then shares it, so dispatch sends one message."""
    if not digest.holds(party.merchant, shipment_id, trigger):
        return when
    return digest.release_at(when, party.tz, digest.digest_time(party.merchant))


def _due(party: Party, channel: str, when: datetime) -> datetime:
    if channel == "email" and not party.prefs.quiet_hours_email:
        return when
    return quiet_until(when, party.tz, *party.prefs.quiet_window()) or when


def enqueue(
    session: Session,
    party: Party,
    shipment: Shipment | None,
    triggers: Sequence[Trigger],
    now: datetime,
    *,
    not_before: datetime | None = None,
) -> int:
    """Write the rows for ``triggers``; returns how many were new (duplicates are skipped)."""
    shipment_id = shipment.id if shipment else None
    rows = notification_rows(party, shipment_id, triggers, now, not_before=not_before)
    inserted = insert_ignoring(
        session, Notification, rows, ["dedupe_key"], returning=[Notification.id]
    )
    return len(inserted)


def feedback_trigger(party: Party, delivered_at: datetime) -> tuple[Trigger, datetime]:
    """The feedback request for a delivered order and when it may go."""
    return Trigger("feedback_request"), delivered_at + timedelta(
        days=party.prefs.feedback_delay_days
    )
