"""What the fault campaign (:mod:`tests.campaigns.faults`) checks once the daemon has settled:
Retry-After kept by the carrier calls and the sends, no call through an open circuit, what the
providers took by dedupe key and which sends timed out (for the audit), the calm shop's failed
calls, and the delivered-email latency per shop."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from prometheus_client import REGISTRY

from notifier.pipeline import circuit
from notifier.store.db import make_engine
from notifier.store.models import Notification, NotificationAttempt, Shipment
from notifier.testing_providers import SendgridStandIn, TwilioStandIn

if TYPE_CHECKING:
    from tests.campaigns.faults import FaultReport, Recording

SEND_RETRY_AFTER = 7200  # s a rate-limited provider asks for: longer than any backoff
SLACK = 0.3  # s: requests already in flight when an answer came back


def metric(name: str, **labels: str) -> float:
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def calm_failures() -> float:
    """Failed calls to the calm shop's carrier so far (every outcome but ok)."""
    calls = metric("notifier_carrier_calls_total", carrier="simulator")
    return calls - metric("notifier_carrier_calls_total", carrier="simulator", outcome="ok")


def check_circuit(breaker: circuit.Breaker, sim: Recording, report: FaultReport) -> None:
    """No FedEx request arrived while its circuit was open (beyond those already sent)."""
    spans, opened = [], None
    for moment, state in breaker.history:
        if state is circuit.State.OPEN:
            opened = moment
        elif opened is not None:
            spans.append((opened, moment))
            opened = None
    for t, path in sim.arrivals:
        if path.startswith("/fedex") and any(a + SLACK < t < b for a, b in spans):
            report.requests_while_open.append(f"{path} at {t:.2f}")


def check_retry_after(sim: Recording, report: FaultReport) -> None:
    """After a UPS 429 with Retry-After, no UPS tracking request until the pause is over."""
    for t, path, status, wait in sim.log:
        if not (path.startswith("/ups") and status == 429 and wait):
            continue
        report.rate_limited_carrier += 1
        end = t + float(wait) - 0.1
        for arrived, other in sim.arrivals:
            if other.startswith("/ups/api/track") and t + SLACK < arrived < end:
                report.requests_during_retry_after.append(f"{other} {arrived - t:.2f}s after")


def check_send_retry_after(url: str, report: FaultReport) -> None:
    """A send refused with 429 + Retry-After is not tried again before that many seconds.

    An attempt given back (quiet hours, a paused sender) leaves its row, and the next lease
    writes a second row with the same number; dispatch then records the outcome on both. Only
    the newest row of a number is that attempt's own; the older ones are counted apart."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                NotificationAttempt.notification_id,
                NotificationAttempt.number,
                NotificationAttempt.started_at,
                NotificationAttempt.error,
            ).order_by(NotificationAttempt.notification_id, NotificationAttempt.started_at)
        ).all()
    engine.dispose()
    newest = {(nid, number): started for nid, number, started, _ in rows}
    for i, (nid, number, started, error) in enumerate(rows):
        if newest[(nid, number)] != started:
            report.attempt_rows_overwritten += 1
            continue
        if not error or "rate limit" not in error:
            continue
        report.rate_limited_sends += 1
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if nxt is not None and nxt[0] == nid:
            gap = (nxt[2] - started).total_seconds()
            if gap < SEND_RETRY_AFTER:
                report.send_retry_after.append(f"notification {nid}: retried after {gap:.0f}s")


def received_by_key(url: str, sendgrid: SendgridStandIn, twilio: TwilioStandIn) -> Counter[str]:
    """Messages the providers took, by dedupe key."""
    by_id: Counter[int] = Counter()
    for _, body in sendgrid.accepted:
        by_id[int(body["personalizations"][0]["custom_args"]["notification_id"])] += 1
    for _, form in twilio.created:
        query = parse_qs(urlsplit(form.get("StatusCallback", "")).query)
        by_id[int(query["n"][0])] += 1
    engine = make_engine(url)
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.select(Notification.id, Notification.dedupe_key)).all())
    engine.dispose()
    return Counter({keys[i]: n for i, n in by_id.items()})


def timed_out(url: str) -> Counter[str]:
    """Per dedupe key, sends that timed out: the provider may have taken the message."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Notification.dedupe_key)
            .join(NotificationAttempt, NotificationAttempt.notification_id == Notification.id)
            .where(NotificationAttempt.error.like("%no answer within%"))
        ).scalars()
        return Counter(rows)


def latency(url: str, ids: dict[str, int]) -> dict[str, float]:
    """Per shop, the 90th percentile of delivery scan -> delivered email sent, virtual hours."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Shipment.merchant_id, Shipment.delivered_at, Notification.sent_at)
            .join(Notification, Notification.shipment_id == Shipment.id)
            .where(
                Notification.trigger == "delivered",
                Notification.channel == "email",
                Notification.state == "sent",
            )
        ).all()
    engine.dispose()
    names = {v: k for k, v in ids.items()}
    out: dict[str, list[float]] = {}
    for merchant, delivered, sent in rows:
        if delivered and sent:
            hours = (sent - delivered).total_seconds() / 3600
            out.setdefault(names[merchant], []).append(hours)
    return {
        k: round(sorted(v)[int(len(v) * 0.9) - 1 if len(v) > 1 else 0], 1) for k, v in out.items()
    }
