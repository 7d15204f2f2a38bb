"""Tables, engine and session. Only ``store/`` and the pipeline run SQL."""

from notifier.store.db import make_engine, session_factory
from notifier.store.models import (
    InboundMessage,
    Merchant,
    Notification,
    NotificationAttempt,
    NotificationState,
    Order,
    ProviderEvent,
    Recipient,
    Shipment,
    SourceCursor,
    TemplateOverride,
    TrackingEvent,
)

__all__ = [
    "InboundMessage",
    "Merchant",
    "Notification",
    "NotificationAttempt",
    "NotificationState",
    "Order",
    "ProviderEvent",
    "Recipient",
    "Shipment",
    "SourceCursor",
    "TemplateOverride",
    "TrackingEvent",
    "make_engine",
    "session_factory",
]
