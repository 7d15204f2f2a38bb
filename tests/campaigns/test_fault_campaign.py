"""Fault campaign, CI-sized: one daemon while UPS misbehaves in every way (and its OAuth tokens
keep expiring), FedEx goes down and comes back, and SendGrid/Twilio fail, rate-limit, time out
and dawdle. ``-s`` prints the figures; ``make campaign`` runs it larger."""

from __future__ import annotations

import json

import pytest

from tests.campaigns.faults import FaultPlan, run

pytestmark = pytest.mark.slow


def test_carriers_and_providers_misbehaving_never_crash_lose_or_repeat(tmp_path) -> None:
    report = run(FaultPlan(), tmp_path)
    print("\nfault campaign:", json.dumps(report.figures(), sort_keys=True, default=str))
    assert report.daemon_exit == 0 and report.job_crashes == 0  # no crash
    assert report.settled, report.figures()
    assert set(report.ended) <= {"sent", "suppressed", "failed", "dead"}, report.ended
    assert report.lost == [], report.lost[:10]  # includes anything unsent without a reason
    assert report.unexplained == [], report.unexplained[:10]
    fedex = report.circuits["fedex"]
    assert fedex["opened"] >= 1 and fedex["closed"] >= 1 and fedex["state"] == "closed"
    assert report.requests_while_open == [], report.requests_while_open[:5]
    assert report.circuits["simulator"]["opened"] == 0 and report.calm_failures == 0
    assert report.rate_limited_carrier >= 1 and report.requests_during_retry_after == []
    assert report.send_retry_after == [], report.send_retry_after[:5]
    assert report.half_applied == [], report.half_applied[:10]
    assert report.expired_tokens >= 1 and sum(report.faults.values()) >= 20
