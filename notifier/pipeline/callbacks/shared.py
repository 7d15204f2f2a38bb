"""What every provider callback shares: the replay guard, per-address opt-outs, the result type
and the callbacks counter.

Rules every callback keeps:

* A replay changes nothing: each applied event is recorded in ``provider_event`` (Twilio status:
  ``<MessageSid>:<MessageStatus>``; SendGrid: ``sg_event_id``) in the transaction that applies it
  (:func:`claim`), and inbound messages are unique by their ``MessageSid``.
* A notification's delivery state never moves backwards: provider statuses are ranked and a late
  one ("sent" after "delivered") is recorded as seen and ignored. Failures are final, except that
  an email bounce after "delivered" (an asynchronous bounce) still fails the message.
* Opt-outs are per phone number or email address, not per merchant row: every recipient row with
  that number (or address), in every shop, is opted out of that channel. Twilio blocks a number
  that sent STOP for the whole sending account, and SendGrid suppresses an address account-wide,
  so this is what will happen to later messages anyway; recording it keeps them ``suppressed``
  with the reason instead of failing one by one.

The counter stays here rather than in :mod:`notifier.metrics`, which another stage owns; it is
registered once, on import, like every prometheus_client metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlmodel import Session, col

from notifier.store.lease import insert_ignoring
from notifier.store.models import ProviderEvent, Recipient

log = structlog.get_logger(__name__)

# The largest row id a database takes (SQLite INTEGER, PostgreSQL BIGINT); the same bound as the
# web routes' ids (notifier.web.deps.MAX_ROW_ID, which this layer may not import).
MAX_ROW_ID = 2**63 - 1

CALLBACKS = Counter(
    "notifier_provider_callbacks_total",
    "Provider callbacks and shopper messages, by provider, kind and result",
    ["provider", "kind", "result"],
)


class InFlight(Exception):
    """The notification is being sent right now; the callback must come again later.

    Only for providers that retry a refused callback (SendGrid retries for 24 h). Twilio does
    not retry status callbacks, so those are recorded at once instead (see
    :mod:`notifier.pipeline.callbacks.twilio_status`)."""


@dataclass(frozen=True, slots=True)
class Result:
    """What one callback did: applied, early, duplicate, stale, unknown or ignored, and a
    detail."""

    result: str
    detail: str = ""


def notification_id(raw: object, provider: str) -> int | None:
    """Our notification id as a provider echoes it back (Twilio ``?n=``, SendGrid's custom
    argument), or None when it cannot be one of ours: not ASCII digits (``str.isdigit()`` also
    takes "²" and other scripts' digits), or past what the database takes (the driver would
    raise, a 500 the provider retries forever). Such an id is logged and then treated like an
    unknown notification: nothing changes and the provider gets its 2xx."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and int(text) <= MAX_ROW_ID:
        return int(text)
    log.warning("callback.impossible_id", provider=provider, notification_id=text[:40])
    return None


def count(provider: str, kind: str, outcome: Result) -> Result:
    """Count ``outcome`` in :data:`CALLBACKS` and return it."""
    CALLBACKS.labels(provider, kind, outcome.result).inc()
    return outcome


def claim(session: Session, provider: str, event_id: str, now: datetime) -> bool:
    """Record ``event_id`` as applied; False when it already was (a replay)."""
    row = {"provider": provider, "event_id": event_id[:200], "received_at": now}
    return bool(
        insert_ignoring(session, ProviderEvent, [row], ["provider", "event_id"], [ProviderEvent.id])
    )


def opt_out(session: Session, where: Any, channel: str, source: str, now: datetime) -> int:
    """Opt the matching recipients out of ``channel``; an earlier opt-out keeps its time and
    source. Returns how many rows changed."""
    stmt = (
        sa.update(Recipient)
        .where(where, col(getattr(Recipient, f"{channel}_opt_out_at")).is_(None))
        .values({f"{channel}_opt_out_at": now, f"{channel}_opt_out_source": source[:64]})
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def opt_in(session: Session, where: Any, channel: str) -> int:
    """Clear the matching recipients' opt-out of ``channel``."""
    stmt = (
        sa.update(Recipient)
        .where(where)
        .values({f"{channel}_opt_out_at": None, f"{channel}_opt_out_source": None})
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
