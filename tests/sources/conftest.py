"""Order-store source tests: the samples, and the two sources registered even before the
project's entry points list them (tests must pass in a fresh clone either way)."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from notifier import plugins

SAMPLES = Path(__file__).parent / "samples"
OURS = {
    "shopify": "notifier.orders.shopify:ShopifySource",
    "woocommerce": "notifier.orders.woocommerce:WooCommerceSource",
}


def sample(path: str) -> Any:
    """A sample body, decoded (``shopify/rest_order_get.json``)."""
    return json.loads((SAMPLES / path).read_text(encoding="utf-8"))


def sample_bytes(path: str) -> bytes:
    return (SAMPLES / path).read_bytes()


@pytest.fixture(autouse=True)
def _our_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add the shopify and woocommerce entry points when the installed metadata lacks them."""
    real = plugins.entry_points

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        if group == plugins.GROUPS["order_sources"]:
            have = {ep.name for ep in found}
            found += [EntryPoint(n, v, group) for n, v in OURS.items() if n not in have]
        return found

    monkeypatch.setattr(plugins, "entry_points", entry_points)
