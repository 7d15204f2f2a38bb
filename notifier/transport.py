"""An httpx transport backed by aiohttp: the carrier adapters keep httpx's API, the bytes move
through aiohttp's C-accelerated HTTP/1.1 client.

Why: the tracking sweep is a stream of small POSTs with 20-60 KB JSON answers. Measured on
2 cores against the local carrier simulator (docs/performance.md), httpx's own pool (httpcore
over anyio) managed about a tenth of aiohttp's request rate on such bodies, and a streaming
adapter (the ``httpx-aiohttp`` package) about 60 %; this transport reads each body in one piece
and hands httpx a complete response, which keeps most of aiohttp's speed.

Errors are mapped to httpx's tree so callers need not know aiohttp: a timeout is
:class:`httpx.TimeoutException` (connect, read or pool), a refused or dropped connection
:class:`httpx.ConnectError` / :class:`httpx.RemoteProtocolError`, a cut-off body
:class:`httpx.ReadError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx

KEEPALIVE = 30.0  # s an idle connection is kept for reuse


@contextlib.contextmanager
def _mapped(request: httpx.Request) -> Iterator[None]:
    """Re-raise aiohttp's and asyncio's errors as the httpx error that means the same."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as err:
        raise httpx.ConnectTimeout(str(err) or "connect timed out", request=request) from err
    except (aiohttp.ServerTimeoutError, TimeoutError) as err:
        raise httpx.ReadTimeout(str(err) or "read timed out", request=request) from err
    except aiohttp.ClientConnectorError as err:
        raise httpx.ConnectError(str(err), request=request) from err
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
        raise httpx.RemoteProtocolError(str(err) or type(err).__name__, request=request) from err
    except aiohttp.ClientPayloadError as err:
        raise httpx.ReadError(str(err), request=request) from err
    except aiohttp.InvalidURL as err:
        raise httpx.UnsupportedProtocol(str(err), request=request) from err
    except aiohttp.ClientError as err:
        raise httpx.TransportError(f"{type(err).__name__}: {err}", request=request) from err


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one aiohttp session (created on first use, in the running
    loop). ``limits.max_connections`` bounds the connections; timeouts come from each request
    (httpx's ``timeout`` extension: connect, read, pool)."""

    def __init__(
        self, limits: httpx.Limits | None = None, *, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.limits = limits or httpx.Limits(max_connections=100)
        self.verify = verify
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        if self._session is None or self._loop is not loop or self._session.closed:
            # A runtime reused from another event loop (a CLI that calls asyncio.run twice)
            # cannot use the old loop's connections: start afresh in this one.
            connector = aiohttp.TCPConnector(
                limit=self.limits.max_connections or 0,
                keepalive_timeout=self.limits.keepalive_expiry or KEEPALIVE,
                ssl=self.verify,  # an SSLContext, True (verify) or False (do not)
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes per Content-Encoding, as it always does
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            )
            self._loop = loop
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for(asyncio.get_running_loop())
        limits: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=limits.get("pool"),
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),
        )
        body = await request.aread()
        with _mapped(request):
            async with session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                content = await resp.read()
        return httpx.Response(
            resp.status,
            headers=list(resp.raw_headers),
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (resp.reason or "").encode()},
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is None or session.closed:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            await session.close()
        else:  # the loop that owns its sockets is gone; they went with it
            session.detach()
