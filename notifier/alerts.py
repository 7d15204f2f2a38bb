"""Merchant alerts: parcels that need a human, told to the shop's own customer service.

Marketplaces mask the buyer, so their shoppers get nothing from us; the merchant's CS team does.
Alerts are outbox rows (leased, retried, deduplicated like every message) to the merchant's *CS
recipient*: one Recipient row per merchant marked ``phone_kind = "merchant_cs"`` (a kind intake
never writes), holding ``brand.cs_email`` and ``brand.cs_whatsapp`` (kept in step on every run).

* Parcel alerts (``alert_delayed``, ``alert_exception``, ``alert_failed_attempt``) by :func:`scan`
  from what the pipeline stored: once per delay episode, once per local day for the others.
* The daily digest (``alert_digest``) of the parcels that need a human, by :func:`enqueue_digests`
  at the merchant's local hour, one a day (an empty day is recorded as suppressed); its content
  is a snapshot, so a retry sends the same text.

``merchant.settings["alerts"]`` (every key optional)::

    {"triggers": ["delayed", "exception", "failed_attempt"], "channel": "email",
     "channels": {"exception": ["email", "whatsapp"], "digest": "email"},
     "scope": "no_contact",  # parcel alerts for orders with no shopper to tell, or "all"
     "digest_hour": 8, "digest_scope": "all", "enabled": true}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from notifier import links
from notifier.errors import InputError
from notifier.formatting import format_datetime, status_label
from notifier.orders.contact import normalize_phone
from notifier.pipeline.compose import Job, carrier_name
from notifier.pipeline.detect import DELAY_STATUSES
from notifier.runtime import Runtime
from notifier.store.lease import insert_ignoring
from notifier.store.models import Merchant, Notification, NotificationState, Order, Recipient
from notifier.store.models import Shipment as Parcel
from notifier.store.models import TrackingEvent as EventRow
from notifier.templating import RenderedMessage

log = structlog.get_logger(__name__)

CS_KIND = "merchant_cs"  # Recipient.phone_kind of the CS recipient (shoppers: mobile, landline...)
CS_NAME = "Customer service"
PREFIX = "alert_"
ALERTABLE = ("delayed", "exception", "failed_attempt")
PROBLEMS = ("exception", "failed_attempt")
DIGEST = "alert_digest"
REASONS = ("returned", "exception", "failed_attempt", "stalled", "delayed")  # digest order
LOOKBACK = timedelta(hours=26)  # events a scan looks back at: a missed run is caught up
DIGEST_WINDOW = timedelta(hours=6)  # after the digest hour, a late run still sends the digest
DIGEST_MAX = 50  # parcels listed; the rest are counted
LIVE = [s.value for s in DELAY_STATUSES]  # pending, info_received, in_transit
STAMPS = ("not_before", "next_attempt_at", "created_at", "updated_at")  # of a new outbox row
NOTHING_TO_TELL = {"state": NotificationState.SUPPRESSED, "last_error": "nothing needs a human"}

Alert = tuple[str, str, dict[str, Any]]  # kind (of ALERTABLE, or "digest"), episode, context


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """One merchant's alert rules, read leniently: a bad value falls back to the default."""

    enabled: bool
    triggers: frozenset[str]
    channels: dict[str, tuple[str, ...]]  # per kind
    scope: str  # "no_contact" or "all"
    digest_hour: int | None
    digest_scope: str

    @classmethod
    def of(cls, merchant: Merchant) -> AlertSettings:
        raw = (merchant.settings or {}).get("alerts")
        raw = raw if isinstance(raw, dict) else {}
        wanted = raw.get("triggers")
        wanted = wanted if isinstance(wanted, list) else ALERTABLE
        default = _channels(raw.get("channel"), ("email",))
        per = raw.get("channels")
        per = per if isinstance(per, dict) else {}
        hour = raw.get("digest_hour", 8)
        return cls(
            enabled=raw.get("enabled", True) is not False,
            triggers=frozenset(t for t in wanted if t in ALERTABLE),
            channels={k: _channels(per.get(k), default) for k in (*ALERTABLE, "digest")},
            scope="all" if raw.get("scope") == "all" else "no_contact",
            digest_hour=hour if isinstance(hour, int) and 0 <= hour <= 23 else None,
            digest_scope="no_contact" if raw.get("digest_scope") == "no_contact" else "all",
        )


def _channels(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    found = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(c for c in found if c in ("email", "whatsapp")) or default


def is_alert(trigger: str) -> bool:
    """Whether a notification is a merchant alert (rendered by :func:`render`, not templates)."""
    return trigger.startswith(PREFIX)


def zone(merchant: Merchant) -> ZoneInfo:
    try:
        return ZoneInfo(merchant.timezone)
    except (KeyError, ValueError):  # validated on the way in; an old row may hold junk
        return ZoneInfo("UTC")


def cs_recipient(session: Session, merchant: Merchant, now: datetime) -> Recipient | None:
    """The merchant's CS recipient, in step with ``brand.cs_email``/``cs_whatsapp``; None when
    the shop has (and had) no CS contact."""
    brand = (merchant.settings or {}).get("brand") or {}
    email, phone = str(brand.get("cs_email") or "").strip().lower() or None, None
    if brand.get("cs_whatsapp"):
        try:
            phone = normalize_phone(str(brand["cs_whatsapp"]), merchant.country).e164
        except InputError as err:
            log.warning("alerts.bad_cs_whatsapp", merchant=merchant.slug, error=str(err))
    mine = (Recipient.merchant_id == merchant.id, Recipient.phone_kind == CS_KIND)
    stmt = select(Recipient).where(*mine)
    row = session.exec(stmt.order_by(col(Recipient.id))).first()
    if row is None and email is None and phone is None:
        return None
    row = row or Recipient(merchant_id=merchant.id or 0, created_at=now)
    values = {"email": email, "phone": phone, "phone_kind": CS_KIND}
    values |= {"name": CS_NAME, "locale": merchant.locale, "timezone": merchant.timezone}
    if row.id is None or any(getattr(row, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.flush()
    return row


def alert_rows(
    merchant: Merchant,
    rules: AlertSettings,
    cs: Recipient,
    order_id: int,
    parcel_id: int | None,
    alerts: list[Alert],
    now: datetime,
) -> list[dict[str, Any]]:
    """Outbox rows for ``alerts`` on each channel the merchant chose and the CS recipient has.
    Dedupe keys: ``s<parcel>:<trigger>:<episode>:<channel>``, ``m<merchant>:alert_digest:...``."""
    rows = []
    for kind, episode, context in alerts:
        trigger = DIGEST if kind == "digest" else PREFIX + kind
        where = f"m{merchant.id}" if kind == "digest" else f"s{parcel_id}"
        for channel in rules.channels.get(kind, ()):
            if (cs.email if channel == "email" else cs.phone) is None:
                continue
            rows.append(
                {
                    "merchant_id": merchant.id,
                    "order_id": order_id,
                    "shipment_id": parcel_id,
                    "recipient_id": cs.id,
                    "trigger": trigger,
                    "channel": channel,
                    "episode": episode,
                    "dedupe_key": f"{where}:{trigger}:{episode}:{channel}",
                    "state": NotificationState.PENDING,
                    "context": context,
                    **dict.fromkeys(STAMPS, now),
                }
            )
    return rows


def _parcels(merchant: Merchant, scope: str, *columns: Any) -> Any:
    """SELECT ``columns`` of the merchant's parcels in orders not cancelled (in ``scope``)."""
    stmt = (
        sa.select(*columns)
        .select_from(Parcel)
        .join(Order, col(Order.id) == col(Parcel.order_id))
        .where(col(Parcel.merchant_id) == merchant.id, col(Order.status) != "cancelled")
    )
    return stmt.where(col(Order.recipient_id).is_(None)) if scope == "no_contact" else stmt


# --------------------------------------------------------------------------- parcel alerts


def scan(rt: Runtime) -> int:
    """Enqueue the parcel alerts the merchants' recent news calls for (problem events recorded
    in the last :data:`LOOKBACK`, problem statuses, open delays); the number new."""
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        rows: list[dict[str, Any]] = []
        for merchant in session.exec(select(Merchant).order_by(col(Merchant.id))).all():
            rules = AlertSettings.of(merchant)
            cs = cs_recipient(session, merchant, now) if rules.enabled else None
            if cs is None or not rules.triggers:
                continue
            for (parcel, order), alerts in _alertable(session, merchant, rules, now).items():
                rows += alert_rows(merchant, rules, cs, order, parcel, list(alerts.values()), now)
        new = insert_ignoring(session, Notification, rows, ["dedupe_key"], [Notification.id])
    return len(new)


def _alertable(
    session: Session, merchant: Merchant, rules: AlertSettings, now: datetime
) -> dict[tuple[int, int], dict[tuple[str, str], Alert]]:
    """(parcel id, order id) -> the alerts it calls for, by (kind, episode)."""
    tz, since, ids = zone(merchant), now - LOOKBACK, (col(Parcel.id), col(Order.id))
    problems = [s for s in PROBLEMS if s in rules.triggers]
    events = _parcels(merchant, rules.scope, *ids, EventRow.status, EventRow.time)
    events = events.join(EventRow, col(EventRow.shipment_id) == col(Parcel.id)).where(
        col(EventRow.status).in_(problems), col(EventRow.created_at) >= since
    )
    current = _parcels(merchant, rules.scope, *ids, Parcel.status, Parcel.updated_at)
    current = current.where(col(Parcel.status).in_(problems), col(Parcel.updated_at) >= since)
    found: dict[tuple[int, int], dict[tuple[str, str], Alert]] = {}
    for parcel, order, status, when in [*session.execute(events), *session.execute(current)]:
        day = (when or now).astimezone(tz).date().isoformat()
        found.setdefault((parcel, order), {})[(status, day)] = (status, day, {"status": status})
    if "delayed" in rules.triggers:
        late = _parcels(merchant, rules.scope, *ids, Parcel.delay_episode)
        late = late.where(col(Parcel.delay_open).is_(True), col(Parcel.status).in_(LIVE))
        for parcel, order, episode in session.execute(late):
            alert: Alert = ("delayed", str(episode), {})
            found.setdefault((parcel, order), {})[alert[:2]] = alert
    return found


# --------------------------------------------------------------------------- the digest


def digest_day(hour: int | None, tz: ZoneInfo, now: datetime) -> date | None:
    """The local date whose digest is due at ``now``: from ``hour`` o'clock in the merchant's
    zone for :data:`DIGEST_WINDOW` (a daemon that was down at that hour still sends it)."""
    if hour is None:
        return None
    local = now.astimezone(tz)
    for day in (local.date(), local.date() - timedelta(days=1)):
        start = datetime.combine(day, time(hour), tzinfo=tz)
        if start <= now < start + DIGEST_WINDOW:
            return day
    return None


def needs_human(
    session: Session, merchant: Merchant, scope: str, stall: timedelta, now: datetime
) -> list[dict[str, Any]]:
    """The merchant's parcels that need a human now, most urgent first (:data:`REASONS`):
    returned in the last day, exception, failed attempt, no scan for ``stall``, delayed."""
    seen = sa.func.coalesce(col(Parcel.last_event_at), col(Parcel.created_at))
    stmt = _parcels(merchant, scope, Parcel, Order).where(
        sa.or_(
            col(Parcel.status).in_(PROBLEMS),
            sa.and_(col(Parcel.status) == "returned_to_sender", seen >= now - timedelta(days=1)),
            sa.and_(
                col(Parcel.status).in_(LIVE), sa.or_(col(Parcel.delay_open), seen < now - stall)
            ),
        )
    )
    rows = session.execute(stmt.order_by(col(Parcel.id))).all()
    newest = sa.select(sa.func.max(col(EventRow.id))).group_by(col(EventRow.shipment_id))
    newest = newest.where(col(EventRow.shipment_id).in_([p.id for p, _ in rows]))
    events = session.exec(select(EventRow).where(col(EventRow.id).in_(newest)))
    last = {e.shipment_id: e for e in events}
    items = [_item(p, o, last.get(p.id or 0), now - stall) for p, o in rows]
    return sorted(items, key=lambda i: (REASONS.index(i["reason"]), i["since"] or ""))


def _item(parcel: Parcel, order: Order, event: EventRow | None, quiet: datetime) -> dict[str, Any]:
    late = "stalled" if (parcel.last_event_at or parcel.created_at) < quiet else "delayed"
    reason = {"returned_to_sender": "returned", **{p: p for p in PROBLEMS}}.get(parcel.status, late)
    return {
        "reason": reason,
        "order": order.order_number,
        "carrier": carrier_name(parcel.carrier, parcel.courier or None),
        "tracking_number": parcel.tracking_number,
        "status": parcel.status,
        "since": parcel.last_event_at.isoformat() if parcel.last_event_at else None,
        "event": event.description if event and event.description else None,
        "token": parcel.public_token,
        "order_id": order.id,
    }


def enqueue_digests(rt: Runtime) -> int:
    """Enqueue today's digest of every merchant whose digest hour has come; the number new.
    Run it every few minutes: a merchant's day is decided once (its dedupe keys)."""
    now, made = rt.clock.now(), 0
    with rt.sessions() as session, session.begin():
        for merchant in session.exec(select(Merchant).order_by(col(Merchant.id))).all():
            rules = AlertSettings.of(merchant)
            day = digest_day(rules.digest_hour, zone(merchant), now) if rules.enabled else None
            cs = cs_recipient(session, merchant, now) if day else None
            key = col(Notification.dedupe_key).like(f"m{merchant.id}:{DIGEST}:{day}:%")
            if (
                day is None
                or cs is None
                or session.exec(select(Notification.id).where(key)).first()
            ):
                continue
            hours = ((merchant.settings or {}).get("notify") or {}).get("stall_hours")
            stall = timedelta(hours=float(hours or rt.settings.notify.stall_hours))
            items = needs_human(session, merchant, rules.digest_scope, stall, now)
            anchor = items[0]["order_id"] if items else _newest_order(session, merchant)
            if anchor is None:
                continue  # no orders at all: nothing to tell, nothing to hang a row on
            counts = {r: sum(1 for i in items if i["reason"] == r) for r in REASONS}
            context = {"day": day.isoformat(), "total": len(items), "counts": counts}
            digest = [("digest", day.isoformat(), context | {"items": items[:DIGEST_MAX]})]
            rows = alert_rows(merchant, rules, cs, anchor, None, digest, now)
            for row in rows if not items else []:
                row |= NOTHING_TO_TELL
            new = insert_ignoring(session, Notification, rows, ["dedupe_key"], [Notification.id])
            made += len(new)
    return made


def _newest_order(session: Session, merchant: Merchant) -> int | None:
    newest = select(Order.id).where(Order.merchant_id == merchant.id).order_by(col(Order.id).desc())
    return session.exec(newest).first()


# --------------------------------------------------------------------------- the words

LABELS = {
    "delayed": ("Paket terlambat", "Parcel delayed"),
    "exception": ("Masalah pengiriman", "Delivery problem"),
    "failed_attempt": ("Gagal antar", "Delivery attempt failed"),
    "stalled": ("Paket tidak bergerak", "Parcel not moving"),
    "returned": ("Paket kembali ke pengirim", "Parcel returned to sender"),
}
WORDS = {
    "action": ("Perlu tindakan", "Action needed"),
    "order": ("Pesanan", "Order"),
    "courier": ("Kurir", "Courier"),
    "last": ("Kabar terakhir", "Latest update"),
    "track": ("Lacak", "Track"),
    "why": (
        "Kontak pembeli disamarkan marketplace atau tidak ada: mohon tim CS menindaklanjuti.",
        "The buyer's contact is masked by the marketplace or missing: please follow up.",
    ),
    "digest": ("Ringkasan harian", "Daily summary"),
    "count": ("paket perlu ditindaklanjuti", "parcel(s) need attention"),
    "none": ("Tidak ada paket yang perlu ditindaklanjuti.", "No parcel needs attention."),
    "more": ("dan {n} paket lainnya", "and {n} more parcel(s)"),
}


def render(job: Job, locale: str, public_url: str) -> RenderedMessage:
    """The alert or digest of ``job`` in ``locale`` (``id``; any other gets English)."""
    lang, tz = (0 if locale.split("-")[0] == "id" else 1), str(zone(job.merchant))
    if job.notification.trigger == DIGEST:
        return _digest(job.notification.context, job.merchant, lang, locale, public_url)
    label = LABELS[job.notification.trigger.removeprefix(PREFIX)][lang]
    parcel, order, event = job.shipment, job.order, job.last_event
    head = f"{label}: {WORDS['order'][lang]} {order.order_number}"
    lines, where = [head], ""
    if parcel is not None:
        where = f"{carrier_name(parcel.carrier, parcel.courier or None)} {parcel.tracking_number}"
        lines.append(f"{WORDS['courier'][lang]}: {where}")
        lines.append(f"Status: {status_label(parcel.status, locale)}")
    if event is not None and event.description:
        when = f" ({format_datetime(event.time, locale, tz)})" if event.time else ""
        lines.append(f"{WORDS['last'][lang]}: {event.description}{when}")
    if order.recipient_id is None:
        lines += ["", WORDS["why"][lang]]
    if parcel is not None:
        link = links.tracking_url(public_url, parcel.public_token)
        lines += ["", f"{WORDS['track'][lang]}: {link}"]
    subject = f"[{WORDS['action'][lang]}] {head}" + (f" ({where})" if where else "")
    return RenderedMessage(subject, "\n".join(lines), None)


def _digest(
    context: dict[str, Any], merchant: Merchant, lang: int, locale: str, public_url: str
) -> RenderedMessage:
    tz, day, total = str(zone(merchant)), context.get("day", ""), int(context.get("total") or 0)
    shop = ((merchant.settings or {}).get("brand") or {}).get("name") or merchant.name
    items = context.get("items") or []
    lines = [f"{WORDS['digest'][lang]} {shop}, {day}: {total} {WORDS['count'][lang]}."]
    for reason in REASONS:
        group = [i for i in items if i.get("reason") == reason]
        if group:
            lines += ["", f"{LABELS[reason][lang]} ({(context.get('counts') or {}).get(reason)})"]
        for item in group:
            parcel = f"{item['carrier']} {item['tracking_number']}"
            line = f"- {WORDS['order'][lang]} {item['order']}, {parcel}"
            if item.get("event"):
                line += f": {item['event']}"
            if item.get("since"):
                line += f" ({format_datetime(datetime.fromisoformat(item['since']), locale, tz)})"
            lines += [line, f"  {links.tracking_url(public_url, item['token'])}"]
    if total > len(items):
        lines += ["", WORDS["more"][lang].format(n=total - len(items))]
    if not total:
        lines += ["", WORDS["none"][lang]]
    subject = f"{WORDS['digest'][lang]} {day}: {total} {WORDS['count'][lang]}"
    return RenderedMessage(subject, "\n".join(lines), None)
