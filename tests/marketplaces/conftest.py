"""Marketplace fixtures: the stand-ins served on 127.0.0.1, and the poller loading our sources
by id (the entry points are registered in pyproject; tests do not depend on an install)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from notifier.orders import poller
from notifier.orders.lazada import LazadaSource
from notifier.orders.shopee import ShopeeSource
from notifier.orders.tiktok_shop import TikTokShopSource
from notifier.testing_providers.base import Served, serve
from tests.marketplaces.lazada_standin import LazadaStandIn
from tests.marketplaces.shopee_standin import ShopeeStandIn
from tests.marketplaces.tiktok_standin import TikTokStandIn

SOURCES: dict[str, Any] = {
    "shopee": ShopeeSource,
    "tiktok_shop": TikTokShopSource,
    "lazada": LazadaSource,
}


@pytest.fixture(autouse=True)
def _our_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    real = poller.load_source
    monkeypatch.setattr(poller, "load_source", lambda name: SOURCES.get(name) or real(name))


@asynccontextmanager
async def _alone(*_: Any) -> AsyncIterator[bool]:
    yield True


@pytest.fixture(autouse=True)
def _no_replica_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The poller's advisory lock is keyed by merchant id and source, not by schema: tests in
    parallel workers (each its own PostgreSQL schema, merchant 1 in each) would skip each
    other's polls. What the lock does is the poller's tests' business."""
    monkeypatch.setattr(poller, "exclusive", _alone)


@pytest.fixture
def shopee_server() -> Iterator[Served[ShopeeStandIn]]:
    with serve(ShopeeStandIn()) as served:
        yield served


@pytest.fixture
def tiktok_server() -> Iterator[Served[TikTokStandIn]]:
    with serve(TikTokStandIn()) as served:
        yield served


@pytest.fixture
def lazada_server() -> Iterator[Served[LazadaStandIn]]:
    with serve(LazadaStandIn()) as served:
        yield served
