"""What the stand-ins share: the request log, faults on demand, the check hooks, and serving
an ASGI app with uvicorn from a thread."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

STARTUP_TIMEOUT = 10.0  # s for uvicorn to start serving (it normally takes ~0.05 s)


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived: header names lower-cased, the raw body kept."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form fields (the first value of each)."""
        return {k: v[0] for k, v in self.form_lists.items()}

    @property
    def form_lists(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """How to answer one request instead of normally: ``status`` None answers normally after
    ``delay`` seconds (a slow provider)."""

    status: int | None
    code: int | None = None
    message: str | None = None
    field: str | None = None
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)
    delay: float = 0.0


RequestCheck = Callable[[Recorded], list[str]]
ResponseCheck = Callable[[Recorded, int, Mapping[str, str], bytes], list[str]]


class StandIn:
    """What both stand-ins share: the request log, the fault queue and the check hooks."""

    def __init__(self, routes: list[Route]) -> None:
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.check_request: RequestCheck | None = None
        self.check_response: ResponseCheck | None = None
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` requests with this error (a status, a provider code or
        both; the other is inferred where the provider has a rule for it)."""
        status = status or self.status_for(code)
        with self._lock:
            for _ in range(count):
                self._faults.append(Fault(status, code, message, field, headers or {}, delay))

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` requests normally, but only after ``seconds``."""
        with self._lock:
            self._faults.extend(Fault(None, delay=seconds) for _ in range(count))

    def reset(self) -> None:
        """Forget requests, violations, pending faults and what was accepted."""
        with self._lock:
            self.requests.clear()
            self.violations.clear()
            self._faults.clear()

    def status_for(self, code: int | None) -> int:
        return 400

    async def handle(self, request: Request) -> Response:
        """Record, check, apply a pending fault, else answer as the provider would."""
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec = Recorded(request.method, request.url.path, request.url.query, headers, body)
        with self._lock:
            self.requests.append(rec)
            fault = self._faults.popleft() if self._faults else None
        problems = self.check_request(rec) if self.check_request else []
        if problems:  # answered as the provider would refuse it, else 400 with the problems
            self._violate(problems)
            refusal = self.refusal(rec, request)
            response = refusal or self.error(Fault(400, message="; ".join(problems)))
        elif fault is not None:
            await self._pause(fault.delay)
            response = self.error(fault) if fault.status else self.answer(rec, request)
        else:
            response = self.answer(rec, request)
        if self.check_response:
            answer = {k.lower(): v for k, v in response.headers.items()}
            sent = bytes(response.body)
            self._violate(self.check_response(rec, response.status_code, answer, sent))
        return response

    async def _pause(self, seconds: float) -> None:
        """Sleep, but give up at once when the server stops (no request outlives it)."""
        until = time.monotonic() + seconds
        # a threading.Event: close() runs on the test's thread, not on the server's loop
        while not self._closing.is_set() and time.monotonic() < until:  # noqa: ASYNC110
            await asyncio.sleep(min(0.02, max(0.0, until - time.monotonic())))

    def close(self) -> None:
        """Release requests held by :meth:`hang_next` (called when the server stops)."""
        self._closing.set()

    def _violate(self, problems: list[str]) -> None:
        with self._lock:
            self.violations.extend(problems)

    def answer(self, rec: Recorded, request: Request) -> Response:
        return self.refusal(rec, request) or self.accept(rec, request)

    def refusal(self, rec: Recorded, request: Request) -> Response | None:
        """The provider's error answer to this request, if it refuses it (no side effects)."""
        raise NotImplementedError

    def accept(self, rec: Recorded, request: Request) -> Response:
        """The provider's success answer (the request passed :meth:`refusal`)."""
        raise NotImplementedError

    def error(self, fault: Fault) -> Response:
        raise NotImplementedError


A = TypeVar("A")


class Served(Generic[A]):
    """An ASGI app served by uvicorn from a daemon thread; ``url`` once it listens."""

    def __init__(self, app: A, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="stand-in", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise OSError(f"stand-in did not start on {self.url}")
            time.sleep(0.005)

    def stop(self) -> None:
        close = getattr(self.app, "close", None)
        if callable(close):
            close()
        self._server.should_exit = True
        self._thread.join(STARTUP_TIMEOUT)

    def __enter__(self) -> Served[A]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(app: A, host: str = "127.0.0.1", port: int = 0) -> Served[A]:
    """Serve ``app`` (a stand-in) on ``host``; ``port`` 0 picks a free one."""
    return Served(app, host, port)
