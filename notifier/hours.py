"""A shop's opening hours, as merchants write them in their settings (``opening_hours``):
``{"mon-fri": "08:00-17:00", "sat": "09:00-13:00"}``. Pure: parsing, "is it open now", and the
hours as people read them, in Indonesian or English."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "id": ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_SPAN = re.compile(r"^([01]?\d|2[0-4])[:.]([0-5]\d)\s*-\s*([01]?\d|2[0-4])[:.]([0-5]\d)$")


def parse_hours(spec: Mapping[str, Any]) -> dict[int, list[tuple[int, int]]]:
    """``{"mon-fri": "08:00-17:00", "sat": "09:00-13:00"}`` as minute ranges per weekday
    (0 = Monday). Values may list ranges ("08:00-12:00, 13:00-17:00") or say "closed"; a range
    ending before it starts runs past midnight. Days not named are closed. Raises ValueError."""
    week: dict[int, list[tuple[int, int]]] = {}
    for key, value in spec.items():
        for day in _days(str(key)):
            for start, end in _spans(str(value)):
                if end > start:
                    week.setdefault(day, []).append((start, end))
                else:  # overnight: the rest of this day and the start of the next
                    week.setdefault(day, []).append((start, 24 * 60))
                    week.setdefault((day + 1) % 7, []).append((0, end))
    return week


def _days(key: str) -> list[int]:
    out: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        if part in ("daily", "everyday", "all"):
            out.extend(range(7))
            continue
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"opening_hours: unknown day {part!r} (use mon..sun, mon-fri)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return out


def _spans(value: str) -> list[tuple[int, int]]:
    if value.strip().lower() in ("", "closed", "tutup", "libur"):
        return []
    spans = []
    for part in value.split(","):
        m = _SPAN.match(part.strip())
        if not m:
            raise ValueError(f"opening_hours: {part.strip()!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        spans.append((h1 * 60 + m1, h2 * 60 + m2))
    return spans


def is_open(spec: Mapping[str, Any] | None, now: datetime, tz: str) -> bool:
    """Whether the shop is open at ``now`` in its zone ``tz``; always open without hours."""
    if not spec:
        return True
    local = now.astimezone(ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    return any(s <= minute < e for s, e in parse_hours(spec).get(local.weekday(), []))


def describe_hours(spec: Mapping[str, Any], locale: str) -> str:
    """The hours for people: "Sen-Jum 08.00-17.00, Sab 09.00-13.00" / "Mon-Fri 08:00-17:00"."""
    lang = "id" if locale.replace("_", "-").split("-")[0].lower() in ("id", "in") else "en"
    names, sep = DAY_NAMES[lang], "." if lang == "id" else ":"
    parts = []
    for key, value in spec.items():
        days = re.sub(r"[a-z]{3}", lambda m: names[DAYS.index(m.group(0))], str(key).lower())
        spans = ", ".join(f"{_hm(s, sep)}-{_hm(e, sep)}" for s, e in _spans(str(value)))
        if spans:
            parts.append(f"{days} {spans}")
    return ", ".join(parts)


def _hm(minutes: int, sep: str) -> str:
    return f"{minutes // 60:02d}{sep}{minutes % 60:02d}"
