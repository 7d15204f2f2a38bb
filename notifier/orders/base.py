"""The order-source plugin protocol (entry point group ``notifier.order_sources``).

A source fetches orders from a merchant's store (Shopify, WooCommerce, a marketplace, a folder
of files) and hands them over as :class:`~notifier.orders.schema.OrderIn`; the scheduler job
(:func:`notifier.orders.poller.poll_sources`) stores them with
:func:`~notifier.orders.intake.ingest`, saves the cursor, then acknowledges the page.

The cycle, for each merchant that lists ``{"id": "<source id>", ...config}`` under
``settings["sources"]``::

    source = SourceClass(config)                 # the entry without "id"
    page = await source.poll(cursor, now)        # cursor: what the last run saved (None at first)
    ... orders ingested, page.next_cursor saved ...
    await source.ack(page.next_cursor, rejected) # only after the page is stored
    ... again while page.more ...
    await source.aclose()

Saving happens before ``ack``: a crash in between repeats the page, never loses it, and ingesting
an order twice changes nothing. A source must therefore tolerate being asked for the same page
again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from notifier.errors import NotifierError
from notifier.orders.schema import OrderIn


class SourceError(NotifierError):
    """A whole poll failed: credentials refused, the store unreachable, a folder missing.

    The cursor is left where it was and the message is recorded as the source's last error;
    the other sources and merchants go on."""

    def __init__(self, message: str, *, source: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.source}: {self.args[0]}"


@dataclass
class SourcePage:
    """What one poll found.

    ``orders`` are the orders that parsed; ``errors`` say, one line per order that did not,
    which and why (per-order problems are data, never exceptions). ``next_cursor`` is where the
    next poll starts (saved only once ``orders`` are stored). ``more`` asks to be polled again at
    once (another page is ready)."""

    orders: list[OrderIn]
    next_cursor: str | None
    errors: list[str] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """An order of a page that intake refused: its position in ``SourcePage.orders``, its id,
    the field and the reason."""

    index: int
    external_id: str
    field: str
    reason: str


class OrderSource(Protocol):
    """An order store polled for one merchant. Subclass it to inherit the no-op ``ack`` and
    ``aclose``; register the class under ``notifier.order_sources``."""

    id: ClassVar[str]  # the stable snake_case id merchants name in their settings

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Take the merchant's settings entry for this source (without ``id``); raise
        :class:`SourceError` when a required key is missing. No I/O here."""
        ...

    async def poll(self, cursor: str | None, now: datetime) -> SourcePage:
        """The orders changed since ``cursor`` (all of them when None), with the next cursor.

        Raises :class:`SourceError` when the poll as a whole fails; orders that cannot be read
        go into ``SourcePage.errors`` and the others are returned."""
        ...

    async def ack(self, cursor: str | None, rejected: Sequence[Rejected]) -> None:
        """The page that ended at ``cursor`` is stored; ``rejected`` lists its orders that intake
        refused. Sources that keep state outside the database (files, queues) finish here.
        Raises :class:`SourceError` only."""
        return None

    async def aclose(self) -> None:
        """Release connections and files. Never raises."""
        return None
