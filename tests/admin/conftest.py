"""Two shops with data of their own, the whole app, an API client and a signed-in browser-like
client for the merchant UI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from notifier.runtime import Runtime
from notifier.store.models import (
    Merchant,
    Notification,
    NotificationAttempt,
    Order,
    Recipient,
    TemplateOverride,
    TrackingEvent,
)
from notifier.web.app import create_app
from tests.factories import parcel
from tests.orders.helpers import add_merchant

SEKAR = {"Authorization": "Bearer tok-sekar"}
MAWAR = {"Authorization": "Bearer tok-mawar"}
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class ShopData:
    """The ids and the words that only one shop's data contains."""

    merchant: Merchant
    shipment_id: int
    notification_id: int
    recipient_id: int
    version_id: int
    public_token: str
    markers: tuple[str, ...]  # strings that must never appear in the other shop's answers


def seed_shop(rt: Runtime, merchant: Merchant, tag: str, phone: str) -> ShopData:
    """A parcel with two scans, a sent and a failed message, an opted-out shopper and one
    template version."""
    number = f"JX{tag}77"
    sh = parcel(rt, merchant, number=number, phone=phone, email=f"{tag.lower()}@shopper.test")
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        order_id, rec_id = sh.order_id, _recipient_of(session, sh)
        for i, (status, text) in enumerate((("info_received", "Label"), ("in_transit", "Hub"))):
            session.add(
                TrackingEvent(
                    shipment_id=sh.id,
                    fingerprint=f"{tag}{i}",
                    seq=i,
                    time=now - timedelta(hours=5 - i),
                    status=status,
                    description=f"{text} {tag}-scan",
                    created_at=now,
                )
            )
        sent = _notification(sh, order_id, rec_id, "shipped", "email", "sent", now)
        failed = _notification(sh, order_id, rec_id, "shipped", "whatsapp", "failed", now)
        failed.last_error = f"no_template {tag}-error"
        session.add_all([sent, failed])
        session.flush()
        session.add(
            NotificationAttempt(notification_id=sent.id, number=1, worker="w", started_at=now)
        )
        rec = session.get(Recipient, rec_id)
        rec.sms_opt_out_at, rec.sms_opt_out_source = now, "twilio:21610"
        session.add(rec)
        version = TemplateOverride(
            merchant_id=merchant.id,
            trigger="shipped",
            channel="sms",
            locale="id",
            version=1,
            source=f"{tag}-wording {{{{ shipment.tracking_url }}}}",
            author=f"{tag}-author",
            created_at=now,
        )
        session.add(version)
        session.flush()
        ids = (sent.id, version.id)
    return ShopData(
        merchant=merchant,
        shipment_id=sh.id,
        notification_id=ids[0],
        recipient_id=rec_id,
        version_id=ids[1],
        public_token=sh.public_token,
        markers=(number, f"INV/{number}", f"{tag}-scan", f"{tag}-error", f"{tag}-wording", phone),
    )


def _recipient_of(session, sh) -> int:
    return session.get(Order, sh.order_id).recipient_id


def _notification(sh, order_id, rec_id, trigger, channel, state, now) -> Notification:
    return Notification(
        merchant_id=sh.merchant_id,
        order_id=order_id,
        shipment_id=sh.id,
        recipient_id=rec_id,
        trigger=trigger,
        channel=channel,
        dedupe_key=f"s{sh.id}:{trigger}:1:{channel}",
        state=state,
        attempts=1,
        created_at=now,
        updated_at=now,
        sent_at=now if state == "sent" else None,
        provider_status="delivered" if state == "sent" else None,
    )


@pytest.fixture
def sekar(rt, merchant) -> ShopData:
    return seed_shop(rt, merchant, "SEKAR", "+6281234500001")


@pytest.fixture
def mawar(rt) -> ShopData:
    shop = add_merchant(rt, "mawar", "tok-mawar")
    return seed_shop(rt, shop, "MAWAR", "+6281234500002")


@pytest.fixture
async def client(rt):
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def sign_in(client: httpx.AsyncClient, token: str = "tok-sekar") -> str:
    """Sign in through the form like a browser; returns the session's CSRF token."""
    page = await client.get("/admin/login")
    csrf = CSRF.search(page.text).group(1)
    done = await client.post("/admin/login", data={"token": token, "csrf": csrf, "next": "/admin"})
    assert done.status_code == 303, done.text
    home = await client.get("/admin")
    assert home.status_code == 200
    return CSRF.search(home.text).group(1)


@pytest.fixture
async def ui(client, merchant):
    """A client signed in as Toko Batik Sekar; ``ui.csrf`` is its form token."""
    client.csrf = await sign_in(client)
    return client
