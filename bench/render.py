"""Renders per second of every default template (compiled once, cached), on one core.

    python bench/render.py [--seconds 1.0]

Prints one JSON object as its last line: renders/s per channel and per trigger/channel/locale,
and whether the SMS target (20,000 renders/s) is met.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

from notifier.templating import Templates

SMS_TARGET = 20_000  # renders/s on one core


def rate(templates: Templates, trigger: str, channel: str, locale: str, seconds: float) -> float:
    ctx = templates.sample_context(trigger, locale)
    ctx["channel"] = channel
    render = templates.render
    render(trigger, channel, locale, ctx, timezone="Asia/Jakarta")  # compile and warm the cache
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            render(trigger, channel, locale, ctx, timezone="Asia/Jakarta")
        done += 100
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="per template")
    args = parser.parse_args()
    templates = Templates()
    each: dict[str, float] = {}
    by_channel: dict[str, list[float]] = defaultdict(list)
    for trigger, channel, locale in templates.available():
        r = rate(templates, trigger, channel, locale, args.seconds)
        each[f"{trigger}/{channel}.{locale}"] = round(r)
        by_channel[channel].append(r)
    summary = {ch: round(min(v)) for ch, v in by_channel.items()}
    print(
        json.dumps(
            {
                "benchmark": "render",
                "templates": len(each),
                "min_renders_per_s_by_channel": summary,
                "median_sms_renders_per_s": round(
                    sorted(by_channel["sms"])[len(by_channel["sms"]) // 2]
                ),
                "sms_target": SMS_TARGET,
                "sms_target_met": summary.get("sms", 0) >= SMS_TARGET,
                "per_template": each,
            }
        )
    )


if __name__ == "__main__":
    main()
