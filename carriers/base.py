"""The normalized tracking model and the adapter protocol every carrier module implements.

A carrier module ``carriers/<id>.py`` has three parts:

* a mapping table of every documented native status code, as data;
* a pure ``parse(body: bytes | str) -> list[TrackingResult]`` (no I/O, no clock);
* an adapter class implementing :class:`CarrierAdapter`, whose ``fetch()`` is the only I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable


class Status(StrEnum):
    """Normalized tracking statuses (the de-facto industry set)."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED_ATTEMPT = "failed_attempt"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """Nothing more will happen: stop polling."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.DELIVERED, Status.RETURNED_TO_SENDER, Status.EXPIRED})


class ErrorKind(StrEnum):
    """Why a number has no tracking result (per-item, so a batch goes on)."""

    NOT_FOUND = "not_found"
    INVALID_NUMBER = "invalid_number"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    BAD_REQUEST = "bad_request"
    UNAVAILABLE = "unavailable"  # the carrier's own server error, reported inside a body


@dataclass(frozen=True, slots=True)
class ItemError:
    """A per-number error reported by the carrier, kept as data."""

    kind: ErrorKind
    message: str
    code: str | None = None
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One scan. ``time`` keeps the offset the carrier gave; naive when the carrier gave none.

    ``raw_code`` is the carrier's own code (or keyword) that ``status`` was mapped from.
    """

    time: datetime | None
    status: Status
    description: str
    location: str | None = None
    raw_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The contract shape of ``notifier carriers parse``."""
        return {
            "status": self.status.value,
            "time": self.time.isoformat() if self.time else None,
            "location": self.location,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """The normalized answer for one tracking number.

    ``events`` are oldest first (adapters reverse newest-first APIs; never re-sort by time).
    ``status`` is the shipment's status from the most specific code the carrier gives; it may
    differ from the newest event's own status. ``courier`` is the underlying courier for
    aggregators (``jne``, ``jnt``, ``sicepat``...), part of the shipment's carrier identity.
    ``error`` is set (and ``status`` is None) when the carrier had no result for the number.
    ``raw`` is the untouched provider payload for this number.
    """

    carrier: str
    tracking_number: str  # "" when an error body names no number and none was requested
    status: Status | None
    events: tuple[TrackingEvent, ...] = ()
    estimated_delivery: date | None = None
    courier: str | None = None
    raw_status: str | None = None
    error: ItemError | None = None
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def last_event(self) -> TrackingEvent | None:
        return self.events[-1] if self.events else None

    def as_dict(self) -> dict[str, Any]:
        """The contract shape of ``notifier carriers parse`` (plus ``error`` when set)."""
        out: dict[str, Any] = {
            "carrier": self.carrier,
            "tracking_number": self.tracking_number or None,
            "status": self.status.value if self.status else None,
            "estimated_delivery": (
                self.estimated_delivery.isoformat() if self.estimated_delivery else None
            ),
            "events": [e.as_dict() for e in self.events],
        }
        if self.courier:
            out["courier"] = self.courier
        if self.error:
            out["error"] = {
                "kind": self.error.kind.value,
                "http_status": self.error.http_status,
                "code": self.error.code,
                "message": self.error.message,
            }
        return out


@runtime_checkable
class CarrierAdapter(Protocol):
    """An account's connection to one carrier API.

    Class attributes describe the API's limits so the poller can plan calls:
    ``batch_size`` numbers per request, ``rate`` requests per ``per`` seconds (token bucket),
    ``max_concurrency`` requests in flight.
    """

    id: ClassVar[str]
    batch_size: ClassVar[int]
    rate: ClassVar[float]
    per: ClassVar[float]
    max_concurrency: ClassVar[int]

    def __init__(self, config: Mapping[str, Any], client: Any = None) -> None:
        """``config`` is the ``carriers.<id>`` settings section with secrets as plain strings
        (``api_base``, keys, limits); ``client`` an ``httpx.AsyncClient`` to share, or None."""
        ...

    async def fetch(
        self, numbers: Sequence[str], courier: str | None = None
    ) -> list[TrackingResult]:
        """Track up to ``batch_size`` numbers of one courier in one call (or one call each).

        Returns one result per requested number, in request order; a number the carrier does not
        know comes back with ``error`` set. Raises :class:`carriers.errors.CarrierUnavailable`
        (transient), :class:`carriers.errors.CarrierAuthError` or
        :class:`carriers.errors.CarrierResponseError` when the whole call failed.
        """
        ...

    @staticmethod
    def parse(body: bytes | str, numbers: Sequence[str] = ()) -> list[TrackingResult]:
        """Parse one response body (no I/O); the module-level ``parse`` as a static method.

        ``numbers`` are the requested numbers, used to attribute a whole-response error (an auth
        or rate-limit envelope that names no number) to each of them; without them such a result
        has ``tracking_number == ""``. Returns one result per number in the body, in the body's
        order. Raises ``CarrierResponseError`` for a body that is not the documented shape.
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...
