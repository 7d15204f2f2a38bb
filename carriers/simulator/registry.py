"""The simulator's registered numbers and their answers in the native wire format.

A number's journey is planned once, when it is registered, and kept pre-rendered: every event as
JSON, newest first, in one byte string, so the events visible at a moment are a suffix of it.
Answering a number is then a bisection and a slice, which keeps the simulator far faster than the
clients it serves (about 2 KB of memory per registered number).
"""

from __future__ import annotations

import functools
import json
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from carriers.simulator.journeys import (
    SIM_PREFIX,
    STATUS_TEXT,
    Journey,
    choose_journey,
    number_key,
    plan,
)

LOCAL_OFFSET = 7 * 3600  # Asia/Jakarta, the zone every event time is written in
_VALID_NUMBER = re.compile(r"[A-Z0-9-]{5,40}")
_STATUS = {
    code: f'"status_code":"{code}","status_text":{json.dumps(text)}'.encode()
    for code, text in STATUS_TEXT.items()
}


def local_iso(timestamp: float) -> str:
    """A POSIX time as ISO-8601 in Jakarta local time with its offset, whole seconds."""
    day, second = divmod(int(timestamp) + LOCAL_OFFSET, 86400)
    hour, second = divmod(second, 3600)
    return "%sT%02d:%02d:%02d+07:00" % (_day(day), hour, *divmod(second, 60))  # noqa: UP031


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    """The ISO date ``days`` after 1970-01-01 (journeys span a few days: cached)."""
    return date.fromordinal(_EPOCH + days).isoformat()


_EPOCH = date(1970, 1, 1).toordinal()


def valid_number(number: str) -> bool:
    """Tracking numbers are 5-40 letters, digits or dashes (spaces and case are ignored)."""
    return valid_key(number_key(number))


def valid_key(key: str) -> bool:
    """:func:`valid_number` for a number already in canonical form."""
    return _VALID_NUMBER.fullmatch(key) is not None


def auto_registers(key: str) -> bool:
    """Numbers with the simulator prefix register themselves the first time they are tracked."""
    return key.startswith(SIM_PREFIX)


@dataclass(frozen=True, slots=True)
class Compiled:
    """One journey pre-rendered for answering (all times POSIX seconds)."""

    head: bytes  # '{"tracking_number":"...",'
    times: array[float]  # arrays, not tuples: a benchmark keeps 100,000 of these
    codes: tuple[str, ...]
    events: bytes  # every event's JSON, newest first, comma separated
    starts: array[int]  # starts[i]: where the i-th oldest event begins in ``events``
    eta_times: tuple[float, ...]
    eta_values: tuple[bytes, ...]
    expires_at: float | None

    def visible(self, now: float) -> int:
        return bisect_right(self.times, now)

    def status_code(self, now: float) -> str:
        if self.expires_at is not None and now >= self.expires_at:
            return "EXPIRED"
        seen = self.visible(now)
        return self.codes[seen - 1] if seen else "PENDING"

    def render(self, now: float) -> bytes:
        """The number's answer at ``now`` as one JSON object."""
        seen = self.visible(now)
        etas = bisect_right(self.eta_times, now)
        return b"".join(
            (
                self.head,
                _STATUS[self.status_code(now)],
                b',"estimated_delivery":',
                self.eta_values[etas - 1] if etas else b"null",
                b',"events":[',
                self.events[self.starts[seen - 1] :] if seen else b"",
                b"]}",
            )
        )

    @property
    def changes(self) -> tuple[float, ...]:
        """Every moment the answer changes, in order."""
        moments = {*self.times, *self.eta_times}
        if self.expires_at is not None:
            moments.add(self.expires_at)
        return tuple(sorted(moments))


def compile_journey(number: str, journey: Journey, registered_at: float) -> Compiled:
    """Plan ``number``'s journey and render it for answering."""
    raw = plan(number, registered_at, journey)
    # ASCII-only JSON (non-ASCII escaped), so string offsets are byte offsets.
    encoded = [
        _EVENT % (local_iso(at), code, _quote(text), _quote(where))
        for at, code, text, where in raw.scans
    ]
    starts: list[int] = []
    position = sum(len(e) + 1 for e in encoded) - 1  # the oldest event ends the string
    for event in encoded:
        position -= len(event)
        starts.append(position)
        position -= 1  # the comma before it
    return Compiled(
        head=b'{"tracking_number":%s,' % _quote(number).encode(),
        times=array("d", [scan[0] for scan in raw.scans]),
        codes=tuple([scan[1] for scan in raw.scans]),
        events=",".join(reversed(encoded)).encode("ascii"),
        starts=array("I", starts),
        eta_times=tuple([since for since, _ in raw.etas]),
        eta_values=tuple([_eta_json(eta) for _, eta in raw.etas]),
        expires_at=raw.expires_at,
    )


_EVENT = '{"time":"%s","code":"%s","description":%s,"location":%s}'
_quote = json.encoder.encode_basestring_ascii  # a JSON string literal (C speed-up if present)


def _eta_json(eta: date | None) -> bytes:
    return b'"' + eta.isoformat().encode() + b'"' if eta else b"null"


class Registration:
    """A registered number and its journey, compiled when registered."""

    __slots__ = ("compiled", "journey", "number", "registered_at")

    def __init__(self, number: str, journey: Journey, registered_at: float) -> None:
        self.number = number
        self.journey = journey
        self.registered_at = registered_at
        self.compiled = compile_journey(number, journey, registered_at)


class Registry:
    """Registered numbers by canonical key. Not thread-safe: the server's loop owns it."""

    def __init__(self) -> None:
        self._by_key: dict[str, Registration] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Registration]:
        return iter(self._by_key.values())

    def get(self, number: str) -> Registration | None:
        return self._by_key.get(number_key(number))

    def get_key(self, key: str) -> Registration | None:
        """By canonical key (:func:`carriers.simulator.journeys.number_key`)."""
        return self._by_key.get(key)

    def register(
        self, number: str, registered_at: float, journey: Journey | str | None = None
    ) -> tuple[Registration, bool]:
        """The number's registration and whether it is new; an existing one is kept as is.

        Raises ValueError for an unknown journey name.
        """
        key = number_key(number)
        found = self._by_key.get(key)
        if found is not None:
            return found, False
        chosen = Journey(journey) if journey else choose_journey(key)
        entry = self._by_key[key] = Registration(number.strip(), chosen, registered_at)
        return entry, True
