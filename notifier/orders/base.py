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

The poller adds two merchant-wide keys to the config when the entry has none: ``aggregator``
(``merchant.settings["aggregator"]``, which carriers track the store's couriers) and
``country`` (the merchant's, to read phone numbers).

What a source's *module* exposes besides its class (``notifier.orders.<id>``):

* ``parse(body) -> list[StoreOrder]``: the pure reading of one decoded JSON body, used by
  ``notifier sources parse`` and by webhooks; see :mod:`notifier.orders.parse_contract` for the
  StoreOrder shape, :class:`~notifier.orders.parse_contract.BodyError` for error bodies, and
  ``page_orders`` to turn a poll's StoreOrders into OrderIn (carriers resolved for the merchant,
  bad fields dropped with warnings). Every store source has one; a module without it (the
  inbox) is read as the service's own order JSON.
* ``webhook_ping(body, headers) -> bool`` (optional): a store's set-up ping, answered 200
  before any signature check (WooCommerce's ``webhook_id=<id>``).
* ``verify_webhook(body: bytes, headers: Mapping[str, str], secret: str) -> None`` and
  ``webhook_event_id(body: bytes, headers: Mapping[str, str]) -> str`` (optional): a store that
  pushes. ``verify_webhook`` raises :class:`WebhookRejected`; the event id deduplicates
  deliveries (``provider_event``). ``POST /webhooks/orders/<id>/<merchant slug>`` serves every
  source whose module has both (and ``parse``), with the ``webhook_secret`` of the merchant's
  source entry.
* ``verify_push(body, headers, entry: Mapping[str, Any], url: str) -> None`` (instead of
  ``verify_webhook``): a marketplace that signs its pushes with the app's own keys, read from
  the merchant's source entry, and (Shopee) the URL it posted to. It raises
  :class:`WebhookUnverifiable` when the entry lacks a key.

Incremental sources keep their position in a :class:`SyncCursor`, which re-reads the last
:data:`OVERLAP` of store updates on every pass so late writes are not missed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
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
    warnings: list[str] = field(default_factory=list)  # what was left out of stored orders
    total: int | None = None  # orders in the whole pass, when the store says (progress bars)


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

    async def check(self, now: datetime) -> str:
        """Authenticate and make one cheap call; a line saying what answered (a shop name).
        Raises :class:`SourceError`. The default polls once from the start."""
        page = await self.poll(None, now)
        return f"{len(page.orders)} order(s) on the first page"

    async def ack(self, cursor: str | None, rejected: Sequence[Rejected]) -> None:
        """The page that ended at ``cursor`` is stored; ``rejected`` lists its orders that intake
        refused. Sources that keep state outside the database (files, queues) finish here.
        Raises :class:`SourceError` only."""
        return None

    async def aclose(self) -> None:
        """Release connections and files. Never raises."""
        return None


class WebhookRejected(NotifierError):
    """A pushed body whose signature is missing or wrong (answered 403, nothing changed)."""


class WebhookUnverifiable(WebhookRejected):
    """A push that cannot be checked: the merchant's source entry lacks ``missing`` (answered
    403, nothing changed, logged as an error: the merchant's set-up is incomplete)."""

    def __init__(self, missing: str) -> None:
        super().__init__(f"no {missing} set for this source")
        self.missing = missing


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name whatever its case (HTTP/2 lower-cases them; plain dicts in tests)."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def base64_hmac_ok(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is base64(HMAC-SHA256(secret, body)), compared in constant time
    (Shopify ``X-Shopify-Hmac-Sha256``, WooCommerce ``X-WC-Webhook-Signature``)."""
    if not signature or not secret:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


# --------------------------------------------------------------------------- sync cursor

OVERLAP = timedelta(minutes=15)  # store updates re-read on every pass (late or clock-skewed writes)
INITIAL_DAYS = 7  # without a cursor or ``since``: orders changed in the last week


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


@dataclass
class SyncCursor:
    """Where an incremental sync of one store stands (JSON in ``SourceCursor.cursor``).

    A *pass* reads every order the store changed at or after ``start``, page by page: ``pos``
    is the store's position between pages (a GraphQL end cursor, a page number) and ``seen``
    the newest change time met so far. When the last page is stored, ``high`` becomes the
    newest change time of the pass and the next pass starts :data:`OVERLAP` before it, so an
    update the store wrote late, stamped earlier than one already read, is still picked up.
    A restart resumes the pass at ``pos``; orders read twice change nothing (intake is
    idempotent). Times are UTC ISO 8601 strings; ``mode`` is the source's own detail."""

    high: str | None = None
    start: str | None = None
    pos: str | None = None
    seen: str | None = None
    mode: str | None = None

    @classmethod
    def load(cls, raw: str | None) -> SyncCursor:
        """The saved cursor; a bare ISO time means "synced up to then"; junk starts afresh."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
        except ValueError:
            return cls(high=_iso(_safe_time(raw)))
        if not isinstance(data, dict):
            return cls()
        known = {k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__ and v}
        return cls(**known)

    @classmethod
    def since(cls, moment: datetime) -> SyncCursor:
        """A cursor whose next pass starts exactly at ``moment`` (``sources sync --since``)."""
        return cls(start=_iso(moment))

    def dump(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v}, separators=(",", ":"))

    def pass_start(
        self, now: datetime, *, overlap: timedelta = OVERLAP, initial: datetime | None = None
    ) -> datetime:
        """Where the running pass reads from, or where a new one starts."""
        if self.start:
            return _time(self.start) or now
        high = _time(self.high)
        if high is not None:
            return high - overlap
        return initial or now - timedelta(days=INITIAL_DAYS)

    def page_done(
        self, start: datetime, times: Iterable[str | None], next_pos: str | None
    ) -> SyncCursor:
        """The cursor after a page: inside the pass at ``next_pos``, or, when it is None, the
        pass finished and ``high`` moved to the newest change time read."""
        newest = max(
            (t for t in (_safe_time(v) for v in (self.seen, *times)) if t is not None),
            default=None,
        )
        if next_pos is not None:
            return SyncCursor(self.high, _iso(start), next_pos, _iso(newest), self.mode)
        high = max((t for t in (_time(self.high), newest) if t is not None), default=None)
        if high is None:  # nothing in the store yet: the next pass starts where this one did
            high = start + OVERLAP
        return SyncCursor(high=_iso(high), mode=self.mode)


def _safe_time(value: str | None) -> datetime | None:
    try:
        return _time(value)
    except ValueError:
        return None
