"""One shop with everything an attacker could aim at, for the hostile-input and security tests.

:func:`build` makes a SQLite database with the tables, a runtime on a frozen clock with a memory
sender, and settings holding every inbound secret (Twilio auth token, a SendGrid Event Webhook key
made here, each pushing carrier's webhook secret, the shop's Shopify and WooCommerce webhook
secrets). :func:`seed` adds a parcel with two scans and a sent message to change, and
:func:`tests.factories.snapshot` reads every row of every table, so a test can say "this changed
nothing".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from twilio.request_validator import RequestValidator

from carriers import webhooks
from notifier.runtime import Runtime, build_runtime
from notifier.settings import CarrierSettings, Settings
from notifier.store.db import make_engine
from notifier.store.models import Merchant, Notification, Order, TrackingEvent
from notifier.testing import FrozenClock, MemorySender, ScriptedCarrier
from tests.conftest import START
from tests.factories import parcel

TOKEN = "tok-sekar-" + "x" * 22  # the shop's API bearer token
PUBLIC_URL = "https://notify.example.com"
TWILIO_TOKEN = "twilio-auth-token-" + secrets.token_hex(8)
SG_TIMESTAMP = "1764558000"
SG_KEY = ec.generate_private_key(ec.SECP256R1())
CARRIER_SECRETS = {c: "whsec-" + secrets.token_urlsafe(18) for c in webhooks.SCHEMES}
STORE_SECRETS = {"shopify": "shpss_" + secrets.token_hex(8), "woocommerce": "woo-" + "s" * 12}
# Marketplaces sign pushes with the app's own keys (notifier.orders.pushes).
SHOPEE_KEY = "shopee-partner-" + secrets.token_hex(8)
TIKTOK_KEY, TIKTOK_SECRET = "6a1b2c3d4e", "tiktok-app-" + secrets.token_hex(8)
SESSION_SECRET = "session-secret-" + secrets.token_hex(8)
PHONE = "+6281234567890"
EMAIL = "rina.wulandari@example.com"
NOWHERE = "http://127.0.0.1:9"  # carriers API base: a refused connection, never the internet


def sendgrid_public_key() -> str:
    der = SG_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def settings(folder: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{folder / 'unused.db'}",
        var_dir=folder / "var",
        server={"public_url": PUBLIC_URL, "session_secret": SESSION_SECRET},
        senders={
            "outbox": {"dir": folder / "outbox"},
            "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": TWILIO_TOKEN},
            "sendgrid": {"webhook_public_key": sendgrid_public_key()},
        },
        carriers={
            c: CarrierSettings(api_key="key-" + c, webhook_secret=s, api_base=NOWHERE)
            for c, s in CARRIER_SECRETS.items()
        },
    )


@dataclass
class World:
    rt: Runtime
    engine: Engine
    merchant: Merchant
    shipment_id: int
    notification_id: int
    sender: MemorySender


def build(folder: Path) -> World:
    """The database, the runtime and the seeded shop (call :meth:`close` via :func:`close`)."""
    engine = make_engine(f"sqlite:///{folder / 'world.db'}")
    SQLModel.metadata.create_all(engine)
    rt = build_runtime(settings(folder), FrozenClock(START), engine=engine)
    sender = MemorySender()
    for channel in ("email", "sms", "whatsapp"):
        rt.senders.install(channel, sender)
    rt.carriers.install("scripted", ScriptedCarrier())
    merchant = add_shop(rt)
    shipment_id, notification_id = seed(rt, merchant)
    return World(rt, engine, merchant, shipment_id, notification_id, sender)


def add_shop(rt: Runtime, slug: str = "sekar", token: str = TOKEN) -> Merchant:
    shopify = STORE_SECRETS["shopify"]
    sources = [
        {"id": "shopify", "shop": slug, "access_token": "x", "webhook_secret": shopify},
        {
            "id": "woocommerce",
            "url": "https://toko.example",
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "webhook_secret": STORE_SECRETS["woocommerce"],
        },
        {"id": "shopee", "partner_id": 2001887, "partner_key": SHOPEE_KEY, "shop_id": 322300222,
         "api_base": NOWHERE},
        {"id": "tiktok_shop", "app_key": TIKTOK_KEY, "app_secret": TIKTOK_SECRET,
         "shop_cipher": "ROW_x", "api_base": NOWHERE, "auth_base": NOWHERE},
    ]  # fmt: skip
    with rt.sessions() as session, session.begin():
        m = Merchant(
            slug=slug,
            name="Toko Batik Sekar",
            api_token_hash=hashlib.sha256(token.encode()).hexdigest(),
            settings={"notify": {"channels": ["email", "whatsapp", "sms"]}, "sources": sources},
            created_at=rt.clock.now(),
        )
        session.add(m)
    return m


def seed(rt: Runtime, merchant: Merchant, number: str = "JX0001") -> tuple[int, int]:
    """A parcel in transit (two scans) and a sent WhatsApp message with a provider id."""
    sh = parcel(rt, merchant, number=number, phone=PHONE, email=EMAIL, status="in_transit")
    now = rt.clock.now()
    with rt.sessions() as session, session.begin():
        for i, status in enumerate(("info_received", "in_transit")):
            session.add(
                TrackingEvent(
                    shipment_id=sh.id,
                    fingerprint=f"{number}-{i}",
                    seq=i,
                    time=now - timedelta(hours=5 - i),
                    status=status,
                    description=f"scan {i}",
                    created_at=now,
                )
            )
        order = session.get(Order, sh.order_id)
        n = Notification(
            merchant_id=merchant.id,
            order_id=sh.order_id,
            shipment_id=sh.id,
            recipient_id=order.recipient_id,
            trigger="shipped",
            channel="whatsapp",
            dedupe_key=f"s{sh.id}:shipped:1:whatsapp",
            state="sent",
            sender="twilio_whatsapp",
            provider_message_id=f"SM{number}",
            provider_status="accepted",
            attempts=1,
            subject=None,
            body=f"Paket {number} sudah dikirim",
            sent_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(n)
        session.flush()
        assert sh.id is not None and n.id is not None
        return sh.id, n.id


# --- signing as each sender does -----------------------------------------------------------------


def twilio_headers(path: str, form: dict[str, str]) -> dict[str, str]:
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, form)
    return {"X-Twilio-Signature": sig}


def sendgrid_headers(body: bytes) -> dict[str, str]:
    signed = SG_KEY.sign(SG_TIMESTAMP.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Timestamp": SG_TIMESTAMP,
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signed).decode(),
    }


def carrier_headers(carrier: str, body: bytes) -> dict[str, str]:
    scheme = webhooks.SCHEMES[carrier]
    if scheme.header is None or scheme.sign is None:
        return {"Content-Type": "application/json"}
    return {
        scheme.header: scheme.sign(body, CARRIER_SECRETS[carrier]),
        "Content-Type": "application/json",
    }


def carrier_path(carrier: str) -> str:
    """The push URL: the token is part of it for Shippo and Biteship."""
    if webhooks.uses_token(carrier):
        return f"/webhooks/carriers/{carrier}/{CARRIER_SECRETS[carrier]}"
    return f"/webhooks/carriers/{carrier}"


def push_headers(source: str, body: bytes) -> dict[str, str]:
    """A Shopee push (signed over the callback URL) or a TikTok Shop webhook, to "sekar"."""
    if source == "shopee":
        url = f"{PUBLIC_URL}/webhooks/orders/shopee/sekar".encode()
        signature = hmac.new(SHOPEE_KEY.encode(), url + b"|" + body, hashlib.sha256)
    else:
        signature = hmac.new(TIKTOK_SECRET.encode(), TIKTOK_KEY.encode() + body, hashlib.sha256)
    return {"Content-Type": "application/json", "Authorization": signature.hexdigest()}


def store_headers(source: str, body: bytes, delivery: str = "d-1") -> dict[str, str]:
    digest = hmac.new(STORE_SECRETS[source].encode(), body, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    if source == "shopify":
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": "sekar.myshopify.com",
            "X-Shopify-Webhook-Id": delivery,
        }
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Delivery-ID": delivery,
    }
