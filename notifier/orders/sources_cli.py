"""``notifier sources ...``: the order-store sources, and what they make of a store.

* ``list``: the registered source ids, one a line.
* ``check ID --merchant SLUG``: the merchant's settings for that source, authentication and one
  cheap call; prints what answered and how fast (exit 1 with the reason when it fails), and
  for a store that pushes, the address to register with it (Shopee signs that very address).
* ``sync ID --merchant SLUG [--since DATE]``: poll until the store has nothing more, with a
  progress bar, storing orders as the scheduler would (and from its saved cursor unless
  ``--since`` says where to start); exit 1 when some orders were refused.
* ``parse --source ID FILE``: the orders one response or webhook body holds, as the contract in
  :mod:`notifier.orders.parse_contract` says (``{"orders": []}`` for a body without orders);
  an error body exits 1 with one line, never a traceback.

Exit 2 means nothing could be done: invalid settings, no such merchant, the database down.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError

from notifier import logs, plugins
from notifier.clock import SystemClock
from notifier.errors import ConfigError, InputError
from notifier.orders import poller
from notifier.orders.base import SourceError, SourcePage, SyncCursor
from notifier.orders.importer import load_merchant
from notifier.orders.parse_contract import BodyError, contract, decode, parser_for
from notifier.runtime import Runtime, build_runtime
from notifier.settings import load_settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant
from notifier.web import webhooks_orders

app = typer.Typer(help="Order stores: list, check, sync, parse.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.callback()
def sources() -> None:
    """Order stores: list, check, sync, parse."""


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


@app.command("list")
def sources_list() -> None:
    """Print the registered order-source ids, one a line."""
    for name in plugins.names("order_sources"):
        typer.echo(name)


@app.command("parse")
def sources_parse(
    source: Annotated[str, typer.Option("--source", help="Order-source id.")],
    file: Annotated[Path, typer.Argument(help="A response or webhook body (JSON).")],
    aggregator: Annotated[
        str | None, typer.Option(help="Carrier id to track local couriers with (the merchant's).")
    ] = None,
) -> None:
    """Print the orders of one body as JSON: {"orders": [...]}."""
    try:
        parse = parser_for(source)
    except KeyError as e:
        _fail(str(e.args[0]))
    except (ImportError, TypeError) as e:
        _fail(f"{source}: {e}")
    try:
        body = file.read_bytes()
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror}")
    try:
        orders = [contract(o, aggregator=aggregator) for o in parse(decode(body))]
    except BodyError as e:
        _fail(f"{source}: {e}")
    except Exception as e:  # a parser bug must still end in one line
        _fail(f"{source}: cannot read this body ({type(e).__name__}: {e})")
    typer.echo(json.dumps({"orders": orders}, ensure_ascii=False, indent=2))


def _runtime() -> Runtime:
    try:
        settings = load_settings()
    except ConfigError as e:
        _fail(str(e), 2)
    logs.configure(settings.log.level, settings.log.format)
    return build_runtime(settings, SystemClock(), engine=make_engine(settings.database_url))


def _setup(rt: Runtime, source_id: str, slug: str) -> tuple[Merchant, dict[str, Any]]:
    try:
        merchant = load_merchant(rt, slug)
    except InputError as e:
        _fail(str(e), 2)
    except OperationalError as e:
        _fail(f"database: {str(e.orig or e).strip().splitlines()[0]}", 2)
    entry = poller.source_entry(merchant, source_id)
    if entry is None:
        _fail(f"merchant {slug!r} has no enabled {source_id!r} entry in settings.sources", 2)
    return merchant, dict(entry)


@app.command("check")
def sources_check(
    source_id: Annotated[str, typer.Argument(help="Order-source id.")],
    merchant: Annotated[str, typer.Option("--merchant", help="The merchant's slug.")],
) -> None:
    """Authenticate with the merchant's settings and make one call."""
    rt = _runtime()
    try:
        row, entry = _setup(rt, source_id, merchant)
        line, seconds = asyncio.run(_check(rt, row, entry))
    except (SourceError, KeyError, ImportError) as e:
        _fail(str(e.args[0]) if isinstance(e, KeyError) else str(e))
    finally:
        asyncio.run(rt.aclose())
    typer.echo(f"OK {source_id} for {merchant}: {line} ({seconds * 1000:.0f} ms)")
    module = webhooks_orders.push_module(source_id)
    if module is not None:
        url = webhooks_orders.push_url(rt.settings.server.public_url, source_id, merchant)
        unset = not hasattr(module, "verify_push") and not entry.get("webhook_secret")
        typer.echo(
            f"pushes: POST {url}" + (" (refused until webhook_secret is set)" if unset else "")
        )


async def _check(rt: Runtime, merchant: Merchant, entry: dict[str, Any]) -> tuple[str, float]:
    source = plugins.load_source(str(entry["id"]))(poller.source_config(merchant, entry))
    started = time.monotonic()
    try:
        return await source.check(rt.clock.now()), time.monotonic() - started
    finally:
        await source.aclose()


def since_cursor(value: str) -> str:
    """``--since 2026-11-01`` (UTC midnight) or a full ISO time -> the cursor to start from."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"--since {value!r} is not an ISO date (2026-11-01) or time", 2)
    return SyncCursor.since(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).dump()


@app.command("sync")
def sources_sync(
    source_id: Annotated[str, typer.Argument(help="Order-source id.")],
    merchant: Annotated[str, typer.Option("--merchant", help="The merchant's slug.")],
    since: Annotated[
        str | None, typer.Option(help="Start at this date (ISO) instead of the saved cursor.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Poll the store until it has nothing more, storing its orders."""
    start = since_cursor(since) if since else None
    rt = _runtime()
    try:
        row, entry = _setup(rt, source_id, merchant)
        stats = asyncio.run(_sync(rt, row, entry, start, progress))
    except (SourceError, KeyError, ImportError) as e:
        _fail(str(e.args[0]) if isinstance(e, KeyError) else str(e))
    finally:
        asyncio.run(rt.aclose())
    _summary(source_id, stats)
    raise typer.Exit(1 if stats.rejected else 0)


async def _sync(
    rt: Runtime, merchant: Merchant, entry: dict[str, Any], start: str | None, show: bool
) -> poller.PollStats:
    stats = poller.PollStats()
    notes: list[str] = []
    columns = (SpinnerColumn(), "[progress.description]{task.description}", BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err, transient=True, disable=not show) as bar:
        task = bar.add_task(f"Syncing {entry['id']} orders", total=None)

        def seen(page: SourcePage) -> None:
            bar.update(task, advance=len(page.orders) + len(page.errors), total=page.total)
            notes.extend(page.errors + page.warnings)

        async with poller.exclusive(rt, merchant, str(entry["id"])) as mine:
            if not mine:
                raise SourceError("another process is polling this source now", source=entry["id"])
            await poller.poll_one(
                rt, merchant, entry, stats, start=start, max_pages=SYNC_PAGES, on_page=seen
            )
    stats.errors = notes
    return stats


SYNC_PAGES = 100_000  # a sync runs to the end of the store (the scheduler takes 50 per run)


def _summary(source_id: str, stats: poller.PollStats) -> None:
    counts = ", ".join(
        f"{getattr(stats, k)} {k}"
        for k in ("created", "updated", "unchanged", "rejected", "warnings", "notifications")
    )
    out.print(f"{source_id}: {stats.pages} page(s); orders {counts}", highlight=False)
    for note in stats.errors[:SHOWN]:
        out.print(f"  {note}", highlight=False, markup=False, soft_wrap=True)
    if len(stats.errors) > SHOWN:
        out.print(f"  ... and {len(stats.errors) - SHOWN} more", highlight=False)


SHOWN = 10  # problems listed after a sync
