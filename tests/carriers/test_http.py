"""The shared adapter plumbing: limits, Retry-After, OAuth caching and error mapping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from carriers.base import ErrorKind, Status, TrackingResult
from carriers.errors import CarrierAuthError, CarrierResponseError, CarrierUnavailable
from carriers.http import ClientCredentials, HttpAdapter, TokenBucket, align, retry_after_seconds


class Demo(HttpAdapter):
    id = "demo"
    api_base = "https://api.example.test"
    rate = 100.0


def adapter(handler, **config) -> Demo:
    return Demo(config, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_bucket_spaces_requests_beyond_the_burst() -> None:
    bucket = TokenBucket(rate=5, per=0.5)  # 10/s, burst 5
    start = time.monotonic()
    for _ in range(10):
        await bucket.acquire()
    assert time.monotonic() - start >= 0.45


async def test_a_quota_below_one_request_per_period_still_lets_requests_through() -> None:
    bucket = TokenBucket(rate=0.5, per=0.1)  # one request per 0.2 s: the first at once
    start = time.monotonic()
    await asyncio.wait_for(bucket.acquire(), 1.0)
    assert time.monotonic() - start < 0.05
    await asyncio.wait_for(bucket.acquire(), 1.0)
    assert time.monotonic() - start >= 0.19


async def test_bucket_pause_holds_everyone() -> None:
    bucket = TokenBucket(rate=100)
    bucket.pause(0.2)
    start = time.monotonic()
    await bucket.acquire()
    assert time.monotonic() - start >= 0.19


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Thu, 26 Nov 2026 10:01:00 GMT", now) == 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, CarrierUnavailable),
        (503, CarrierUnavailable),
        (401, CarrierAuthError),
        (403, CarrierAuthError),
        (400, CarrierResponseError),
    ],
)
async def test_status_mapping(status: int, error: type[Exception]) -> None:
    a = adapter(lambda req: httpx.Response(status, text="nope", headers={"Retry-After": "0"}))
    with pytest.raises(error) as info:
        await a.request("GET", "/track", numbers=["X1"])
    assert info.value.carrier == "demo"
    assert info.value.tracking_numbers == ("X1",)
    assert info.value.status_code == status


async def test_expected_4xx_is_returned_for_parse() -> None:
    a = adapter(lambda req: httpx.Response(404, json={"title": "No result found"}))
    resp = await a.request("GET", "/track", expect=(200, 404))
    assert resp.status_code == 404


async def test_timeout_is_transient_with_context() -> None:
    def boom(req: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=req)

    with pytest.raises(CarrierUnavailable, match="timed out"):
        await adapter(boom).request("GET", "/track", numbers=["X1"])


async def test_account_overrides_limits_and_base() -> None:
    a = adapter(lambda r: httpx.Response(200), api_base="http://127.0.0.1:9/", rate=3, batch_size=7)
    assert a.base_url == "http://127.0.0.1:9"
    assert a.batch_size == 7 and a.bucket.capacity == 3
    assert Demo.batch_size == 1  # the class default is untouched


async def test_oauth_token_cached_until_near_expiry() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 3600})

    creds = ClientCredentials("https://auth.test/token", "id", "s3cret", carrier="demo")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        tokens = await asyncio.gather(*(creds.token(client) for _ in range(5)))
        assert tokens == ["t1"] * 5 and len(calls) == 1
        creds.invalidate()
        assert await creds.token(client) == "t2"
    assert b"client_secret=s3cret" in calls[0].content
    assert "s3cret" not in repr(creds)


async def test_oauth_refused_is_auth_error() -> None:
    creds = ClientCredentials("https://auth.test/token", "id", "bad", style="basic", carrier="ups")
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"error": "invalid_client"}))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(CarrierAuthError):
            await creds.token(client)


def test_align_orders_and_fills_missing() -> None:
    got = [TrackingResult("demo", "b2", Status.DELIVERED), TrackingResult("demo", "A1", None)]
    out = align("demo", ["a1", "B2", "C3"], got)
    assert [r.tracking_number for r in out] == ["A1", "b2", "C3"]
    assert out[2].error is not None and out[2].error.kind is ErrorKind.NOT_FOUND


def test_unreadable_bodies_are_response_errors() -> None:
    from carriers.parsing import load_json, load_xml

    with pytest.raises(CarrierResponseError):
        load_json("[" * 100_000, "demo")
    with pytest.raises(CarrierResponseError):
        load_xml(b'<?xml version="1.0" encoding="no-such-codec"?><a/>', "demo")
    with pytest.raises(CarrierResponseError):
        load_xml(b"<a><b></a>", "demo")


async def test_long_retry_after_fails_fast_instead_of_stalling() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(429, headers={"Retry-After": "600"})

    a = adapter(handler)
    with pytest.raises(CarrierUnavailable) as first:
        await a.request("GET", "/track")
    assert first.value.retry_after == 600
    start = time.monotonic()
    with pytest.raises(CarrierUnavailable) as second:
        await a.request("GET", "/track")
    assert time.monotonic() - start < 1 and len(calls) == 1  # no call while paused
    assert 590 < second.value.retry_after <= 600


async def test_account_timeout_applies_with_a_shared_client() -> None:
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen.update(req.extensions["timeout"])
        return httpx.Response(200)

    await adapter(handler, timeout=1.5).request("GET", "/track")
    assert seen["read"] == 1.5


async def test_many_401s_on_one_expired_token_renew_it_once() -> None:
    issued = []

    def handler(req: httpx.Request) -> httpx.Response:
        issued.append(req)
        return httpx.Response(200, json={"access_token": f"t{len(issued)}", "expires_in": 3600})

    creds = ClientCredentials("https://auth.test/token", "id", "s", carrier="demo")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stale = await creds.token(client)
        for _ in range(5):  # five requests refused with the same stale token
            creds.invalidate(stale)
            assert await creds.token(client) == "t2"
    assert len(issued) == 2
