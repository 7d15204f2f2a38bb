"""Crash campaign, CI-sized: 3 replicas on PostgreSQL, 160 parcels arriving in 4 waves, a random
replica SIGKILLed at random moments at least 16 times and restarted. Nothing lost; a message
twice only where the kill fell inside the send (counted); every killed replica's leases taken
over through its heartbeat; singletons never closer than their interval; no snapshot ever shows
a half-applied poll. ``-s`` prints the figures; ``make campaign`` runs it larger."""

from __future__ import annotations

import json

import pytest

from tests.campaigns.common import pg_available
from tests.campaigns.crash import CrashPlan, run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_replicas_killed_at_random_lose_nothing_and_repeat_only_inside_a_send(tmp_path) -> None:
    if not pg_available():
        pytest.skip("PostgreSQL is not running")
    plan = CrashPlan()
    report = run(plan, tmp_path)
    print("\ncrash campaign:", json.dumps(report.figures(), sort_keys=True))
    assert not report.aborted and report.unexpected_exits == [], report.unexpected_exits[:5]
    assert report.kills >= plan.kills
    assert report.kills_while_sending >= 1, report.figures()
    assert report.settled, report.figures()
    assert report.clean_exits == plan.replicas  # SIGTERM after all that: exit 0 each
    assert report.lost == [], report.lost[:10]
    assert report.unexplained == [], report.unexplained[:10]
    assert report.half_applied == [], report.half_applied[:10]
    assert report.singleton_too_close == [], report.singleton_too_close[:10]
    # Every victim's registration was reaped through its stopped heartbeat (not lease expiry).
    assert report.unreaped == [] and report.reaped_workers >= 1, report.figures()
    # A job may only crash as a deadlock victim (its chunk waits for its lease to expire).
    assert {kind.split(": ")[1] for kind in report.crashes} <= {"deadlock"}, report.crashes
    assert report.audit["delivered_parcels"] > 0
    # A message out beyond its row's record (sent twice, or sent while the row ended
    # suppressed) because a live dispatcher failed to record the send (its job crashed after
    # it, as a deadlock victim did before verdicts were retried) is outside the kill window.
    assert report.unrecorded == [], (report.unrecorded[:10], dict(report.crashes))
