"""The ``inbox`` order source: CSV and JSON Lines files dropped in a folder.

Settings entry: ``{"id": "inbox", "dir": "/srv/shop-exports"}``. Each poll reads the first
``*.csv`` or ``*.jsonl`` file by name (with the importer's reader, so the same columns and
Excel quirks apply) and returns its orders; once they are stored the file is moved to ``done/``,
or to ``rejected/`` with ``<name>.errors.txt`` beside it when any of its rows was refused (its
good rows are imported all the same). The cursor is the name of the last file processed.

Write files under another name (``.part``, ``.tmp``) and rename them when complete: only the two
suffixes above are picked up, so a half-written file is never read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from notifier.orders.base import OrderSource, Rejected, SourceError, SourcePage
from notifier.orders.reader import FileError, Parsed, Record, read_orders

SUFFIXES = frozenset({".csv", ".jsonl"})


@dataclass
class _Open:
    """The file of the page handed out last, until it is acknowledged."""

    path: Path
    records: list[Record]  # the records whose orders are in the page, in page order
    unit: str
    errors: list[str] = field(default_factory=list)


class InboxSource(OrderSource):
    """Orders from files dropped in a folder (see the module documentation)."""

    id: ClassVar[str] = "inbox"

    def __init__(self, config: Mapping[str, Any]) -> None:
        folder = config.get("dir")
        if not folder:
            raise SourceError('the setting "dir" (the folder to watch) is missing', source=self.id)
        self.dir = Path(folder)
        self.done = self.dir / "done"
        self.rejected = self.dir / "rejected"
        self._open: _Open | None = None

    async def poll(self, cursor: str | None, now: datetime) -> SourcePage:
        """The orders of the first waiting file; ``more`` when others wait behind it.

        Raises SourceError when the folder cannot be listed. A file that cannot be read at all
        becomes one error line (and is moved to ``rejected/`` on ack)."""
        files = await asyncio.to_thread(self._waiting)
        if not files:
            return SourcePage([], cursor)
        path, more = files[0], len(files) > 1
        try:
            parsed = await asyncio.to_thread(read_orders, path)
        except FileError as err:
            self._open = _Open(path, [], "row", [f"{path.name}: {err}"])
            return SourcePage([], path.name, list(self._open.errors), more)
        self._open = _open(path, parsed)
        orders = [r.order for r in self._open.records if r.order is not None]
        return SourcePage(orders, path.name, list(self._open.errors), more)

    async def ack(self, cursor: str | None, rejected: Sequence[Rejected]) -> None:
        """Move the file behind ``cursor`` to ``done/`` or ``rejected/`` (with its errors)."""
        current, self._open = self._open, None
        if current is None or current.path.name != cursor:
            return
        errors = current.errors + [_line(current, r) for r in rejected]
        try:
            await asyncio.to_thread(self._file_away, current.path, errors)
        except OSError as err:
            raise SourceError(f"cannot move {current.path.name}: {err}", source=self.id) from err

    def _waiting(self) -> list[Path]:
        try:
            entries = list(self.dir.iterdir())
        except OSError as err:
            raise SourceError(f"cannot read the folder {self.dir}: {err}", source=self.id) from err
        return sorted(
            (p for p in entries if p.suffix.lower() in SUFFIXES and p.is_file()),
            key=lambda p: p.name,
        )

    def _file_away(self, path: Path, errors: list[str]) -> None:
        folder = self.rejected if errors else self.done
        folder.mkdir(exist_ok=True)
        target = _free_name(folder, path.name)
        path.replace(target)
        if errors:
            report = target.with_name(target.name + ".errors.txt")
            report.write_text("\n".join(errors) + "\n", encoding="utf-8")


def _open(path: Path, parsed: Parsed) -> _Open:
    current = _Open(path, [r for r in parsed.records if r.order is not None], parsed.unit)
    for record in parsed.records:
        if record.order is None:
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in record.errors)
            current.errors.append(f"{path.name} {parsed.unit} {record.rows[0]}: {reasons}")
    return current


def _line(current: _Open, rejected: Rejected) -> str:
    where = current.path.name
    if 0 <= rejected.index < len(current.records):
        where += f" {current.unit} {current.records[rejected.index].rows[0]}"
    return f"{where}: order {rejected.external_id}: {rejected.field}: {rejected.reason}"


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem-2.csv``, ``stem-3.csv``... when already taken (shops
    export the same file name every day)."""
    target = folder / name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
    return target
