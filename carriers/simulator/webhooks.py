"""Push notifications: the simulator tells a webhook URL when a registered number changes.

Each change (a new scan, a new ETA, expiry) of a watched number is posted once, as the clock
passes it::

    POST <webhook_url>
    X-Simulator-Signature: sha256=<hex HMAC-SHA256 of the body>     (when a secret is set)
    {"event": "tracking.updated", "tracking_number": "SIMNRM0001",
     "status_code": "OUT_FOR_DELIVERY", "occurred_at": "2026-11-28T08:59:32+07:00"}

The receiver then tracks the number as usual (the push carries no events, like most
aggregators' "tracking updated" hooks). Delivery is best effort: one attempt per change,
failures are counted in the stats, never retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import json
import logging
from bisect import bisect_right
from collections.abc import Callable

import httpx

from carriers.simulator.registry import Registration, local_iso

log = logging.getLogger(__name__)

TICK = 0.05  # s of wall time between looks at the clock
TIMEOUT = 5.0  # s per webhook POST
MAX_IN_FLIGHT = 16  # webhook POSTs at once


class Webhooks:
    """Watches registrations and posts their changes as virtual time passes them."""

    def __init__(
        self,
        url: str,
        now: Callable[[], float],
        *,
        secret: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.now = now
        self._secret = secret.encode() if secret else None
        self._client = client
        self._own_client = client is None
        self._due: list[tuple[float, int, Registration]] = []
        self._order = 0  # heap tie-breaker: registrations do not compare
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0

    def watch(self, entry: Registration, after: float) -> None:
        """Post the first change of ``entry`` later than ``after``, and each one after it."""
        changes = entry.compiled.changes
        upcoming = bisect_right(changes, after)
        if upcoming < len(changes):
            self._order += 1
            heapq.heappush(self._due, (changes[upcoming], self._order, entry))

    async def tick(self) -> int:
        """Post every change the clock has passed since the last tick; returns how many."""
        now = self.now()
        batch: list[tuple[float, Registration]] = []
        while self._due and self._due[0][0] <= now:
            _, _, entry = heapq.heappop(self._due)
            # Several changes passed in one tick make one post, about the latest of them.
            changes = entry.compiled.changes
            batch.append((changes[bisect_right(changes, now) - 1], entry))
            self.watch(entry, now)
        await asyncio.gather(*(self._post(when, entry) for when, entry in batch))
        return len(batch)

    async def _post(self, when: float, entry: Registration) -> None:
        payload = {
            "event": "tracking.updated",
            "tracking_number": entry.number,
            "status_code": entry.compiled.status_code(when),
            "occurred_at": local_iso(when),
        }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            digest = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
            headers["X-Simulator-Signature"] = f"sha256={digest}"
        async with self._slots:
            try:
                resp = await self._http().post(self.url, content=body, headers=headers)
                resp.raise_for_status()
            except httpx.HTTPError as err:
                self.failed += 1
                log.warning("webhook for %s failed: %s", entry.number, err)
                return
        self.sent += 1

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT)
        return self._client

    def start(self) -> None:
        """Run :meth:`tick` in the background of the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="simulator-webhooks")

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the push loop must outlive one bad tick
                log.exception("webhook tick failed")
            await asyncio.sleep(TICK)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
