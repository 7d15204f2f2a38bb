"""A preloaded parent that forks ``notifier run`` replicas on request.

A replica started with ``python -m notifier.cli run`` spends seconds of CPU importing before it
does anything; a crash campaign restarts replicas again and again on a 2-core machine. This
process imports the daemon's modules once, then forks a child per start: the child is a real,
separate process (SIGKILL kills it alone, its database connections and threads are its own:
nothing is opened before the fork), and it is running ``notifier run`` within milliseconds.

Protocol: one JSON object per line on stdin, one answer per line on stdout.

    {"start": [args...], "env": {...}, "log": "/path"}  -> {"pid": 1234}
    {"wait": 1234, "timeout": 30}                       -> {"pid": 1234, "code": 0 | null}

A child whose env names ``ZYGOTE_PROFILE=/path/prefix`` has its stacks sampled (:class:`Sampler`).
``wait`` reaps the child (``code`` is its exit status as ``subprocess`` gives it: ``-9`` for
SIGKILL; null if it is still running after ``timeout`` seconds, or is not a child of ours).
The caller kills and signals children by pid itself. When stdin closes, children still running
are SIGKILLed (the caller is gone), and a child dies with this process (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import TextIO

# What `notifier run` imports, loaded once before any fork. Importing them starts no thread,
# loop or connection and opens no socket, engine or log handler: the daemon builds all of that
# from its settings after the fork.
PRELOAD = (
    "carriers.simulator.adapter",
    "notifier.cli",
    "notifier.runtime",
    "notifier.scheduler",
    "notifier.senders.outbox",
    "notifier.store.migrate",
    "notifier.web.app",
)
POLL = 0.02  # s between checks while waiting for a child
PROFILE_ENV = "ZYGOTE_PROFILE"  # in a child's env: sample its stacks into this path prefix
SAMPLE_EVERY = 0.005  # s
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start(args: list[str], env: dict[str, str], log: str) -> int:
    """Fork a child that runs ``notifier *args`` with exactly ``env``, stderr to ``log``."""
    sys.stderr.flush()  # nothing of ours is written twice
    pid = os.fork()
    if pid:
        return pid
    os._exit(_child(args, env, log))  # never returns into the request loop


def _child(args: list[str], env: dict[str, str], log: str) -> int:
    code = 1
    try:
        _die_with_parent()
        nothing = os.open(os.devnull, os.O_RDWR)
        err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(nothing, 0)  # the requests and answers pipes are the parent's alone
        os.dup2(nothing, 1)
        os.dup2(err, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the answers pipe, the two just opened
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["notifier", *args]
        _run(env.get(PROFILE_ENV))
        code = 0
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except BaseException:
        traceback.print_exc()  # into the replica's log: the one trace of a crash at start
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _run(profile: str | None) -> None:
    """``notifier.cli.main()`` (which ends with SystemExit); with ``profile``, sampled."""
    cli = importlib.import_module("notifier.cli")
    if not profile:
        cli.main()
        return
    sampler = Sampler()
    sampler.start()
    try:
        cli.main()
    finally:
        sampler.dump(f"{profile}.{os.getpid()}.folded")


class Sampler(threading.Thread):
    """Every thread's stack every SAMPLE_EVERY seconds (the daemon does its database work in
    worker threads, which cProfile would not see); :meth:`dump` writes them folded, one
    ``thread;outer;...;inner count`` a line (flame graph tools read it), idle waits included."""

    def __init__(self) -> None:
        super().__init__(name="zygote-sampler", daemon=True)
        self.stacks: Counter[str] = Counter()

    def run(self) -> None:
        me = threading.get_ident()
        names = {}
        while True:
            time.sleep(SAMPLE_EVERY)
            for t in threading.enumerate():
                names[t.ident] = t.name.split("_")[0].split(" ")[0]
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self.stacks[";".join([names.get(ident, "?"), *_frames(frame)])] += 1

    def dump(self, path: str) -> None:
        with open(path, "w") as out:
            out.writelines(f"{stack} {n}\n" for stack, n in self.stacks.items())


def _frames(frame: FrameType | None) -> list[str]:
    out = []
    while frame is not None:
        code = frame.f_code
        out.append(f"{code.co_name} ({Path(code.co_filename).name})")
        frame = frame.f_back
    return out[::-1]


def _exit_code(value: object) -> int:
    """What ``sys.exit(value)`` would exit with."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _die_with_parent() -> None:
    """SIGKILL this child when the zygote dies (Linux; elsewhere stdin EOF is the only net)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def wait(pid: int, timeout: float) -> int | None:
    """Reap ``pid``: its exit code, or None if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not ours, or reaped already
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL)


def serve(requests: TextIO, answers: TextIO) -> None:
    children: set[int] = set()
    for line in requests:
        request = json.loads(line)
        if "start" in request:
            pid = start(request["start"], request["env"], request["log"])
            children.add(pid)
            answer = {"pid": pid}
        else:
            pid = request["wait"]
            code = wait(pid, request["timeout"])
            if code is not None:
                children.discard(pid)
            answer = {"pid": pid, "code": code}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    for pid in children:  # the caller went away without stopping them
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait(pid, 10.0)


def main() -> None:
    # Answers go to a private copy of stdout; fd 1 becomes stderr, so a stray print in an
    # imported module can never corrupt the protocol.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for module in PRELOAD:
        importlib.import_module(module)
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
