"""Edge paths of the marketplace sources with ``httpx.MockTransport``: settings refused at
construction, a crash after a token refresh still saving the new pair, throttling, and the
TikTok signature covering the very bytes sent."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest

from notifier.orders.base import SourceError
from notifier.orders.lazada import LazadaSource
from notifier.orders.shopee import ShopeeSource
from notifier.orders.signing import load_state
from notifier.orders.tiktok_shop import TikTokShopSource

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
WALL = 1796094000.0


async def no_sleep(seconds: float) -> None:
    return None


def shopee(handler, **extra) -> ShopeeSource:
    config = {"partner_id": 1, "partner_key": "k", "shop_id": 2, "access_token": "a0"}
    config |= {"refresh_token": "r0", "rate": 1000} | extra
    return ShopeeSource(
        config, transport=httpx.MockTransport(handler), sleep=no_sleep, wall=lambda: WALL
    )


def test_settings_are_checked_when_the_source_is_made():
    with pytest.raises(SourceError, match=r"missing setting.*partner_key, shop_id"):
        ShopeeSource({"partner_id": 1})
    with pytest.raises(SourceError, match=r"missing setting.*shop_cipher"):
        TikTokShopSource({"app_key": "k", "app_secret": "s"})
    with pytest.raises(SourceError, match="unknown region 'xx'"):
        LazadaSource({"app_key": "k", "app_secret": "s", "region": "xx"})
    assert LazadaSource({"app_key": "k", "app_secret": "s", "region": "th"}).base == (
        "https://api.lazada.co.th/rest"
    )


async def test_a_crash_after_a_refresh_still_returns_the_new_pair():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/auth/access_token/get":
            body = {"error": "", "access_token": "a1", "refresh_token": "r1", "expire_in": 14400}
            return httpx.Response(200, json=body)
        raise RuntimeError("a parser bug")

    source = shopee(handler, access_token_expires_at=1)
    try:
        page = await source.poll(None, NOW)
    finally:
        await source.aclose()
    assert page.orders == [] and page.errors == ["shopee: RuntimeError: a parser bug"]
    saved = load_state(page.next_cursor)["a"]
    assert (saved["a"], saved["r"], saved["x"]) == ("a1", "r1", int(WALL) + 14400)
    assert not page.more


async def test_without_a_refresh_a_crash_is_the_pollers_to_record():
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a parser bug")

    source = shopee(handler)
    with pytest.raises(RuntimeError):
        await source.poll(None, NOW)
    await source.aclose()


async def test_throttling_and_a_refused_refresh_are_source_errors():
    def throttled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "120"}, json={})

    source = shopee(throttled)
    with pytest.raises(SourceError) as err:
        await source.poll(None, NOW)
    assert err.value.retry_after == 120.0
    await source.aclose()

    def spent(request: httpx.Request) -> httpx.Response:
        body = {"error": "error_param", "message": "refresh_token is invalid"}
        return httpx.Response(403, json=body)

    source = shopee(spent, access_token_expires_at=1)
    with pytest.raises(SourceError, match=r"token refresh refused.*authorize the app again"):
        await source.poll(None, NOW)
    await source.aclose()

    def lazada_limit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"type": "ISV", "code": "ApiCallLimit", "message": "slow"})

    source = LazadaSource(
        {"app_key": "k", "app_secret": "s", "access_token": "a", "rate": 1000},
        transport=httpx.MockTransport(lazada_limit),
        wall=lambda: WALL,
    )
    with pytest.raises(SourceError) as err:
        await source.poll(None, NOW)
    assert err.value.retry_after == 60.0 and "ApiCallLimit" in str(err.value)
    await source.aclose()


async def test_the_tiktok_signature_covers_the_bytes_on_the_wire():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        data = {"orders": [], "next_page_token": "", "total_count": 0}
        return httpx.Response(200, json={"code": 0, "message": "Success", "data": data})

    config = {"app_key": "ak", "app_secret": "sec", "shop_cipher": "ROW_c", "access_token": "t"}
    source = TikTokShopSource(
        config | {"rate": 1000}, transport=httpx.MockTransport(handler), wall=lambda: WALL
    )
    try:
        page = await source.poll(None, NOW)
    finally:
        await source.aclose()
    assert page.more  # the returns phase comes next
    request = seen[0]
    query = dict(request.url.params)
    pairs = "".join(f"{k}{query[k]}" for k in sorted(query) if k != "sign")
    base = f"sec{request.url.path}{pairs}{request.content.decode()}sec"
    assert query["sign"] == hmac.new(b"sec", base.encode(), hashlib.sha256).hexdigest()
    assert request.headers["x-tts-access-token"] == "t"
    assert json.loads(request.content) == {
        "update_time_ge": int(WALL) - 7 * 86400,
        "update_time_lt": int(WALL),
    }
