"""Turns the benchmarks' JSON lines into the results table of docs/performance.md and the
headline of the README (``make bench`` runs the benchmarks, then this).

    python bench/report.py var/bench/results.jsonl [--doc docs/performance.md]
                           [--readme README.md] [--out table.md]

Repeated runs of one configuration are summarized by their median (and the spread of the main
figure). The table replaces what stands between ``<!-- bench:begin -->`` and
``<!-- bench:end -->`` in the document; the headline replaces the line between
``<!-- bench:headline -->`` markers in the README. Nothing else in either file is touched.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
HEADLINE = "<!-- bench:headline -->"

Row = dict[str, Any]


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def med(rows: Sequence[Row], key: str) -> float | None:
    values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None


def spread(rows: Sequence[Row], key: str) -> str:
    values = sorted(r[key] for r in rows if isinstance(r.get(key), int | float))
    if len(values) < 2:
        return ""
    return f" ({fmt(values[0])}-{fmt(values[-1])})"


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    if isinstance(value, int | float):
        return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"
    return str(value)


def sweep_table(rows: list[Row]) -> list[str]:
    groups: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in rows:
        if "shipments_per_s" in r:
            groups[(r["db"], r["shipments"])].append(r)
    if not groups:
        return []
    out = [
        "| N | db | runs | shipments/s | ceiling (aiohttp alone) | ratio | µs/shipment "
        "| CPU µs/shipment | round trips/shipment | peak RSS MB | re-sweep shipments/s "
        "| load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (db, n), group in sorted(groups.items(), key=lambda kv: (kv[0][0] != "sqlite", kv[0][1])):
        out.append(
            f"| {n:,} | {db} | {len(group)} "
            f"| {fmt(med(group, 'shipments_per_s'))}{spread(group, 'shipments_per_s')} "
            f"| {fmt(med(group, 'ceiling_shipments_per_s'))} "
            f"| {fmt(med(group, 'ratio_to_ceiling'), 3)} "
            f"| {fmt(med(group, 'us_per_shipment'))} "
            f"| {fmt(med(group, 'cpu_us_per_shipment'))} "
            f"| {fmt(med(group, 'round_trips_per_shipment'), 3)} "
            f"| {fmt(med(group, 'peak_rss_mb'))} "
            f"| {fmt(med(group, 'resweep_shipments_per_s'))} "
            f"| {fmt(med(group, 'load_avg_1m'), 1)} |"
        )
    return out


def scaling(rows: list[Row]) -> list[str]:
    """The per-shipment cost at the largest N against the smallest, on SQLite."""
    costs = defaultdict(list)
    for r in rows:
        if r.get("db") == "sqlite" and "us_per_shipment" in r:
            costs[r["shipments"]].append(r)
    if len(costs) < 2:
        return []
    small, large = min(costs), max(costs)
    a, b = med(costs[small], "us_per_shipment"), med(costs[large], "us_per_shipment")
    if not a or not b:
        return []
    return [
        f"Per-shipment cost at {large:,} vs {small:,} on SQLite: {b:,.0f} / {a:,.0f} µs = "
        f"**{b / a:.2f}x** (target: at most 1.3x)."
    ]


def dispatch_table(rows: list[Row]) -> list[str]:
    group = [r for r in rows if r.get("benchmark") == "dispatch"]
    if not group:
        return []
    return [
        "| N | runs | messages/s | library alone, pre-rendered | ratio | round trips/message "
        "| threads | peak RSS MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {group[0]['notifications']:,} | {len(group)} "
        f"| {fmt(med(group, 'messages_per_s'))}{spread(group, 'messages_per_s')} "
        f"| {fmt(med(group, 'baseline_messages_per_s'))} "
        f"| {fmt(med(group, 'ratio_to_baseline'), 3)} "
        f"| {fmt(med(group, 'round_trips_per_message'), 2)} "
        f"| {fmt(med(group, 'threads_at_end'))} | {fmt(med(group, 'peak_rss_mb'))} "
        f"| {fmt(med(group, 'load_avg_1m'), 1)} |",
    ]


def render_table(rows: list[Row]) -> list[str]:
    group = [r for r in rows if r.get("benchmark") == "render"]
    if not group:
        return []
    channels = sorted({c for r in group for c in r.get("min_renders_per_s_by_channel", {})})
    head = " | ".join(f"slowest {c} template/s" for c in channels)
    values = " | ".join(
        fmt(statistics.median(r["min_renders_per_s_by_channel"].get(c, 0) for r in group))
        for c in channels
    )
    sms = fmt(med(group, "median_sms_renders_per_s"))
    return [
        f"| runs | median SMS renders/s | {head} |",
        "|---" * (2 + len(channels)) + "|",
        f"| {len(group)} | {sms} | {values} |",
    ]


def timeliness_lines(rows: list[Row]) -> list[str]:
    group = [r for r in rows if r.get("benchmark") == "timeliness"]
    if not group:
        return []
    last = group[-1]
    config, kinds = (
        last.get("config", {}),
        ("out_for_delivery", "delivered", "exception", "delayed"),
    )
    out = [
        f"{config.get('shipments', 0):,} shipments over {fmt(config.get('days'))} virtual days, "
        f"quota {fmt(config.get('rate'))} requests/s of {config.get('batch')} numbers, "
        f"{fmt(100 * config.get('push_share', 0))} % of them pushed by their carrier.",
        "",
        "| strategy | calls/shipment | requests/shipment | "
        + " | ".join(f"{k} p50 / p95 min" for k in kinds)
        + " | delays missed | quota kept |",
        "|---" * (5 + len(kinds)) + "|",
    ]
    for name, f in last.get("strategies", {}).items():
        latency = f.get("latency_min", {})
        cells = " | ".join(
            f"{fmt(latency.get(k, {}).get('p50'), 1)} / {fmt(latency.get(k, {}).get('p95'), 1)}"
            for k in kinds
        )
        kept = "yes" if f.get("quota", {}).get("respected") else "NO"
        out.append(
            f"| `{name}` | {fmt(f.get('calls_per_shipment'), 1)} "
            f"| {fmt(f.get('requests_per_shipment'), 1)} | {cells} "
            f"| {fmt(f.get('delays_missed'))} | {kept} |"
        )
    targets = last.get("targets", {})
    unmet = [k for k, ok in targets.get("p95_target_met", {}).items() if not ok]
    out += [
        "",
        f"Calls against fixed 15-minute polling: **{fmt(targets.get('calls_vs_fixed_15m'), 3)}** "
        f"(target at most 0.3); p95 within {fmt(targets.get('p95_min'))} min: "
        + (f"**not met for {', '.join(unmet)}**" if unmet else "**met for every kind**")
        + f"; no delay missed: {'yes' if targets.get('no_delay_missed') else '**no**'}.",
    ]
    return out


def machine(rows: list[Row]) -> str:
    first = rows[0] if rows else {}
    pg = next((r["postgresql"] for r in rows if r.get("postgresql")), None)
    parts = [
        f"{first.get('cores', '?')} cores",
        f"Python {first.get('python', '?')}",
        f"SQLite {first.get('sqlite', '?')}",
    ]
    if pg:
        parts.append(f"PostgreSQL {pg.split()[0]}")
    return ", ".join(parts)


def table(rows: list[Row]) -> str:
    today = datetime.now(UTC).date().isoformat()
    sections: list[tuple[str, Callable[[list[Row]], list[str]]]] = [
        ("Sweep (`bench/sweep.py`)", lambda rs: [*sweep_table(rs), "", *scaling(rs)]),
        ("Dispatch (`bench/dispatch.py`)", dispatch_table),
        ("Render (`bench/render.py`)", render_table),
        ("Timeliness (`bench/timeliness.py`)", timeliness_lines),
    ]
    out = [f"Measured {today} on {machine(rows)}; medians of the runs listed.", ""]
    for title, make in sections:
        lines = make(rows)
        if lines:
            out += [f"### {title}", "", *lines, ""]
    return "\n".join(out).rstrip() + "\n"


def headline(rows: list[Row]) -> str | None:
    big = [r for r in rows if r.get("db") == "sqlite" and "shipments_per_s" in r]
    if not big:
        return None
    n = max(r["shipments"] for r in big)
    group = [r for r in big if r["shipments"] == n]
    disp = [r for r in rows if r.get("benchmark") == "dispatch"]
    text = (
        f"On 2 cores, one process sweeps {n:,} parcels on SQLite at "
        f"{fmt(med(group, 'shipments_per_s'))} shipments/s on the first sweep (every scan new) "
        f"and {fmt(med(group, 'resweep_shipments_per_s'))}/s once they are known, in "
        f"{fmt(med(group, 'peak_rss_mb'))} MB"
    )
    if disp:
        text += f", and sends {fmt(med(disp, 'messages_per_s'))} messages/s"
    return text + " ([docs/performance.md](docs/performance.md))."


def replace_between(text: str, begin: str, end: str, new: str) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return text.rstrip() + f"\n\n{begin}\n{new}{end}\n"
    return pattern.sub(lambda _: f"{begin}\n{new}{end}", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="the benchmarks' JSON lines")
    parser.add_argument("--doc", type=Path, help="rewrite the table in this document")
    parser.add_argument("--readme", type=Path, help="rewrite the headline in this README")
    parser.add_argument("--out", type=Path, help="write the table alone here")
    args = parser.parse_args()
    rows = load(args.results)
    body = table(rows)
    if args.out:
        args.out.write_text(body)
    if args.doc:
        args.doc.write_text(replace_between(args.doc.read_text(), BEGIN, END, body))
    line = headline(rows)
    if args.readme and line:
        args.readme.write_text(
            replace_between(args.readme.read_text(), HEADLINE, HEADLINE, line + "\n")
        )
    if not (args.out or args.doc):
        print(body)


if __name__ == "__main__":
    main()
