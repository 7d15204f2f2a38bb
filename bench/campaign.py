"""The crash and fault campaigns of tests/campaigns, larger than in ``make test``.

    .venv/bin/python bench/campaign.py --parcels 3000 --kills 50 [--fault-parcels 600]
    make campaign CAMPAIGN_PARCELS=3000 CAMPAIGN_KILLS=50

Crash: N replicas of ``notifier run`` on one PostgreSQL (127.0.0.1:5432, or NOTIFIER_TEST_PG),
parcels arriving in waves while a random replica is SIGKILLed again and again and restarted;
then every notification is audited against what the "provider" received. Faults: one daemon
while the carriers and the provider stand-ins misbehave (``--fault-parcels 0`` skips it).

Prints each campaign's figures as it ends, then one JSON object as the last line; exits 1 if an
invariant broke (the ``broken`` list says which).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.campaigns.common import pg_available  # noqa: E402
from tests.campaigns.crash import CrashPlan, CrashReport  # noqa: E402
from tests.campaigns.crash import run as run_crash  # noqa: E402
from tests.campaigns.faults import FaultPlan, FaultReport  # noqa: E402
from tests.campaigns.faults import run as run_faults  # noqa: E402

SETTLE_PER_PARCEL = 0.1  # s of settle time allowed per parcel (it ends once all is sent)
# Virtual seconds per wall second: slower than the CI size's, so that thousands of parcels are
# polled and their news sent about as often as in production (a virtual week in ~2 minutes).
SCALE = 5_000.0


def crash_broken(report: CrashReport, plan: CrashPlan) -> list[str]:
    """The crash campaign's invariants that did not hold (the test's assertions)."""
    checks = {
        "kills": report.kills >= plan.kills,
        "unexpected_exits": not report.unexpected_exits and not report.aborted,
        "settled": report.settled,
        "clean_exits": report.clean_exits == plan.replicas,
        "lost": not report.lost,
        "duplicated_unexplained": not report.unexplained,
        "sent_unrecorded_by_live_dispatcher": not report.unrecorded,
        "half_applied": not report.half_applied,
        "singleton_too_close": not report.singleton_too_close,
        "victims_not_reaped": not report.unreaped and report.reaped_workers >= 1,
        "job_crashes": all(k.endswith(": deadlock") for k in report.crashes),
    }
    return [f"crash: {name}" for name, held in checks.items() if not held]


def fault_broken(report: FaultReport) -> list[str]:
    """The fault campaign's central invariants that did not hold."""
    checks = {
        "crash": report.daemon_exit == 0 and report.job_crashes == 0,
        "settled": report.settled,
        "lost": not report.lost,
        "duplicated_unexplained": not report.unexplained,
        "half_applied": not report.half_applied,
        "requests_while_open": not report.requests_while_open,
        "requests_inside_retry_after": not report.requests_during_retry_after,
    }
    return [f"faults: {name}" for name, held in checks.items() if not held]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=3000, help="crash campaign parcels")
    parser.add_argument("--kills", type=int, default=50, help="at least this many SIGKILLs")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--waves", type=int, default=10, help="parcels arrive in this many")
    parser.add_argument("--seed", type=int, default=CrashPlan.seed)
    parser.add_argument("--scale", type=float, default=SCALE, help="virtual s per wall s")
    parser.add_argument("--settle", type=float, help="most s to settle (default: by size)")
    parser.add_argument("--fault-parcels", type=int, default=600, help="0: no fault campaign")
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "campaign", "broken": []}
    if pg_available():
        plan = CrashPlan(
            replicas=args.replicas,
            parcels=args.parcels,
            kills=args.kills,
            waves=args.waves,
            seed=args.seed,
            scale=args.scale,
            settle=args.settle or max(CrashPlan.settle, SETTLE_PER_PARCEL * args.parcels),
        )
        with tempfile.TemporaryDirectory() as folder:
            crash = run_crash(plan, Path(folder))
        out["crash"] = crash.figures()
        out["crash_examples"] = {
            "lost": crash.lost[:5],
            "unexplained": crash.unexplained[:5],
            "unrecorded": crash.unrecorded[:5],
            "half_applied": crash.half_applied[:5],
        }
        out["broken"] += crash_broken(crash, plan)
        print("crash campaign:", json.dumps(out["crash"], sort_keys=True), file=sys.stderr)
    else:
        out["broken"].append("crash: PostgreSQL is not running")
    if args.fault_parcels:
        with tempfile.TemporaryDirectory() as folder:
            faults = run_faults(FaultPlan(parcels=args.fault_parcels), Path(folder))
        out["faults"] = faults.figures()
        out["broken"] += fault_broken(faults)
        print("fault campaign:", json.dumps(out["faults"], default=str), file=sys.stderr)
    print(json.dumps(out, sort_keys=True, default=str))
    return 1 if out["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
