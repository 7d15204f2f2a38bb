"""What the benchmarks share: servers in their own processes, round-trip counting, peak memory,
the machine's description and the one JSON line every benchmark ends with.

Servers (the carrier simulator, the SendGrid/Twilio stand-ins) run as separate processes on
127.0.0.1, so their CPU and memory are not counted against the code being measured; the machine
has 2 cores, one for each side.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0  # s for a server process to print its address
PG_URL = os.environ.get("NOTIFIER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def server_process(argv: Sequence[str], marker: str = "http://") -> Iterator[str]:
    """Run ``python argv...`` from the repository root until the block ends; yields the first
    word of its output that starts with ``marker`` (the address it listens on)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield _address(proc, marker)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _address(proc: subprocess.Popen[str], marker: str) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited with {proc.wait()} before listening")
        for word in line.split():
            if word.startswith(marker):
                return word.rstrip("/")
    raise RuntimeError("server did not print its address in time")


def simulator() -> contextlib.AbstractContextManager[str]:
    """The carrier simulator (wall clock, no faults) in its own process; yields its URL."""
    return server_process(["-m", "carriers.simulator", "--port", "0"])


class RoundTrips:
    """Counts statements sent to the database (``before_cursor_execute``: one per execute or
    executemany call, so a paged multi-row INSERT counts once per page)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.engine = engine
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def peak_rss_mb() -> float:
    """This process's peak resident set size since the last :func:`reset_peak_rss` (or since
    it started), in MB: VmHWM of /proc/self/status, else getrusage (Linux reports KiB)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024, 1)


def reset_peak_rss() -> bool:
    """Start the peak RSS afresh from the current RSS (Linux: ``5`` to /proc/self/clear_refs),
    so the setting-up of a benchmark (seeding, registering numbers) is not in the figure."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


PEAK_RSS_SOURCE = "VmHWM of /proc/self/status, reset before the timed part (clear_refs 5)"


def machine() -> dict[str, Any]:
    """Cores, Python, SQLite and the load average when the figures were taken."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def postgres_version(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SHOW server_version")).scalar())


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's result as its last line of output."""
    print(json.dumps(result, sort_keys=False), flush=True)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def stand_in(provider: str) -> contextlib.AbstractContextManager[str]:
    """The SendGrid or Twilio stand-in (notifier.testing_providers) in its own process."""
    return server_process([str(Path(__file__)), "serve", provider])


def _serve(provider: str) -> None:
    """Serve one stand-in until terminated (the child side of :func:`stand_in`)."""
    import signal
    import threading

    from notifier.testing_providers import SendgridStandIn, TwilioStandIn, serve

    app = SendgridStandIn() if provider == "sendgrid" else TwilioStandIn()
    for name in ("requests", "accepted", "created"):  # a long run must not keep them all
        if hasattr(app, name):
            setattr(app, name, _Forgetful())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve(app) as served:
        print(f"{provider} stand-in on {served.url}", flush=True)
        stop.wait()


class _Forgetful(list):  # type: ignore[type-arg]
    def append(self, _item: Any) -> None:
        pass


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    _serve(sys.argv[2])
