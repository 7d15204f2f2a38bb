"""What the three marketplace stand-ins share: the samples, the token lifecycle a platform
enforces (an access token that expires, a refresh token good once), and a call log.

Each stand-in checks requests the way its platform documents it (signatures are recomputed
here with ``hmac`` directly, never with the code under test) and answers in the platform's own
envelope, so the sources are exercised against real HTTP on 127.0.0.1 (uvicorn in a thread).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import START

SAMPLES = Path(__file__).parent / "samples"
DAY = 86400
BASE_TS = int(START.timestamp()) - 3 * DAY  # orders change in the days before the tests' clock


def sample(path: str) -> Any:
    return json.loads((SAMPLES / path).read_text(encoding="utf-8"))


def hexmac(key: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def clone(value: Any) -> Any:
    return copy.deepcopy(value)


@dataclass
class Call:
    path: str
    params: dict[str, str]
    body: bytes = b""
    token: str | None = None


@dataclass
class Tokens:
    """The platform side of one authorization: the live pair, and how it ends."""

    access: str = "access-0"
    refresh: str = "refresh-0"
    access_valid: bool = True
    refreshes: int = 0
    expire_after: int | None = None  # shop calls until the access token expires
    refuse_refresh: bool = False  # the refresh token was revoked (seller deauthorized)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def use(self, token: str | None) -> bool:
        """Whether ``token`` may call now (counting the calls towards expiry)."""
        if self.expire_after is not None:
            if self.expire_after <= 0:
                self.access_valid = False
            self.expire_after -= 1
        return self.access_valid and token == self.access

    def rotate(self, refresh: str | None) -> bool:
        """Renew the pair from ``refresh``; a spent or revoked refresh token is refused."""
        if self.refuse_refresh or refresh != self.refresh:
            return False
        n = next(self.counter)
        self.access, self.refresh = f"access-{n}", f"refresh-{n}"
        self.access_valid, self.expire_after = True, None
        self.refreshes += 1
        return True


class StandIn:
    """An ASGI stand-in: ``routes`` from the subclass, a call log, problems it noticed."""

    def __init__(self) -> None:
        self.tokens = Tokens()
        self.calls: list[Call] = []
        self.problems: list[str] = []  # requests that broke the platform's documented rules
        self.app = Starlette(routes=self.routes())

    def routes(self) -> list[Route]:
        raise NotImplementedError

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def log(self, request: Request, token: str | None = None) -> Call:
        call = Call(request.url.path, dict(request.query_params), await request.body(), token)
        self.calls.append(call)
        return call

    def paths(self) -> list[str]:
        return [c.path for c in self.calls]

    def fresh(self, timestamp: str | None, *, millis: bool = False, skew: float = 300) -> bool:
        """The documented timestamp freshness (Shopee: 5 minutes; Lazada: 7200 s)."""
        try:
            value = float(timestamp or "") / (1000 if millis else 1)
        except ValueError:
            return False
        return abs(value - time.time()) <= skew


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)
