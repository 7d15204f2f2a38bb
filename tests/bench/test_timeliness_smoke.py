"""bench/timeliness.py runs end to end at a tiny size and ends with one JSON line holding every
figure per strategy. Nothing here judges the figures (benchmarks are never timed assertions);
only what must hold of the model itself: a fixed 15-minute poller notices within 15 minutes of
virtual time (plus a sweep tick and a call), and requests keep to the quota."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

KINDS = {"out_for_delivery", "delivered", "exception", "delayed"}
STRATEGY_KEYS = {
    "calls_per_shipment",
    "requests_per_shipment",
    "calls_per_shipment_by_status",
    "calls_per_shipment_by_journey",
    "quota",
    "latency_min",
    "delays_missed",
    "delays_extra",
    *(f"p95_min_{k}" for k in KINDS),
}
LATENCY_KEYS = {"n", "p50", "p95", "max", "within_15_min", "missed", "superseded"}
QUOTA_KEYS = {
    "respected",
    "requests",
    "queued_requests",
    "wait_s_p95",
    "wait_s_max",
    "busiest_second",
}


def run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "bench/timeliness.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_figure_for_every_strategy() -> None:
    result = run("--shipments", "80", "--days", "1", "--seed", "3")
    assert result["benchmark"] == "timeliness"
    assert result["config"]["shipments"] == 80 and result["config"]["rate"] == 3.0
    assert set(result["strategies"]) == {"adaptive", "fixed_15m", "fixed_2h"}
    for figures in result["strategies"].values():
        assert figures.keys() >= STRATEGY_KEYS
        assert set(figures["latency_min"]) == KINDS
        for kind in figures["latency_min"].values():
            assert kind.keys() >= LATENCY_KEYS
        assert figures["quota"].keys() >= QUOTA_KEYS
        assert figures["quota"]["respected"] is True
    assert {"calls_vs_fixed_15m", "p95_target_met", "no_delay_missed"} <= result["targets"].keys()
    fixed = result["strategies"]["fixed_15m"]["latency_min"]
    assert all(v["max"] is None or v["max"] <= 15.5 for v in fixed.values())


def test_a_tight_quota_makes_requests_wait() -> None:
    result = run(
        "--shipments", "60", "--days", "0.01", "--rate", "0.05", "--batch", "2",
        "--strategies", "fixed_15m",
    )  # fmt: skip
    quota = result["strategies"]["fixed_15m"]["quota"]
    assert quota["respected"] is True
    assert quota["queued_requests"] > 0 and quota["wait_s_max"] > 20
