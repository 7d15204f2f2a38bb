"""What the marketplace sources (Shopee, TikTok Shop, Lazada) share: request and push
signatures, the tokens they keep fresh, the sync position they save, and a base class that
does the HTTP, the pacing and the token lifecycle, so a marketplace module is its endpoints,
its mapping tables and its pure ``parse``.

Signatures, as each platform documents them:

* Shopee Open Platform v2: ``sign = hex(HMAC-SHA256(partner_key, partner_id + api_path +
  timestamp + access_token + shop_id))`` for shop APIs, ``partner_id + api_path + timestamp``
  for the public/auth ones (the ``common_params`` of every v2 API page, "v2.0 Authorization
  and Authentication"). A push carries ``Authorization = hex(HMAC-SHA256(partner_key,
  callback_url + "|" + raw_body))``.
* TikTok Shop Partner API (202309+): ``sign = hex(HMAC-SHA256(app_secret, app_secret + path +
  "{k}{v}" of the query sorted by name without ``sign`` and ``access_token`` + raw body (not for
  GET or multipart) + app_secret))`` ("Sign your API request"). A webhook carries
  ``Authorization = hex(HMAC-SHA256(app_secret, app_key + raw_body))``.
* Lazada Open Platform: ``sign = upper(hex(HMAC-SHA256(app_secret, api_path + "{k}{v}" of every
  parameter sorted by name, without sign)))``, ``sign_method=sha256``; the access token is
  signed too.

All three rotate refresh tokens (Shopee: "can only be used once"), so a refreshed pair must
outlive the process. It is kept in the cursor (the only per-source state the poller saves),
and a poll that fails after refreshing still returns a page carrying the new pair.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from carriers.base import ErrorKind, ItemError, TrackingResult
from notifier.orders.base import OrderSource, SourceError, SourcePage
from notifier.orders.parse_contract import Marketplace, StoreOrder, page_orders
from notifier.orders.storehttp import StoreHttp

CURSOR_CHARS = 500  # SourceCursor.cursor
REFRESH_MARGIN = 600  # s: a token this close to expiry is renewed before the first call
OVERLAP = 900  # s of updates re-read by every pass (late or clock-skewed writes)
INITIAL_DAYS = 7  # the first pass reads the orders changed in the last week
CAUGHT_UP = 60  # s: a pass ending this close to now leaves nothing more to poll at once


# --------------------------------------------------------------------------- signatures


def hmac_hex(key: str, message: str | bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``message`` (text is UTF-8) under ``key``."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def shopee_sign(
    partner_key: str,
    partner_id: int | str,
    path: str,
    timestamp: int,
    access_token: str | None = None,
    shop_id: int | str | None = None,
) -> str:
    """Shopee v2 request signature; shop APIs pass ``access_token`` and ``shop_id``."""
    base = f"{partner_id}{path}{timestamp}"
    if access_token is not None:
        base += f"{access_token}{shop_id if shop_id is not None else ''}"
    return hmac_hex(partner_key, base)


def tiktok_sign(
    app_secret: str, path: str, params: Mapping[str, Any], body: bytes | str = b""
) -> str:
    """TikTok Shop request signature over the path, the sorted query and the raw body."""
    pairs = "".join(
        f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token")
    )
    raw = body.decode() if isinstance(body, bytes) else body
    return hmac_hex(app_secret, f"{app_secret}{path}{pairs}{raw}{app_secret}")


def lazada_sign(app_secret: str, api_path: str, params: Mapping[str, Any]) -> str:
    """Lazada request signature: upper-case hex over the API path and the sorted parameters."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    return hmac_hex(app_secret, f"{api_path}{pairs}").upper()


def shopee_push_valid(partner_key: str, url: str, body: bytes, authorization: str) -> bool:
    """Whether a Shopee push to ``url`` with ``body`` carries our partner's signature."""
    return _same_hex(hmac_hex(partner_key, url.encode() + b"|" + body), authorization)


def tiktok_webhook_valid(app_key: str, app_secret: str, body: bytes, authorization: str) -> bool:
    """Whether a TikTok Shop webhook ``body`` carries our app's signature."""
    return _same_hex(hmac_hex(app_secret, app_key.encode() + body), authorization)


def _same_hex(expected: str, given: str) -> bool:
    """Constant-time comparison of hex digests; a non-ASCII header is never ours."""
    given = given.strip().lower()
    return given.isascii() and hmac.compare_digest(expected, given)


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else {} (bodies are read defensively)."""
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- tokens


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a configured token (to notice a re-authorization)."""
    return hashlib.blake2b(secret.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class Tokens:
    """An access token, the refresh token that renews it, when the access token expires
    (epoch seconds, 0 when unknown) and ``origin``: the fingerprint of the refresh token the
    merchant configured, from which this pair descends."""

    access: str
    refresh: str
    expires_at: int = 0
    origin: str = ""

    def expiring(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        """Whether the access token is expired or about to be (unknown expiry: not)."""
        return bool(self.expires_at) and now >= self.expires_at - margin

    def state(self) -> dict[str, Any]:
        return {"a": self.access, "r": self.refresh, "x": self.expires_at, "o": self.origin}

    def renewed(self, access: Any, refresh: Any, expires_at: int) -> Tokens:
        """The pair a refresh answered (a platform that keeps the refresh token omits it)."""
        return Tokens(str(access), str(refresh or self.refresh), expires_at, self.origin)


def current_tokens(config: Mapping[str, Any], saved: Any) -> Tokens:
    """The pair saved in the cursor when it descends from the configured refresh token, else
    the configured pair (first run, or the merchant authorized the app again)."""
    refresh = str(config.get("refresh_token") or "")
    origin = fingerprint(refresh) if refresh else ""
    if isinstance(saved, Mapping) and saved.get("o") == origin and saved.get("a"):
        return Tokens(str(saved["a"]), str(saved.get("r") or ""), int(saved.get("x") or 0), origin)
    expires = int(config.get("access_token_expires_at") or 0)
    return Tokens(str(config.get("access_token") or ""), refresh, expires, origin)


class TokenExpired(SourceError):
    """The platform refused the access token as expired or invalid: renew it and retry."""


class Refused(SourceError):
    """The platform answered with its own error code, neither about the token nor about
    throttling: about what was asked (an unknown order or package, a bad parameter)."""


# --------------------------------------------------------------------------- sync position


def load_state(cursor: str | None) -> dict[str, Any]:
    """The saved state (any JSON object); {} for None or junk."""
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def dump_state(state: Mapping[str, Any]) -> str:
    """Compact JSON within :data:`CURSOR_CHARS`; the position ``p`` is dropped when it would
    not fit (the pass then restarts on a later run). ValueError when even that is too long."""
    out = {k: v for k, v in state.items() if v not in (None, "")}
    text = json.dumps(out, separators=(",", ":"), ensure_ascii=True)
    if len(text) > CURSOR_CHARS and "p" in out:
        out.pop("p")
        text = json.dumps(out, separators=(",", ":"), ensure_ascii=True)
    if len(text) > CURSOR_CHARS:
        raise ValueError(f"source state is {len(text)} characters (max {CURSOR_CHARS})")
    return text


def _epoch(value: Any) -> int | None:
    """Epoch seconds from our compact keys or a :class:`~notifier.orders.base.SyncCursor`
    ISO time (``sources sync --since`` hands one over)."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return None


@dataclass
class Pass:
    """One pass over the updates in ``[start, end)`` (epoch seconds): ``mode`` is the phase
    (orders, then returns...) and ``pos`` the platform's position inside it."""

    start: int
    end: int
    mode: str
    pos: str | None = None

    @classmethod
    def begin(cls, state: Mapping[str, Any], now: datetime, window: int, first: str) -> Pass:
        """Resume the saved pass, or open the next one ``OVERLAP`` before the last end."""
        clock = int(now.timestamp())
        if state.get("t") is not None and state.get("f") is not None:
            pos = state.get("p")
            return cls(int(state["f"]), int(state["t"]), str(state.get("m") or first), pos)
        start = _epoch(state.get("start"))
        if start is None:
            high = _epoch(state.get("h")) or _epoch(state.get("high"))
            start = high - OVERLAP if high else clock - INITIAL_DAYS * 86400
        start = min(start, clock - 1)
        return cls(start, min(start + window, clock), first)

    def after(
        self, next_pos: str | None, phases: tuple[str, ...], now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """The state after a page (``next_pos`` None: the phase is done) and whether to poll
        again at once."""
        if next_pos is not None:
            return {"f": self.start, "t": self.end, "m": self.mode, "p": next_pos}, True
        later = phases[phases.index(self.mode) + 1 :] if self.mode in phases else ()
        if later:
            return {"f": self.start, "t": self.end, "m": later[0]}, True
        return {"h": self.end}, self.end < now.timestamp() - CAUGHT_UP


# --------------------------------------------------------------------------- pacing


class Pacer:
    """Spaces requests at least ``1 / rate`` seconds apart. None of the three platforms
    publishes per-app limits for these APIs, so each source has a conservative default the
    merchant's ``rate`` setting overrides; a throttled answer backs the whole poll off."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep, self._next = clock, sleep, 0.0

    async def wait(self) -> None:
        """Return when the next request may go."""
        now = self._clock()
        if now < self._next:
            await self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


# --------------------------------------------------------------------------- the base class


@dataclass(frozen=True, slots=True)
class ParcelRef:
    """What a marketplace's tracking call needs for one parcel: the order's id there (Shopee
    order_sn, TikTok and Lazada order id), the resi, and the marketplace's own package id."""

    order_id: str
    tracking_number: str
    package: str | None = None


@dataclass
class Fetched:
    """What one request round of a phase found: the orders, where the phase goes on (None:
    it is done) and, when the platform says, how many the phase holds."""

    orders: list[StoreOrder]
    next_pos: str | None
    total: int | None = None
    errors: list[str] = field(default_factory=list)


class MarketplaceSource(OrderSource):
    """Polls one shop of a marketplace. Subclasses give :attr:`required` settings, the
    :attr:`phases` of a pass, :meth:`fetch` (one page of a phase) and :meth:`renew`."""

    id: ClassVar[str]
    required: ClassVar[tuple[str, ...]]
    default_base: ClassVar[str]
    default_rate: ClassVar[float] = 5.0  # requests/s
    phases: ClassVar[tuple[str, ...]] = ("orders",)
    window: ClassVar[int] = 15 * 86400  # s per pass (Shopee's list limit: 15 days)

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        missing = [k for k in self.required if not config.get(k)]
        if missing:
            raise SourceError(f"missing setting(s): {', '.join(missing)}", source=self.id)
        self.config = config
        self.base = str(config.get("api_base") or self.default_base).rstrip("/")
        self.http = StoreHttp(self.id, self.base, transport=transport, sleep=sleep)
        self.pacer = Pacer(float(config.get("rate") or self.default_rate), sleep=sleep)
        self.wall = wall  # request timestamps and token expiry are the platform's wall time
        self.tokens = current_tokens(config, None)
        self.refreshed = False

    async def poll(self, cursor: str | None, now: datetime) -> SourcePage:
        """One page of the running pass (see :class:`Pass`), tokens renewed as needed."""
        state = load_state(cursor)
        self.tokens = current_tokens(self.config, state.get("a"))
        self.refreshed = False
        run = Pass.begin(state, now, self.window, self.phases[0])
        try:
            if self.tokens.expiring(self.wall()):
                await self._renew()
            fetched = await self._fetch_renewing(run)
        except Exception as err:  # whatever went wrong, a renewed pair must be saved:
            if not self.refreshed:  # the refresh token it replaced no longer works
                raise
            why = err.args[0] if isinstance(err, SourceError) else f"{type(err).__name__}: {err}"
            return SourcePage([], self._dump(state), [f"{self.id}: {why}"])
        page = self._page(fetched)
        nxt, page.more = run.after(fetched.next_pos, self.phases, now)
        page.next_cursor = self._dump(nxt)
        return page

    async def _fetch_renewing(self, run: Pass) -> Fetched:
        try:
            return await self.fetch(run)
        except TokenExpired:
            if self.refreshed:
                raise
            await self._renew()
            return await self.fetch(run)

    async def _renew(self) -> None:
        if not self.tokens.refresh:
            raise SourceError("access token expired and no refresh_token is set", source=self.id)
        self.tokens = await self.renew()
        self.refreshed = True

    def _page(self, fetched: Fetched) -> SourcePage:
        orders, errors, warnings = page_orders(
            fetched.orders,
            aggregator=self.config.get("aggregator"),
            country=self.config.get("country"),
            market=Marketplace.of(self.id, self.config.get("track_via_marketplace")),
        )
        errors = fetched.errors + errors
        return SourcePage(orders, None, errors, warnings=warnings, total=fetched.total)

    def _dump(self, state: Mapping[str, Any]) -> str:
        keep = {k: state[k] for k in ("f", "t", "m", "p", "h", "start", "high") if k in state}
        return dump_state({**keep, "a": self.tokens.state()})

    async def check(self, now: datetime, cursor: str | None = None) -> str:
        """Who answers (:meth:`whoami`), with the tokens the last poll saved in ``cursor`` (or
        the settings' when None). Never renews a token: a check could not save the new pair."""
        self.tokens = current_tokens(self.config, load_state(cursor).get("a"))
        if self.tokens.expiring(self.wall(), margin=0):
            return "the access token has expired; the next poll renews it"
        return await self.whoami()

    async def whoami(self) -> str:
        """One cheap authenticated call; a line naming the shop. Raises SourceError."""
        raise NotImplementedError

    async def track(self, parcels: Sequence[ParcelRef], cursor: str | None) -> list[TrackingResult]:
        """One result per parcel, in order, from the marketplace's own logistics API (carrier =
        this source's id), with the tokens the last poll saved in ``cursor``.

        A parcel the marketplace refuses to tell about is a NOT_FOUND result. Never renews a
        token (the refresh token is good once and only the poll can save the new pair):
        raises TokenExpired when the token has expired or is refused, SourceError (with
        ``retry_after`` when throttled) when the marketplace cannot answer."""
        self.tokens = current_tokens(self.config, load_state(cursor).get("a"))
        if self.tokens.expiring(self.wall(), margin=0):
            why = "the access token has expired; the next order poll renews it"
            raise TokenExpired(why, source=self.id)
        return await self.track_parcels(parcels)

    async def track_parcels(self, parcels: Sequence[ParcelRef]) -> list[TrackingResult]:
        """:meth:`track` with the tokens in place: the source's own tracking calls."""
        raise NotImplementedError

    def unknown(self, parcel: ParcelRef, err: SourceError) -> TrackingResult:
        """The result for a parcel the marketplace refused to tell about."""
        error = ItemError(ErrorKind.NOT_FOUND, str(err)[:300])
        return TrackingResult(self.id, parcel.tracking_number, None, error=error)

    async def fetch(self, run: Pass) -> Fetched:
        """One page of phase ``run.mode`` from ``run.pos`` over updates in [start, end).
        Raises :class:`TokenExpired` when the token is refused, SourceError otherwise."""
        raise NotImplementedError

    async def renew(self) -> Tokens:
        """A fresh token pair from the refresh token. Raises SourceError when refused."""
        raise NotImplementedError

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> tuple[int, dict[str, Any]]:
        """One paced request through :class:`StoreHttp` (its retries and error mapping):
        (HTTP status, decoded JSON object). Client errors are returned, not raised: the
        platforms explain an expired token in the body. SourceError for anything else."""
        await self.pacer.wait()
        response = await self.http.request(
            method, url, params=params, json=json, expect=(400, 401, 403, 404)
        )
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise self.http.error("the answer is not a JSON object", response)
        return response.status_code, body

    async def aclose(self) -> None:
        await self.http.aclose()
