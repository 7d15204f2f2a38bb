"""Carrier push tests: the whole app over ASGI, webhook secrets made here, signed bodies."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlmodel import col, func, select

from carriers import webhooks
from notifier.runtime import Runtime
from notifier.settings import CarrierSettings
from notifier.store.models import Notification, Shipment, TrackingEvent
from notifier.web.app import create_app

SAMPLES = Path(__file__).parent.parent / "carriers" / "samples"
SECRETS = {c: secrets.token_urlsafe(24) for c in webhooks.SCHEMES}


@pytest.fixture
def hooks_rt(rt: Runtime) -> Runtime:
    """The runtime with a webhook secret for every carrier that pushes."""
    for carrier, secret in SECRETS.items():
        rt.settings.carriers[carrier] = CarrierSettings(api_key="key", webhook_secret=secret)
    return rt


@pytest.fixture
async def client(hooks_rt: Runtime, merchant: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(hooks_rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def signed(carrier: str, body: bytes) -> dict[str, str]:
    scheme = webhooks.SCHEMES[carrier]
    assert scheme.header and scheme.sign
    return {scheme.header: scheme.sign(body, SECRETS[carrier]), "Content-Type": "application/json"}


async def post(client: httpx.AsyncClient, carrier: str, body: bytes) -> httpx.Response:
    return await client.post(
        f"/webhooks/carriers/{carrier}", content=body, headers=signed(carrier, body)
    )


def sample(path: str) -> bytes:
    return (SAMPLES / path).read_bytes()


def aftership_push(tracking: dict[str, Any] | None = None) -> bytes:
    """AfterShip's webhook envelope around a tracking (the real sample by default)."""
    if tracking is None:
        doc = json.loads(sample("aftership/get-tracking-delivered-fedex-111111111111.json"))
        tracking = doc["data"]["tracking"]
    envelope = {"event": "tracking_update", "event_id": "7c8e0a", "msg": tracking, "ts": 1532513400}
    return json.dumps(envelope).encode()


def update(rt: Runtime, shipment_id: int | None, **values: Any) -> None:
    """Set columns of a shipment the factory does not take (next_check_at, lease...)."""
    with rt.sessions() as session, session.begin():
        row = session.get(Shipment, shipment_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def state(rt: Runtime, shipment_id: int | None) -> dict[str, Any]:
    """What a push may change: the shipment row, its events and its notifications."""
    with rt.sessions() as session:
        sh = session.get(Shipment, shipment_id)
        assert sh is not None
        events = session.exec(
            select(func.count()).where(col(TrackingEvent.shipment_id) == shipment_id)
        ).one()
        notes = session.exec(
            select(Notification.trigger, Notification.channel, Notification.state)
            .where(col(Notification.shipment_id) == shipment_id)
            .order_by(col(Notification.id))
        ).all()
        return {
            "status": sh.status,
            "eta": sh.eta,
            "last_event_at": sh.last_event_at,
            "next_check_at": sh.next_check_at,
            "lease_owner": sh.lease_owner,
            "events": events,
            "notifications": [tuple(n) for n in notes],
        }


class AppServer:
    """The notifier web app under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_config=None, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="notifier-app", daemon=True)
        self.url = ""

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def app_server(hooks_rt: Runtime, merchant: Any) -> Iterator[AppServer]:
    with AppServer(create_app(hooks_rt)) as server:
        yield server
