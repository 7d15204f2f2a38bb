"""Messages and settings the sender tests share."""

from __future__ import annotations

from typing import Any

from notifier.senders.base import OutgoingMessage
from notifier.settings import Settings

PUBLIC_URL = "https://lacak.tokobatiksekar.id"
PHONE = "+6281234567890"
EMAIL = "rina.wulandari@example.com"
UNSUBSCRIBE = f"{PUBLIC_URL}/u/Hq4ZcW8nLr2Tk9Pe"


def settings(**overrides: Any) -> Settings:
    return Settings(server={"public_url": PUBLIC_URL}, **overrides)


def message(channel: str, **overrides: Any) -> OutgoingMessage:
    """A shipped message as dispatch builds it, for ``channel``."""
    email = channel == "email"
    fields: dict[str, Any] = {
        "notification_id": 42,
        "dedupe_key": f"s1:shipped:0:{channel}",
        "merchant_id": 3,
        "trigger": "shipped",
        "channel": channel,
        "to": EMAIL if email else PHONE,
        "to_name": "Rina Wulandari",
        "text": (
            "Toko Batik Sekar: Pesanan INV/2026/11/0042 dikirim via J&T Express, resi JX3708794672."
        ),
        "subject": "Pesanan INV/2026/11/0042 sudah dikirim" if email else None,
        "html": "<p>Pesanan <b>INV/2026/11/0042</b> sudah dikirim</p>" if email else None,
        "locale": "id",
        "shop_name": "Toko Batik Sekar",
        "reply_to": "halo@tokobatiksekar.id" if email else None,
        "unsubscribe_url": UNSUBSCRIBE if email else None,
        "metadata": {"notification_id": "42", "trigger": "shipped"},
    }
    return OutgoingMessage(**(fields | overrides))
