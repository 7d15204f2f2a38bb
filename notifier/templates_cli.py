"""``notifier templates``: list, show, validate, preview, export and import message templates.

Editing from the command line is export, change, import::

    notifier templates export ./wording --merchant toko-sekar
    $EDITOR ./wording/shipped/sms.id.j2
    notifier templates import ./wording --merchant toko-sekar

Folders use the ``message_templates`` layout (``<trigger>/<channel>.<locale>.j2``). Export
writes every template: the merchant's newest version where it has one, else the default. Import
reads every file (a file outside the layout is an error), checks EVERY file that differs from
what is in use (the same checks as the merchant UI: syntax, variables with lines, tracking link,
SMS budget, WhatsApp mapping) and writes nothing unless all pass; then each of them becomes a
new version, in one transaction. ``validate`` checks every file, changed or not. Without
``--merchant`` the commands work on the defaults and the sample shop.

Exit codes: 0 fine; 1 problems found (each printed as ``path:line: message``); 2 bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from notifier import logs
from notifier.admin import checks, editor, versions
from notifier.admin.versions import Missing, TemplateKey
from notifier.clock import SystemClock
from notifier.errors import ConfigError
from notifier.runtime import Runtime, build_runtime
from notifier.settings import load_settings
from notifier.store import merchants
from notifier.store.models import Merchant

app = typer.Typer(help="Message templates: list, show, validate, preview, export, import.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
MerchantOpt = Annotated[
    str | None, typer.Option("--merchant", help="The merchant's slug (default: the defaults).")
]
SAMPLE_MERCHANT = "Toko Batik Sekar"


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@dataclass
class Context:
    rt: Runtime
    session: Session
    merchant: Merchant
    stored: bool  # a merchant from the database (else the sample shop, never saved)


def _open(slug: str | None) -> Context:
    try:
        settings = load_settings()
    except ConfigError as e:
        fail(str(e))
    logs.configure("ERROR", settings.log.format)
    rt = build_runtime(settings, SystemClock())
    session = rt.sessions()
    if slug is None:
        sample = Merchant(slug="sample", name=SAMPLE_MERCHANT, api_token_hash="-", settings={})  # noqa: S106
        return Context(rt, session, sample, stored=False)
    found = merchants.by_slug(session, slug)
    if found is None:
        fail(f"no merchant {slug!r}")
    return Context(rt, session, found, stored=True)


def _key(ctx: Context, trigger: str, channel: str, locale: str) -> TemplateKey:
    try:
        return TemplateKey.parse(ctx.rt.templates, trigger, channel, locale)
    except Missing as e:
        fail(str(e))


def _in_use(ctx: Context, key: TemplateKey) -> str:
    if not ctx.stored:
        return ctx.rt.templates.source(key.trigger, key.channel, key.locale)
    return editor.working_source(ctx.rt, ctx.session, ctx.merchant, key)


@app.command("list")
def list_templates(merchant: MerchantOpt = None) -> None:
    """Every template, with the merchant's newest version and whether it is on."""
    ctx = _open(merchant)
    table = Table("trigger", "channel", "locale", "version", "wording", "trigger", "channel")
    if ctx.stored:
        rows = editor.overview(ctx.rt, ctx.session, ctx.merchant)
        for r in rows:
            table.add_row(
                *(r.key.trigger, r.key.channel, r.key.locale),
                f"v{r.version}" if r.version else "default",
                "yours" if r.version and r.wording_enabled else "default",
                "on" if r.trigger_on else "off",
                "on" if r.channel_on else "off",
            )
    else:
        for trigger, channel, locale in ctx.rt.templates.available():
            table.add_row(trigger, channel, locale, "default", "default", "-", "-")
    out.print(table)


@app.command()
def show(
    trigger: str,
    channel: str,
    locale: str,
    merchant: MerchantOpt = None,
    version: Annotated[int | None, typer.Option(help="An older version.")] = None,
    default: Annotated[bool, typer.Option("--default", help="The default source.")] = False,
) -> None:
    """Print a template's source: the one in use, a version, or the default."""
    ctx = _open(merchant)
    key = _key(ctx, trigger, channel, locale)
    if version is not None and ctx.stored:
        assert ctx.merchant.id is not None
        try:
            source = versions.by_number(ctx.session, ctx.merchant.id, key, version).source
        except Missing as e:
            fail(str(e))
    elif default:
        source = ctx.rt.templates.source(trigger, channel, locale)
    else:
        source = _in_use(ctx, key)
    typer.echo(source, nl=not source.endswith("\n"))


def _read_folder(ctx: Context, folder: Path) -> tuple[dict[TemplateKey, str], list[str]]:
    """Every ``<trigger>/<channel>.<locale>.j2`` below ``folder``; files elsewhere are errors."""
    if not folder.is_dir():
        fail(f"{folder} is not a folder")
    found: dict[TemplateKey, str] = {}
    errors = []
    for path in sorted(folder.rglob("*.j2")):
        rel = path.relative_to(folder).as_posix()
        parts = rel.removesuffix(".j2").split("/")
        name = parts[-1].split(".", 1)
        if len(parts) != 2 or len(name) != 2:
            errors.append(f"{rel}: not <trigger>/<channel>.<locale>.j2")
            continue
        try:
            key = TemplateKey.parse(ctx.rt.templates, parts[0], name[0], name[1])
        except Missing as e:
            errors.append(f"{rel}: {e}")
            continue
        found[key] = path.read_text(encoding="utf-8")
    return found, errors


def _check_all(ctx: Context, files: dict[TemplateKey, str]) -> list[str]:
    lines = []
    for key, source in sorted(files.items()):
        for p in checks.check(ctx.rt, ctx.merchant, key, source):
            lines.append(f"{key.path}:{p.line or 0}: {p.message}")
    return lines


@app.command()
def validate(folder: Path, merchant: MerchantOpt = None) -> None:
    """Check every template file in FOLDER; print each problem as path:line: message."""
    ctx = _open(merchant)
    files, errors = _read_folder(ctx, folder)
    problems = errors + _check_all(ctx, files)
    for line in problems:
        out.print(line, markup=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"{len(files)} templates OK", markup=False)


@app.command()
def preview(
    trigger: str,
    channel: str,
    locale: str,
    merchant: MerchantOpt = None,
    file: Annotated[Path | None, typer.Option(help="Preview this source instead.")] = None,
    html: Annotated[bool, typer.Option(help="Email: print the HTML too.")] = False,
) -> None:
    """Render the sample shop's message; SMS with its segments and encoding."""
    ctx = _open(merchant)
    key = _key(ctx, trigger, channel, locale)
    source = file.read_text(encoding="utf-8") if file else _in_use(ctx, key)
    shown = checks.preview(ctx.rt, ctx.merchant, key, source)
    for p in shown.problems:
        err.print(f"{key.path}:{p.line or 0}: {p.message}", markup=False)
    if shown.subject:
        out.print(f"Subject: {shown.subject}\n", markup=False)
    out.print(shown.text, markup=False)
    if html and shown.html:
        out.print("\n" + shown.html, markup=False)
    if shown.sms:
        s = shown.sms
        out.print(
            f"\n[{s.segments} segments, {s.encoding}, {s.characters} characters, "
            f"budget {s.budget}]",
            markup=False,
        )
    raise typer.Exit(1 if shown.problems else 0)


@app.command()
def export(folder: Path, merchant: MerchantOpt = None) -> None:
    """Write every template (the merchant's newest version, else the default) to FOLDER."""
    ctx = _open(merchant)
    count = 0
    for trigger, channel, locale in ctx.rt.templates.available():
        key = TemplateKey(trigger, channel, locale)
        target = folder / key.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_in_use(ctx, key), encoding="utf-8")
        count += 1
    out.print(f"{count} templates written to {folder}", markup=False)


@app.command("import")
def import_templates(
    folder: Path,
    merchant: Annotated[str, typer.Option("--merchant", help="The merchant's slug.")],
    author: Annotated[str, typer.Option(help="Recorded with each new version.")] = "cli",
) -> None:
    """Check every file in FOLDER, then save each changed one as a new version; nothing is
    saved when any file has a problem."""
    ctx = _open(merchant)
    files, errors = _read_folder(ctx, folder)
    changed = [k for k, src in sorted(files.items()) if src != _in_use(ctx, k)]
    problems = errors + _check_all(ctx, {k: files[k] for k in changed})
    if problems:
        for line in problems:
            out.print(line, markup=False)
        err.print(f"{len(problems)} problem(s); nothing imported", markup=False)
        raise typer.Exit(1)
    assert ctx.merchant.id is not None
    now = datetime.now(UTC)
    for key in changed:  # one transaction: all of them or none
        row = versions.add_version(
            ctx.session, ctx.merchant.id, key, files[key], author=author, now=now
        )
        out.print(f"{key.path}: v{row.version}", markup=False)
    ctx.session.commit()
    out.print(f"{len(changed)} new version(s), {len(files) - len(changed)} unchanged")
