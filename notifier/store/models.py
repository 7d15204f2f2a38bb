"""The tables. Every datetime is stored as UTC and read back timezone-aware (:class:`UTCDateTime`).

Merchant -< Recipient, Order -< Shipment -< TrackingEvent; Notification (the outbox) points at the
order, and at the shipment when the news is about a parcel; NotificationAttempt records each send.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from notifier.store.types import UTCDateTime

# Named constraints, so later migrations can drop and alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class NotificationState(StrEnum):
    PENDING = "pending"  # waiting for not_before / next_attempt_at
    SENDING = "sending"  # leased by a dispatcher; the provider call may be in flight
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider confirmed delivery to the handset/mailbox
    FAILED = "failed"  # permanent error, with the reason
    SUPPRESSED = "suppressed"  # deliberately not sent (superseded, opted out, disabled)
    DEAD = "dead"  # transient errors until max_attempts


OPEN_STATES = (NotificationState.PENDING, NotificationState.SENDING)


class Merchant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    api_token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the bearer token
    country: str = Field(default="ID", max_length=2)
    locale: str = Field(default="id", max_length=16)
    timezone: str = Field(default="Asia/Jakarta", max_length=64)
    settings: dict[str, Any] = _json()  # overrides of NotifyDefaults, brand, senders, sources
    created_at: datetime = _ts(nullable=False)


class Recipient(SQLModel, table=True):
    """A shopper. Phone is E.164; ``phone_kind`` says whether SMS/WhatsApp can reach it."""

    __table_args__ = (
        sa.Index("ix_recipient_merchant_phone", "merchant_id", "phone"),
        sa.Index("ix_recipient_phone", "phone"),  # inbound STOP/replies look across merchants
        sa.Index("ix_recipient_email", "email"),  # provider bounces look across merchants
    )

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    phone_kind: str | None = Field(default=None, max_length=20)  # mobile, landline, unknown
    email: str | None = Field(default=None, max_length=320)
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    email_opt_out_at: datetime | None = _ts()
    email_opt_out_source: str | None = Field(default=None, max_length=64)
    sms_opt_out_at: datetime | None = _ts()
    sms_opt_out_source: str | None = Field(default=None, max_length=64)
    whatsapp_opt_out_at: datetime | None = _ts()
    whatsapp_opt_out_source: str | None = Field(default=None, max_length=64)
    # The shopper's last WhatsApp message to us: free-form replies are allowed for 24 h after it.
    whatsapp_last_inbound_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)


class Order(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("merchant_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    external_id: str = Field(max_length=128)
    order_number: str = Field(max_length=128, index=True)  # what the shopper sees: INV/2026/001
    recipient_id: int | None = Field(default=None, foreign_key="recipient.id", index=True)
    status: str = Field(default="pending", max_length=32)  # pending, paid, cancelled, ...
    paid_at: datetime | None = _ts()
    total_minor: int | None = None  # in the currency's minor unit (IDR has none: rupiah)
    currency: str | None = Field(default=None, max_length=3)
    return_status: str | None = Field(default=None, max_length=32)
    refund_status: str | None = Field(default=None, max_length=32)
    source: str = Field(default="api", max_length=32)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Shipment(SQLModel, table=True):
    """One parcel. ``courier`` is the aggregator's courier code ('' for direct carriers)."""

    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "carrier", "courier", "tracking_number"),
        sa.Index("ix_shipment_due", "next_check_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    carrier: str = Field(max_length=32)
    courier: str = Field(default="", max_length=32)
    tracking_number: str = Field(max_length=64, index=True)
    tracking_url: str | None = Field(default=None, max_length=500)  # the store's own link
    # The marketplace's own id of the parcel (Shopee package_number, TikTok package id, Lazada
    # package_id) when the marketplace tracks it (carrier = the source id): its tracking call
    # needs it (notifier.pipeline.marketplace).
    package: str | None = Field(default=None, max_length=64)
    public_token: str = Field(unique=True, max_length=43)
    status: str = Field(default="pending", max_length=32)
    raw_status: str | None = Field(default=None, max_length=200)
    eta: date | None = None
    eta_told: date | None = None  # the ETA in the last message the shopper got
    last_event_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()
    next_check_at: datetime | None = _ts()  # NULL: not polled (final status)
    last_checked_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _ts()
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    delay_open: bool = False  # inside a delay episode (one message per episode)
    delay_episode: int = 0
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class TrackingEvent(SQLModel, table=True):
    __tablename__ = "tracking_event"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", index=True)
    fingerprint: str = Field(max_length=32)  # of time + status + location + description
    seq: int = 0  # position in the carrier's oldest-first list when first seen
    time: datetime | None = _ts()  # UTC; naive carrier times read in the shipment's zone
    time_raw: str | None = Field(default=None, max_length=40)  # as the carrier gave it
    status: str = Field(max_length=32)
    raw_code: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=300)
    description: str = Field(default="", max_length=1000)
    created_at: datetime = _ts(nullable=False)


class Notification(SQLModel, table=True):
    """The outbox: one row per message to send, unique by ``dedupe_key``."""

    __table_args__ = (sa.Index("ix_notification_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id", index=True)
    recipient_id: int = Field(foreign_key="recipient.id", index=True)
    trigger: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    episode: str = Field(default="1", max_length=64)
    dedupe_key: str = Field(unique=True, max_length=200)
    state: str = Field(default=NotificationState.PENDING, max_length=16)
    not_before: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()  # when dispatch may pick it up
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _ts()
    sender: str | None = Field(default=None, max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=200, index=True)
    provider_status: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=1000)
    context: dict[str, Any] = _json()  # facts at detection time (status, ETA, delay kind)
    subject: str | None = Field(default=None, max_length=500)  # as rendered when sent
    body: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts()
    updated_at: datetime = _ts(nullable=False)


class NotificationAttempt(SQLModel, table=True):
    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    number: int
    worker: str = Field(max_length=64)
    started_at: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=16)  # sent, transient, permanent, ...
    error: str | None = Field(default=None, max_length=1000)
    provider_message_id: str | None = Field(default=None, max_length=200)


class TemplateOverride(SQLModel, table=True):
    """A merchant's version of one default template; the newest active version wins."""

    __tablename__ = "template_override"
    __table_args__ = (
        sa.UniqueConstraint("merchant_id", "trigger", "channel", "locale", "version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    trigger: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    locale: str = Field(max_length=16)
    version: int = 1
    source: str = Field(sa_type=sa.Text)
    enabled: bool = True
    active: bool = True
    author: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts(nullable=False)


class SourceCursor(SQLModel, table=True):
    """Where an order-store poll left off, per merchant and source."""

    __tablename__ = "source_cursor"
    __table_args__ = (sa.UniqueConstraint("merchant_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    source: str = Field(max_length=64)
    cursor: str | None = Field(default=None, max_length=500)
    last_run_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=1000)


class ProviderEvent(SQLModel, table=True):
    """A provider callback already applied (SendGrid ``sg_event_id``, Twilio status per SID and
    state...): replays and retries of the same event are recognised and ignored."""

    __tablename__ = "provider_event"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    event_id: str = Field(max_length=200)
    received_at: datetime = _ts(nullable=False)


class InboundMessage(SQLModel, table=True):
    """A message a shopper sent us (STOP, a question, a reply) and what we did with it."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id", index=True)
    recipient_id: int | None = Field(default=None, foreign_key="recipient.id", index=True)
    channel: str = Field(max_length=16)
    from_address: str = Field(max_length=64)
    body: str = Field(default="", sa_type=sa.Text)
    provider_message_id: str | None = Field(default=None, max_length=200, unique=True)
    handled_as: str = Field(default="", max_length=32)  # opt_out, opt_in, status_reply, forwarded
    received_at: datetime = _ts(nullable=False)


class Worker(SQLModel, table=True):
    """A running daemon (one replica). Its heartbeat (``seen_at``) says it is alive; when the
    heartbeat stops, another replica frees its leases at once (:mod:`notifier.store.workers`)."""

    id: str = Field(primary_key=True, max_length=64)  # the owner name its leases carry
    host: str = Field(default="", max_length=64)
    pid: int = 0
    started_at: datetime = _ts(nullable=False)
    seen_at: datetime = _ts(nullable=False, index=True)  # the last heartbeat, database time


class JobLock(SQLModel, table=True):
    """One row per scheduled singleton job (order sources, housekeeping, digests...): whoever
    holds the row runs the job, once across replicas per interval."""

    __tablename__ = "job_lock"

    name: str = Field(primary_key=True, max_length=64)
    owner: str | None = Field(default=None, max_length=64)  # the worker running it now
    locked_until: datetime | None = _ts()  # renewed by the owner's heartbeat while it runs
    started_at: datetime | None = _ts()  # the last run's start, database time
    finished_at: datetime | None = _ts()
    runs: int = 0
