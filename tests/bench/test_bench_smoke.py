"""The benchmarks run end to end at a tiny size and end with one JSON line (no timings judged:
benchmarks are never timed assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SWEEP_KEYS = {
    "shipments_per_s",
    "ceiling_shipments_per_s",
    "ratio_to_ceiling",
    "round_trips_per_shipment",
    "peak_rss_mb",
    "peak_rss_source",
    "us_per_shipment",
    "resweep_shipments_per_s",
}


def last_json(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sweep_on_sqlite() -> None:
    result = last_json("bench/sweep.py", "--shipments", "120", "--chunk-size", "50")
    assert result.keys() >= SWEEP_KEYS
    assert result["benchmark"] == "sweep" and result["db"] == "sqlite"
    assert result["swept"] == 120 and result["failures"] == 0
    assert result["new_events"] > 0 and result["notifications"] > 0


@pytest.mark.postgres
@pytest.mark.skipif(not PG, reason="PostgreSQL is not running on 127.0.0.1:5432")
def test_sweep_on_postgresql() -> None:
    result = last_json("bench/sweep.py", "--shipments", "80", "--db", "postgresql")
    assert result.keys() >= SWEEP_KEYS
    assert result["swept"] == 80 and result["postgresql"]


def test_dispatch() -> None:
    result = last_json("bench/dispatch.py", "--notifications", "24", "--concurrency", "4")
    assert {"messages_per_s", "baseline_messages_per_s", "ratio_to_baseline"} <= result.keys()
    assert result["sent"] == 24 and result["states"] == {"sent": 24}


def test_report_collects_the_lines(tmp_path: Path) -> None:
    lines = tmp_path / "results.jsonl"
    lines.write_text(
        json.dumps(
            {
                "benchmark": "render",
                "median_sms_renders_per_s": 1,
                "min_renders_per_s_by_channel": {"sms": 1},
            }
        )
        + "\n"
    )
    out = tmp_path / "table.md"
    done = subprocess.run(
        [sys.executable, "bench/report.py", str(lines), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "render" in out.read_text()
