"""``notifier orders import FILE``: the orders of a CSV or JSON Lines file (see
:mod:`notifier.orders.reader` for the formats), stored for one merchant.

Bad rows are rejected with their row (or line) numbers and the others imported. Orders are
written in batches of about :data:`BATCH_ROWS` rows per transaction, and an order is always
written whole or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import select

from notifier.errors import InputError
from notifier.orders import intake
from notifier.orders.reader import FileKind, Record, RowError, column_of, read_orders
from notifier.pipeline.outbox import merchant_prefs
from notifier.runtime import Runtime
from notifier.settings import NotifyDefaults
from notifier.store.models import Merchant

BATCH_ROWS = 200  # rows written per transaction: few commits, short locks
SOURCE = "import"


@dataclass
class ImportSummary:
    """What an import did; ``errors`` hold (row or line number, field, reason)."""

    path: str
    kind: FileKind
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # orders (or unreadable rows) not imported
    notifications: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unit(self) -> str:
        return "row" if self.kind == "csv" else "line"


def import_file(path: Path, rt: Runtime, merchant_slug: str, *, progress: bool) -> ImportSummary:
    """Import the orders in ``path`` for the merchant ``merchant_slug``.

    Raises FileError when the file cannot be read at all and InputError for an unknown
    merchant; a bad row only adds to ``errors``."""
    started = time.monotonic()
    merchant = load_merchant(rt, merchant_slug)
    parsed = read_orders(path)
    summary = ImportSummary(
        str(path), parsed.kind, rows=parsed.rows, warnings=list(parsed.warnings)
    )
    prefs = merchant_prefs(rt.settings.notify, merchant)
    good = []
    for record in parsed.records:
        summary.warnings.extend(record.warnings)
        if record.order is None:
            _reject(summary, record, record.errors)
        else:
            good.append(record)
    with _bar(progress, parsed.rows) as advance:
        advance(parsed.rows - sum(len(r.rows) for r in good))
        for batch in batches(good, BATCH_ROWS):
            store_batch(rt, merchant, prefs, batch, summary)
            advance(sum(len(r.rows) for r in batch))
    summary.errors.sort()
    summary.seconds = time.monotonic() - started
    return summary


def load_merchant(rt: Runtime, slug: str) -> Merchant:
    with rt.sessions() as session:
        merchant = session.exec(select(Merchant).where(Merchant.slug == slug)).first()
    if merchant is None:
        raise InputError(f"no merchant {slug!r}", field="merchant")
    return merchant


def batches(records: Sequence[Record], rows: int) -> Iterator[list[Record]]:
    """Consecutive records of about ``rows`` rows (an order's rows are never split)."""
    batch: list[Record] = []
    size = 0
    for record in records:
        batch.append(record)
        size += len(record.rows)
        if size >= rows:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def store_batch(
    rt: Runtime,
    merchant: Merchant,
    prefs: NotifyDefaults,
    batch: Sequence[Record],
    summary: ImportSummary,
    *,
    source: str = SOURCE,
) -> None:
    """Ingest ``batch`` in one transaction. If the database refuses one of its orders, the
    batch is rolled back and replayed one order per transaction, so only that order is lost."""
    results: list[tuple[Record, intake.IngestResult | InputError]] = []
    try:
        with rt.sessions() as session, session.begin():
            now = rt.clock.now()
            for record in batch:
                results.append((record, _ingest(session, merchant, prefs, record, now, source)))
    except (IntegrityError, DataError) as err:
        if len(batch) == 1:
            reason = f"refused by the database: {str(err.orig or err).splitlines()[0][:200]}"
            _reject(summary, batch[0], [RowError(batch[0].rows[0], "order", reason)])
            intake.count(source, "rejected")
            return
        for record in batch:
            store_batch(rt, merchant, prefs, [record], summary, source=source)
        return
    for record, result in results:
        _tally(summary, record, result, source)


def _ingest(
    session: Any,
    merchant: Merchant,
    prefs: NotifyDefaults,
    record: Record,
    now: datetime,
    source: str,
) -> intake.IngestResult | InputError:
    assert record.order is not None
    try:
        return intake.ingest(session, merchant, prefs, record.order, now, source=source)
    except InputError as err:  # raised before any write: the batch goes on
        return err


def _tally(
    summary: ImportSummary,
    record: Record,
    result: intake.IngestResult | InputError,
    source: str,
) -> None:
    if isinstance(result, InputError):
        where = column_of(result.field) if summary.kind == "csv" else result.field or "order"
        _reject(summary, record, [RowError(record.rows[0], where, str(result))])
        intake.count(source, "rejected")
        return
    setattr(summary, result.outcome, getattr(summary, result.outcome) + 1)
    summary.notifications += result.notifications
    summary.warnings.extend(f"{summary.unit} {record.rows[0]}: {w}" for w in result.warnings)
    intake.count(source, result.outcome)


def _reject(summary: ImportSummary, record: Record, errors: list[RowError]) -> None:
    summary.rejected += 1
    summary.errors.extend(errors)


@contextmanager
def _bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Importing orders", total=total)
        yield lambda n: bar.advance(task, n)
