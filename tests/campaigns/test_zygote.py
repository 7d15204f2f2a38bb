"""Replicas forked from the preloaded zygote: real processes of their own, exit codes as
``sys.exit`` gives them, a crash at start written into the slot's log, SIGKILL of one leaving
the others running."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.campaigns.replicas import Replicas

pytestmark = pytest.mark.slow
T = TypeVar("T")


def until(probe: Callable[[], T], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_replica_that_cannot_start_exits_2_with_the_reason_in_its_log(tmp_path: Path) -> None:
    replicas = Replicas(
        f"sqlite:///{tmp_path / 'n.db'}", tmp_path, 1, {"NOTIFIER_POLL__INTERVAL": "-1"}
    )
    try:
        replicas.start_all()
        assert until(replicas.exited) == {0: 2}
    finally:
        assert replicas.stop_all() == 0  # nothing left to stop
    assert "invalid setting poll.interval" in replicas.logs[0].read_text()


def test_a_killed_replica_dies_alone_and_the_others_stop_cleanly(tmp_path: Path) -> None:
    replicas = Replicas(f"sqlite:///{tmp_path / 'n.db'}", tmp_path, 2, {})
    replicas.args = ["simulator", "serve", "--port", "0"]  # a long-running command
    try:
        replicas.start_all()
        first, second = replicas.pids
        assert first != second and os.getpid() not in replicas.pids
        time.sleep(0.5)
        assert replicas.kill(0) == first
        assert not alive(first) and alive(second)
        assert replicas.exited() == {}  # a kill from here is not an exit by itself
        restarted = replicas.start(0)
        assert restarted not in (first, second) and alive(restarted)
    finally:
        replicas.stop_all()
    assert not any(alive(pid) for pid in replicas.pids)
