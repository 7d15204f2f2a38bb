"""``notifier demo``: an Indonesian sample shop, every simulator journey, a minute of messages.

The whole daemon runs for real — REST intake over HTTP, the tracking sweep against the carrier
simulator, detection, the outbox and dispatch through the outbox sender — on a virtual clock that
runs about a week of parcel journeys in under a minute. The run ends by itself, prints a summary
and writes it to ``var/demo-summary.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import socket
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from sqlmodel import col

from carriers.simulator.server import serve
from notifier.clock import ScaledClock
from notifier.runtime import Runtime, build_runtime
from notifier.scheduler import Daemon
from notifier.settings import TRIGGERS, CarrierSettings, Settings
from notifier.store.merchants import create_merchant
from notifier.store.migrate import upgrade
from notifier.store.models import Notification, Shipment

VIRTUAL_SPAN = timedelta(days=9, hours=6)  # the longest journey (~7.3 days) + feedback delay
WALL_SPAN = 48.0  # s the span should take
TICK = 0.25  # s between sweeps, dispatches and screen refreshes
JAKARTA = timedelta(hours=7)

CUSTOMERS: list[dict[str, Any]] = [
    # name, phone, email, locale, zone, journey, courier
    {
        "name": "Rina Wulandari",
        "phone": "0812-3456-7890",
        "email": "rina.w@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMNRM",
        "courier": "jnt",
    },
    {
        "name": "Budi Santoso",
        "phone": "0813-1122-3344",
        "email": "budi.s@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMETA",
        "courier": "jne",
    },
    {
        "name": "Siti Rahmawati",
        "phone": "0811-4455-6677",
        "email": "siti.r@example.co.id",
        "tz": "Asia/Makassar",
        "journey": "SIMSTL",
        "courier": "sicepat",
    },
    {
        "name": "Agus Pratama",
        "phone": "0857-2233-4455",
        "email": "agus.p@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMFAT",
        "courier": "anteraja",
    },
    {
        "name": "Dewi Lestari",
        "phone": "0878-5566-7788",
        "email": "dewi.l@example.co.id",
        "tz": "Asia/Makassar",
        "journey": "SIMPUP",
        "courier": "jne",
    },
    {
        "name": "Yusuf Hidayat",
        "phone": "0821-9988-7766",
        "email": "yusuf.h@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMEXC",
        "courier": "jnt",
    },
    {
        "name": "Maya Sari",
        "phone": "0852-3344-5566",
        "email": "maya.s@example.co.id",
        "tz": "Asia/Jayapura",
        "journey": "SIMRTS",
        "courier": "pos",
    },
    {
        "name": "Eko Prasetyo",
        "phone": "0896-1234-5678",
        "email": "eko.p@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMNVR",
        "courier": "spx",
    },
    {
        "name": "Sarah Thompson",
        "phone": "+62 812-7788-9900",
        "email": "sarah.t@example.com",
        "tz": "Asia/Makassar",
        "journey": "SIMNRM",
        "courier": "ninja",
        "locale": "en",
    },
    {
        "name": "Hendra Wijaya",
        "phone": "021-5550-1234",
        "email": "hendra.w@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMFAT",
        "courier": "lion",
    },
    {
        "name": "Lina Marlina",
        "phone": "0815-6677-8899",
        "email": "lina.m@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMNRM",
        "courier": "sicepat",
        "returns": True,
    },
    {
        "name": "Fajar Nugroho",
        "phone": "0819-2468-1357",
        "email": "fajar.n@example.co.id",
        "tz": "Asia/Jakarta",
        "journey": "SIMNRM",
        "courier": "jne",
        "pays_later": True,
    },
]

SHOP_SETTINGS: dict[str, Any] = {
    "notify": {"channels": ["whatsapp", "email"], "disabled_triggers": []},
    "trigger_channels": {"out_for_delivery": ["whatsapp", "sms", "email"]},
    "brand": {
        "name": "Toko Batik Sekar",
        "cs_whatsapp": "+6281234500099",
        "cs_email": "halo@batiksekar.example",
    },
}


def _free_port(host: str, preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind((host, preferred))
            return preferred
        except OSError:
            s.bind((host, 0))
            return int(s.getsockname()[1])


def _demo_settings(base: Settings, sim_url: str, port: int) -> Settings:
    root = base.var_dir / "demo"
    host = base.server.host
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{root / 'notifier.db'}",
            "server": base.server.model_copy(
                update={"port": port, "public_url": f"http://{host}:{port}"}
            ),
            "poll": base.poll.model_copy(update={"interval": TICK}),
            "dispatch": base.dispatch.model_copy(update={"interval": TICK}),
            "senders": base.senders.model_copy(
                update={
                    "email": "outbox",
                    "sms": "outbox",
                    "whatsapp": "outbox",
                    "outbox": base.senders.outbox.model_copy(update={"dir": root / "outbox"}),
                }
            ),
            "carriers": base.carriers | {"simulator": CarrierSettings(api_base=sim_url)},
        }
    )


def _order(i: int, c: dict[str, Any], now: datetime, shipped: bool) -> dict[str, Any]:
    number = f"{c['journey']}{i:04d}"
    return {
        "external_id": f"demo-{i:03d}",
        "order_number": f"INV/2026/12/{i:04d}",
        "status": "pending" if c.get("pays_later") else "paid",
        "paid_at": None if c.get("pays_later") else now.isoformat(),
        "total": str(89_000 + 15_000 * i),
        "currency": "IDR",
        "customer": {
            "name": c["name"],
            "phone": c["phone"],
            "email": c["email"],
            "locale": c.get("locale", "id"),
            "timezone": c["tz"],
        },
        "shipments": [{"carrier": "simulator", "courier": c["courier"], "tracking_number": number}]
        if shipped
        else [],
    }


class Demo:
    """One demo run: seeds, watches, stops, summarizes."""

    def __init__(self, rt: Runtime, console: Console, token: str, clock: ScaledClock):
        self.rt, self.console, self.token, self.clock = rt, console, token, clock
        self.api = httpx.AsyncClient(
            base_url=rt.settings.server.public_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        self.late: list[
            tuple[datetime, str, dict[str, Any], str]
        ] = []  # (when, method, body, path)

    async def seed(self) -> None:
        now = self.clock.now()
        for i, c in enumerate(CUSTOMERS, 1):
            order = _order(i, c, now, shipped=not c.get("pays_later"))
            resp = await self.api.post("/api/v1/orders", json=order)
            if resp.status_code >= 300:
                raise RuntimeError(f"seeding order {i} failed: {resp.status_code} {resp.text}")
            if c.get("pays_later"):
                paid = order | {"status": "paid", "paid_at": None}
                self.late.append((now + timedelta(hours=6), "orders", paid, ""))
                ship = _order(i, c, now, shipped=True)["shipments"][0]
                self.late.append(
                    (now + timedelta(hours=20), "shipments", ship, order["external_id"])
                )
            if c.get("returns"):
                self.late.append(
                    (now + timedelta(days=4), "orders", order | {"return_status": "requested"}, "")
                )
                self.late.append(
                    (
                        now + timedelta(days=5),
                        "orders",
                        order | {"return_status": "received", "refund_status": "completed"},
                        "",
                    )
                )

    async def follow_ups(self) -> None:
        """Things that happen later in the shop: a payment, a parcel handed over, a return."""
        now = self.clock.now()
        due = [item for item in self.late if item[0] <= now]
        self.late = [item for item in self.late if item[0] > now]
        for _, kind, body, external_id in due:
            if kind == "orders":
                if body.get("paid_at") is None and body["status"] == "paid":
                    body = body | {"paid_at": now.isoformat()}
                await self.api.post("/api/v1/orders", json=body)
            else:
                await self.api.post(f"/api/v1/orders/{external_id}/shipments", json=body)

    def counts(self) -> dict[str, Any]:
        with self.rt.sessions() as session:
            status = col(Shipment.status)
            shipments = {
                s: int(n)
                for s, n in session.execute(sa.select(status, sa.func.count()).group_by(status))
            }
            rows = session.execute(sa.select(*KEYS, sa.func.count()).group_by(*KEYS)).all()
        return {"shipments": shipments, "notifications": rows}

    def settled(self, counts: dict[str, Any]) -> bool:
        open_states = {"pending", "sending"}
        waiting = sum(n for _, _, state, n in counts["notifications"] if state in open_states)
        moving = sum(
            n
            for status, n in counts["shipments"].items()
            if status not in ("delivered", "returned_to_sender", "expired", "exception")
        )
        return not self.late and waiting == 0 and moving == 0

    def view(self, counts: dict[str, Any], elapsed: float) -> Group:
        local = (self.clock.now() + JAKARTA).strftime("%a %d %b %H:%M WIB")
        ships = Table(title=f"Parcels · {local} · {elapsed:4.1f}s", expand=True)
        ships.add_column("status")
        ships.add_column("parcels", justify="right")
        for status, n in sorted(counts["shipments"].items()):
            ships.add_row(status, str(n))
        msgs = Table(title="Messages (sent / waiting / suppressed or failed)", expand=True)
        msgs.add_column("trigger")
        for ch in ("whatsapp", "sms", "email"):
            msgs.add_column(ch, justify="right")
        grid: dict[str, dict[str, Counter[str]]] = {}
        for trigger, channel, state, n in counts["notifications"]:
            grid.setdefault(trigger, {}).setdefault(channel, Counter())[state] += n
        for trigger in TRIGGERS:
            if trigger in grid:
                cells = [
                    _cell(grid[trigger].get(ch, Counter())) for ch in ("whatsapp", "sms", "email")
                ]
                msgs.add_row(trigger, *cells)
        return Group(ships, msgs)


KEYS = (col(Notification.trigger), col(Notification.channel), col(Notification.state))


def _cell(c: Counter[str]) -> str:
    if not c:
        return ""
    sent = c["sent"] + c["delivered"]
    waiting = c["pending"] + c["sending"]
    other = c["suppressed"] + c["failed"] + c["dead"]
    return f"[green]{sent}[/green]/{waiting}/[dim]{other}[/dim]"


def duplicates(outbox: Path) -> int:
    """Messages written more than once for one dedupe key (read back from the outbox files)."""
    keys: Counter[str] = Counter()
    for path in list(outbox.glob("*.eml")) + list(outbox.glob("*.txt")):
        key = message_from_bytes(path.read_bytes()).get("X-Notifier-Dedupe-Key")
        if key:
            keys[key] += 1
    return sum(n - 1 for n in keys.values() if n > 1)


def summary(demo: Demo, seconds: float) -> dict[str, Any]:
    counts = demo.counts()
    sent: dict[str, dict[str, int]] = {}
    failed = suppressed = 0
    for trigger, channel, state, n in counts["notifications"]:
        if state in ("sent", "delivered"):
            sent.setdefault(trigger, {})[channel] = sent.get(trigger, {}).get(channel, 0) + n
        failed += n if state in ("failed", "dead") else 0
        suppressed += n if state == "suppressed" else 0
    outbox = Path(demo.rt.settings.senders.outbox.dir)
    return {
        "shipments": dict(sorted(counts["shipments"].items())),
        "notifications": {t: sent[t] for t in TRIGGERS if t in sent},
        "triggers_missing": [t for t in TRIGGERS if t not in sent],
        "duplicates": duplicates(outbox),
        "failed": failed,
        "suppressed": suppressed,
        "outbox": str(outbox.resolve()),
        "wall_seconds": round(seconds, 1),
    }


async def run_demo(base: Settings, console: Console, *, seconds: float, keep_serving: bool) -> int:
    root = base.var_dir / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    local_morning = datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0)
    clock = ScaledClock(local_morning, VIRTUAL_SPAN.total_seconds() / WALL_SPAN)  # 07:30 WIB
    async with serve(now=clock.now) as sim:
        port = _free_port(base.server.host, base.server.port)
        settings = _demo_settings(base, sim.url, port)
        rt = build_runtime(settings, clock)
        upgrade(rt.engine)
        token = secrets.token_urlsafe(24)
        with rt.sessions() as session, session.begin():
            create_merchant(
                session,
                slug="toko-batik-sekar",
                name="Toko Batik Sekar",
                token=token,
                now=clock.now(),
                settings=SHOP_SETTINGS,
            )
        daemon = Daemon(rt, time_compression=clock.scale)
        running = asyncio.create_task(daemon.run())
        demo = Demo(rt, console, token, clock)
        started = time.monotonic()
        try:
            await _wait_listening(daemon)
            await demo.seed()
            _print_links(console, rt, token)
            with Live(console=console, refresh_per_second=4, transient=False) as live:
                while time.monotonic() - started < seconds and not daemon.stop_event.is_set():
                    await demo.follow_ups()
                    counts = await asyncio.to_thread(demo.counts)
                    live.update(demo.view(counts, time.monotonic() - started))
                    if time.monotonic() - started > 5 and demo.settled(counts):
                        break
                    await asyncio.sleep(TICK)
            result = summary(demo, time.monotonic() - started)
            (base.var_dir / "demo-summary.json").write_text(json.dumps(result, indent=2))
            _print_summary(console, result, base.var_dir / "demo-summary.json")
            if keep_serving:
                await _keep_serving(console, rt, token, daemon)
        finally:
            daemon.stop()
            await running
            await demo.api.aclose()
            await rt.aclose()
    return 0 if not result["duplicates"] and not result["failed"] else 1


async def _wait_listening(daemon: Daemon) -> None:
    for _ in range(200):
        if daemon.port:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the web app did not start")


def _print_summary(console: Console, result: dict[str, Any], path: Path) -> None:
    total = sum(sum(ch.values()) for ch in result["notifications"].values())
    console.print(
        f"\n[bold]{total} messages sent[/bold] in {result['wall_seconds']}s "
        f"for {sum(result['shipments'].values())} parcels; "
        f"duplicates {result['duplicates']}, failed {result['failed']}, "
        f"suppressed {result['suppressed']}."
    )
    if result["triggers_missing"]:
        console.print(f"[yellow]no message for: {', '.join(result['triggers_missing'])}[/yellow]")
    console.print(f"outbox: {result['outbox']}\nsummary: {path}")


def _print_links(console: Console, rt: Runtime, token: str) -> None:
    """Where to look while the demo runs: the merchant UI (signed in with the shop's API
    token), one shopper's tracking page, the API docs."""
    with rt.sessions() as session:
        page = session.execute(sa.select(col(Shipment.public_token)).limit(1)).scalar_one()
    url = rt.settings.server.public_url
    console.print(
        f"merchant UI: {url}/admin  (sign in with the shop's API token: {token})\n"
        f"tracking page: {url}/t/{page}\nAPI docs: {url}/docs"
    )


async def _keep_serving(console: Console, rt: Runtime, token: str, daemon: Daemon) -> None:
    _print_links(console, rt, token)
    console.print("(Ctrl-C to stop)")
    with contextlib.suppress(asyncio.CancelledError):
        await daemon.stop_event.wait()
