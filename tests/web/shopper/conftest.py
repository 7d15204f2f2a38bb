"""The app and an httpx client over ASGI (from a fixed client address), and the sample shop."""

from __future__ import annotations

import httpx
import pytest

from notifier.store.models import Merchant
from notifier.web.app import create_app
from tests.web.shopper.helpers import (
    SHOP,
)


@pytest.fixture
def app(rt):
    return create_app(rt)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def shop(rt, merchant):
    """The sample shop with its brand, FAQ, return policy and hours."""
    with rt.sessions() as session, session.begin():
        row = session.get(Merchant, merchant.id)
        row.settings = {**row.settings, **SHOP}
    return merchant
