"""Replicas as real processes: ``notifier run`` with the same settings, started, SIGKILLed,
restarted and stopped by slot; each slot's log file survives its restarts.

By default a preloaded parent forks them (:mod:`tests.campaigns.zygote`: a restart costs
milliseconds, not seconds of imports); ``fork=False`` spawns ``python -m notifier.cli run``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

STOP_TIMEOUT = 30.0  # s for a replica to stop cleanly after SIGTERM
ZYGOTE = Path(__file__).with_name("zygote.py")


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
        fork: bool = True,
    ) -> None:
        self.url, self.folder, self.env, self.count = url, folder, dict(env), count
        self.args = ["run", "--no-migrate"]  # `notifier db upgrade` ran once, before any replica
        if scale:
            assert start is not None
            at = time.time() if epoch is None else epoch
            self.args += ["--time-scale", str(scale), "--virtual-start", start.isoformat()]
            self.args += ["--virtual-epoch", str(at)]
        self.log_format = log_format
        self.pids: list[int] = []
        self.logs = [folder / f"replica-{i}.log" for i in range(count)]
        self._spawned: dict[int, subprocess.Popen[bytes]] = {}
        self._reaped: set[int] = set()  # pids waited for
        self._zygote: subprocess.Popen[str] | None = None
        if fork:
            self._zygote = subprocess.Popen(
                [sys.executable, str(ZYGOTE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
            )

    def start_all(self) -> None:
        for slot in range(self.count):
            self.start(slot)

    def start(self, slot: int) -> int:
        """Start (or restart) the replica of ``slot``; its pid."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
            "NOTIFIER_DATABASE_URL": self.url,
            "NOTIFIER_SERVER__PORT": "0",
            "NOTIFIER_LOG__FORMAT": self.log_format,
            **self.env,
        }
        if self._zygote is not None:
            pid = int(
                self._ask({"start": self.args, "env": env, "log": str(self.logs[slot])})["pid"]
            )
        else:
            with self.logs[slot].open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "notifier.cli", *self.args],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            pid = proc.pid
            self._spawned[pid] = proc
        if slot < len(self.pids):
            self.pids[slot] = pid
        else:
            self.pids.append(pid)
        return pid

    def kill(self, slot: int) -> int:
        """SIGKILL the replica of ``slot`` and reap it; its pid."""
        pid = self.pids[slot]
        os.kill(pid, signal.SIGKILL)
        self._wait(pid, 10.0)
        return pid

    def exited(self) -> dict[int, int]:
        """The slots whose replica ended by itself (not killed here), with its exit code; those
        are reaped, and stay down until :meth:`start`."""
        out = {}
        for slot, pid in enumerate(self.pids):
            if pid in self._reaped:
                continue
            code = self._wait(pid, 0.0)
            if code is not None:
                out[slot] = code
        return out

    def stop_all(self) -> int:
        """SIGTERM every replica; how many exited 0 in time (the others are killed)."""
        running = [pid for pid in self.pids if pid not in self._reaped]
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        clean = 0
        for pid in running:
            code = self._wait(pid, STOP_TIMEOUT)
            if code is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait(pid, 10.0)
            clean += code == 0
        if self._zygote is not None and self._zygote.stdin is not None:
            self._zygote.stdin.close()  # it exits at the end of its requests
            self._zygote.wait(10)
        return clean

    def _wait(self, pid: int, timeout: float) -> int | None:
        if self._zygote is not None:
            answer = self._ask({"wait": pid, "timeout": timeout})["code"]
            code = None if answer is None else int(str(answer))
        else:
            try:
                code = self._spawned[pid].wait(timeout)
            except subprocess.TimeoutExpired:
                code = None
        if code is not None:
            self._reaped.add(pid)
        return code

    def _ask(self, request: dict[str, object]) -> dict[str, object]:
        assert self._zygote is not None and self._zygote.stdin and self._zygote.stdout
        self._zygote.stdin.write(json.dumps(request) + "\n")
        self._zygote.stdin.flush()
        line = self._zygote.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote exited ({self._zygote.wait()}); see stderr")
        answer: dict[str, object] = json.loads(line)
        return answer
