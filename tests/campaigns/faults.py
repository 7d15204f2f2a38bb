"""The fault campaign: one daemon (in this process, on SQLite) while the carriers and the
providers misbehave in every way they do.

Three shops: one tracked through UPS's wire format (OAuth tokens that expire on the simulator's
accelerated clock, so they expire all the time), one through FedEx's, one through the
simulator's own API. The simulator's fault plan changes by phase: UPS answers with 5xx, 429
with Retry-After, timeouts, resets, truncated and garbage bodies, slow answers and refused
tokens; then FedEx goes down completely (its circuit must open, stay quiet, and close once it
is back); then UPS misbehaves again. The SendGrid and Twilio stand-ins fail, rate-limit with
Retry-After, time out and answer slowly all along.

Checked: the daemon never crashes; every notification ends sent, suppressed, failed or dead,
each unsent one with its reason; Retry-After is honoured (no UPS request while its pause runs,
no retry of a rate-limited send before its Retry-After); FedEx's circuit opens, makes no call
while open, and closes; the calm shop never sees a failure; snapshots taken all along never
show a half-applied poll; nothing lost, and a message twice only where the provider timed out
after taking it (the one send whose outcome we cannot know). The checks after the run are in
:mod:`tests.campaigns.fault_checks`.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from carriers.simulator import formats
from carriers.simulator.server import create_app, serve_in_thread
from notifier import logs
from notifier.clock import ScaledClock
from notifier.pipeline import circuit
from notifier.runtime import build_runtime
from notifier.scheduler import Daemon
from notifier.settings import Settings
from notifier.testing_providers import SendgridStandIn, Served, TwilioStandIn, serve
from tests.campaigns import fault_checks as checks
from tests.campaigns.common import (
    Shop,
    audit,
    database,
    release,
    seed,
    settled,
    snapshot_check,
    watcher,
    workers_up,
)

START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
JOURNEYS = ("SIMNRM", "SIMFAT", "SIMPUP", "SIMETA", "SIMNRM", "SIMRTS")
CHANNELS = ("email", "sms")
RETRY_AFTER = 2  # s a rate-limited carrier asks for
TIMEOUT = 1.0  # s, carriers' and providers' socket timeout
COOLDOWN = 1.0  # s the circuit stays open first (doubling up to MAX_COOLDOWN)
MAX_COOLDOWN = 4.0
UPS_MIXED = [
    {"kind": "server_error", "probability": 0.06, "status": 503},
    {"kind": "rate_limit", "probability": 0.03, "retry_after": RETRY_AFTER},
    {"kind": "timeout", "probability": 0.03, "delay": 3.0},
    {"kind": "reset", "probability": 0.04},
    {"kind": "truncated", "probability": 0.04},
    {"kind": "garbage", "probability": 0.04},
    {"kind": "slow", "probability": 0.05, "delay": 0.3},
    {"kind": "auth", "probability": 0.02},
]
FEDEX_DOWN = [{"kind": "reset", "probability": 0.7}, {"kind": "server_error", "status": 502}]


@dataclass
class FaultPlan:
    parcels: int = 120  # over three shops
    scale: float = 20_000.0
    phase: float = 7.0  # s per fault phase (four phases)
    settle: float = 60.0  # s for everything to end after the faults stop
    seed: int = 7


@dataclass
class FaultReport:
    faults: dict[str, int] = field(default_factory=dict)
    expired_tokens: int = 0
    provider_faults: Counter[str] = field(default_factory=Counter)
    cycles: dict[str, list[str]] = field(default_factory=dict)
    circuits: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests_while_open: list[str] = field(default_factory=list)
    requests_during_retry_after: list[str] = field(default_factory=list)
    rate_limited_carrier: int = 0
    send_retry_after: list[str] = field(default_factory=list)  # retried too early
    rate_limited_sends: int = 0
    attempt_rows_overwritten: int = 0  # see fault_checks.check_send_retry_after
    calm_failures: int = 0
    job_crashes: int = 0
    daemon_exit: int | None = None
    settled: bool = False
    snapshots: int = 0
    half_applied: list[str] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    ended: dict[str, int] = field(default_factory=dict)
    latency_h: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        injected = sum(self.faults.values()) + sum(self.provider_faults.values())
        return {
            "campaign": "faults",
            "faults_injected": injected + self.expired_tokens,
            "carrier_faults": self.faults,
            "expired_tokens": self.expired_tokens,
            "provider_faults": dict(self.provider_faults),
            "circuits": self.circuits,
            "requests_while_open": len(self.requests_while_open),
            "carrier_429s": self.rate_limited_carrier,
            "requests_inside_retry_after": len(self.requests_during_retry_after),
            "rate_limited_sends": self.rate_limited_sends,
            "sends_retried_before_retry_after": len(self.send_retry_after),
            "attempt_rows_overwritten": self.attempt_rows_overwritten,
            "calm_shop_failed_calls": self.calm_failures,
            "job_crashes": self.job_crashes,
            "daemon_exit": self.daemon_exit,
            "settled": self.settled,
            "snapshots_checked": self.snapshots,
            "half_applied": len(self.half_applied),
            "ended": self.ended,
            "delivered_email_latency_h_p90": self.latency_h,
            **self.audit,
            "seconds": round(self.seconds, 1),
        }


class Recording:
    """The simulator app, with every answer's (monotonic time, path, status, Retry-After)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log: list[tuple[float, str, int, str | None]] = []
        self.arrivals: list[tuple[float, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.arrivals.append((time.monotonic(), path))

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                wait = headers.get(b"retry-after")
                status = int(message["status"])
                self.log.append((time.monotonic(), path, status, wait and wait.decode()))
            await send(message)

        await self.app(scope, receive, sending)


def run(plan: FaultPlan, folder: Path) -> FaultReport:
    report = FaultReport()
    rng = random.Random(plan.seed)
    began = time.monotonic()
    shops = [
        Shop("ups-shop", carrier="ups", channels=CHANNELS, numbers=_numbers),
        Shop("fedex-shop", carrier="fedex", channels=CHANNELS, numbers=_numbers),
        Shop("calm-shop", carrier="simulator", channels=CHANNELS, numbers=_numbers),
    ]
    crashes_before = checks.metric("notifier_job_failures_total")
    logs.configure("CRITICAL", "json")  # thousands of expected failures: figures tell the story
    with (
        database("sqlite", folder) as url,
        serve(SendgridStandIn()) as sendgrid,
        serve(TwilioStandIn()) as twilio,
    ):
        ids = seed(url, shops, plan.parcels, START)
        clock = ScaledClock(START, plan.scale, time.time())
        sim_app = Recording(create_app(clock.now))
        with serve_in_thread(app=sim_app) as sim:
            settings = _settings(url, folder, sim.url, sendgrid, twilio)
            rt = build_runtime(settings, clock)
            carriers = circuit.protect(rt, _breaker)
            look = watcher(url)
            running = _start(rt)
            try:
                _wait(lambda: bool(workers_up(look)), 60.0)
                release(look, clock.now())
                calm_before = checks.calm_failures()
                _phases(plan, rng, sim_app, sendgrid, twilio, look, report)
                deadline = time.monotonic() + plan.settle
                while not settled(look) and time.monotonic() < deadline:
                    _snapshot(look, report)
                    time.sleep(0.5)
                report.settled = settled(look)
                report.calm_failures = checks.calm_failures() - calm_before
            finally:
                _stop(running)
            report.daemon_exit = running.exit_code[0] if running.exit_code else None
            _snapshot(look, report)
            look.dispose()
            stats = sim_app.app.stats()
        report.faults = dict(stats["faults"])
        report.expired_tokens = sum(w.get("auth_refused", 0) for w in stats["wire"].values())
        report.circuits = {
            c: {"opened": b.opened, "closed": b.closed, "refused": b.refused, "state": b.state}
            for c, b in carriers.breakers.items()
        }
        checks.check_circuit(carriers.breakers["fedex"], sim_app, report)
        checks.check_retry_after(sim_app, report)
        checks.check_send_retry_after(url, report)
        received = checks.received_by_key(url, sendgrid.app, twilio.app)
        result = audit(url, received, {ids[s.slug]: CHANNELS for s in shops}, checks.timed_out(url))
        report.ended = result.states
        report.latency_h = checks.latency(url, ids)
    report.job_crashes = int(checks.metric("notifier_job_failures_total") - crashes_before)
    report.audit = result.figures()
    report.lost = result.lost + result.unreasoned
    report.unexplained = result.unexplained
    report.seconds = time.monotonic() - began
    return report


def _numbers(i: int) -> str:
    return f"{JOURNEYS[i % len(JOURNEYS)]}{i:05d}"


def _breaker(carrier: str) -> circuit.Breaker:
    return circuit.Breaker(carrier, cooldown=COOLDOWN, max_cooldown=MAX_COOLDOWN)


def _settings(
    url: str,
    folder: Path,
    sim_url: str,
    sendgrid: Served[SendgridStandIn],
    twilio: Served[TwilioStandIn],
) -> Settings:
    fast = {"rate": 200.0, "max_concurrency": 8, "timeout": TIMEOUT}
    return Settings(
        database_url=url,
        var_dir=folder / "var",
        poll={"interval": 0.2, "chunk_size": 60, "lease": 30.0, "request_timeout": TIMEOUT},
        dispatch={
            "interval": 0.2,
            "batch_size": 25,
            "concurrency": 8,
            "lease": 30.0,
            "sender_pause": 1.0,
        },
        workers={"heartbeat": 0.5, "dead_after": 3.0},
        senders={
            "email": "sendgrid",
            "sms": "twilio_sms",
            "sendgrid": {
                "api_base": sendgrid.url,
                "api_key": sendgrid.app.api_key,
                "from_email": "toko@example.co.id",
                "timeout": TIMEOUT,
            },
            "twilio": {
                "api_base": twilio.url,
                "account_sid": twilio.app.account_sid,
                "auth_token": twilio.app.auth_token,
                "sms_from": "+15005550006",
                "timeout": TIMEOUT,
            },
        },
        carriers={
            "ups": {**formats.settings(sim_url, "ups"), **fast},
            "fedex": {**formats.settings(sim_url, "fedex"), **fast},
            "simulator": {"api_base": sim_url, **fast},
        },
    )


@dataclass
class Running:
    """The daemon on a loop of its own thread (the test's thread drives the faults)."""

    daemon: Daemon
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    exit_code: list[int]


def _start(rt: Any) -> Running:
    made: list[tuple[Daemon, asyncio.AbstractEventLoop]] = []
    code: list[int] = []
    ready = threading.Event()

    async def main() -> None:
        daemon = Daemon(rt, serve_http=False)
        made.append((daemon, asyncio.get_running_loop()))
        ready.set()
        try:
            code.append(await daemon.run())
        finally:
            await rt.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="daemon", daemon=True)
    thread.start()
    ready.wait(30)
    return Running(made[0][0], made[0][1], thread, code)


def _stop(running: Running) -> None:
    running.loop.call_soon_threadsafe(running.daemon.stop)
    running.thread.join(60)


def _phases(
    plan: FaultPlan,
    rng: random.Random,
    sim: Recording,
    sendgrid: Served[SendgridStandIn],
    twilio: Served[TwilioStandIn],
    look: sa.Engine,
    report: FaultReport,
) -> None:
    """UPS mixed, FedEx down, UPS mixed again, calm; provider faults all along."""
    phases = [
        {"seed": plan.seed, "paths": ["/ups/track"], "faults": UPS_MIXED},
        {"seed": plan.seed, "paths": ["/fedex"], "faults": FEDEX_DOWN},
        {"seed": plan.seed + 1, "paths": ["/ups/track"], "faults": UPS_MIXED},
        {"faults": []},
    ]
    for phase in phases:
        sim.app.set_faults(phase)  # a plain attribute swap: safe from this thread
        until = time.monotonic() + plan.phase
        while time.monotonic() < until:
            if phase["faults"]:
                _provider_fault(rng, sendgrid.app, twilio.app, report)
            _snapshot(look, report)
            time.sleep(0.25)


def _provider_fault(
    rng: random.Random, sendgrid: SendgridStandIn, twilio: TwilioStandIn, report: FaultReport
) -> None:
    """Queue the next fault of a shuffled cycle on a provider that has none pending."""
    app: Any = rng.choice([sendgrid, twilio])
    if app._faults:  # let the pending one fire first
        return
    name = "sendgrid" if app is sendgrid else "twilio"
    cycle = report.cycles.setdefault(name, [])
    if not cycle:
        cycle += ["5xx", "5xx", "429", "timeout", "slow", "auth"]
        rng.shuffle(cycle)
    kind = cycle.pop()
    if kind == "5xx":
        app.fail_next(2, status=rng.choice([500, 502, 503]))
    elif kind == "429":
        app.fail_next(1, status=429, headers={"Retry-After": str(checks.SEND_RETRY_AFTER)})
    elif kind == "timeout":  # answered (and taken) after we gave up
        app.hang_next(TIMEOUT * 2.5)
    elif kind == "slow":
        app.hang_next(TIMEOUT * 0.3)
    else:  # credentials refused (a rotated key): the sender pauses, the messages wait
        app.fail_next(1, status=401)
    report.provider_faults[f"{name}:{kind}"] += 1


def _snapshot(look: sa.Engine, report: FaultReport) -> None:
    report.snapshots += 1
    report.half_applied += snapshot_check(look)


def _wait(ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.1)
