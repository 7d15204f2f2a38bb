"""``notifier carriers ...``: the installed carriers and what their parsers make of a body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from carriers.errors import CarrierError
from notifier import plugins

app = typer.Typer(help="Carrier adapters.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command("list")
def carriers_list() -> None:
    """Print the installed carrier ids, one a line."""
    for name in plugins.names("carriers"):
        typer.echo(name)


@app.command("parse")
def carriers_parse(
    carrier: Annotated[str, typer.Option("--carrier", help="Carrier id.")],
    file: Annotated[Path, typer.Argument(help="A response body (JSON or XML).")],
) -> None:
    """Print the normalized result of one response body as JSON (a list for several numbers).

    An error body (auth, not found, rate limited...) exits 1 with one line naming the error kind.
    """
    try:
        cls = plugins.load_carrier(carrier)
    except KeyError as err:
        _fail(str(err.args[0]))
    try:
        body = file.read_bytes()
    except OSError as err:
        _fail(f"cannot read {file}: {err.strerror}")
    try:
        results = cls.parse(body)
    except CarrierError as err:
        _fail(str(err))
    if not results:
        _fail(f"{carrier}: the body holds no tracking result")
    if len(results) == 1 and results[0].error is not None:
        e = results[0].error
        code = f" (code {e.code})" if e.code else ""
        _fail(f"{carrier}: {e.kind.value}: {e.message}{code}")
    shown = results[0].as_dict() if len(results) == 1 else [r.as_dict() for r in results]
    typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
