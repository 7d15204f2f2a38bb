"""The HTTP side every order-store source shares: one client, timeouts, retries, error mapping.

A source module is payload and parsing; :class:`StoreHttp` owns the connection (anymail's
``AnymailRequestsBackend`` split). Each call returns the response of a 2xx or 3xx answer, or
raises :class:`~notifier.orders.base.SourceError` with a short excerpt of the body:

* 429 and 503 are waited out when the store says how long (``Retry-After``, seconds) and the
  wait is at most ``max_wait``; otherwise, or after :data:`RETRIES` tries, SourceError with
  ``retry_after`` so the poller leaves the cursor for the next run.
* 500-504, timeouts and connection failures are retried :data:`RETRIES` times with a short
  backoff, then SourceError ("store unreachable" / "store answered 502").
* 401 and 403: SourceError "credentials refused" at once (no retry can fix them).
* any other 4xx: SourceError with the status and the body's own message.

Time spent waiting goes through the injected ``sleep`` (tests pass a fake one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from notifier.orders.base import SourceError

RETRIES = 3  # tries for 429/5xx/network failures before the poll gives up for this run
TIMEOUT = 30.0  # s per request: order pages of 100-250 orders can be slow to build
BACKOFF = 1.0  # s, doubled per retry of a 5xx or network failure
EXCERPT = 200  # characters of an error body kept in the message

Sleep = Callable[[float], Awaitable[None]]


def excerpt(response: httpx.Response) -> str:
    """The start of a body, on one line, for error messages."""
    body = " ".join(response.text.split())
    return body[:EXCERPT] + ("..." if len(body) > EXCERPT else "")


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (Shopify sends fractions); None when absent or a date."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


class StoreHttp:
    """One store's HTTP client (``source`` names it in errors)."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float = TIMEOUT,
        max_wait: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.source = source
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests = 0  # calls made, retries included (tests and ``sources check`` read it)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Accept": "application/json", **(headers or {})},
            auth=auth,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        expect: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The answer to one call, retried as the module documentation says. Statuses in
        ``expect`` are returned instead of raised (a source reads those bodies itself)."""
        for attempt in range(1, RETRIES + 1):
            response = await self._send(method, url, params, json, auth, attempt)
            if response is None:
                continue
            status = response.status_code
            if status < 400 or status in expect:
                return response
            if status in (429, 503):
                wait = retry_after(response)
                if wait is not None and wait <= self.max_wait and attempt < RETRIES:
                    await self.sleep(wait)
                    continue
                raise self.error(f"rate limited (HTTP {status})", response, wait or 60.0)
            if status >= 500 and attempt < RETRIES:
                await self.sleep(BACKOFF * 2 ** (attempt - 1))
                continue
            raise self._refused(response)
        raise SourceError(f"store unreachable after {RETRIES} tries", source=self.source)

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        auth: httpx.Auth | tuple[str, str] | None,
        attempt: int,
    ) -> httpx.Response | None:
        self.requests += 1
        extra: dict[str, Any] = {"auth": auth} if auth is not None else {}
        try:
            return await self.client.request(method, url, params=params, json=json, **extra)
        except httpx.TimeoutException as err:
            if attempt >= RETRIES:
                raise SourceError("the store timed out", source=self.source) from err
        except httpx.TransportError as err:
            if attempt >= RETRIES:
                message = f"cannot reach the store: {type(err).__name__}: {err}"
                raise SourceError(message, source=self.source) from err
        await self.sleep(BACKOFF * 2 ** (attempt - 1))
        return None

    def _refused(self, response: httpx.Response) -> SourceError:
        status = response.status_code
        if status in (401, 403):
            return self.error(f"credentials refused (HTTP {status})", response)
        if status >= 500:
            return self.error(f"the store answered HTTP {status}", response)
        return self.error(f"HTTP {status}", response)

    def error(self, what: str, response: httpx.Response, wait: float | None = None) -> SourceError:
        """A SourceError naming the call, with the body's start."""
        path = response.request.url.path if response.request else ""
        return SourceError(
            f"{what} on {path}: {excerpt(response)}", source=self.source, retry_after=wait
        )

    def json(self, response: httpx.Response) -> Any:
        """The decoded body; SourceError when it is not JSON."""
        try:
            return response.json()
        except ValueError as err:
            raise self.error("the answer is not JSON", response) from err

    async def aclose(self) -> None:
        await self.client.aclose()
