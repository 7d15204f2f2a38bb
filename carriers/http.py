"""What every HTTP carrier adapter shares: the client, timeouts, limits and error mapping.

A carrier module subclasses :class:`HttpAdapter`, sets its class attributes (API base URLs,
batch size, documented rate limit) and implements ``fetch()`` with :meth:`HttpAdapter.request`,
which owns rate limiting, concurrency, Retry-After and the HTTP status -> error mapping, so the
module itself is only payload and parsing.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from carriers.base import ErrorKind, ItemError, TrackingResult
from carriers.errors import (
    CarrierAuthError,
    CarrierResponseError,
    CarrierUnavailable,
    excerpt,
)

DEFAULT_TIMEOUT = 20.0  # s per request; carrier APIs answer in well under a second normally
MAX_PAUSE_WAIT = 5.0  # s a request waits out a Retry-After; longer pauses fail fast instead
TOKEN_REFRESH_MARGIN = 120.0  # s before expiry an OAuth token is renewed
USER_AGENT = "shipment-notifier/0.1 (+https://github.com/shipment-notifier)"


class TokenBucket:
    """``rate`` requests per ``per`` seconds, with bursts up to ``rate`` (at least one request:
    a quota below one request per ``per`` still lets one through at a time); async and fair."""

    def __init__(self, rate: float, per: float = 1.0) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError("rate and per must be positive")
        self.capacity = max(rate, 1.0)
        self.fill_rate = rate / per  # tokens per second
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    def paused_for(self) -> float:
        """Seconds left of a Retry-After pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def pause(self, seconds: float) -> None:
        """Stop handing out tokens for ``seconds`` (a 429 with Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._tokens = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._tokens = min(
                    self.capacity, self._tokens + (now - self._stamp) * self.fill_rate
                )
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.fill_rate)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class ClientCredentials:
    """An OAuth2 client-credentials token, cached and renewed before it expires.

    ``style="basic"`` sends the client id and secret as HTTP Basic auth (UPS), ``"body"`` as form
    fields (FedEx, USPS). One renewal at a time; callers waiting on it share the new token.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        style: str = "body",
        extra: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        carrier: str,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.style = style
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})  # e.g. UPS x-merchant-id on the token request
        self.carrier = carrier
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the secret or the token
        return f"ClientCredentials({self.token_url!r}, client_id={self.client_id!r})"

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token after a 401. Pass the token the refused request used: when many
        requests fail together on one expired token, only the first renewal happens and the
        others reuse the fresh token instead of each fetching their own."""
        if token is None or token == self._token:
            self._token = None

    async def token(self, client: httpx.AsyncClient) -> str:
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - TOKEN_REFRESH_MARGIN:
                return self._token
            data = {"grant_type": "client_credentials", **self.extra}
            auth: httpx.Auth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
            if self.style == "basic":
                auth = httpx.BasicAuth(self.client_id, self._secret)
            else:
                data |= {"client_id": self.client_id, "client_secret": self._secret}
            try:
                resp = await client.post(self.token_url, data=data, auth=auth, headers=self.headers)
            except httpx.HTTPError as err:
                raise CarrierUnavailable(
                    f"token request failed: {type(err).__name__}", carrier=self.carrier
                ) from err
            if resp.status_code in (400, 401, 403):
                raise CarrierAuthError(
                    "client credentials refused",
                    carrier=self.carrier,
                    status_code=resp.status_code,
                    body_excerpt=excerpt(resp.content),
                )
            if resp.status_code != 200:
                raise CarrierUnavailable(
                    "token endpoint failed", carrier=self.carrier, status_code=resp.status_code
                )
            try:
                payload = resp.json()
                self._token = str(payload["access_token"])
                lifetime = float(payload.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as err:
                raise CarrierResponseError(
                    "token response has no access_token",
                    carrier=self.carrier,
                    body_excerpt=excerpt(resp.content),
                ) from err
            self._expires_at = time.monotonic() + lifetime
            return self._token


class HttpAdapter:
    """Base of the HTTP carrier adapters (see :class:`carriers.base.CarrierAdapter`).

    Subclasses set ``id``, ``api_base`` (production) and ``sandbox_api_base``, the documented
    ``batch_size``, ``rate`` per ``per`` seconds and ``max_concurrency``. Any of these can be
    overridden per account through ``config`` (``api_base``, ``sandbox``, ``rate``, ``per``,
    ``batch_size``, ``max_concurrency``, ``timeout``).
    """

    id: ClassVar[str]
    api_base: ClassVar[str] = ""
    sandbox_api_base: ClassVar[str | None] = None
    batch_size: ClassVar[int] = 1
    rate: ClassVar[float] = 1.0
    per: ClassVar[float] = 1.0
    max_concurrency: ClassVar[int] = 4

    def __init__(self, config: Mapping[str, Any], client: httpx.AsyncClient | None = None) -> None:
        self.config = dict(config)
        if self.config.get("api_base"):
            self.base_url = str(self.config["api_base"]).rstrip("/")
        elif self.config.get("sandbox") and self.sandbox_api_base:
            self.base_url = self.sandbox_api_base
        else:
            self.base_url = self.api_base
        # Instance attributes shadow the class defaults when an account sets its own limits.
        for key in ("batch_size", "max_concurrency"):
            if self.config.get(key) is not None:
                setattr(self, key, int(self.config[key]))
        for key in ("rate", "per"):
            if self.config.get(key) is not None:
                setattr(self, key, float(self.config[key]))
        self.bucket = TokenBucket(self.rate, self.per)
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self.timeout = float(self.config.get("timeout") or DEFAULT_TIMEOUT)
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=self.timeout, headers={"User-Agent": USER_AGENT}
        )

    def setting(self, key: str) -> str:
        """A required account setting (an API key, a client id); CarrierAuthError if missing."""
        value = self.config.get(key)
        if not value:
            raise CarrierAuthError(f"setting carriers.{self.id}.{key} is missing", carrier=self.id)
        return str(value)

    async def request(
        self,
        method: str,
        path: str,
        *,
        numbers: Sequence[str] = (),
        expect: Sequence[int] = (200,),
        **kw: Any,
    ) -> httpx.Response:
        """Send one request within the limits; return the response if its status is expected.

        Raises CarrierUnavailable (timeout, connection error, 429, 5xx; the bucket pauses for
        Retry-After), CarrierAuthError (401/403 unless expected) or CarrierResponseError (any
        other unexpected status).
        """
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        ctx: dict[str, Any] = {"carrier": self.id, "tracking_numbers": tuple(numbers)}
        waiting = self.bucket.paused_for()
        if waiting > MAX_PAUSE_WAIT:  # do not hold the sweep hostage to a long Retry-After
            raise CarrierUnavailable("rate limited (Retry-After)", retry_after=waiting, **ctx)
        kw.setdefault("timeout", self.timeout)
        kw["headers"] = {"User-Agent": USER_AGENT, **(kw.get("headers") or {})}
        async with self._slots:
            await self.bucket.acquire()
            try:
                resp = await self.client.request(method, url, **kw)
            except httpx.TimeoutException as err:
                raise CarrierUnavailable("request timed out", **ctx) from err
            except httpx.HTTPError as err:
                raise CarrierUnavailable(f"connection failed: {type(err).__name__}", **ctx) from err
        code = resp.status_code
        if code in expect:
            return resp
        ctx |= {"status_code": code, "body_excerpt": excerpt(resp.content)}
        if code == 429 or code >= 500:
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            if wait is not None:
                self.bucket.pause(wait)
            raise CarrierUnavailable(
                "rate limited" if code == 429 else "server error", retry_after=wait, **ctx
            )
        if code in (401, 403):
            raise CarrierAuthError("credentials refused", **ctx)
        raise CarrierResponseError("unexpected HTTP status", **ctx)

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()


def align(
    carrier: str, numbers: Sequence[str], results: Sequence[TrackingResult]
) -> list[TrackingResult]:
    """One result per requested number, in request order.

    Matches on the number ignoring case and spaces; a number the body does not mention comes
    back as ``not_found`` (a result, not an exception). A whole-response error with no number
    (``tracking_number == ""``) applies to every requested number.
    """
    by_number = {_key(r.tracking_number): r for r in results if r.tracking_number}
    blanket = next((r for r in results if not r.tracking_number and r.error), None)
    out = []
    for number in numbers:
        found = by_number.get(_key(number))
        if found is None and blanket is not None:
            found = TrackingResult(
                carrier=carrier,
                tracking_number=number,
                status=None,
                error=blanket.error,
                raw=blanket.raw,
            )
        if found is None:
            found = TrackingResult(
                carrier=carrier,
                tracking_number=number,
                status=None,
                error=ItemError(ErrorKind.NOT_FOUND, "the carrier returned no result"),
            )
        out.append(found)
    return out


def _key(number: str) -> str:
    return "".join(number.split()).upper()
