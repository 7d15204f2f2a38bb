"""Counting what the hostile-input tests tried, for the summary printed at the end of a run.

Each test adds to a counter; the counts are written to a JSON file under the run's base temp
directory (shared by xdist workers), and :func:`summary` (called by ``pytest_terminal_summary``
in ``tests/conftest.py``, which the xdist controller loads) adds them up and prints one line per
kind of input.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

FILE_GLOB = "hostile-figures-*.json"
tried: Counter[str] = Counter()


def add(kind: str, n: int = 1) -> None:
    tried[kind] += n


def save(base: Path) -> None:
    """Write this process's counts (one file per process, replaced on each save)."""
    if tried:
        path = base / f"hostile-figures-{os.getpid()}.json"
        path.write_text(json.dumps(dict(tried)))


def load(base: Path) -> Counter[str]:
    """Every process's counts under ``base`` (the controller's base temp directory)."""
    total: Counter[str] = Counter()
    for path in base.rglob(FILE_GLOB):
        total.update(json.loads(path.read_text()))
    return total


def summary(terminalreporter: Any, config: Any) -> None:
    """Print the run's figures (on the controller only; workers have no terminal)."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or hasattr(config, "workerinput"):
        return
    total = load(factory.getbasetemp())
    if total:
        terminalreporter.section("hostile input: what was tried")
        for kind, n in sorted(total.items()):
            terminalreporter.write_line(f"{kind}: {n}")
