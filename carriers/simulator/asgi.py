"""The little ASGI plumbing the simulator needs: bodies in, JSON out, and a dropped connection."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

MAX_BODY = 4 * 1024 * 1024  # bytes; larger request bodies get 413

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Response = tuple[int, bytes, list[tuple[bytes, bytes]]]


class ApiError(Exception):
    """A whole-request error answered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def read_body(receive: Receive) -> bytes:
    """The whole request body; ApiError 413 past :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "TOO_LARGE", f"request body over {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The decoded body (None when empty); ApiError 400 if it is not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError as err:
        raise ApiError(400, "BAD_REQUEST", "the body is not JSON") from err


def ok(payload: Any) -> Response:
    return 200, json.dumps(payload).encode(), []


def too_many(seconds: float, message: str) -> Response:
    """429 with ``Retry-After`` in whole seconds (the delta-seconds form of RFC 9110)."""
    status, payload, _ = error(429, "RATE_LIMITED", message)
    return status, payload, [(b"retry-after", str(math.ceil(seconds)).encode())]


def error(status: int, code: str, message: str) -> Response:
    return status, json.dumps({"error": {"code": code, "message": message}}).encode(), []


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Send one response; JSON unless ``headers`` name another content-type."""
    typed = any(name == b"content-type" for name, _ in headers)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *(() if typed else ((b"content-type", b"application/json"),)),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def reset(send: Send) -> None:
    """Close the connection without a response.

    ASGI has no message for this, so reach the server's transport through the bound ``send``
    (uvicorn's request cycle keeps it as ``transport``) and abort it, which the client sees as
    a reset. Elsewhere, start a response and never finish it: the server must drop the
    connection half-way, which clients report the same way (a protocol/connection error).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        await asyncio.sleep(0)  # let the server notice the lost connection before we return
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
