"""Replicas as real processes: ``notifier run`` with the same settings, started, SIGKILLed,
restarted and stopped by slot; each slot's log file survives its restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

STOP_TIMEOUT = 30.0  # s for a replica to stop cleanly after SIGTERM


class Replicas:
    """``count`` slots of ``notifier run`` on ``url``; ``env`` adds NOTIFIER_* settings.

    With ``scale``, every replica runs on the same accelerated clock (``start`` at Unix time
    ``epoch``), as the simulator does.
    """

    def __init__(
        self,
        url: str,
        folder: Path,
        count: int,
        env: Mapping[str, str],
        *,
        scale: float | None = None,
        start: datetime | None = None,
        epoch: float | None = None,
        log_format: str = "json",
    ) -> None:
        self.url, self.folder, self.env = url, folder, dict(env)
        self.clock_args: list[str] = []
        if scale:
            assert start is not None
            at = time.time() if epoch is None else epoch
            self.clock_args = [
                "--time-scale",
                str(scale),
                "--virtual-start",
                start.isoformat(),
                "--virtual-epoch",
                str(at),
            ]
        self.log_format = log_format
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [folder / f"replica-{i}.log" for i in range(count)]
        self.count = count

    def start_all(self) -> None:
        for slot in range(self.count):
            self.start(slot)

    def start(self, slot: int) -> subprocess.Popen[bytes]:
        """Start (or restart) the replica of ``slot``."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
            "NOTIFIER_DATABASE_URL": self.url,
            "NOTIFIER_SERVER__PORT": "0",
            "NOTIFIER_LOG__FORMAT": self.log_format,
            **self.env,
        }
        # `notifier db upgrade` ran once before any replica started: no replica migrates.
        args = [sys.executable, "-m", "notifier.cli", "run", "--no-migrate", *self.clock_args]
        with self.logs[slot].open("ab") as log:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)
        if slot < len(self.procs):
            self.procs[slot] = proc
        else:
            self.procs.append(proc)
        return proc

    def kill(self, slot: int) -> int:
        """SIGKILL the replica of ``slot``; its pid."""
        proc = self.procs[slot]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return proc.pid

    def stop_all(self) -> int:
        """SIGTERM every replica; how many exited 0 in time (the others are killed)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        clean = 0
        for proc in self.procs:
            try:
                clean += proc.wait(STOP_TIMEOUT) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return clean
