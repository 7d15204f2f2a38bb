"""Prometheus metrics of the pipeline (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CARRIER_CALLS = Counter(
    "notifier_carrier_calls_total", "Carrier API calls by outcome", ["carrier", "outcome"]
)
CARRIER_SECONDS = Histogram(
    "notifier_carrier_call_seconds", "Carrier API call latency", ["carrier"]
)
EVENTS = Counter("notifier_tracking_events_total", "New tracking events stored")
NOTIFICATIONS_ENQUEUED = Counter(
    "notifier_notifications_enqueued_total", "Notification rows created", ["trigger", "channel"]
)
SENDS = Counter(
    "notifier_sends_total", "Send attempts by outcome", ["channel", "sender", "outcome"]
)
SENDER_PAUSED = Gauge(
    "notifier_sender_paused", "1 while a sender rests after an auth failure", ["sender"]
)
JOB_FAILURES = Counter("notifier_job_failures_total", "Scheduled job runs that crashed", ["job"])
INTAKE = Counter("notifier_intake_total", "Orders taken in, by outcome", ["source", "outcome"])
