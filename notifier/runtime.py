"""What the stages need to run, built once at the entry point and passed down."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from carriers.base import CarrierAdapter
from notifier.clock import Clock
from notifier.errors import ConfigError
from notifier.plugins import load_carrier, load_sender
from notifier.senders.base import Sender
from notifier.settings import Settings
from notifier.store.db import make_engine, session_factory
from notifier.templating import Templates
from notifier.transport import AiohttpTransport

log = structlog.get_logger(__name__)


def worker_id() -> str:
    """A name for this process in leases: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Carriers:
    """One adapter per carrier id, created on first use with that carrier's account settings."""

    settings: Settings
    client: httpx.AsyncClient
    _adapters: dict[str, CarrierAdapter] = field(default_factory=dict)

    def install(self, carrier: str, adapter: CarrierAdapter) -> None:
        """Use ``adapter`` for ``carrier`` (tests, the demo's in-process simulator)."""
        self._adapters[carrier] = adapter

    def get(self, carrier: str) -> CarrierAdapter:
        """The adapter for ``carrier``; KeyError if no such carrier is installed."""
        if carrier not in self._adapters:
            cls = load_carrier(carrier)
            account = self.settings.carriers.get(carrier)
            config = account.adapter_config() if account else {}
            if carrier == "simulator" and not config.get("api_base"):
                sim = self.settings.simulator
                config["api_base"] = f"http://{sim.host}:{sim.port}"
            self._adapters[carrier] = cls(config, client=self.client)
        return self._adapters[carrier]

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            await adapter.aclose()
        await self.client.aclose()


@dataclass
class Senders:
    """One sender per channel, as the settings name them."""

    settings: Settings
    _by_id: dict[str, Sender] = field(default_factory=dict)

    def install(self, channel: str, sender: Sender) -> None:
        """Use ``sender`` for ``channel`` whatever the settings say (tests)."""
        self._by_id[f"channel:{channel}"] = sender

    def for_channel(self, channel: str, choice: str | None = None) -> Sender:
        """The sender for ``channel``: the merchant's ``choice`` (a sender id) when given, else
        the service's. Raises KeyError/ImportError for an unknown sender, ConfigError for one
        that cannot carry the channel."""
        if f"channel:{channel}" in self._by_id:
            return self._by_id[f"channel:{channel}"]
        sender_id = choice or getattr(self.settings.senders, channel)
        if sender_id not in self._by_id:
            cls = load_sender(sender_id)
            self._by_id[sender_id] = cls(self.settings.senders.section(sender_id), self.settings)
        sender = self._by_id[sender_id]
        if channel not in getattr(sender, "channels", {channel}):
            raise ConfigError(f"sender {sender_id} cannot send {channel}")
        return sender

    async def aclose(self) -> None:
        for sender in self._by_id.values():
            await sender.aclose()


@dataclass
class Runtime:
    """Settings, clock, database, carriers, senders and templates of one process."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: Callable[[], Session]
    carriers: Carriers
    senders: Senders
    templates: Templates
    worker: str
    extra: dict[str, Any] = field(default_factory=dict)

    def span(self, seconds: float) -> timedelta:
        """A wall-time duration (a lease, a pause) on this runtime's clock: under the demo's
        accelerated clock a 300 s lease must still last 300 wall seconds."""
        return timedelta(seconds=seconds * getattr(self.clock, "scale", 1.0))

    async def aclose(self) -> None:
        await self.carriers.aclose()
        await self.senders.aclose()
        self.engine.dispose()


def carrier_client(settings: Settings) -> httpx.AsyncClient:
    """The one HTTP client every carrier adapter shares: httpx's API over aiohttp's transport
    (about 1.5-3x the request rate of httpx's own pool on the sweep's 20-60 KB answers, measured
    in docs/performance.md), with room for the sweep's concurrency plus token and stop calls."""
    limits = httpx.Limits(max_connections=max(20, settings.poll.concurrency * 2))
    return httpx.AsyncClient(
        timeout=settings.poll.request_timeout, limits=limits, transport=AiohttpTransport(limits)
    )


def build_runtime(settings: Settings, clock: Clock, *, engine: Engine | None = None) -> Runtime:
    engine = engine or make_engine(settings.database_url)
    client = carrier_client(settings)
    return Runtime(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=session_factory(engine),
        carriers=Carriers(settings, client),
        senders=Senders(settings),
        templates=Templates(),
        worker=worker_id(),
    )
