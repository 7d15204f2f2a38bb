"""detect() over generated event sequences: the rules hold for any order of carrier news.

A sequence is a run of polls; each poll moves the clock (minutes to days), brings zero to three
new events (any status, times in order, some without a time), a summary status that may disagree
with the events, and an ETA that may move either way. The shipment's facts are carried from poll
to poll as the recorder carries them. Properties, per decision and over the whole sequence:

* no trigger twice per episode in one decision, and nothing at all when the same facts are
  seen again (a re-poll, a repeated push);
* one ``delayed`` per delay episode: an open episode yields no second message unless the ETA
  slipped again, and episode numbers only grow;
* newer news supersedes older: no live trigger is followed, in its batch, by a trigger that
  makes it stale; every suppressed one names the newer trigger that did it;
* turned-off triggers are never returned; ``eta_told`` only moves when a message goes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import Status
from notifier.pipeline.detect import (
    DAILY_TRIGGERS,
    SUPERSEDED_BY,
    TRIGGER_OF_STATUS,
    Decision,
    Facts,
    NewEvent,
    Rules,
    detect,
)

START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
JKT = ZoneInfo("Asia/Jakarta")
EXAMPLES = 150


@dataclass(frozen=True)
class Poll:
    advance: timedelta
    events: tuple[tuple[Status, bool], ...]  # (status, has a time)
    summary: Status | None  # None: the last event's status
    eta: date | None


polls = st.builds(
    Poll,
    advance=st.integers(0, 4 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    events=st.lists(
        st.tuples(st.sampled_from(list(Status)), st.booleans() | st.just(True)), max_size=3
    ).map(tuple),
    summary=st.none() | st.sampled_from(list(Status)),
    eta=st.none() | st.integers(-3, 12).map(lambda d: (START + timedelta(days=d)).date()),
)
sequences = st.lists(polls, min_size=1, max_size=8)
rules = st.builds(
    Rules,
    tz=st.just(JKT),
    stall=st.sampled_from([timedelta(hours=24), timedelta(hours=72)]),
    pickup_stall=st.sampled_from([timedelta(hours=48), timedelta(hours=96)]),
    disabled=st.sampled_from([frozenset(), frozenset({"in_transit"}), frozenset({"delayed"})]),
)


def _step(before: Facts, poll: Poll, now: datetime, last: datetime) -> tuple[Facts, list[NewEvent]]:
    """The facts after a poll, as the recorder builds them, and the new events in order."""
    span = (now - last) / (len(poll.events) + 1)
    events = [
        NewEvent(status, last + span * (i + 1) if timed else None)
        for i, (status, timed) in enumerate(poll.events)
    ]
    status = poll.summary or (events[-1].status if events else before.status)
    times = [e.time for e in events if e.time is not None]
    last_event = max([t for t in (before.last_event_at, *times) if t], default=None)
    if events and last_event is None:
        last_event = now
    after = replace(
        before,
        status=status,
        eta=poll.eta or before.eta,
        last_event_at=last_event,
        scanned=last_event is not None,
    )
    return after, events


def _carry(after: Facts, decision: Decision) -> Facts:
    return replace(
        after,
        eta_told=decision.eta_told,
        delay_open=decision.delay_open,
        delay_episode=decision.delay_episode,
    )


def _run(seq: list[Poll], r: Rules):
    """Yield (before, after, events, now, decision) for every poll of the sequence."""
    facts = Facts(Status.PENDING, created_at=START)
    now = START
    for poll in seq:
        last, now = now, now + poll.advance
        after, events = _step(facts, poll, now, last)
        decision = detect(facts, after, events, now, r)
        yield facts, after, events, now, decision
        facts = _carry(after, decision)


PROFILE = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROFILE
@given(sequences, rules)
def test_no_trigger_twice_per_episode_and_nothing_on_a_repeat(seq, r) -> None:
    for _before, after, _events, now, d in _run(seq, r):
        keys = [(t.name, t.episode) for t in d.triggers]
        assert len(keys) == len(set(keys)), keys
        for t in d.triggers:
            if t.name in DAILY_TRIGGERS:  # the episode is the local day of the news
                assert date.fromisoformat(t.episode) <= now.astimezone(JKT).date()
        again = _carry(after, d)
        repeat = detect(again, again, [], now, r)
        assert repeat.live == [], f"the same facts again gave {repeat.live}"


@PROFILE
@given(sequences, rules)
def test_one_delay_message_per_episode(seq, r) -> None:
    episodes: list[int] = []
    for before, after, _events, _now, d in _run(seq, r):
        delayed = [t for t in d.triggers if t.name == "delayed"]
        assert len(delayed) <= 1
        if delayed:
            slipped = bool(after.eta and before.eta_told and after.eta > before.eta_told)
            assert slipped or not before.delay_open, "a second message inside one episode"
            assert int(delayed[0].episode) == d.delay_episode == before.delay_episode + 1
            episodes.append(d.delay_episode)
        assert d.delay_episode >= before.delay_episode
    assert episodes == sorted(set(episodes))


@PROFILE
@given(sequences, rules)
def test_newer_news_supersedes_older_within_a_batch(seq, r) -> None:
    for _before, _after, _events, _now, d in _run(seq, r):
        names = [t.name for t in d.triggers]
        for i, t in enumerate(d.triggers):
            later = set(names[i + 1 :])
            stale = SUPERSEDED_BY.get(t.name, frozenset()) & later
            if t.suppressed_by is None:
                assert not stale, f"{t.name} goes out although {stale} came after it"
            else:
                assert t.suppressed_by in stale


@PROFILE
@given(sequences, rules)
def test_turned_off_triggers_never_come_and_eta_told_moves_only_with_a_message(seq, r) -> None:
    for before, after, events, _now, d in _run(seq, r):
        assert not {t.name for t in d.triggers} & r.disabled
        if d.eta_told != before.eta_told:
            assert d.live and d.eta_told == after.eta
        news = {TRIGGER_OF_STATUS.get(e.status) for e in events} - {None}
        for name in news - r.disabled:
            assert name in {t.name for t in d.triggers}, f"the news {name} was dropped"
