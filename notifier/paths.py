"""Where the shipped data folders are: beside the package in a wheel, at the repo root otherwise."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder ``message_templates``, ``config`` or ``alembic``, wherever it was installed."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found beside {_PACKAGE}")
