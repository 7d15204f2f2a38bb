"""The ``notifier`` command."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from notifier import logs, plugins
from notifier.carriers_cli import app as carriers_app
from notifier.clock import Clock, ScaledClock, SystemClock
from notifier.errors import ConfigError, NotifierError
from notifier.orders.cli import app as orders_app
from notifier.senders.cli import send_test
from notifier.settings import Settings, load_settings
from notifier.templates_cli import app as templates_app

app = typer.Typer(
    help="Tell shoppers where their parcel is, before they ask.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations and backups.", no_args_is_help=True)
config_app = typer.Typer(help="Effective settings.", no_args_is_help=True)
simulator_app = typer.Typer(help="The built-in carrier simulator.", no_args_is_help=True)
merchants_app = typer.Typer(help="Merchant accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(carriers_app, name="carriers")
app.add_typer(simulator_app, name="simulator")
app.add_typer(merchants_app, name="merchants")
app.add_typer(orders_app, name="orders")
app.command("send-test")(send_test)
from notifier.orders.sources_cli import app as sources_app  # noqa: E402 (order-store sources)

app.add_typer(sources_app, name="sources")
app.add_typer(templates_app, name="templates")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    # The message is text, never markup: a path or a driver's error may hold "[/...]".
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def boot(**overrides: Any) -> Settings:
    """Settings and logging for a command; invalid settings end it with one line."""
    try:
        settings = load_settings(**overrides)
    except ConfigError as e:
        fail(str(e), 2)
    logs.configure(settings.log.level, settings.log.format)
    return settings


def virtual_clock(scale: float | None, start: str | None, epoch: float | None) -> Clock:
    """Wall time, or accelerated time shared with a simulator started with the same values."""
    if not scale:
        return SystemClock()
    begin = datetime.fromisoformat(start) if start else datetime.now(UTC)
    return ScaledClock(begin, scale, epoch)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Bind address (server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (server.port).")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply pending migrations first.")] = True,
    time_scale: Annotated[float | None, typer.Option(hidden=True)] = None,
    virtual_start: Annotated[str | None, typer.Option(hidden=True)] = None,
    virtual_epoch: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the daemon: scheduled polling and sending, and the web app."""
    from notifier.runtime import build_runtime
    from notifier.scheduler import Daemon
    from notifier.store.migrate import upgrade

    settings = boot()
    if host or port is not None:
        server = settings.server.model_copy(
            update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        )
        settings = settings.model_copy(update={"server": server})
    rt = build_runtime(settings, virtual_clock(time_scale, virtual_start, virtual_epoch))
    if migrate:
        upgrade(rt.engine)

    async def main() -> int:
        try:
            return await Daemon(rt).run()
        finally:
            await rt.aclose()

    raise typer.Exit(asyncio.run(main()))


@app.command()
def demo(
    keep_serving: Annotated[bool, typer.Option(help="Keep serving after the run.")] = False,
    seconds: Annotated[float, typer.Option(help="Longest run, wall seconds.")] = 55.0,
) -> None:
    """Seed an Indonesian sample shop and watch its parcels and messages for about a minute."""
    from notifier.demo import run_demo

    settings = boot(log={"level": "WARNING", "format": "console"})
    code = asyncio.run(run_demo(settings, out, seconds=seconds, keep_serving=keep_serving))
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from notifier.store.db import make_engine
    from notifier.store.migrate import upgrade

    settings = boot()
    upgrade(make_engine(settings.database_url), revision)
    out.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from notifier.store.db import make_engine
    from notifier.store.migrate import downgrade

    settings = boot()
    downgrade(make_engine(settings.database_url), revision)
    out.print(f"database at {revision}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="The copy to write (a new file).")],
    force: Annotated[bool, typer.Option(help="Replace PATH if it exists.")] = False,
) -> None:
    """Copy the SQLite database to PATH while the daemon runs (online backup API)."""
    from notifier.store.backup import BackupError, backup

    settings = boot()
    try:
        done = backup(settings.database_url, path, force=force)
    except BackupError as e:
        fail(str(e))
    at = f", at migration {done.revision}" if done.revision else ""
    out.print(f"backed up to {done.path} ({done.bytes} bytes{at})", highlight=False)


@db_app.command("prune")
def db_prune(
    dry_run: Annotated[bool, typer.Option(help="Only count what would go.")] = False,
) -> None:
    """Delete old tracking events and clear old message texts as the retention settings say;
    the record of every message sent stays."""
    import sqlalchemy as sa

    from notifier.store.db import make_engine
    from notifier.store.retention import prune

    settings = boot()
    policy = settings.retention
    engine = make_engine(settings.database_url)
    try:
        done = prune(engine, policy, datetime.now(UTC), dry_run=dry_run)
    except sa.exc.SQLAlchemyError as e:
        fail(f"prune failed: {str(e).splitlines()[0]}")  # the driver's line, no traceback
    finally:
        engine.dispose()
    verb = ("would delete", "would clear") if dry_run else ("deleted", "cleared")

    def days(n: float) -> str:
        return "kept forever" if n <= 0 else f"older than {n:g} days"

    out.print(
        f"tracking events of parcels no longer followed ({days(policy.events_days)}): "
        f"{verb[0]} {done.events}\n"
        f"message subjects and bodies ({days(policy.bodies_days)}): {verb[1]} {done.bodies}\n"
        f"shoppers' inbound texts ({days(policy.bodies_days)}): {verb[1]} {done.inbound}",
        highlight=False,
        soft_wrap=True,
    )


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    settings = boot()
    out.print_json(json.dumps(settings.model_dump(mode="json"), default=str))


@simulator_app.command("serve")
def simulator_serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    scale: Annotated[float | None, typer.Option(help="Virtual seconds per wall second.")] = None,
    virtual_start: Annotated[str | None, typer.Option(hidden=True)] = None,
    virtual_epoch: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """Serve the carrier simulator until interrupted."""
    from carriers.simulator.server import run as serve_simulator

    settings = boot()
    sim = settings.simulator
    clock = virtual_clock(scale or sim.scale, virtual_start, virtual_epoch)
    bind_host, bind_port = host or sim.host, sim.port if port is None else port
    serve_simulator(
        bind_host,
        bind_port,
        now=clock.now,
        ready=lambda s: out.print(f"carrier simulator on {s.url} (scale {scale or sim.scale})"),
    )


@merchants_app.command("create")
def merchants_create(
    slug: Annotated[str, typer.Option(help="Short id, e.g. toko-sekar.")],
    name: Annotated[str, typer.Option(help="Shop name shown to shoppers.")],
    country: Annotated[str, typer.Option(help="ISO country for phone numbers.")] = "ID",
    locale: Annotated[str, typer.Option(help="Default message language.")] = "id",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Asia/Jakarta",
) -> None:
    """Create a merchant and print its API token (shown once)."""
    from notifier.store.db import make_engine, session_factory
    from notifier.store.merchants import create_merchant

    settings = boot()
    token = secrets.token_urlsafe(32)
    try:
        with session_factory(make_engine(settings.database_url))() as session, session.begin():
            create_merchant(
                session,
                slug=slug,
                name=name,
                token=token,
                country=country,
                locale=locale,
                timezone=timezone,
                now=datetime.now(UTC),
            )
    except NotifierError as e:
        fail(str(e))
    out.print(f"merchant [bold]{slug}[/bold] created; API token (shown once):")
    typer.echo(token)


@app.command()
def doctor() -> None:
    """Check that every plugin loads and the database answers."""
    import sqlalchemy as sa

    from notifier.store.db import make_engine

    settings = boot()
    table = Table("kind", "name", "target", "status")
    broken = 0
    for p in plugins.check_all():
        broken += p.error is not None
        table.add_row(
            p.group,
            p.name,
            p.target,
            "[green]ok[/green]" if p.error is None else f"[red]{p.error}[/red]",
        )
    out.print(table)
    try:
        with make_engine(settings.database_url).connect() as conn:
            conn.execute(sa.text("select 1"))
        out.print("database: [green]ok[/green]")
    except sa.exc.SQLAlchemyError as e:
        broken += 1
        out.print(f"database: [red]{type(e).__name__}[/red]")
    raise typer.Exit(1 if broken else 0)


def main() -> None:  # pragma: no cover - console script entry
    app(prog_name="notifier")


if __name__ == "__main__":  # pragma: no cover
    main()
