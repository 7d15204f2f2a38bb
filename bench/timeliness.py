"""Benchmark 4: carrier calls against scan-to-message latency, on a simulated week.

    python bench/timeliness.py [--shipments 10000] [--days 7] [--rate 3] [--batch 40]
                               [--push-share 0.3] [--seed 1]

``--shipments`` register at random moments over ``--days`` and each is followed for 7 days (every
simulator journey ends by then), on a virtual clock with no HTTP (see ``timeline_sim.py``). The
strategies differ only in when a shipment is checked next:

* ``adaptive``: :func:`notifier.pipeline.schedule.next_check`, given what ``record.py`` gives it;
* ``fixed_15m`` / ``fixed_2h``: the same interval always (2 h is a common default of open-source
  trackers), stopping at a final status like ours.

Everything else is the same for all of them: the delay scan (zero calls), pushes for
``--push-share`` of the shipments, one carrier with ``--rate`` requests/s and ``--batch`` numbers
per request (requests queue for the quota, and the wait counts in latency).

Measured: calls (numbers asked: what an aggregator bills; and HTTP requests) per shipment; for
out_for_delivery, delivered, exception and delayed, the time from the scan (or from when the delay
became true) to the poll or scan that notices it, p50/p95 in minutes (quiet hours defer sending,
not noticing, so they are not in it); messages never noticed; delays noticed that the oracle does
not have. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # timeline_sim.py, beside this file

from timeline_sim import (
    FOLLOW,
    KINDS,
    Parcel,
    Run,
    Said,
    Strategy,
    Watch,
    conforms,
    oracle,
    parcel,
    simulate,
)

from carriers.simulator.journeys import JAKARTA
from notifier.pipeline import schedule
from notifier.pipeline.detect import DELAY_STATUSES

START = datetime(2026, 11, 30, tzinfo=JAKARTA)  # a Monday, 00:00 in Jakarta
TARGET_P95 = 15.0  # min, for every kind
TARGET_RATIO = 0.30  # of the calls of fixed 15-minute polling
MINUTE = 60.0  # s


def adaptive(p: Parcel, facts: Any, now: float) -> float | None:
    """Our schedule, with the inputs record.py passes to it."""
    when = schedule.next_check(
        facts.status,
        now=datetime.fromtimestamp(now, JAKARTA),
        created_at=p.created_at,
        eta=facts.eta,
        tz=JAKARTA,
        key=p.idx,
        last_event_at=facts.last_event_at,
        pushes=p.pushes,
    )
    return None if when is None else when.timestamp()


def adaptive_basic(p: Parcel, facts: Any, now: float) -> float | None:
    """Our schedule given only what record.py passed before it learned of last_event_at and
    pushes (the value of wiring them in)."""
    when = schedule.next_check(
        facts.status,
        now=datetime.fromtimestamp(now, JAKARTA),
        created_at=p.created_at,
        eta=facts.eta,
        tz=JAKARTA,
        key=p.idx,
    )
    return None if when is None else when.timestamp()


def fixed(seconds: float) -> Strategy:
    return lambda p, facts, now: now + seconds


STRATEGIES: dict[str, Strategy] = {
    "adaptive": adaptive,
    "fixed_15m": fixed(15 * MINUTE),
    "fixed_2h": fixed(120 * MINUTE),
    "adaptive_basic": adaptive_basic,  # on request: --strategies adaptive,adaptive_basic,...
}
DEFAULT_STRATEGIES = "adaptive,fixed_15m,fixed_2h"


def shipments(
    count: int, days: float, push_share: float, seed: int, push_loss: float = 0.0
) -> list[Parcel]:
    """``count`` shipments registered at random moments over ``days`` from :data:`START`."""
    rng = random.Random(seed)
    start, span = START.timestamp(), days * 86400
    out = []
    for i in range(count):
        at, pushes = start + rng.random() * span, rng.random() < push_share
        out.append(parcel(i, f"BENCH{seed:03d}{i:07d}", at, pushes, push_loss))
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ranked = sorted(values)
    return ranked[max(0, min(len(ranked) - 1, int(-(-q * len(ranked) // 1)) - 1))]


def first_said(said: list[Said]) -> dict[tuple[str, str], Said]:
    out: dict[tuple[str, str], Said] = {}
    for s in said:
        out.setdefault((s.name, s.episode), s)
    return out


def delay_windows(p: Parcel, truth: Watch) -> list[tuple[float, float]]:
    """Each delay episode of the oracle: (when it became true, when the parcel left the statuses
    detect() judges delays in, after which no one can notice it)."""
    end = p.registered + FOLLOW.total_seconds()
    out = []
    for start in (s.at for s in truth.said if s.name == "delayed"):
        gone = next(
            (c for c in p.changes if c > start and p.status_at(c) not in DELAY_STATUSES), end
        )
        out.append((start, min(gone, end)))
    return out


def compare(parcels: list[Parcel], truths: list[Watch], run: Run) -> dict[str, Any]:
    """Latencies per kind against the oracle, messages missed, delays extra."""
    late: dict[str, list[float]] = {k: [] for k in KINDS}
    missed: Counter[str] = Counter()
    superseded: Counter[str] = Counter()
    extra = 0
    for p, truth, got in zip(parcels, truths, run.watches, strict=True):
        mine = first_said(got.said)
        for key, said in first_said(truth.said).items():
            if key[0] not in KINDS or key[0] == "delayed":
                continue
            seen = mine.get(key)
            if seen is None:
                missed[key[0]] += 1
                continue
            late[key[0]].append((seen.at - said.at) / MINUTE)
            superseded[key[0]] += seen.suppressed
        delays = sorted(s.at for s in got.said if s.name == "delayed")
        for start, end in delay_windows(p, truth):  # in order: the n-th noticed is the n-th true
            hit = next((at for at in delays if start <= at < end), None)
            if hit is None:
                missed["delayed"] += 1
                continue
            extra += delays.index(hit)  # said before it was true: a false alarm
            delays = delays[delays.index(hit) + 1 :]
            late["delayed"].append((hit - start) / MINUTE)
        extra += len(delays)
    flat = {f"p95_min_{k}": _round(percentile(v, 0.95)) for k, v in late.items()}
    return flat | {
        "latency_min": {
            k: {
                "n": len(v),
                "p50": _round(percentile(v, 0.50)),
                "p95": _round(percentile(v, 0.95)),
                "max": _round(max(v, default=None)),
                "within_15_min": _round(sum(x <= TARGET_P95 for x in v) / len(v) if v else None),
                "missed": missed[k],
                "superseded": superseded[k],
            }
            for k, v in late.items()
        },
        "delays_missed": missed["delayed"],
        "delays_extra": extra,
    }


def costs(parcels: list[Parcel], run: Run, rate: float) -> dict[str, Any]:
    n = len(parcels)
    checks = sum(w.checks for w in run.watches)
    by_journey: dict[str, list[int]] = {}
    for p, w in zip(parcels, run.watches, strict=True):
        by_journey.setdefault(p.journey, []).append(w.checks)
    queued = [w for w in run.waits if w > 0]
    return {
        "calls_per_shipment": round(checks / n, 2),
        "requests_per_shipment": round(run.requests / n, 2),
        "calls_per_shipment_by_status": {
            k: round(v / n, 2) for k, v in sorted(run.checks_by_status.items())
        },
        "calls_per_shipment_by_journey": {
            k: round(sum(v) / len(v), 1) for k, v in sorted(by_journey.items())
        },
        "quota": {
            "respected": conforms(run.sent, rate),
            "requests": run.requests,
            "queued_requests": len(queued),
            "wait_s_p95": _round(percentile(run.waits, 0.95)),
            "wait_s_max": _round(max(run.waits, default=None)),
            "busiest_second": max(Counter(int(t) for t in run.sent).values(), default=0),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def verdict(out: dict[str, Any], base: str = "fixed_15m") -> dict[str, Any]:
    ours = out.get("adaptive")
    if ours is None or base not in out:
        return {}
    ratio = ours["calls_per_shipment"] / out[base]["calls_per_shipment"]
    p95 = {k: v["p95"] for k, v in ours["latency_min"].items()}
    return {
        "calls_vs_fixed_15m": round(ratio, 3),
        "calls_target_met": ratio <= TARGET_RATIO,
        "p95_target_met": {k: v is not None and v <= TARGET_P95 for k, v in p95.items()},
        "no_delay_missed": ours["delays_missed"] == 0,
        "quota_respected": ours["quota"]["respected"],
    }


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shipments", type=int, default=10_000)
    ap.add_argument("--days", type=float, default=7.0, help="registrations spread over this")
    ap.add_argument("--rate", type=float, default=3.0, help="carrier requests per second")
    ap.add_argument("--batch", type=int, default=40, help="numbers per carrier request")
    ap.add_argument("--push-share", type=float, default=0.3, help="shipments whose carrier pushes")
    ap.add_argument("--push-loss", type=float, default=0.0, help="share of pushes lost")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strategies", default=DEFAULT_STRATEGIES, help=f"of {', '.join(STRATEGIES)}")
    args = ap.parse_args(argv)
    began = time.perf_counter()
    parcels = shipments(args.shipments, args.days, args.push_share, args.seed, args.push_loss)
    truths = [oracle(p) for p in parcels]
    phase = random.Random(args.seed).uniform(0, 600)
    out: dict[str, Any] = {}
    for name in args.strategies.split(","):
        t0 = time.perf_counter()
        run = simulate(parcels, STRATEGIES[name], rate=args.rate, batch=args.batch, phase=phase)
        out[name] = costs(parcels, run, args.rate) | compare(parcels, truths, run)
        log(f"# {name}: {time.perf_counter() - t0:.1f} s")
    result = {
        "benchmark": "timeliness",
        "config": vars(args)
        | {"journeys": dict(Counter(p.journey for p in parcels)), "start": START.isoformat()},
        "strategies": out,
        "targets": {"p95_min": TARGET_P95, "calls_vs_fixed_15m": TARGET_RATIO} | verdict(out),
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
