"""Carrier tracking SDK: one module per carrier API, normalized to one result shape.

This package is stand-alone: it imports nothing from ``notifier`` (checked by import-linter).
"""

from carriers.base import (
    CarrierAdapter,
    ErrorKind,
    ItemError,
    Status,
    TrackingEvent,
    TrackingResult,
)
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierResponseError,
    CarrierUnavailable,
)

__all__ = [
    "CarrierAdapter",
    "CarrierAuthError",
    "CarrierError",
    "CarrierResponseError",
    "CarrierUnavailable",
    "ErrorKind",
    "ItemError",
    "Status",
    "TrackingEvent",
    "TrackingResult",
]
