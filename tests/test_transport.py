"""The aiohttp transport behind the carriers' httpx client: answers as httpx would, and every
failure is the httpx error that means the same (the adapters map those to carrier errors)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from notifier.transport import AiohttpTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head, await reader.readexactly(length)


def client(timeout: float = 2.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport())


async def test_a_json_post_and_its_answer() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = b'{"ok": true}'
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    async with server(answer) as url, client() as http:
        resp = await http.post(f"{url}/v1/track", json={"n": [1]}, headers={"X-Api-Key": "k"})
    assert (resp.status_code, resp.json(), resp.headers["retry-after"]) == (429, {"ok": True}, "7")
    head, body = seen[0]
    assert head.startswith(b"POST /v1/track HTTP/1.1") and b"x-api-key: k" in head.lower()
    assert body == b'{"n":[1]}'


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async with server(silent) as url, client(timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)


@pytest.mark.parametrize("cut", [b"", b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"half'])
async def test_a_dropped_connection_is_a_transport_error(cut: bytes) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(cut)
        await writer.drain()
        writer.transport.abort()

    async with server(drop) as url, client() as http:
        with pytest.raises(httpx.TransportError):
            await http.get(url)


async def test_a_client_used_from_a_second_event_loop_starts_afresh() -> None:
    transport = AiohttpTransport()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    async def once() -> int:
        async with server(answer) as url:
            resp = await httpx.AsyncClient(transport=transport).get(url)
            return resp.status_code

    assert await once() == 204
    assert await asyncio.to_thread(asyncio.run, once()) == 204  # another loop, another thread
    await transport.aclose()
