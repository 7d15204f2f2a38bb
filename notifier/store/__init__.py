"""Tables, engine and session. Only ``store/`` and the pipeline run SQL."""

from notifier.store.db import make_engine, session_factory
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    NotificationState,
    Order,
    Recipient,
    Shipment,
    SourceCursor,
    TemplateOverride,
    TrackingEvent,
)

__all__ = [
    "Merchant",
    "Notification",
    "NotificationAttempt",
    "NotificationState",
    "Order",
    "Recipient",
    "Shipment",
    "SourceCursor",
    "TemplateOverride",
    "TrackingEvent",
    "make_engine",
    "session_factory",
]
