"""The simulator's push webhooks: one signed POST per change, as virtual time passes it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from carriers.simulator.registry import local_iso
from carriers.simulator.server import create_app, serve

START = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
SECRET = "hook-secret"


class Clock:
    def __init__(self) -> None:
        self.t = START

    def now(self) -> datetime:
        return self.t


class Receiver:
    """Records the webhook POSTs; answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.posts: list[tuple[dict[str, Any], httpx.Headers, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posts.append((json.loads(request.content), request.headers, request.content))
        return httpx.Response(self.status)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


async def test_each_change_is_posted_once_and_signed() -> None:
    clock, hooks = Clock(), Receiver()
    app = create_app(
        clock.now,
        webhook_url="http://shop.test/hooks/carrier",
        webhook_secret=SECRET,
        webhook_client=hooks.client(),
    )
    assert app.webhooks is not None
    entry = app.register("SIMFAT000001")
    assert await app.webhooks.tick() == 0  # registering is not news
    changes = [t for t in entry.compiled.changes if t > START.timestamp()]
    for moment in changes:
        clock.t = datetime.fromtimestamp(moment, UTC)
        assert await app.webhooks.tick() == 1
        assert await app.webhooks.tick() == 0
    assert [p["occurred_at"] for p, _, _ in hooks.posts] == [local_iso(t) for t in changes]
    codes = [p["status_code"] for p, _, _ in hooks.posts]
    assert codes[-1] == "DELIVERED" and "DELIVERY_FAILED" in codes
    for payload, headers, raw in hooks.posts:
        assert payload["event"] == "tracking.updated"
        assert payload["tracking_number"] == "SIMFAT000001"
        expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Simulator-Signature"] == f"sha256={expected}"
    assert app.stats()["webhooks_sent"] == len(changes)
    await app.shutdown()


async def test_a_jump_over_several_changes_posts_once_per_number() -> None:
    clock, hooks = Clock(), Receiver()
    app = create_app(clock.now, webhook_url="http://shop.test/h", webhook_client=hooks.client())
    assert app.webhooks is not None
    for i in range(5):
        app.register(f"SIMNRM{i:06d}")
    clock.t += timedelta(days=1)
    assert await app.webhooks.tick() == 5
    assert {p["tracking_number"] for p, _, _ in hooks.posts} == {f"SIMNRM{i:06d}" for i in range(5)}
    await app.shutdown()


async def test_failed_deliveries_are_counted_not_retried() -> None:
    clock, hooks = Clock(), Receiver(status=500)
    app = create_app(clock.now, webhook_url="http://shop.test/h", webhook_client=hooks.client())
    assert app.webhooks is not None
    app.register("SIMNRM000001")
    clock.t += timedelta(hours=12)
    await app.webhooks.tick()
    assert app.stats()["webhooks_failed"] == 1 and app.stats()["webhooks_sent"] == 0
    await app.shutdown()


async def test_a_served_simulator_pushes_by_itself() -> None:
    clock, hooks = Clock(), Receiver()
    async with serve(
        now=clock.now, webhook_url="http://shop.test/h", webhook_client=hooks.client()
    ) as sim:
        sim.app.register("SIMPUP000001")
        clock.t += timedelta(days=5)
        for _ in range(100):
            if hooks.posts:
                break
            await asyncio.sleep(0.02)
    assert hooks.posts and hooks.posts[0][0]["status_code"] == "COLLECTED"
