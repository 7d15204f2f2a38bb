"""Prometheus metrics of the pipeline (served at /metrics).

What an operator graphs, and where each figure comes from:

* ``notifier_sweep_lag_seconds``: how late the most overdue shipment is (0 when the sweep keeps
  up); set by each sweep at its start and end, and by :func:`notifier.pipeline.gauges.refresh`.
* ``notifier_carrier_calls_total{carrier,outcome}`` and ``notifier_carrier_call_seconds``: every
  carrier API call (outcome ``ok``, ``crash`` or the error class: ``CarrierUnavailable``,
  ``CarrierAuthError``, ``CarrierResponseError``);
  ``notifier_carrier_item_errors_total{carrier,kind}``: per-number errors inside answered calls
  (``not_found``, ``invalid_number``, ``rate_limited``...).
* ``notifier_notifications{state,channel,trigger}``: rows of the outbox by state, a gauge
  refreshed by the housekeeping job; ``notifier_outbox_depth{channel}``: rows due now and not
  sent yet (pending or being sent).
* ``notifier_dispatch_latency_seconds{channel}``: from the moment a message was due to the
  provider accepting it; ``notifier_provider_call_seconds{sender}``: the provider call alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

# Seconds: from a quick provider answer to a message that waited out the night's quiet hours.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600)

CARRIER_CALLS = Counter(
    "notifier_carrier_calls_total", "Carrier API calls by outcome", ["carrier", "outcome"]
)
CARRIER_SECONDS = Histogram(
    "notifier_carrier_call_seconds", "Carrier API call latency", ["carrier"]
)
CARRIER_ITEM_ERRORS = Counter(
    "notifier_carrier_item_errors_total",
    "Tracking numbers a carrier answered with an error, by kind",
    ["carrier", "kind"],
)
SWEEP_LAG = Gauge(
    "notifier_sweep_lag_seconds", "How overdue the most overdue shipment is (0: none overdue)"
)
SWEPT = Counter("notifier_shipments_checked_total", "Shipments checked by the sweep")
EVENTS = Counter("notifier_tracking_events_total", "New tracking events stored")
NOTIFICATIONS_ENQUEUED = Counter(
    "notifier_notifications_enqueued_total", "Notification rows created", ["trigger", "channel"]
)
NOTIFICATIONS = Gauge(
    "notifier_notifications",
    "Outbox rows by state, channel and trigger (refreshed by housekeeping)",
    ["state", "channel", "trigger"],
)
OUTBOX_DEPTH = Gauge(
    "notifier_outbox_depth", "Messages due now and not yet sent (pending or sending)", ["channel"]
)
DISPATCH_LATENCY = Histogram(
    "notifier_dispatch_latency_seconds",
    "From the moment a message was due to the provider accepting it",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
PROVIDER_SECONDS = Histogram(
    "notifier_provider_call_seconds", "One provider call (SendGrid, Twilio...)", ["sender"]
)
SENDS = Counter(
    "notifier_sends_total", "Send attempts by outcome", ["channel", "sender", "outcome"]
)
SENDER_PAUSED = Gauge(
    "notifier_sender_paused", "1 while a sender rests after an auth failure", ["sender"]
)
JOB_FAILURES = Counter("notifier_job_failures_total", "Scheduled job runs that crashed", ["job"])
INTAKE = Counter("notifier_intake_total", "Orders taken in, by outcome", ["source", "outcome"])

_seen: dict[Gauge, set[tuple[str, ...]]] = {}


def set_gauge(gauge: Gauge, values: Iterable[tuple[tuple[str, ...], float]]) -> None:
    """Set a labelled gauge to ``values`` ((labels, value) pairs); label sets seen before and
    absent now go to 0, so a state that emptied does not keep its old count."""
    now = dict(values)
    for labels in _seen.get(gauge, set()) - now.keys():
        gauge.labels(*labels).set(0)
    for labels, value in now.items():
        gauge.labels(*labels).set(value)
    _seen[gauge] = _seen.get(gauge, set()) | now.keys()


def observe_dispatch(channel: str, due: datetime | None, accepted: datetime) -> None:
    """A message the provider accepted at ``accepted``, due since ``due`` (its not_before, or
    its creation when it had none)."""
    if due is not None:
        DISPATCH_LATENCY.labels(channel).observe(max(0.0, (accepted - due).total_seconds()))


def lag_seconds(oldest_due: datetime | None, now: datetime) -> float:
    """The sweep lag for the earliest ``next_check_at`` (None: nothing to check)."""
    return 0.0 if oldest_due is None else max(0.0, (now - oldest_due).total_seconds())
