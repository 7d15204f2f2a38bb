"""``notifier orders``: take in orders from files.

``notifier orders import FILE --merchant SLUG`` exits 0 when every order was imported, 1 when
some rows were rejected (the others were imported), 2 when nothing could be done (the file
cannot be read, no such merchant, invalid settings, the database is unreachable).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError

from notifier import logs
from notifier.clock import SystemClock
from notifier.errors import ConfigError, InputError
from notifier.orders.importer import ImportSummary, import_file
from notifier.orders.reader import COLUMNS
from notifier.runtime import build_runtime
from notifier.settings import load_settings
from notifier.store.db import make_engine

SHOWN_ERRORS = 20  # the first errors printed; the rest are counted
SHOWN_WARNINGS = 5

app = typer.Typer(help="Orders: import them from CSV or JSON Lines files.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.callback()
def orders() -> None:
    """Orders: import them from CSV or JSON Lines files."""


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file of orders.")],
    merchant: Annotated[str, typer.Option("--merchant", help="The merchant's slug.")],
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Import orders from FILE: CSV with a header row, or JSON Lines (one order per line).

    CSV columns: order_id (required), order_number, status, paid_at, total, currency,
    customer_name, phone, email, locale, timezone, carrier, courier, tracking_number,
    tracking_url. Several rows with the same order_id are one order with several parcels.
    """
    try:
        settings = load_settings()
    except ConfigError as e:
        _fail(str(e))
    logs.configure(settings.log.level, settings.log.format)
    rt = build_runtime(settings, SystemClock(), engine=make_engine(settings.database_url))
    try:
        summary = import_file(file, rt, merchant, progress=progress)
    except InputError as e:  # the file as a whole, or the merchant
        _fail(f"{file}: {e}" if e.field != "merchant" else str(e))
    except OperationalError as e:
        _fail(f"database: {str(e.orig or e).strip().splitlines()[0]}")
    finally:
        asyncio.run(rt.aclose())
    show(summary)
    raise typer.Exit(1 if summary.rejected else 0)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(2)


def show(summary: ImportSummary) -> None:
    """The summary table, then the first errors and warnings."""
    table = Table(title=f"Imported {summary.path}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        (f"{summary.unit}s read", summary.rows),
        ("orders created", summary.created),
        ("orders updated", summary.updated),
        ("orders unchanged", summary.unchanged),
        ("rejected", summary.rejected),
        ("notifications enqueued", summary.notifications),
    ):
        table.add_row(label, str(value))
    out.print(table)
    out.print(f"{summary.seconds:.1f} s", highlight=False)
    if summary.errors:
        out.print(f"[bold red]{len(summary.errors)} error(s)[/bold red]:")
        for row, field, reason in summary.errors[:SHOWN_ERRORS]:
            out.print(
                f"  {summary.unit} {row}: {field}: {reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        if len(summary.errors) > SHOWN_ERRORS:
            out.print(f"  ... and {len(summary.errors) - SHOWN_ERRORS} more")
        if summary.kind == "csv":
            out.print(f"CSV columns: {', '.join(COLUMNS)}", highlight=False)
    if summary.warnings:
        out.print(f"[yellow]{len(summary.warnings)} warning(s)[/yellow]:")
        for warning in summary.warnings[:SHOWN_WARNINGS]:
            out.print(f"  {warning}", highlight=False, markup=False, soft_wrap=True)
        if len(summary.warnings) > SHOWN_WARNINGS:
            out.print(f"  ... and {len(summary.warnings) - SHOWN_WARNINGS} more")
