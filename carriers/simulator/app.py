"""The carrier simulator's HTTP API as a plain ASGI application (no framework: it must be fast).

API (JSON; the API key, when one is configured, goes in ``X-Api-Key``)::

    POST /v1/trackings  {"trackings": [{"tracking_number", "journey"?, "registered_at"?}]}
         -> {"data": [{"tracking_number", "journey", "registered_at", "created"}],
             "errors": [{"tracking_number", "code", "message"}]}        (up to 10,000 a call)
    POST /v1/track      {"tracking_numbers": [...]}                     (up to 40 a call)
         -> {"data": [{"tracking_number", "status_code", "status_text", "estimated_delivery",
                       "events": [{"time", "code", "description", "location"}]}],  newest first
             "errors": [{"tracking_number", "code": "NOT_FOUND" | "INVALID_NUMBER", "message"}]}
    GET  /v1/clock      -> {"now": "<ISO-8601 UTC>"}

    POST/GET/DELETE /v1/_faults    the fault plan (see carriers.simulator.faults)
    GET/DELETE      /v1/_stats     request counters (DELETE resets them)

Every carrier's own API is served too, under a path prefix per carrier id (``/ups/...``,
``/fedex/...``, ``/17track/...``: see :mod:`carriers.simulator.formats`), over the same parcels,
clock, fault plan and quota, so the real adapters run against it unchanged.

Whole-request errors are ``{"error": {"code", "message"}}`` with 400, 401, 404, 405, 413 or 429
(429 carries ``Retry-After`` in seconds; it comes from a fault or from the optional request
quota). Event times are ISO-8601 in Asia/Jakarta (``+07:00``), the ETA a date or null, codes in
:data:`carriers.simulator.journeys.STATUS_TEXT`.

A number with the ``SIM`` prefix registers itself when first tracked (registration time = now);
any other unregistered number is ``NOT_FOUND``. Registering again keeps the first registration
(``"created": false``). Control endpoints (``/v1/_*``, ``/v1/clock``) need no key, are never
faulted and are not counted.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from carriers.simulator.asgi import (
    ApiError,
    Receive,
    Response,
    Scope,
    Send,
    error,
    ok,
    parse_json,
    read_body,
    reset,
    respond,
    too_many,
)
from carriers.simulator.clock import Quota, ScaledWallClock, Stats
from carriers.simulator.faults import FaultKind, FaultPlan, FaultRule
from carriers.simulator.formats import Wire
from carriers.simulator.formats.base import Format, Request, World
from carriers.simulator.journeys import Journey, number_key
from carriers.simulator.registry import (
    Registration,
    Registry,
    auto_registers,
    valid_key,
    valid_number,
)
from carriers.simulator.webhooks import Webhooks

log = logging.getLogger(__name__)

MAX_TRACK_BATCH = 40  # numbers per POST /v1/track, as documented above
MAX_REGISTER_BATCH = 10_000  # numbers per POST /v1/trackings


class SimulatorApp:
    """The simulator as an ASGI 3 application.

    ``now`` returns aware UTC datetimes (a demo's shared accelerated clock, a test's steppable
    clock); without it, a wall clock running ``scale`` times faster from the start is used.
    ``rate_limit``: answer 429 beyond that many API requests per second of that clock.

    The registry, fault plan and webhooks belong to the loop that serves the app: from another
    thread, use the HTTP API (or the adapter's ``register``) rather than :meth:`register`.
    """

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        *,
        api_key: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        rate_limit: float | None = None,
        scale: float = 1.0,
        accounts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.now = now or ScaledWallClock(scale=scale).now
        self.quota = Quota(rate_limit, self._timestamp()) if rate_limit else None
        self._api_key = api_key.encode() if api_key else None
        self.registry = Registry()
        self.counters = Stats()
        self.faults = FaultPlan()
        self.webhooks = (
            Webhooks(webhook_url, self._timestamp, secret=webhook_secret, client=webhook_client)
            if webhook_url
            else None
        )
        self._closing: asyncio.Event | None = None
        world = World(self.registry, self._first_sight, self._timestamp)
        self.wire = Wire(world, accounts, self._tally)

    def __repr__(self) -> str:  # never show the key
        return (
            f"SimulatorApp(registered={len(self.registry)}, key={'set' if self._api_key else None})"
        )

    def _timestamp(self) -> float:
        return self.now().timestamp()

    # Direct use (the demo seeds an in-process simulator without HTTP) ---------------------------

    def register(
        self,
        number: str,
        journey: Journey | str | None = None,
        registered_at: datetime | None = None,
    ) -> Registration:
        """Register one number (idempotent); ValueError for an unknown journey or a naive time."""
        if registered_at is not None and registered_at.tzinfo is None:
            raise ValueError("registered_at must be timezone-aware")
        now = self._timestamp()
        at = registered_at.timestamp() if registered_at else now
        entry, created = self.registry.register(number, at, journey)
        if created and self.webhooks is not None:
            self.webhooks.watch(entry, max(now, at))
        return entry

    def _first_sight(self, number: str) -> Registration:
        """A simulator number asked for on a wire format registers itself, as on /v1/track."""
        self.counters.auto_registered += 1
        return self.register(number)

    def _tally(self, carrier: str, name: str, n: int) -> None:
        counts = self.counters.wire.setdefault(carrier, {})
        counts[name] = counts.get(name, 0) + n

    def set_faults(self, plan: dict[str, Any]) -> FaultPlan:
        """Replace the fault plan (its JSON form); ValueError for a bad plan."""
        self.faults = FaultPlan.from_json(plan)
        return self.faults

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self.counters)
        out["registered"] = len(self.registry)
        out["webhooks_sent"] = self.webhooks.sent if self.webhooks else 0
        out["webhooks_failed"] = self.webhooks.failed if self.webhooks else 0
        return out

    # ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Start pushing webhooks (if configured) on the running loop."""
        self._closing = asyncio.Event()
        if self.webhooks is not None:
            self.webhooks.start()

    async def shutdown(self) -> None:
        """Release hanging requests and stop the webhooks."""
        if self._closing is not None:
            self._closing.set()
        if self.webhooks is not None:
            await self.webhooks.stop()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        try:
            body = await read_body(receive)
        except ApiError as err:
            await respond(send, *error(err.status, err.code, err.message))
            return
        if path.startswith("/v1/_") or path == "/v1/clock":
            await respond(send, *self._answer(self._control, scope, body))
            return
        routed = None if path.startswith("/v1/") else self.wire.route(scope, body)
        if routed is not None:
            await self._wire(*routed, receive, send)
            return
        self.counters.requests += 1
        rule = self.faults.draw(path)
        if rule is None:
            await respond(send, *self._answer(self._api, scope, body))
        else:
            await self._fault(rule, receive, send, lambda: self._answer(self._api, scope, body))

    async def _wire(self, fmt: Format, request: Request, receive: Receive, send: Send) -> None:
        """One request to a carrier's own API: the same fault plan and quota as /v1/track."""
        self.counters.requests += 1
        name = Wire.fault_target(fmt, request, self.faults.paths)
        rule = self.faults.draw(name) if name is not None else None
        if rule is None:
            await respond(send, *self._wire_answer(fmt, request))
        elif rule.kind in (FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.AUTH):
            self._count_fault(rule)
            status, payload, headers = fmt.fault(rule.kind.value, rule.status, request)
            if rule.kind is FaultKind.RATE_LIMIT:
                headers = [*headers, _retry_after(rule.retry_after)]
            await respond(send, status, payload, headers)
        else:
            await self._fault(rule, receive, send, lambda: self._wire_answer(fmt, request))

    def _wire_answer(self, fmt: Format, request: Request) -> Response:
        if self.quota is not None:
            wait = self.quota.take(self._timestamp())
            if wait:
                self.counters.throttled += 1
                status, payload, headers = fmt.fault("rate_limit", 429, request)
                return status, payload, [*headers, _retry_after(wait)]
        return fmt.answer(request)

    @staticmethod
    def _answer(handler: Callable[[Scope, bytes], Response], scope: Scope, body: bytes) -> Response:
        try:
            return handler(scope, body)
        except ApiError as err:
            return error(err.status, err.code, err.message)

    def _api(self, scope: Scope, body: bytes) -> Response:
        path = scope["path"]
        handler = {"/v1/track": self._track, "/v1/trackings": self._register}.get(path)
        if handler is None:
            raise ApiError(404, "NOT_FOUND", f"no such endpoint: {path}")
        if scope["method"] != "POST":
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{path} takes POST")
        self._check_key(scope)
        if self.quota is not None:
            wait = self.quota.take(self._timestamp())
            if wait:
                self.counters.throttled += 1
                return too_many(wait, "request quota exceeded")
        return handler(parse_json(body))

    def _check_key(self, scope: Scope) -> None:
        if self._api_key is None:
            return
        given = next((v for k, v in scope["headers"] if k == b"x-api-key"), b"")
        if not hmac.compare_digest(given, self._api_key):
            raise ApiError(401, "UNAUTHORIZED", "invalid or missing API key (X-Api-Key)")

    def _track(self, payload: Any) -> Response:
        self.counters.track_requests += 1
        numbers = payload.get("tracking_numbers") if isinstance(payload, dict) else None
        if not isinstance(numbers, list) or not numbers:
            raise ApiError(400, "BAD_REQUEST", "tracking_numbers must be a non-empty list")
        if len(numbers) > MAX_TRACK_BATCH:
            raise ApiError(
                400, "BATCH_TOO_LARGE", f"at most {MAX_TRACK_BATCH} tracking_numbers per request"
            )
        if not all(isinstance(n, str) for n in numbers):
            raise ApiError(400, "BAD_REQUEST", "tracking_numbers must be strings")
        now = self._timestamp()
        items: list[bytes] = []
        errors: list[dict[str, str]] = []
        for number in numbers:
            entry = self._lookup(number, errors)
            if entry is not None:
                items.append(entry.compiled.render(now))
        self.counters.numbers_tracked += len(numbers)
        body = b'{"data":[%s],"errors":%s}' % (b",".join(items), json.dumps(errors).encode())
        return 200, body, []

    def _lookup(self, number: str, errors: list[dict[str, str]]) -> Registration | None:
        key = number_key(number)
        entry = self.registry.get_key(key)
        if entry is not None:
            return entry
        if not valid_key(key):
            self.counters.numbers_invalid += 1
            errors.append(_item_error(number, "INVALID_NUMBER", "not a valid tracking number"))
            return None
        if auto_registers(key):
            self.counters.auto_registered += 1
            entry = self.register(number)
        if entry is None:
            self.counters.numbers_not_found += 1
            errors.append(_item_error(number, "NOT_FOUND", "tracking number is not registered"))
        return entry

    def _register(self, payload: Any) -> Response:
        self.counters.register_requests += 1
        rows = payload.get("trackings") if isinstance(payload, dict) else None
        if not isinstance(rows, list) or not rows:
            raise ApiError(400, "BAD_REQUEST", "trackings must be a non-empty list")
        if len(rows) > MAX_REGISTER_BATCH:
            raise ApiError(400, "BATCH_TOO_LARGE", f"at most {MAX_REGISTER_BATCH} trackings")
        data, errors = [], []
        for row in rows:
            try:
                data.append(self._register_one(row))
            except ValueError as err:
                number = row.get("tracking_number") if isinstance(row, dict) else None
                errors.append(_item_error(number, "INVALID_REQUEST", str(err)))
        return 200, json.dumps({"data": data, "errors": errors}).encode(), []

    def _register_one(self, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict) or not isinstance(row.get("tracking_number"), str):
            raise ValueError("each tracking needs a tracking_number string")
        number = row["tracking_number"]
        if not valid_number(number):
            raise ValueError("not a valid tracking number")
        journey = row.get("journey")
        if journey is not None and journey not in Journey.__members__.values():
            raise ValueError(f"journey must be one of {', '.join(j.value for j in Journey)}")
        at = _parse_time(row.get("registered_at"))
        known = self.registry.get(number) is not None
        entry = self.register(number, journey, at)
        return {
            "tracking_number": entry.number,
            "journey": entry.journey.value,
            "registered_at": datetime.fromtimestamp(entry.registered_at, UTC).isoformat(),
            "created": not known,
        }

    def _control(self, scope: Scope, body: bytes) -> Response:
        method, path = scope["method"], scope["path"]
        if path == "/v1/clock" and method == "GET":
            return ok({"now": self.now().astimezone(UTC).isoformat()})
        if path == "/v1/_stats":
            if method == "DELETE":
                self.counters = Stats()
            elif method != "GET":
                raise ApiError(405, "METHOD_NOT_ALLOWED", "GET or DELETE")
            return ok(self.stats())
        if path == "/v1/_faults":
            if method in ("POST", "PUT"):
                try:
                    self.set_faults(parse_json(body))
                except ValueError as err:
                    raise ApiError(400, "BAD_REQUEST", str(err)) from err
            elif method == "DELETE":
                self.faults = FaultPlan()
            elif method != "GET":
                raise ApiError(405, "METHOD_NOT_ALLOWED", "GET, POST or DELETE")
            return ok(self.faults.as_json())
        raise ApiError(404, "NOT_FOUND", f"no such endpoint: {path}")

    def _count_fault(self, rule: FaultRule) -> None:
        self.counters.faults_injected += 1
        self.counters.faults[rule.kind.value] = self.counters.faults.get(rule.kind.value, 0) + 1

    async def _fault(
        self, rule: FaultRule, receive: Receive, send: Send, normal: Callable[[], Response]
    ) -> None:
        """Answer one request the way ``rule`` says (see carriers.simulator.faults);
        ``normal`` gives the answer the request would have had."""
        kind = rule.kind
        self._count_fault(rule)
        if kind is FaultKind.RESET:
            await reset(send)
        elif kind is FaultKind.TIMEOUT and not await self._hang(receive, rule.delay):
            await reset(send)  # the client gave up, or we are closing: drop the connection
        else:
            if kind is FaultKind.SLOW:
                await asyncio.sleep(rule.delay)
            await respond(send, *self._faulty(rule, normal))

    def _faulty(self, rule: FaultRule, normal: Callable[[], Response]) -> Response:
        kind = rule.kind
        if kind is FaultKind.SERVER_ERROR:
            return error(rule.status, "INTERNAL", "simulated server error")
        if kind is FaultKind.RATE_LIMIT:
            return too_many(rule.retry_after, "too many requests")
        if kind is FaultKind.AUTH:
            return error(401, "UNAUTHORIZED", "invalid or missing API key (X-Api-Key)")
        if kind is FaultKind.GARBAGE:
            return 200, self.faults.garbage(), []
        status, payload, headers = normal()  # slow, timeout, truncated
        if kind is FaultKind.TRUNCATED:
            payload = payload[: max(1, len(payload) // 2)]
        return status, payload, headers

    async def _hang(self, receive: Receive, delay: float) -> bool:
        """Wait ``delay`` s; False if the client disconnected or the server is closing first."""
        gone = asyncio.ensure_future(receive())
        waits: set[asyncio.Future[Any]] = {gone}
        if self._closing is not None:
            waits.add(asyncio.ensure_future(self._closing.wait()))
        done, pending = await asyncio.wait(waits, timeout=delay, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        return not done


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("registered_at must be an ISO-8601 time with an offset") from None
    if moment.tzinfo is None:
        raise ValueError("registered_at must be an ISO-8601 time with an offset")
    return moment


def _retry_after(seconds: float) -> tuple[bytes, bytes]:
    return b"retry-after", str(math.ceil(seconds)).encode()


def _item_error(number: Any, code: str, message: str) -> dict[str, Any]:
    return {"tracking_number": number, "code": code, "message": message}
