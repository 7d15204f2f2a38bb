"""A virtual-clock model of the tracking pipeline, for benchmark 4 (``bench/timeliness.py``).

No HTTP, no database, no sleeping. The carrier is the simulator's pure journey scripts
(:func:`carriers.simulator.journeys.plan`) asked at virtual times; what a poll learns is judged by
the real :func:`notifier.pipeline.detect.detect`; when to ask again comes from a strategy (our
:func:`notifier.pipeline.schedule.next_check`, or a fixed interval). What it models of the daemon:

* sweeps (``pipeline/poll.py``) on a fixed grid every :data:`POLL_INTERVAL`, one at a time
  (APScheduler ``max_instances=1``): a sweep takes what was due when it began, :data:`CHUNK` at a
  time, in carrier batches of ``batch`` numbers; every request waits for a token of the carrier's
  bucket (``rate`` requests/s, bursts up to ``rate``, as ``carriers.http.TokenBucket``), and a
  chunk is recorded (triggers decided, next check set) when its last answer is in;
* the delay scan (``pipeline/delays.py``) every :data:`DELAY_SCAN_EVERY`, with no call: detect()
  on shipments whose stored facts make a delay possible by now;
* pushes (``pipeline/push.py``, a bare "tracking updated" mention): each change of a pushing
  shipment makes it due at once, so the next sweep asks the carrier.

The oracle is the same detect() fed every change at its moment and every delay made by the
passing of time at its moment: what a service that knew everything at once would say, and when.
A strategy's latency for a message is the time from the oracle's moment to the strategy's.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from carriers.base import Status
from carriers.simulator.adapter import STATUS_CODES
from carriers.simulator.journeys import JAKARTA, plan
from notifier.pipeline.detect import DELAY_STATUSES, PICKUP_STATUSES, Facts, NewEvent, Rules
from notifier.pipeline.detect import detect as judge

POLL_INTERVAL = 10.0  # s between sweeps (settings.poll.interval default)
CHUNK = 500  # shipments leased and recorded per transaction (settings.poll.chunk_size)
DELAY_SCAN_EVERY = 600.0  # s (notifier/scheduler.py DELAY_SCAN_EVERY)
CALL_SECONDS = 0.5  # s a carrier request takes to answer
PUSH_LAG = 2.0  # s from a change at the carrier to its webhook being applied
FOLLOW = timedelta(days=8)  # every journey ends within 7 days (journeys module doc), + 1 to notice
RULES = Rules(tz=JAKARTA, disabled=frozenset({"in_transit"}))  # settings.notify defaults
KINDS = ("out_for_delivery", "delivered", "exception", "delayed")
NEVER = math.inf

Strategy = Callable[["Parcel", Facts, float], float | None]
"""(parcel, facts after recording, now as POSIX s) -> next check (POSIX s), None: stop."""


@dataclass(slots=True)
class Parcel:
    """One shipment's whole journey, fixed in advance (times are POSIX seconds)."""

    idx: int
    number: str
    journey: str
    registered: float
    pushes: bool
    scan_times: list[float]
    scan_status: list[Status]
    scan_at: list[datetime]
    eta_times: list[float]
    eta_values: list[date | None]
    expires: float | None
    changes: list[float]
    pushed: list[float]  # the changes whose push arrives (a lost push is never retried)

    @property
    def created_at(self) -> datetime:
        return _dt(self.registered)

    def answer(self, t: float) -> tuple[int, Status, date | None]:
        """What the carrier shows at ``t``: scans so far, status, ETA."""
        seen = bisect_right(self.scan_times, t)
        status = self.scan_status[seen - 1] if seen else Status.PENDING
        if self.expires is not None and t >= self.expires:
            status = Status.EXPIRED
        k = bisect_right(self.eta_times, t)
        return seen, status, self.eta_values[k - 1] if k else None

    def status_at(self, t: float) -> Status:
        return self.answer(t)[1]


def parcel(
    idx: int, number: str, registered: float, pushes: bool, push_loss: float = 0.0
) -> Parcel:
    """The journey the simulator scripts for ``number`` registered at ``registered``; when
    ``pushes``, each change is pushed to us but for a ``push_loss`` share (by the number)."""
    raw = plan(number, registered)
    times = [s[0] for s in raw.scans]
    moments = {*times, *(t for t, _ in raw.etas)}
    if raw.expires_at is not None:
        moments.add(raw.expires_at)
    changes = sorted(moments)
    lose = random.Random(number)
    return Parcel(
        idx=idx,
        number=number,
        journey=raw.journey.value,
        registered=registered,
        pushes=pushes,
        scan_times=times,
        scan_status=[STATUS_CODES[s[1]] for s in raw.scans],
        scan_at=[_dt(t) for t in times],
        eta_times=[t for t, _ in raw.etas],
        eta_values=[v for _, v in raw.etas],
        expires=raw.expires_at,
        changes=changes,
        pushed=[c for c in changes if pushes and lose.random() >= push_loss],
    )


@dataclass(frozen=True, slots=True)
class Said:
    """One trigger decided at ``at`` (POSIX s)."""

    name: str
    episode: str
    at: float
    suppressed: bool
    kind: str = ""  # the delay kind for ``delayed``


@dataclass(slots=True)
class Watch:
    """What the service stores about one shipment, and what it decided."""

    facts: Facts
    seen: int = 0
    said: list[Said] = field(default_factory=list)
    due: float | None = None
    version: int = 0
    checks: int = 0
    late: float = NEVER  # delay_moment(facts): when the stored facts alone make a delay true
    queued_late: float = NEVER  # the moment this shipment waits in the delay scan's queue for


def fresh_watch(p: Parcel) -> Watch:
    facts = Facts(status=Status.PENDING, created_at=p.created_at)
    return Watch(facts, late=delay_moment(facts, -NEVER))


def observe(p: Parcel, w: Watch, asked_at: float | None, now: float) -> None:
    """Record what the carrier showed at ``asked_at`` (None: no call, only time passed)."""
    before = w.facts
    new: list[NewEvent] = []
    status, eta, last = before.status, before.eta, before.last_event_at
    if asked_at is not None:
        seen, shown, shown_eta = p.answer(asked_at)
        new = [NewEvent(p.scan_status[i], p.scan_at[i]) for i in range(w.seen, seen)]
        if new:
            w.seen, last = seen, p.scan_at[seen - 1]
        status, eta = shown, shown_eta or before.eta  # record.py keeps a withdrawn ETA
    changed = bool(new) or status is not before.status or eta != before.eta
    if not changed and not (
        before.status in DELAY_STATUSES and (before.delay_open or w.late <= now)
    ):
        return  # detect() would decide nothing: skip it (speed)
    after = replace(before, status=status, eta=eta, last_event_at=last, scanned=last is not None)
    decision = judge(before, after, new, _dt(now), RULES)
    w.facts = replace(
        after,
        eta_told=decision.eta_told,
        delay_open=decision.delay_open,
        delay_episode=decision.delay_episode,
    )
    w.late = delay_moment(w.facts, -NEVER)
    for t in decision.triggers:
        kind = str(t.context.get("delay_kind", ""))
        w.said.append(Said(t.name, t.episode, now, t.suppressed_by is not None, kind))


def delay_moment(facts: Facts, after: float) -> float:
    """The first moment later than ``after`` at which the stored facts alone make a delay true
    (detect.py's rules: local midnight after the promised date, the stall gaps); NEVER if none."""
    if facts.status not in DELAY_STATUSES:
        return NEVER
    moments = []
    promised = facts.eta or facts.eta_told
    if promised is not None:
        midnight = datetime.combine(promised + timedelta(days=1), time(), tzinfo=RULES.tz)
        moments.append(midnight.timestamp())
    if facts.status in PICKUP_STATUSES:
        since = facts.last_event_at or facts.created_at
        if since is not None:
            moments.append((since + RULES.pickup_stall).timestamp() + 1e-3)
    elif facts.last_event_at is not None:
        moments.append((facts.last_event_at + RULES.stall).timestamp() + 1e-3)
    return min((m for m in moments if m > after), default=NEVER)


def oracle(p: Parcel) -> Watch:
    """Every trigger at the moment it became true: each change and each time-made delay."""
    w = fresh_watch(p)
    now, end = p.registered, p.registered + FOLLOW.total_seconds()
    observe(p, w, now, now)
    pending = [c for c in p.changes if c > now]
    while True:
        change = pending[0] if pending else NEVER
        late = delay_moment(w.facts, now)
        if min(change, late) > end:
            return w
        if late < change:
            now = late
            observe(p, w, None, now)
        else:
            now = pending.pop(0)
            observe(p, w, now, now)


class Bucket:
    """The carrier's quota: ``rate`` requests/s, bursts up to ``rate`` but at least one
    (carriers.http.TokenBucket)."""

    def __init__(self, rate: float) -> None:
        self.rate, self.cap = rate, max(rate, 1.0)
        self.tokens, self.stamp = self.cap, -NEVER
        self.sent: list[float] = []

    def take(self, at: float) -> float:
        """The time a request wanting to go at ``at`` may go (requests are served in order)."""
        at = max(at, self.stamp)
        self.tokens = min(self.cap, self.tokens + (at - self.stamp) * self.rate)
        if self.tokens < 1:
            at += (1 - self.tokens) / self.rate
            self.tokens = 1.0
        self.tokens -= 1
        self.stamp = at
        self.sent.append(at)
        return at


def conforms(sent: Iterable[float], rate: float) -> bool:
    """Whether the request times keep to a ``rate``/s bucket with bursts up to ``rate`` (at
    least one)."""
    cap = max(rate, 1.0)
    tokens, stamp = cap, -NEVER
    for at in sorted(sent):
        tokens = min(cap, tokens + (at - stamp) * rate)
        if tokens < 1 - 1e-3:  # POSIX seconds in floats: microsecond rounding
            return False
        tokens, stamp = tokens - 1, at
    return True


@dataclass
class Run:
    """One strategy over every parcel: what was decided, and what it cost."""

    watches: list[Watch]
    requests: int = 0
    waits: list[float] = field(default_factory=list)  # s each request queued for the quota
    sent: list[float] = field(default_factory=list)
    checks_by_status: dict[str, int] = field(default_factory=dict)


def simulate(
    parcels: list[Parcel], strategy: Strategy, *, rate: float, batch: int, phase: float
) -> Run:
    """Run the daemon's jobs over virtual time until every parcel's follow window closes."""
    sim = _Sim(parcels, strategy, rate, batch, phase)
    sim.loop()
    return Run(sim.watches, len(sim.bucket.sent), sim.waits, sim.bucket.sent, sim.by_status)


class _Sim:
    def __init__(
        self, parcels: list[Parcel], strategy: Strategy, rate: float, batch: int, phase: float
    ) -> None:
        self.parcels, self.strategy, self.batch = parcels, strategy, batch
        self.bucket = Bucket(rate)
        self.watches = [fresh_watch(p) for p in parcels]
        self.due: list[tuple[float, int, int]] = []  # (when, version, idx)
        self.late: list[tuple[float, int]] = []  # delay scan candidates: (moment, idx)
        self.pushes = sorted((c + PUSH_LAG, p.idx) for p in parcels for c in p.pushed)
        self.ends = [p.registered + FOLLOW.total_seconds() for p in parcels]
        self.waits: list[float] = []
        self.by_status: dict[str, int] = {}
        first = min((p.registered for p in parcels), default=0.0)
        self.scan_at = first - first % DELAY_SCAN_EVERY + phase  # not the sweeps' grid
        for p in parcels:  # intake: due for a first check at once
            self._set_due(p.idx, p.registered)

    def loop(self) -> None:
        free, nxt_push = -NEVER, 0
        horizon = max(self.ends, default=0.0)
        while True:
            sweep = self._next_sweep(free)
            push = self.pushes[nxt_push][0] if nxt_push < len(self.pushes) else NEVER
            first = min(sweep, push, self.scan_at)
            if first > horizon:
                return
            if first == push:
                self._push(self.pushes[nxt_push][1], push)
                nxt_push += 1
            elif first == self.scan_at:
                self._delay_scan(self.scan_at)
                self.scan_at += DELAY_SCAN_EVERY
            else:
                free = self._sweep(sweep)

    def _next_sweep(self, free: float) -> float:
        while self.due and self.due[0][1] != self.watches[self.due[0][2]].version:
            heapq.heappop(self.due)
        if not self.due:
            return NEVER
        at = max(self.due[0][0], free)
        return math.ceil(at / POLL_INTERVAL) * POLL_INTERVAL

    def _sweep(self, start: float) -> float:
        """One sweep: everything due at ``start``, chunk by chunk; returns when it ends."""
        taken = []
        while self.due and self.due[0][0] <= start:
            _, version, idx = heapq.heappop(self.due)
            if version == self.watches[idx].version:
                taken.append(idx)
        taken.sort()  # lease order: by id
        now = start
        for c in range(0, len(taken), CHUNK):
            now = self._chunk(taken[c : c + CHUNK], now)
        return now

    def _chunk(self, ids: list[int], start: float) -> float:
        asked: list[tuple[int, float]] = []
        done = start
        for b in range(0, len(ids), self.batch):
            at = self.bucket.take(start)
            self.waits.append(at - start)
            done = max(done, at + CALL_SECONDS)
            asked += [(idx, at) for idx in ids[b : b + self.batch]]
        for idx, at in asked:
            w = self.watches[idx]
            w.checks += 1
            key = w.facts.status.value
            self.by_status[key] = self.by_status.get(key, 0) + 1
            observe(self.parcels[idx], w, at, done)
            self._reschedule(idx, done)
        return done

    def _reschedule(self, idx: int, now: float) -> None:
        p, w = self.parcels[idx], self.watches[idx]
        nxt = None if w.facts.status.is_final else self.strategy(p, w.facts, now)
        self._set_due(idx, nxt)

    def _set_due(self, idx: int, when: float | None) -> None:
        w = self.watches[idx]
        w.version += 1
        if when is not None and when > self.ends[idx]:
            when = None  # the follow window is over
        w.due = when
        if when is not None:
            heapq.heappush(self.due, (when, w.version, idx))
        self._queue_late(idx)

    def _queue_late(self, idx: int) -> None:
        """Put the shipment in the delay scan's queue for its moment (once per moment)."""
        w = self.watches[idx]
        if w.facts.delay_open or w.late >= self.ends[idx] or w.late == w.queued_late:
            return
        w.queued_late = w.late
        heapq.heappush(self.late, (w.late, idx))

    def _push(self, idx: int, at: float) -> None:
        """A bare push: due at once if still followed (push._due_now)."""
        w = self.watches[idx]
        if w.due is not None and w.due > at:
            self._set_due(idx, at)

    def _delay_scan(self, now: float) -> None:
        while self.late and self.late[0][0] <= now:
            late, idx = heapq.heappop(self.late)
            w = self.watches[idx]
            if late != w.queued_late:
                continue  # superseded by a later entry
            w.queued_late = NEVER
            if late == w.late and not w.facts.delay_open:
                observe(self.parcels[idx], w, None, now)
            self._queue_late(idx)


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
