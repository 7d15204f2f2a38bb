"""Dispatch records verdicts as they come, in small groups, on SQLite and PostgreSQL: a send that
is slow does not keep the others' provider ids out of the database (where an early status
callback looks for them), and each group is one transaction of at most RECORD_GROUP verdicts."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlmodel import select

from carriers.base import Status as S
from notifier.pipeline import dispatch, poll, record, verdicts
from notifier.pipeline.verdicts import RECORD_GROUP, Verdict
from notifier.senders.base import OutgoingMessage, SendResult
from notifier.store.models import Merchant, Notification
from notifier.testing import MemorySender
from tests.factories import parcel, result

PICKED = ("2026-12-01T08:00:00+07:00", S.IN_TRANSIT, "Paket telah diterima di gudang Jakarta")
WAIT = 10.0  # s: a generous bound, only so that a broken test fails instead of hanging


class Gate(MemorySender):
    """Holds the send to ``slow`` until the test opens the gate."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow, self.gate = slow, asyncio.Event()

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.to == self.slow:
            await self.gate.wait()
        return await super().send(message)


async def shoppers(rt, merchant, count: int) -> None:
    """``count`` orders of one parcel each, every shopper with an own address, each with a
    pending "shipped" email."""
    with rt.sessions() as session, session.begin():
        session.get(Merchant, merchant.id).settings = {"notify": {"channels": ["email"]}}
    carrier = rt.carriers.get("scripted")
    for i in range(count):
        number = f"JX{i:04d}"
        parcel(rt, merchant, number=number, email=f"shopper{i}@example.com", phone=None)
        carrier.answers[number] = result(number, S.IN_TRANSIT, PICKED)
    await poll.sweep(rt)


def states(rt) -> dict[str, str]:
    with rt.sessions() as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
        return {n.dedupe_key.split(":")[0]: n.state for n in rows}


async def test_a_slow_send_does_not_hold_back_the_others(rt, merchant) -> None:
    await shoppers(rt, merchant, 4)
    sender = Gate("shopper0@example.com")
    rt.senders.install("email", sender)
    run = asyncio.create_task(dispatch.dispatch(rt))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while sorted((await asyncio.to_thread(states, rt)).values()) != ["sending"] + ["sent"] * 3:
        assert loop.time() < deadline, await asyncio.to_thread(states, rt)
        await asyncio.sleep(0.01)
    assert not run.done()
    with rt.sessions() as session:  # what an early callback would find
        ids = session.exec(
            select(Notification.provider_message_id).where(Notification.state == "sent")
        ).all()
    assert sorted(ids) == ["mem-1", "mem-2", "mem-3"]
    sender.gate.set()
    stats = await asyncio.wait_for(run, WAIT)
    assert stats.by_state == {"sent": 4}
    assert set(states(rt).values()) == {"sent"}


async def test_each_group_is_one_transaction_of_at_most_record_group(
    rt, merchant, monkeypatch
) -> None:
    await shoppers(rt, merchant, RECORD_GROUP + 5)
    sizes: list[int] = []
    real = verdicts.record

    def counted(rt_, group, now):
        sizes.append(len(group))
        real(rt_, group, now)

    monkeypatch.setattr(verdicts, "record", counted)
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": RECORD_GROUP + 5}
    assert sum(sizes) == RECORD_GROUP + 5 and max(sizes) <= RECORD_GROUP and len(sizes) >= 2
    with rt.sessions() as session:
        leased = session.execute(
            sa.select(sa.func.count()).where(Notification.lease_owner.is_not(None))
        ).scalar()
    assert leased == 0


def test_chunks_never_split_a_group() -> None:
    def group(n: int) -> list[Verdict]:
        return [Verdict(i, "sent") for i in range(n)]

    chunks = list(verdicts._chunks([group(3), group(20), group(5), group(30), group(1)]))
    assert [len(c) for c in chunks] == [23, 5, 30, 1]


class Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def deadlocked_once(monkeypatch, module, name: str) -> list[int]:
    """Make ``module.name`` fail its first run as PostgreSQL's deadlock victim; the runs."""
    real, runs = getattr(module, name), []

    def flaky(*args, **kwargs):
        runs.append(1)
        if len(runs) == 1:
            raise sa.exc.OperationalError("UPDATE ...", {}, Deadlock())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return runs


async def test_a_verdict_transaction_chosen_as_deadlock_victim_is_run_again(
    rt, merchant, monkeypatch
) -> None:
    """PostgreSQL aborts one of two deadlocked transactions; losing the verdicts of a send
    that went out would leave the rows ``sending`` and send them again after the lease."""
    await shoppers(rt, merchant, 3)
    runs = deadlocked_once(monkeypatch, verdicts, "record")
    stats = await dispatch.dispatch(rt)
    assert stats.by_state == {"sent": 3} and len(runs) == 2
    assert set(states(rt).values()) == {"sent"}
    assert len(rt.extra["sender"].sent) == 3  # each sent once


async def test_a_sweep_chunk_chosen_as_deadlock_victim_is_recorded_on_the_next_run(
    rt, merchant, monkeypatch
) -> None:
    """Otherwise its shipments wait out their leases before anyone looks at them again."""
    runs = deadlocked_once(monkeypatch, record, "_record_chunk")
    await shoppers(rt, merchant, 2)  # sweeps once
    assert len(runs) == 2
    assert sorted(states(rt)) == ["s1", "s2"]  # both shipments' news stored, nothing lost
