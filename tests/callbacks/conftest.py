"""Fixtures for the provider callbacks: settings with a Twilio auth token and a SendGrid Event
Webhook key made here, the app over httpx, and helpers that sign requests as the providers do."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import select
from twilio.request_validator import RequestValidator

from notifier.settings import Settings
from notifier.store.models import Notification, NotificationState, Order, Recipient, Shipment
from notifier.web.app import create_app

PUBLIC_URL = "https://notify.example.com"  # what Twilio signs: not the test client's host
AUTH_TOKEN = "twilio-auth-token-for-tests"
SG_TIMESTAMP = "1764558000"
_KEY = ec.generate_private_key(ec.SECP256R1())  # P-256, as SendGrid's Event Webhook uses


def sendgrid_public_key(key: ec.EllipticCurvePrivateKey = _KEY) -> str:
    """The key as SendGrid shows it: base64 DER SubjectPublicKeyInfo, no PEM armour."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        var_dir=tmp_path / "var",
        server={"public_url": PUBLIC_URL},
        senders={
            "outbox": {"dir": tmp_path / "outbox"},
            "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": AUTH_TOKEN},
            "sendgrid": {"webhook_public_key": sendgrid_public_key()},
        },
    )


@pytest.fixture
async def client(rt):
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8080") as c:
        yield c


def twilio_signature(path: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, form)


async def post_twilio(
    client: httpx.AsyncClient,
    path: str,
    form: dict[str, str],
    *,
    signature: str | None = None,
    token: str = AUTH_TOKEN,
) -> httpx.Response:
    """POST ``form`` to ``path`` (query included) signed as Twilio signs the public URL."""
    sig = twilio_signature(path, form, token) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return await client.post(path, data=form, headers=headers)


def sendgrid_signature(body: bytes, timestamp: str = SG_TIMESTAMP, key=_KEY) -> str:
    signed = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signed).decode()


async def post_sendgrid(
    client: httpx.AsyncClient,
    events: Any,
    *,
    signature: str | None = None,
    body: bytes | None = None,
    key=_KEY,
) -> httpx.Response:
    raw = body if body is not None else json.dumps(events).encode()
    sig = sendgrid_signature(raw, key=key) if signature is None else signature
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Timestamp": SG_TIMESTAMP,
    }
    if sig:
        headers["X-Twilio-Email-Event-Webhook-Signature"] = sig
    return await client.post("/webhooks/sendgrid/events", content=raw, headers=headers)


def sent(
    rt,
    shipment: Shipment,
    channel: str,
    provider_id: str | None,
    *,
    state: str = NotificationState.SENT,
    trigger: str = "shipped",
    attempts: int = 1,
    **extra: Any,
) -> int:
    """A notification of ``shipment`` on ``channel`` that dispatch handed to the provider."""
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        order = session.get(Order, shipment.order_id)
        n = Notification(
            merchant_id=shipment.merchant_id,
            order_id=shipment.order_id,
            shipment_id=shipment.id,
            recipient_id=order.recipient_id,
            trigger=trigger,
            channel=channel,
            dedupe_key=f"s{shipment.id}:{trigger}:1:{channel}",
            state=state,
            sender=f"twilio_{channel}" if channel != "email" else "sendgrid",
            provider_message_id=provider_id,
            provider_status="accepted" if provider_id else None,
            attempts=1,
            context={"status": shipment.status},
            sent_at=now if provider_id else None,
            created_at=now,
            updated_at=now,
            **extra,
        )
        session.add(n)
        session.flush()
        return n.id


def note(rt, nid: int) -> Notification:
    with rt.sessions() as session:
        return session.get(Notification, nid)


def recipient(rt, rid: int | None = None) -> Recipient:
    with rt.sessions() as session:
        if rid is not None:
            return session.get(Recipient, rid)
        return session.exec(select(Recipient).order_by(Recipient.id)).first()
