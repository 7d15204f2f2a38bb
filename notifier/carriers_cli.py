"""``notifier carriers ...``: the installed carriers, what their parsers make of a body, which
carrier a number looks like (``detect``) and whether an account works (``check``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from carriers.base import ErrorKind, TrackingResult
from carriers.detect import detect
from carriers.errors import CarrierAuthError, CarrierError, CarrierUnavailable
from carriers.http import USER_AGENT
from notifier import plugins
from notifier.errors import ConfigError
from notifier.settings import load_settings

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


@app.command("detect")
def carriers_detect(
    number: Annotated[str, typer.Argument(help="A tracking number (resi).")],
) -> None:
    """Print the carriers the number's format fits, most likely first, one a line:
    ``carrier`` or ``carrier/courier``, a tab, the confidence, a tab, why. Exits 1 when none
    fits."""
    found = detect(number)
    if not found:
        _fail(f"no carrier format fits {number!r}")
    for candidate in found:
        typer.echo(str(candidate))


# A harmless number per carrier (and the courier it needs): a documented test number or one
# from a published example. "Not found" still proves the account answers; set
# ``carriers.<id>.check_number`` / ``check_courier`` to use your own.
CHECK_NUMBERS: dict[str, tuple[str, str | None]] = {
    "ups": ("1Z1442YY7229014688", None),
    "fedex": ("122816215025810", None),  # sandbox "virtual response": delivered
    "usps": ("9400109104250532908587", None),
    "canadapost": ("7023210039414604", None),
    "dhl": ("7777777770", None),
    "aftership": ("1234567890", None),
    "17track": ("RR123456785ID", None),
    "trackingmore": ("RR123456785ID", None),
    "easypost": ("EZ1000000001", None),  # test-mode number
    "shippo": ("SHIPPO_TRANSIT", "shippo"),  # test-token number and carrier
    "binderbyte": ("JP6961181926", "jnt"),
    "biteship": ("JX1541346437", "jnt"),
    "rajaongkir": ("SOCAG00183235715", "jne"),
    "simulator": ("SIMNRM0001", None),
}
CHECK_TIMEOUT = 15.0  # s per request unless the account sets ``timeout``
OK_KINDS = frozenset({ErrorKind.NOT_FOUND, ErrorKind.INVALID_NUMBER})  # answered: account works


@app.command("check")
def carriers_check(
    carrier: Annotated[str, typer.Argument(help="Carrier id (see `notifier carriers list`).")],
) -> None:
    """Authenticate with the configured account (OAuth where the API uses it) and make one call
    for a harmless number against the configured ``api_base``; print OK with the latency, or
    one line naming the error kind. Nothing is registered (no tracking quota is used)."""
    try:
        settings = load_settings()
    except ConfigError as err:
        _fail(str(err))
    try:
        cls = plugins.load_carrier(carrier)
    except (KeyError, ImportError) as err:
        _fail(str(err.args[0]) if err.args else str(err))
    account = settings.carriers.get(carrier)
    config: dict[str, Any] = account.adapter_config() if account else {}
    if carrier == "simulator" and not config.get("api_base"):
        config["api_base"] = f"http://{settings.simulator.host}:{settings.simulator.port}"
    number, courier = CHECK_NUMBERS.get(carrier, ("1234567890", None))
    number = str(config.get("check_number") or number)
    courier = config.get("check_courier") or courier
    config = {"timeout": CHECK_TIMEOUT, **config, "register": False}
    typer.echo(asyncio.run(_check(cls, carrier, config, number, courier)))


def _client(timeout: float) -> httpx.AsyncClient:
    """The HTTP client of one check (tests swap in a MockTransport-backed one)."""
    return httpx.AsyncClient(timeout=timeout, headers={"User-Agent": USER_AGENT})


async def _check(cls: Any, carrier: str, config: dict[str, Any], number: str, courier: Any) -> str:
    client = _client(float(config["timeout"]))
    adapter = cls(config, client=client)
    where = getattr(adapter, "base_url", "")
    started = time.monotonic()
    try:
        results: list[TrackingResult] = await adapter.fetch([number], courier)
    except CarrierError as err:
        _fail(f"{carrier}: {_kind(err)}: {err.message} ({where})")
    finally:
        await adapter.aclose()
        await client.aclose()
    ms = (time.monotonic() - started) * 1000
    if not results:
        _fail(f"{carrier}: bad_response: no result for {number} ({where})")
    result = results[0]
    if result.error is not None and result.error.kind not in OK_KINDS:
        code = f" (code {result.error.code})" if result.error.code else ""
        _fail(f"{carrier}: {result.error.kind.value}: {result.error.message}{code}")
    seen = result.error.kind.value if result.error else (result.status or "no status")
    return f"OK {carrier} {ms:.0f} ms {where} ({number}: {seen})"


def _kind(err: CarrierError) -> str:
    if isinstance(err, CarrierAuthError):
        return ErrorKind.AUTH.value
    if isinstance(err, CarrierUnavailable):
        limited = err.status_code == 429 or "rate limited" in err.message
        return ErrorKind.RATE_LIMITED.value if limited else ErrorKind.UNAVAILABLE.value
    return "bad_response"
